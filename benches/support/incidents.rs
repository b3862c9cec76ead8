//! A synthetic week of `SecurityIncident` rows, as the report query returns them (one
//! latest row per incident), and the Log Analytics query API body that carries them.
//! Deterministic: the same count and seed always give the same bytes.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sentinel_bot::incident::{
    Classification, Incident, IncidentRow, Owner, Severity, Status, Tactic,
};
use sentinel_bot::period::Window;
use sentinel_bot::sources::azure::log_analytics::to_log_analytics_response;
use serde_json::{Value, json};

/// The report week every benchmark uses: Monday 16 to Monday 23 November 2026.
pub fn week() -> Window {
    let end = Utc
        .with_ymd_and_hms(2026, 11, 23, 0, 0, 0)
        .single()
        .expect("valid time");
    Window {
        start: end - Duration::days(7),
        end,
    }
}

const TITLES: [&str; 10] = [
    "Suspicious sign-in from an unfamiliar location",
    "Multi-stage incident involving Initial access & Execution on one endpoint",
    "Possible ransomware activity detected",
    "Phishing e-mail delivered to several mailboxes",
    "Unusual volume of file downloads from SharePoint",
    "Mass download by a single user",
    "Impossible travel activity",
    "Suspicious PowerShell command line",
    "Credential dumping attempt on a domain controller",
    "Anomalous token issued to a service principal",
];

const PRODUCTS: [&str; 5] = [
    "Microsoft Defender for Endpoint",
    "Microsoft Defender for Office 365",
    "Microsoft Entra ID Protection",
    "Microsoft Defender for Cloud Apps",
    "Azure Sentinel",
];

const ANALYSTS: [(&str, &str); 6] = [
    ("Dana Analyst", "dana@contoso.com"),
    ("Ravi Kumar", "ravi.kumar@contoso.com"),
    ("Mei Lin", "mei.lin@contoso.com"),
    ("Olu Adeyemi", "olu.adeyemi@contoso.com"),
    ("Sara Novak", "sara.novak@contoso.com"),
    ("Tom Berg", "tom.berg@contoso.com"),
];

fn guid(rng: &mut ChaCha8Rng) -> String {
    let high: u64 = rng.random();
    let low: u64 = rng.random();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0xfff,
        0x8000 | ((low >> 48) & 0x3fff),
        low & 0xffff_ffff_ffff
    )
}

fn pick<T: Clone>(rng: &mut ChaCha8Rng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())].clone()
}

/// The 14 ATT&CK Enterprise tactics in kill-chain order: the set the data was drawn from
/// before the bot knew Sentinel's other values, so the same seed still gives the same data.
pub fn enterprise_tactics() -> Vec<Tactic> {
    Tactic::KNOWN
        .into_iter()
        .filter(|it| {
            it.id()
                .is_some_and(|id| !["TA0106", "TA0107"].contains(&id))
        })
        .collect()
}

