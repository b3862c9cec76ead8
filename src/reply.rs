//! `Reply`: the platform-neutral answer document. Renderers turn it into an
//! Adaptive Card, Block Kit or Markdown; nothing here knows those formats.
//!
//! All text in a Reply is plain text. Renderers escape it for their platform,
//! so untrusted incident text can be put here as it is.

use serde::{Deserialize, Serialize};

/// One answer to a command.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Reply {
    /// The card title.
    pub title: String,
    /// Body, top to bottom.
    pub blocks: Vec<Block>,
    /// Buttons at the bottom.
    pub actions: Vec<Action>,
    /// Set when the reply is one page of a longer answer.
    pub page: Option<Page>,
    /// One line saying what arrived, for notifications and chat lists (Teams activity
    /// `summary` and card `fallbackText`, Slack's top-level `text`); see [`Reply::summary_text`].
    pub summary: Option<String>,
    /// When this answers a button that replaces its card ([`Action::in_place`]): leave the card
    /// as it is and show this reply only to the person who pressed, e.g. "this confirmation
    /// belongs to someone else", so one person's stray press does not wipe a shared card.
    pub notice: bool,
}

/// A piece of a reply's body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Block {
    /// A section heading.
    Heading(String),
    /// A paragraph of plain text.
    Text(String),
    /// Small, muted text: footnotes, sources, definitions.
    Note(String),
    /// Label/value pairs, e.g. "Total: 42".
    Facts(Vec<Fact>),
    /// A table with a header row.
    Table(Table),
    /// A numbered list whose items may have steps under them, e.g. recommendations: text
    /// that would run together in a table cell.
    List(List),
    /// A chart; renderers that cannot draw it show its data as a table.
    Chart(Chart),
    /// A text that needs attention, e.g. an apology for an upstream failure.
    Alert(String),
}

/// A label and its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    pub label: String,
    pub value: String,
}

impl Fact {
    /// A fact from anything printable.
    pub fn new(label: impl Into<String>, value: impl ToString) -> Fact {
        Fact {
            label: label.into(),
            value: value.to_string(),
        }
    }
}

/// A table; `rows` each have one cell per column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// Optional caption shown above the table.
    pub title: Option<String>,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
}

/// A numbered list; see [`Block::List`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct List {
    /// Optional caption shown above the list.
    pub title: Option<String>,
    pub items: Vec<ListItem>,
}

/// One item of a [`List`]: a line of text, the steps under it, a muted detail line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListItem {
    pub text: String,
    /// Lines under the text, shown as a nested list; each is plain text.
    pub steps: Vec<String>,
    /// Number the steps (their order matters) instead of bulleting them.
    pub numbered: bool,
    /// Small, muted text after the steps, e.g. the source and what the item applies to.
    pub detail: Option<String>,
}

/// A table column header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub align: Align,
    pub width: Width,
}

impl Column {
    /// A left-aligned column of short values that never wrap (ids, severities, statuses, names).
    pub fn left(name: impl Into<String>) -> Column {
        Column {
            name: name.into(),
            align: Align::Left,
            width: Width::Short,
        }
    }

    /// A right-aligned column of short values, for numbers.
    pub fn right(name: impl Into<String>) -> Column {
        Column {
            name: name.into(),
            align: Align::Right,
            width: Width::Short,
        }
    }

    /// A left-aligned column of free text that takes the remaining width and wraps
    /// (titles, recommendations, comments). A table has at most one.
    pub fn prose(name: impl Into<String>) -> Column {
        Column {
            name: name.into(),
            align: Align::Left,
            width: Width::Prose,
        }
    }
}

/// How much room a column takes; renderers size short columns to their content so that a
/// number, id, severity or status is never broken across lines, and let prose wrap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Width {
    /// As wide as its widest value; never wraps.
    Short,
    /// The remaining width; wraps between words.
    Prose,
}

/// Horizontal alignment of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Align {
    Left,
    Right,
}

/// One table cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    pub text: String,
    /// Link target, e.g. the incident in the portal.
    pub url: Option<String>,
    pub tone: Tone,
    /// A second, muted line under the text, e.g. an incident's owner under its title.
    pub detail: Option<String>,
}

