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

/// A table column header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub align: Align,
}

impl Column {
    /// A left-aligned column.
    pub fn left(name: impl Into<String>) -> Column {
        Column {
            name: name.into(),
            align: Align::Left,
        }
    }

    /// A right-aligned column, for numbers.
    pub fn right(name: impl Into<String>) -> Column {
        Column {
            name: name.into(),
            align: Align::Right,
        }
    }
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
}

impl Cell {
    /// A plain cell.
    pub fn text(text: impl ToString) -> Cell {
        Cell {
            text: text.to_string(),
            url: None,
            tone: Tone::Normal,
        }
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

/// Emphasis a renderer may show as colour.
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

/// A button that runs a command when pressed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// Button text.
    pub label: String,
    /// The command text the button runs, e.g. `/recommend 1234`.
    pub command: String,
    pub style: ActionStyle,
}

impl Action {
    /// A default-styled button.
    pub fn new(label: impl Into<String>, command: impl Into<String>) -> Action {
        Action {
            label: label.into(),
            command: command.into(),
            style: ActionStyle::Default,
        }
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
}