/// `count` incidents as the report query returns them for `window`: most created in the
/// window, about 3% older ones still open, each with its latest state and first triage time.
pub fn rows(count: usize, window: Window, seed: u64) -> Vec<IncidentRow> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let week_minutes = (window.end - window.start).num_minutes();
    let enterprise = enterprise_tactics();
    (0..count)
        .map(|index| {
            let older = rng.random_bool(0.03);
            let created = if older {
                window.start - Duration::minutes(rng.random_range(60..80 * 24 * 60))
            } else {
                window.start + Duration::minutes(rng.random_range(0..week_minutes))
            };
            let status = match (older, rng.random_range(0..100)) {
                (true, roll) if roll < 30 => Status::New,
                (true, _) => Status::Active,
                (false, roll) if roll < 15 => Status::New,
                (false, roll) if roll < 40 => Status::Active,
                (false, _) => Status::Closed,
            };
            let severity = match rng.random_range(0..100) {
                roll if roll < 10 => Severity::High,
                roll if roll < 40 => Severity::Medium,
                roll if roll < 80 => Severity::Low,
                _ => Severity::Informational,
            };
            let triaged = (status != Status::New)
                .then(|| created + Duration::minutes(rng.random_range(5..600)));
            let closed = (status == Status::Closed)
                .then(|| created + Duration::minutes(rng.random_range(600..4000)));
            let owner = match triaged {
                Some(_) => {
                    let (name, email) = pick(&mut rng, &ANALYSTS);
                    Owner {
                        name: Some(name.into()),
                        email: Some(email.into()),
                        object_id: Some(guid(&mut rng).into()),
                    }
                }
                None => Owner::default(),
            };
            let classification = closed.map(|_| pick(&mut rng, &Classification::ALL));
            let tactics: Vec<Tactic> = (0..rng.random_range(1..4))
                .map(|_| pick(&mut rng, &enterprise))
                .collect();
            let techniques = (0..rng.random_range(1..4))
                .map(|_| format!("T{}", 1000 + rng.random_range(0..600)).into())
                .collect();
            let alert_products = (0..rng.random_range(1..3))
                .map(|_| pick(&mut rng, &PRODUCTS).into())
                .collect();
            let alert_ids = (0..rng.random_range(1..5)).map(|_| guid(&mut rng)).collect();
            let labels = if rng.random_bool(0.2) {
                vec!["vip".into()]
            } else {
                Vec::new()
            };
            let number = 100_000 + index as u64;
            let host = rng.random_range(1000..9999);
            let last_modified = closed.or(triaged).unwrap_or(created);
            IncidentRow {
                time_generated: last_modified,
                modified_by: None,
                incident: Incident {
                    workspace: sentinel_bot::incident::Workspace::ONLY,
                    number,
                    id: guid(&mut rng),
                    title: format!("{} on WS-{host}", pick(&mut rng, &TITLES)).into(),
                    description: "An analytics rule matched activity that resembles a known attack pattern; review the alerts, the entities and the timeline before acting.".into(),
                    severity,
                    status,
                    classification,
                    classification_comment: classification
                        .map(|_| "Reviewed with the asset owner; see the incident timeline.".into()),
                    owner,
                    tactics,
                    techniques,
                    alert_products,
                    alert_ids,
                    labels,
                    created,
                    first_modified: triaged,
                    first_human_action: triaged,
                    last_modified,
                    closed,
                    url: Some(format!("https://security.microsoft.com/incidents/{number}?tid=11111111-1111-1111-1111-111111111111")),
                },
            }
        })
        .collect()
}

/// The query API body for `rows`: the columns the parser reads (from the crate's own
/// writer, which includes FirstModifiedTime and ModifiedBy) plus the other `SecurityIncident` columns `arg_max(TimeGenerated, *)` brings
/// along, which the parser must read past.
pub fn log_analytics_body(rows: &[IncidentRow]) -> Vec<u8> {
    let mut response = to_log_analytics_response(rows);
    let extra_columns = [
        ("ClassificationReason", "string"),
        ("ProviderIncidentId", "string"),
        ("FirstActivityTime", "datetime"),
        ("LastActivityTime", "datetime"),
        ("RelatedAnalyticRuleIds", "dynamic"),
        ("BookmarkIds", "dynamic"),
        ("Comments", "dynamic"),
        ("Tasks", "dynamic"),
        ("SourceSystem", "string"),
        ("Type", "string"),
    ];
    let table = &mut response["tables"][0];
    if let Some(columns) = table["columns"].as_array_mut() {
        columns.extend(
            extra_columns
                .iter()
                .map(|(name, kind)| json!({ "name": name, "type": kind })),
        );
    }
    if let Some(table_rows) = table["rows"].as_array_mut() {
        for (values, row) in table_rows.iter_mut().zip(rows) {
            let created = row.incident.created.to_rfc3339();
            let extra = [
                json!(""),
                json!(row.incident.number.to_string()),
                json!(created),
                json!(row.time_generated.to_rfc3339()),
                json!("[\"5c0ad3e8-2b9a-4c52-9a0e-1d8c6e0c7f11\"]"),
                json!("[]"),
                json!("[]"),
                json!("[]"),
                json!("Azure"),
                json!("SecurityIncident"),
            ];
            if let Value::Array(values) = values {
                values.extend(extra);
            }
        }
    }
    serde_json::to_vec(&response).expect("serialisable")
}

/// Time since `since`, in milliseconds.
pub fn millis_since(since: std::time::Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// A fixed "now" at the end of the report week.
pub fn report_now(window: Window) -> DateTime<Utc> {
    window.end + Duration::hours(8)
}
