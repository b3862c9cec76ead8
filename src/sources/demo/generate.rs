//! Generates `SecurityIncident`-style change rows with history from a seed.
//! Deterministic: the same `now`, count and seed always give the same rows.

use super::catalog::{
    ANALYSTS, CLOSING_COMMENTS, HOST_PREFIXES, PHISHING_WAVE, TEMPLATES, Template, USERS,
};
use crate::incident::{ArcStr, Classification, Incident, IncidentRow, Owner, Status};
use chrono::{DateTime, Datelike, Duration, Utc, Weekday};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// How far back the demo data reaches: nine weeks.
pub const SPAN_DAYS: i64 = 63;

/// Days before `now` of the phishing wave (a volume spike in the last week).
pub const SPIKE_DAYS_AGO: i64 = 3;

/// First incident number, so numbers look like a workspace in use for a while.
pub const FIRST_NUMBER: u64 = 1000;

/// Portal link prefix for demo incidents.
pub const PORTAL: &str = "https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/soc-demo/providers/Microsoft.OperationalInsights/workspaces/sentinel-demo/providers/Microsoft.SecurityInsights/Incidents/";

/// Change rows for `count` incidents over the [`SPAN_DAYS`] before `now`.
pub fn rows(now: DateTime<Utc>, count: usize, seed: u64) -> Vec<IncidentRow> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let creations = creation_times(&mut rng, now, count);
    let template_total: u32 = TEMPLATES.iter().map(|template| template.weight).sum();
    // About three rows per incident, plus the odd duplicate.
    let mut rows = Vec::with_capacity(count * 3 + count / 16);
    for (offset, (created, in_wave)) in (0u64..).zip(creations) {
        let template_index = if in_wave {
            PHISHING_WAVE
        } else {
            pick_template(rng.random_range(0..template_total))
        };
        let first = rows.len();
        history(
            &mut rng,
            &mut rows,
            now,
            FIRST_NUMBER + offset,
            created,
            template_index,
            in_wave,
        );
        // Sentinel sometimes writes the same row twice.
        if rng.random_bool(0.04) {
            let duplicated = rng.random_range(first..rows.len());
            let copy = rows[duplicated].clone();
            rows.push(copy);
        }
    }
    rows
}

/// Sorted creation times, each flagged when it belongs to the phishing wave.
fn creation_times(
    rng: &mut ChaCha8Rng,
    now: DateTime<Utc>,
    count: usize,
) -> Vec<(DateTime<Utc>, bool)> {
    // The wave adds about 2.5 normal days' worth of incidents on one day: 3-4x normal volume.
    let wave = count * 4 / 100;
    let span_seconds = SPAN_DAYS * 24 * 3600;
    let start = now - Duration::seconds(span_seconds);
    let wave_day = (now - Duration::days(SPIKE_DAYS_AGO))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|midnight| midnight.and_utc())
        .unwrap_or(now - Duration::days(SPIKE_DAYS_AGO));
    let mut times: Vec<(DateTime<Utc>, bool)> = (0..count)
        .map(|index| {
            if index < wave {
                // Office hours on the wave day; always before `now` since that is 3+ days later.
                let seconds = rng.random_range(7 * 3600..17 * 3600);
                (wave_day + Duration::seconds(seconds), true)
            } else {
                (weekday_biased(rng, start, span_seconds), false)
            }
        })
        .collect();
    times.sort();
    times
}

/// A uniform time in the span, redrawn now and then when it falls on a weekend,
/// because SOC volume follows office activity.
fn weekday_biased(rng: &mut ChaCha8Rng, start: DateTime<Utc>, span_seconds: i64) -> DateTime<Utc> {
    loop {
        let time = start + Duration::seconds(rng.random_range(0..span_seconds));
        let weekend = matches!(time.weekday(), Weekday::Sat | Weekday::Sun);
        if !weekend || rng.random_bool(0.55) {
            return time;
        }
    }
}

/// The template whose cumulative weight range holds `roll`.
fn pick_template(mut roll: u32) -> usize {
    for (index, template) in TEMPLATES.iter().enumerate() {
        if roll < template.weight {
            return index;
        }
        roll -= template.weight;
    }
    0
}

