//! Every form the app manifests and the help advertise parses: Slack `usage_hint`s (through the
//! Slack edge's own command-to-text mapping), Teams `commandLists` descriptions, and each
//! command's usage line; and every command is reachable from both clients.
//!
//! Hints use one small notation, expanded here into every example it stands for: `[a|b c]`
//! is optional with alternatives (an alternative may have several words), `a|b` is a choice,
//! ` || ` separates whole forms, and placeholders (`N`, `Nd`, `text`, `"title"`, ...) stand
//! for a typical value.

use sentinel_bot::bot::command::{self, Command, Verb};
use sentinel_bot::channels::slack::commands::{UMBRELLA, request_text};
use serde_json::Value;
use std::collections::BTreeSet;

/// Slack's built-in slash commands, which an app manifest may not register
/// (slack.com/help/articles/201259356, "Use built-in slash commands").
const SLACK_RESERVED: [&str; 20] = [
    "/me",
    "/status",
    "/away",
    "/active",
    "/dnd",
    "/shrug",
    "/remind",
    "/msg",
    "/dm",
    "/feed",
    "/who",
    "/collapse",
    "/expand",
    "/leave",
    "/join",
    "/invite",
    "/open",
    "/search",
    "/topic",
    "/mute",
];

/// The value a placeholder stands for in an example.
fn example_value(word: &str) -> &str {
    match word {
        "N" | "<number>" => "501",
        "Nd" => "7d",
        "Nh" => "12h",
        "text" => "checked the host, clean",
        "comment" => "tuned the rule",
        "description" => "reported by the front desk",
        "\"title\"" => "\"Lost laptop\"",
        "command" => "close",
        "classification" => "FalsePositive",
        "reason" => "IncorrectAlertLogic",
        "@person" | "@mention" => "@DanaExample",
        other => other,
    }
}

