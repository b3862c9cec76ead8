//! The `sentinel-bot` command line as a user runs it: the built binary, its output read back.

use std::process::Command;

/// Runs the binary with only these environment variables and returns its standard output.
fn run(args: &[&str], env: &[(&str, &str)]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_sentinel-bot"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("the binary runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

#[test]
fn check_config_prints_a_readable_summary_without_secrets() {
    let secrets = [
        ("SENTINEL_BOT__SLACK__BOT_TOKEN", "xoxb-cli-secret-token"),
        ("SENTINEL_BOT__SLACK__SIGNING_SECRET", "cli-signing-secret"),
        ("SENTINEL_BOT__TEAMS__APP_ID", "app-guid"),
        ("SENTINEL_BOT__TEAMS__APP_PASSWORD", "cli-teams-password"),
        ("SENTINEL_BOT__LLM__MODEL", "gpt-4o"),
        ("SENTINEL_BOT__LLM__API_KEY", "sk-cli-secret"),
        (
            "SENTINEL_BOT__STORE__URL",
            "postgres://bot:cli-db-password@db/s",
        ),
        ("SENTINEL_BOT__TRIAGE__WEBHOOK_SECRET", "cli-webhook-secret"),
        ("SENTINEL_BOT__SERVER__METRICS_TOKEN", "cli-metrics-token"),
    ];
    let output = run(&["check-config"], &secrets);
    for (name, value) in &secrets[..] {
        if *name != "SENTINEL_BOT__TEAMS__APP_ID" && *name != "SENTINEL_BOT__LLM__MODEL" {
            assert!(!output.contains(value), "{name} shown:\n{output}");
        }
    }
    // No Rust Debug output: `Some(..)`, `Struct { .. }`, quoted strings, redaction markers.
    for artefact in ["Some(", "None", "{ ", " {\n", "\"", "REDACTED", "SecretBox"] {
        assert!(!output.contains(artefact), "{artefact:?} in:\n{output}");
    }
    for line in [
        "incident data: embedded demo data\n",
        "[slack]\nbot_token = set\nsigning_secret = set\napp_token = not set\n",
        "[teams]\napp_id = app-guid\napp_password = set\n",
        "api_key = set\n",
        "[store]\nurl = set (PostgreSQL)\n",
        "webhook_secret = set\n",
        "metrics_token = set\n",
    ] {
        assert!(output.contains(line), "no {line:?} in:\n{output}");
    }
    assert!(output.contains("next weekly report: Mon "), "{output}");
}

/// The Markdown export is written row by row: to a file exactly as to standard output (which
/// adds a newline), with one detail row per incident created, and the JSON export whole.
#[test]
fn report_exports_are_whole_on_standard_output_and_in_a_file() {
    let dir = tempfile::tempdir().expect("dir");
    let store = crate::store::sqlite_url(&dir);
    let env = [
        ("SENTINEL_BOT__STORE__URL", store.as_str()),
        ("RUST_LOG", "error"),
    ];
    let end = "2026-11-23T00:00:00Z";
    let printed = run(&["report", "--period", "week", "--end", end], &env);
    let file = dir.path().join("report.md");
    let path = file.to_str().expect("UTF-8 path");
    run(
        &["report", "--period", "week", "--end", end, "--out", path],
        &env,
    );
    let written = std::fs::read_to_string(&file).expect("written");
    assert_eq!(printed, format!("{written}\n"));
    let created: usize = written
        .split("**Created:** ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|count| count.parse().ok())
        .expect("a Created figure");
    assert!(created > 0);
    let detail = written
        .split("## Incident detail \\(created in this period\\)\n\n")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .expect("a detail table");
    // The header, its rule, and one row per incident.
    assert_eq!(detail.lines().count(), created + 2, "{detail}");

    let json = run(
        &[
            "report", "--period", "week", "--end", end, "--format", "json",
        ],
        &env,
    );
    let value: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(
        value["facts"]["incidents"].as_array().map(Vec::len),
        Some(created)
    );
}

/// A write that fails part-way (here: past the file-size limit, as on a full disk) leaves the
/// previous export as it was, and the command fails saying which file.
#[test]
fn a_failed_export_keeps_the_previous_file() {
    let dir = tempfile::tempdir().expect("dir");
    let store = crate::store::sqlite_url(&dir);
    let env = [
        ("SENTINEL_BOT__STORE__URL", store.as_str()),
        ("RUST_LOG", "error"),
    ];
    // The store is created first, so only the export meets the limit below.
    run(&["report", "--period", "24h"], &env);
    let file = dir.path().join("report.md");
    std::fs::write(&file, "the previous report\n").expect("written");
    let path = file.to_str().expect("UTF-8 path");
    // SIGXFSZ ignored, so the write fails with EFBIG instead of killing the process; a
    // 90-day export of the demo data is several times the 64 KiB limit.
    let output = Command::new("bash")
        .args([
            "-c",
            "trap '' XFSZ; ulimit -f 64; exec \"$0\" \"$@\"",
            env!("CARGO_BIN_EXE_sentinel-bot"),
        ])
        .args(["report", "--period", "90d", "--out", path])
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("the binary runs");

    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains(&format!("writing {path}")), "{error}");
    let kept = std::fs::read_to_string(&file).expect("still there");
    assert!(
        kept == "the previous report\n",
        "the file now holds {} bytes, starting {:?}",
        kept.len(),
        kept.chars().take(80).collect::<String>()
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("listed")
        .map(|it| it.expect("entry").file_name())
        .filter(|name| !name.to_string_lossy().contains(".db"))
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("report.md")]);
}

#[test]
fn logs_written_to_a_pipe_carry_no_colour_codes() {
    let output = Command::new(env!("CARGO_BIN_EXE_sentinel-bot"))
        .args(["report", "--format", "md"])
        .env_clear()
        .env("RUST_LOG", "debug")
        .output()
        .expect("the binary runs");
    assert!(output.status.success());
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("DEBUG"), "a debug log was written: {log}");
    assert!(
        !log.contains('\u{1b}'),
        "no escape codes in a piped log: {log:?}"
    );
}

#[test]
fn a_report_ending_in_the_future_is_refused_with_a_reason() {
    let output = Command::new(env!("CARGO_BIN_EXE_sentinel-bot"))
        .args(["report", "--end", "2999-01-01T00:00:00Z"])
        .env_clear()
        .output()
        .expect("the binary runs");
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("--end 2999-01-01T00:00:00Z is in the future"),
        "{error}"
    );
}

#[test]
fn a_period_the_report_cannot_read_is_explained_in_the_command_line_s_words() {
    for period in ["fortnight", "0d", "999d"] {
        let output = Command::new(env!("CARGO_BIN_EXE_sentinel-bot"))
            .args(["report", "--period", period])
            .env_clear()
            .output()
            .expect("the binary runs");
        assert!(!output.status.success(), "{period}");
        let error = String::from_utf8_lossy(&output.stderr);
        assert!(
            error.contains("--period takes today, week, month"),
            "{error}"
        );
        assert!(!error.contains("/report"), "no chat usage: {error}");
    }
}