impl Cell {
    /// A plain cell.
    pub fn text(text: impl ToString) -> Cell {
        Cell {
            text: text.to_string(),
            url: None,
            tone: Tone::Normal,
            detail: None,
        }
    }

    /// Adds a muted second line, builder style.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Cell {
        self.detail = Some(detail.into());
        self
    }

    /// A cell coloured by tone.
    pub fn toned(text: impl ToString, tone: Tone) -> Cell {
        Cell {
            tone,
            ..Cell::text(text)
        }
    }

    /// A cell that links somewhere.
    pub fn link(text: impl ToString, url: impl Into<String>) -> Cell {
        Cell {
            url: Some(url.into()),
            ..Cell::text(text)
        }
    }
}

/// Emphasis a renderer may show as colour. Colour only supplements the text: a renderer
/// keeps the text itself at full contrast and adds a coloured mark or weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tone {
    Normal,
    Good,
    Warning,
    Attention,
}

/// A chart of one or more series over shared categories.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    pub title: String,
    pub kind: ChartKind,
    /// X-axis categories, e.g. dates; one value per category in each series.
    pub categories: Vec<String>,
    pub series: Vec<Series>,
    pub x_label: Option<String>,
    pub y_label: Option<String>,
}

/// How a chart is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChartKind {
    /// Vertical bars, series stacked per category.
    StackedBar,
    /// Parts of a whole: one series, one slice per category.
    Donut,
    /// Lines over categories.
    Line,
}

/// One named series of a chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
}

/// A button that runs a command, or opens a web page, when pressed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// Button text.
    pub label: String,
    /// The command text the button runs, e.g. `/recommend 1234`; empty for a link.
    pub command: String,
    pub style: ActionStyle,
    /// An `https` page the button opens instead of running a command.
    pub url: Option<String>,
    /// The answer replaces the message the button is on (paging, confirmations) rather than
    /// arriving as a new message.
    pub in_place: bool,
}

impl Action {
    /// A default-styled button whose answer arrives as a new message.
    pub fn new(label: impl Into<String>, command: impl Into<String>) -> Action {
        Action {
            label: label.into(),
            command: command.into(),
            style: ActionStyle::Default,
            url: None,
            in_place: false,
        }
    }

    /// A button that opens `url` (an `https` page) in the browser.
    pub fn link(label: impl Into<String>, url: impl Into<String>) -> Action {
        Action {
            url: Some(url.into()),
            ..Action::new(label, String::new())
        }
    }

    /// Makes the answer replace the message the button is on, builder style.
    pub fn in_place(mut self) -> Action {
        self.in_place = true;
        self
    }

    /// Sets the emphasis, builder style.
    pub fn styled(mut self, style: ActionStyle) -> Action {
        self.style = style;
        self
    }
}

/// Button emphasis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActionStyle {
    Default,
    Primary,
    Danger,
}

/// Where a paged reply stands; pages count from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    pub number: usize,
    pub of: usize,
}

impl Reply {
    /// An empty reply with a title.
    pub fn titled(title: impl Into<String>) -> Reply {
        Reply {
            title: title.into(),
            ..Reply::default()
        }
    }

    /// Adds a block, builder style.
    pub fn with(mut self, block: Block) -> Reply {
        self.blocks.push(block);
        self
    }

    /// Adds a button, builder style.
    pub fn with_action(mut self, action: Action) -> Reply {
        self.actions.push(action);
        self
    }

    /// Sets the one-line summary, builder style.
    pub fn with_summary(mut self, summary: impl Into<String>) -> Reply {
        self.summary = Some(summary.into());
        self
    }

    /// The line notifications and chat lists show: the summary, else the title, else the
    /// first text of the body, else "Sentinel bot"; always one line.
    pub fn summary_text(&self) -> String {
        let body = self.blocks.iter().find_map(|block| match block {
            Block::Heading(text) | Block::Text(text) | Block::Note(text) | Block::Alert(text)
                if !text.trim().is_empty() =>
            {
                Some(text.as_str())
            }
            _ => None,
        });
        let chosen = [self.summary.as_deref(), Some(self.title.as_str()), body]
            .into_iter()
            .flatten()
            .find(|text| !text.trim().is_empty())
            .unwrap_or("Sentinel bot");
        chosen.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}