/// Words of a form, keeping `[...]` groups and `"..."` together.
fn tokens(form: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let (mut depth, mut quoted) = (0, false);
    for c in form.chars() {
        match c {
            '[' if !quoted => depth += 1,
            ']' if !quoted => depth -= 1,
            '"' => quoted = !quoted,
            _ => {}
        }
        if c.is_whitespace() && depth == 0 && !quoted {
            if !current.is_empty() {
                tokens.push(std::mem::take(&mut current));
            }
        } else {
            current.push(c);
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

fn alternative(words: &str) -> String {
    words
        .split_whitespace()
        .map(example_value)
        .collect::<Vec<_>>()
        .join(" ")
}

/// What one token may be replaced by.
fn choices(token: &str) -> Vec<String> {
    match token
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
    {
        Some(inner) => std::iter::once(String::new())
            .chain(inner.split('|').map(alternative))
            .collect(),
        None => token.split('|').map(alternative).collect(),
    }
}

/// Every example a hint stands for.
fn expand(hint: &str) -> Vec<String> {
    let mut examples = Vec::new();
    for form in hint.split("||") {
        let mut partial = vec![String::new()];
        for token in tokens(form) {
            let options = choices(&token);
            partial = partial
                .iter()
                .flat_map(|start| {
                    options.iter().map(move |option| {
                        [start.as_str(), option.as_str()]
                            .iter()
                            .filter(|part| !part.is_empty())
                            .copied()
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                })
                .collect();
        }
        examples.extend(partial);
    }
    assert!(
        examples.len() < 5_000,
        "{hint} expands to too many examples"
    );
    examples
}

/// The command word a parsed command belongs to; `None` for buttons' confirm and cancel.
fn verb_of(command: &Command) -> Option<Verb> {
    Some(match command {
        Command::Incidents(_) => Verb::Incidents,
        Command::Incident { .. } => Verb::Incident,
        Command::Recommend(_) => Verb::Recommend,
        Command::Report { .. } => Verb::Report,
        Command::Help { .. } => Verb::Help,
        Command::Assign { .. } => Verb::Assign,
        Command::SetStatus { .. } => Verb::Status,
        Command::Close { .. } => Verb::Close,
        Command::Comment { .. } => Verb::Comment,
        Command::Create { .. } => Verb::Create,
        Command::Confirm { .. } | Command::Cancel { .. } => return None,
    })
}

/// Parses every example, failing with all that do not parse; returns the verbs reached.
fn parse_all(examples: &[(String, String)]) -> BTreeSet<&'static str> {
    let mut reached = BTreeSet::new();
    let mut failures = Vec::new();
    for (origin, text) in examples {
        match command::parse(text) {
            Ok(parsed) => {
                if let Some(verb) = verb_of(&parsed) {
                    reached.insert(verb.word());
                }
            }
            Err(error) => failures.push(format!("{origin}: `{text}`: {error}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    reached
}

fn every_verb() -> BTreeSet<&'static str> {
    Verb::ALL.iter().map(|verb| verb.word()).collect()
}

#[test]
fn the_expander_reads_the_notation() {
    assert_eq!(
        expand("N [week|last 7d]"),
        vec!["501", "501 week", "501 last 7d"]
    );
    assert_eq!(
        expand("me|@person || help"),
        vec!["me", "@DanaExample", "help"]
    );
    assert_eq!(
        expand("\"title\" [high]"),
        vec!["\"Lost laptop\"", "\"Lost laptop\" high"]
    );
}

#[test]
fn every_slack_usage_hint_parses_and_reaches_every_command() {
    let manifest: Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string("manifest/slack/manifest.yaml").expect("manifest"),
    )
    .expect("YAML");
    let commands = manifest["features"]["slash_commands"]
        .as_array()
        .expect("slash commands");
    let mut examples = Vec::new();
    for command in commands {
        let name = command["command"].as_str().expect("command");
        assert!(
            !SLACK_RESERVED.contains(&name),
            "{name} is reserved by Slack"
        );
        assert_eq!(
            command["should_escape"],
            Value::Bool(true),
            "{name}: mentions must arrive wrapped so they can be resolved"
        );
        let hint = command["usage_hint"].as_str().unwrap_or_default();
        for example in expand(hint) {
            examples.push((name.to_string(), request_text(name, &example)));
        }
    }
    assert!(
        commands.iter().any(|it| it["command"] == UMBRELLA),
        "the umbrella command is registered"
    );
    assert!(examples.len() > 100, "{} examples", examples.len());
    let reached = parse_all(&examples);
    assert_eq!(
        reached,
        every_verb(),
        "every command is reachable from Slack"
    );
}

#[test]
fn every_teams_command_description_parses_and_reaches_every_command() {
    let manifest: Value = serde_json::from_str(
        &sentinel_bot::channels::teams::manifest::manifest_json(
            "11111111-2222-3333-4444-555555555555",
        )
        .expect("manifest"),
    )
    .expect("json");
    let mut examples = Vec::new();
    for list in manifest["bots"][0]["commandLists"]
        .as_array()
        .expect("command lists")
    {
        for command in list["commands"].as_array().expect("commands") {
            let title = command["title"].as_str().expect("title");
            let description = command["description"].as_str().expect("description");
            // The description is "<usage>: <what it does>", the usage starting with the title.
            let (usage, _) = description.split_once(": ").expect("usage: summary");
            assert!(
                usage.starts_with(title),
                "{title}: usage `{usage}` starts elsewhere"
            );
            // The title is the command word, never a placeholder.
            let arguments = usage.strip_prefix(title).unwrap_or_default();
            for example in expand(arguments) {
                examples.push((title.to_string(), format!("{title} {example}")));
            }
        }
    }
    let reached = parse_all(&examples);
    assert_eq!(
        reached,
        every_verb(),
        "every command is reachable from Teams"
    );
}

#[test]
fn every_usage_line_in_help_parses() {
    let examples: Vec<(String, String)> = Verb::ALL
        .iter()
        .flat_map(|verb| {
            expand(verb.usage())
                .into_iter()
                .map(move |example| (verb.word().to_string(), example))
        })
        .collect();
    assert_eq!(parse_all(&examples), every_verb());
}

/// The repository the Teams manifest's links point into, at its default branch.
const REPOSITORY_FILES: &str = "https://github.com/sentinel-bot/sentinel-bot/blob/main/";

#[test]
fn the_teams_manifest_links_to_a_privacy_statement_and_terms_that_exist() {
    let manifest: Value = serde_json::from_str(
        &sentinel_bot::channels::teams::manifest::manifest_json(
            "11111111-2222-3333-4444-555555555555",
        )
        .expect("manifest"),
    )
    .expect("json");
    let developer = &manifest["developer"];
    let mut linked = Vec::new();
    for key in ["privacyUrl", "termsOfUseUrl"] {
        let url = developer[key].as_str().expect(key);
        let file = url
            .strip_prefix(REPOSITORY_FILES)
            .unwrap_or_else(|| panic!("{key} {url} points outside the repository"));
        assert!(
            std::path::Path::new(file).is_file(),
            "{key} points to {file}, which the repository does not have"
        );
        linked.push(file);
    }
    assert_eq!(linked, ["PRIVACY.md", "LICENSE"]);
    let license = std::fs::read_to_string("LICENSE").expect("LICENSE");
    assert!(
        license.starts_with(&format!("{} License", env!("CARGO_PKG_LICENSE"))),
        "LICENSE matches Cargo.toml's `license`"
    );
}

/// Every table the store keeps, from the SQLite migrations: those created, less those a
/// migration renames away (a table rebuilt to change its key is created under a new name,
/// then renamed back).
fn store_tables() -> Vec<String> {
    let mut tables = Vec::new();
    let mut renamed = Vec::new();
    for entry in std::fs::read_dir("migrations/sqlite").expect("migrations") {
        let sql = std::fs::read_to_string(entry.expect("entry").path()).expect("sql");
        for statement in sql.split("CREATE TABLE ").skip(1) {
            let name = statement.split_whitespace().next().expect("table name");
            tables.push(name.to_string());
        }
        for statement in sql.split("ALTER TABLE ").skip(1) {
            let words: Vec<&str> = statement.split_whitespace().take(3).collect();
            if let [name, "RENAME", "TO"] = words[..] {
                renamed.push(name.to_string());
            }
        }
    }
    tables.retain(|table| !renamed.contains(table));
    tables.sort();
    tables.dedup();
    tables
}

#[test]
fn the_privacy_statement_accounts_for_every_table_the_store_keeps() {
    let privacy = std::fs::read_to_string("PRIVACY.md").expect("PRIVACY.md");
    let tables = store_tables();
    assert!(tables.len() >= 10, "{tables:?}");
    let missing: Vec<&String> = tables
        .iter()
        .filter(|table| !privacy.contains(&format!("`{table}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "PRIVACY.md does not say what these tables keep or for how long: {missing:?}"
    );
    for promise in ["14 days", "24 hours", "`[llm]`", "Nothing else leaves"] {
        assert!(privacy.contains(promise), "PRIVACY.md: {promise}");
    }
}
