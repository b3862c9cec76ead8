//! The structure of a Defender XDR recommended action. Graph's `alerts_v2`
//! `recommendedActions` is one string: often headings, each followed by bulleted or numbered
//! steps, groups separated by blank lines (the Graph "Get alert" example: "Collect artifacts
//! and determine scope\n•\tReview the machine timeline…\n\nInitiate containment & mitigation
//! \n•\tContact the user…"). [`sections`] splits it into those groups, so each is shown as a
//! list rather than one run-on paragraph, and [`Section::key`] tells near-identical ones apart
//! from different ones, so the same action from many alerts is listed once.

/// One group of a recommended action: an optional heading and the steps under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The line that introduces the steps, e.g. "Collect artifacts and determine scope".
    pub heading: Option<String>,
    /// The steps, without their bullets or numbers; a one-line action is a heading alone.
    pub steps: Vec<String>,
    /// True when every step was numbered (`1.`, `2)`): their order matters.
    pub numbered: bool,
}

/// What starts a line of a recommended action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    None,
    Bullet,
    Number,
}

/// Characters used as bullets in recommended actions: Word's and Defender's bullets, the
/// private-use bullet of the Symbol font and the replacement character a mis-decoded bullet
/// becomes (as in Microsoft's own Graph example), and ASCII list markers.
const BULLETS: [char; 12] = [
    '•', '\u{f0b7}', '\u{fffd}', '·', '▪', '◦', '○', '‣', '-', '*', '–', '—',
];

/// The groups of a recommended action's text, in order. A blank line ends a group, and so does
/// an unmarked line after steps (it starts the next group as its heading). A group whose first
/// line is unmarked and whose other lines are steps gets that line as its heading; a group of
/// one line is a heading alone; any other group is steps without a heading.
pub fn sections(text: &str) -> Vec<Section> {
    let mut found = Vec::new();
    let mut lines: Vec<(Marker, String)> = Vec::new();
    for line in text.lines() {
        let (marker, body) = read_line(line);
        if body.is_empty() {
            close(&mut lines, &mut found);
            continue;
        }
        let after_steps = lines.last().is_some_and(|(last, _)| *last != Marker::None);
        if marker == Marker::None && after_steps {
            close(&mut lines, &mut found);
        }
        lines.push((marker, body.to_string()));
    }
    close(&mut lines, &mut found);
    found
}

fn close(lines: &mut Vec<(Marker, String)>, found: &mut Vec<Section>) {
    if lines.is_empty() {
        return;
    }
    let mut taken = std::mem::take(lines);
    let headed = taken.len() > 1
        && taken[0].0 == Marker::None
        && taken[1..].iter().all(|(marker, _)| *marker != Marker::None);
    let heading = match (taken.len(), headed) {
        (1, _) if taken[0].0 == Marker::None => Some(taken.remove(0).1),
        (_, true) => Some(taken.remove(0).1),
        _ => None,
    };
    let numbered = !taken.is_empty() && taken.iter().all(|(marker, _)| *marker == Marker::Number);
    found.push(Section {
        heading,
        steps: taken.into_iter().map(|(_, body)| body).collect(),
        numbered,
    });
}