/// A GUID-shaped id from the generator.
pub fn guid(rng: &mut ChaCha8Rng) -> String {
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

/// Fills `{host}`, `{user}` and `{ip}`.
fn fill(text: &str, host: &str, user: &str, ip: &str) -> String {
    text.replace("{host}", host)
        .replace("{user}", user)
        .replace("{ip}", ip)
}

/// Minutes drawn from a few realistic bands, given as (share in percent, min, max).
fn minutes(rng: &mut ChaCha8Rng, bands: &[(u32, i64, i64)]) -> Duration {
    let mut roll = rng.random_range(0..100u32);
    for &(share, low, high) in bands {
        if roll < share {
            return Duration::minutes(rng.random_range(low..high));
        }
        roll -= share;
    }
    Duration::minutes(60)
}

/// The first row of an incident: New, unassigned.
fn created_incident(
    rng: &mut ChaCha8Rng,
    number: u64,
    created: DateTime<Utc>,
    template: &Template,
    in_wave: bool,
) -> Incident {
    let host = format!(
        "{}{:03}",
        HOST_PREFIXES[rng.random_range(0..HOST_PREFIXES.len())],
        rng.random_range(1..80u32)
    );
    let user = format!("{}@contoso.com", USERS[rng.random_range(0..USERS.len())]);
    // Documentation address ranges (RFC 5737): realistic-looking, never routable.
    let ip = format!(
        "{}.{}",
        ["203.0.113", "198.51.100", "192.0.2"][rng.random_range(0..3)],
        rng.random_range(2..254u32)
    );
    let id = guid(rng);
    let alert_count = if in_wave {
        1
    } else {
        rng.random_range(1..=4usize)
    };
    let alert_ids = (0..alert_count).map(|_| guid(rng)).collect();
    let severity = template.severity(rng.random_range(0..template.severity_total()));
    Incident {
        workspace: crate::incident::Workspace::ONLY,
        number,
        url: Some(format!("{PORTAL}{id}")),
        id,
        title: fill(template.title, &host, &user, &ip).into(),
        description: fill(template.description, &host, &user, &ip).into(),
        severity,
        status: Status::New,
        classification: None,
        classification_comment: None,
        owner: Owner::default(),
        tactics: template.tactics.to_vec(),
        techniques: template
            .techniques
            .iter()
            .map(|technique| ArcStr::from(*technique))
            .collect(),
        alert_products: vec![template.product.into()],
        alert_ids,
        labels: if in_wave {
            vec!["Phishing wave".into()]
        } else {
            Vec::new()
        },
        created,
        first_modified: None,
        first_human_action: None,
        last_modified: created,
        closed: None,
    }
}

/// Appends the rows of one incident's life up to `now`.
fn history(
    rng: &mut ChaCha8Rng,
    rows: &mut Vec<IncidentRow>,
    now: DateTime<Utc>,
    number: u64,
    created: DateTime<Utc>,
    template_index: usize,
    in_wave: bool,
) {
    let template = &TEMPLATES[template_index];
    let mut incident = created_incident(rng, number, created, template, in_wave);
    let never_triaged = rng.random_bool(0.04);
    let stalled = rng.random_bool(0.06);
    let assigned_first = rng.random_bool(0.3);
    let (name, email) = ANALYSTS[rng.random_range(0..ANALYSTS.len())];
    let triage_delay = minutes(rng, &[(55, 5, 120), (33, 120, 720), (12, 1440, 5760)]);
    let start_delay = Duration::minutes(rng.random_range(5..60));
    let resolve_delay = minutes(rng, &[(60, 20, 480), (30, 480, 4320), (10, 4320, 14400)]);
    let classification = classify(rng.random_range(0..100u32), in_wave);

    let automated = rng.random_bool(0.4);
    let automation_delay = Duration::minutes(rng.random_range(1..5));

    rows.push(IncidentRow {
        time_generated: created,
        modified_by: Some(CREATED_BY.to_string()),
        incident: incident.clone(),
    });
    // An automation rule tags many incidents minutes after creation: a first change that
    // ends triage by the workbook's definition, though no person has looked yet.
    if automated && created + automation_delay < now {
        incident
            .labels
            .push(format!("{} alert", template.product).into());
        push_change(
            rows,
            &mut incident,
            created + automation_delay,
            AUTOMATION_RULE,
        );
    }
    if never_triaged {
        return;
    }
    let mut time = created + triage_delay.max(automation_delay + Duration::minutes(1));
    if time >= now {
        return;
    }
    incident.owner = Owner {
        name: Some(name.into()),
        email: Some(email.into()),
        object_id: None,
    };
    if assigned_first {
        // Assigned while still New, then started a little later.
        push_change(rows, &mut incident, time, email);
        time += start_delay;
        if time >= now {
            return;
        }
    }
    incident.status = Status::Active;
    push_change(rows, &mut incident, time, email);
    if stalled {
        return;
    }
    time += resolve_delay;
    if time >= now {
        return;
    }
    incident.status = Status::Closed;
    incident.classification = Some(classification);
    incident.classification_comment = Some(CLOSING_COMMENTS[closing_index(classification)].into());
    incident.closed = Some(time);
    push_change(rows, &mut incident, time, email);
}

/// `ModifiedBy` of the row Sentinel writes when it creates an incident from an alert.
const CREATED_BY: &str = "Incident created from alert";

/// `ModifiedBy` of the demo's automation rule.
const AUTOMATION_RULE: &str = "Automation rule - Tag by product";

/// Records the incident as changed at `time` by `modified_by`.
fn push_change(
    rows: &mut Vec<IncidentRow>,
    incident: &mut Incident,
    time: DateTime<Utc>,
    modified_by: &str,
) {
    incident.last_modified = time;
    rows.push(IncidentRow {
        time_generated: time,
        modified_by: Some(modified_by.to_string()),
        incident: incident.clone(),
    });
}

/// Mostly benign and false positives; the phishing wave is mostly true positives.
fn classify(roll: u32, in_wave: bool) -> Classification {
    let shares = if in_wave { [70, 15, 10] } else { [22, 40, 32] };
    if roll < shares[0] {
        Classification::TruePositive
    } else if roll < shares[0] + shares[1] {
        Classification::BenignPositive
    } else if roll < shares[0] + shares[1] + shares[2] {
        Classification::FalsePositive
    } else {
        Classification::Undetermined
    }
}

/// Position of a classification in [`CLOSING_COMMENTS`].
fn closing_index(classification: Classification) -> usize {
    match classification {
        Classification::TruePositive => 0,
        Classification::BenignPositive => 1,
        Classification::FalsePositive => 2,
        Classification::Undetermined => 3,
    }
}