/// A line's list marker and its text without the marker, trimmed.
fn read_line(line: &str) -> (Marker, &str) {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix(BULLETS)
        && (rest.starts_with(char::is_whitespace)
            || line.starts_with(['•', '\u{f0b7}', '\u{fffd}']))
    {
        return (Marker::Bullet, rest.trim());
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if (1..=3).contains(&digits)
        && let Some(rest) = line[digits..].strip_prefix(['.', ')'])
        && rest.starts_with(char::is_whitespace)
    {
        return (Marker::Number, rest.trim());
    }
    (Marker::None, line)
}

impl Section {
    /// The section as one line per heading and step, for a prompt or a containment check.
    pub fn text(&self) -> String {
        self.heading
            .iter()
            .chain(&self.steps)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A key equal for sections that differ only in case, spacing, bullets or numbers, or
    /// trailing punctuation: the same action as different alerts write it.
    pub fn key(&self) -> String {
        let mut key = String::new();
        for line in self.heading.iter().chain(&self.steps) {
            let words: Vec<String> = line.split_whitespace().map(str::to_lowercase).collect();
            key.push_str(words.join(" ").trim_end_matches(['.', ':', ';', ',']));
            key.push('\n');
        }
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `recommendedActions` of Microsoft Graph's "Get alert" example (alerts_v2), with its
    /// mis-decoded bullets as the example shows them.
    const GRAPH_EXAMPLE: &str = "Collect artifacts and determine scope\n\u{fffd}\tReview the machine timeline for suspicious activities that may have occurred before and after the time of the alert, and record additional related artifacts (files, IPs/URLs) \n\u{fffd}\tLook for the presence of relevant artifacts on other systems. Identify commonalities and differences between potentially compromised systems.\n\u{fffd}\tSubmit relevant files for deep analysis and review resulting detailed behavioral information.\n\u{fffd}\tSubmit undetected files to the MMPC malware portal\n\nInitiate containment & mitigation \n\u{fffd}\tContact the user to verify intent and initiate local remediation actions as needed.\n\u{fffd}\tUpdate AV signatures and run a full scan. The scan might reveal and remove previously-undetected malware components.";

    #[test]
    fn the_graph_example_has_two_headed_groups_of_steps() {
        let found = sections(GRAPH_EXAMPLE);
        assert_eq!(found.len(), 2);
        assert_eq!(
            found[0].heading.as_deref(),
            Some("Collect artifacts and determine scope")
        );
        assert_eq!(found[0].steps.len(), 4);
        assert!(found[0].steps[0].starts_with("Review the machine timeline"));
        assert!(found[0].steps[0].ends_with("(files, IPs/URLs)"));
        assert!(!found[0].numbered);
        assert_eq!(
            found[1].heading.as_deref(),
            Some("Initiate containment & mitigation")
        );
        assert_eq!(found[1].steps.len(), 2);
    }

    #[test]
    fn numbered_steps_without_a_heading_keep_their_order() {
        let found =
            sections("1. Contact the user.\n2) Reset the password.\n10. Reimage the device.");
        assert_eq!(
            found,
            vec![Section {
                heading: None,
                steps: vec![
                    "Contact the user.".to_string(),
                    "Reset the password.".to_string(),
                    "Reimage the device.".to_string()
                ],
                numbered: true,
            }]
        );
    }

    #[test]
    fn a_line_after_steps_starts_the_next_group_and_one_line_is_a_heading() {
        let found = sections("Scope\n- a\n- b\nContain\n- c");
        assert_eq!(found.len(), 2);
        assert_eq!(found[1].heading.as_deref(), Some("Contain"));
        assert_eq!(found[1].steps, vec!["c".to_string()]);
        let single = sections("Isolate the device.");
        assert_eq!(single[0].heading.as_deref(), Some("Isolate the device."));
        assert!(single[0].steps.is_empty());
        // Plain sentences on their own lines are steps, not a heading over one.
        let plain = sections("Review the alert.\nIsolate the device.");
        assert_eq!(plain[0].heading, None);
        assert_eq!(plain[0].steps.len(), 2);
        // Numbers and dashes inside a sentence are not markers.
        assert_eq!(read_line("-1 is odd"), (Marker::None, "-1 is odd"));
        assert_eq!(
            read_line("2026. was a year"),
            (Marker::None, "2026. was a year")
        );
    }

    #[test]
    fn keys_ignore_case_spacing_bullets_and_trailing_punctuation() {
        let one = &sections("Initiate containment & mitigation\n•\tContact the user.")[0];
        let two = &sections("initiate  containment & mitigation:\n- contact the user")[0];
        let other = &sections("Initiate containment & mitigation\n- Reset the password")[0];
        assert_eq!(one.key(), two.key());
        assert_ne!(one.key(), other.key());
    }
}
