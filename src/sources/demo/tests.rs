//! Checks of the demo data's shape and of the in-memory source's behaviour.

use super::*;
use crate::analytics;
use crate::incident::{ArcStr, Classification, ClassificationReason, Owner, Severity};
use crate::sources::IncidentUpdate;
use chrono::TimeZone;
use std::collections::HashSet;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 30, 0).unwrap()
}

fn standard() -> Vec<Incident> {
    incident::collapse(rows(now(), STANDARD_COUNT, SEED))
}

#[test]
fn rows_are_deterministic() {
    assert_eq!(rows(now(), 300, SEED), rows(now(), 300, SEED));
    assert_ne!(rows(now(), 300, SEED), rows(now(), 300, SEED + 1));
}

#[test]
fn data_spans_eight_weeks_and_every_product() {
    let incidents = standard();
    assert_eq!(incidents.len(), STANDARD_COUNT);
    let oldest = incidents.iter().map(|it| it.created).min().unwrap();
    let newest = incidents.iter().map(|it| it.created).max().unwrap();
    assert!(now() - oldest >= Duration::weeks(8), "oldest {oldest}");
    assert!(newest < now());
    let products: HashSet<&str> = incidents
        .iter()
        .flat_map(|it| it.alert_products.iter().map(ArcStr::as_str))
        .collect();
    for product in PRODUCTS {
        assert!(products.contains(product), "missing {product}");
    }
    let high = incidents
        .iter()
        .filter(|it| it.severity == Severity::High)
        .count();
    assert!(high > 0 && high * 10 < incidents.len(), "{high} High");
    let per_week = incidents
        .iter()
        .filter(|it| now() - it.created <= Duration::weeks(1))
        .count();
    assert!((40..=90).contains(&per_week), "{per_week} in the last week");
}

#[test]
fn history_has_creation_triage_and_closing_rows() {
    let all_rows = rows(now(), STANDARD_COUNT, SEED);
    let closed = standard()
        .into_iter()
        .find(|it| it.status == Status::Closed)
        .unwrap();
    let history: Vec<&IncidentRow> = all_rows
        .iter()
        .filter(|row| row.incident.number == closed.number)
        .collect();
    assert!(history.len() >= 3);
    assert_eq!(history[0].incident.status, Status::New);
    assert!(!history[0].incident.owner.is_assigned());
    assert_eq!(history[0].time_generated, closed.created);
    assert!(closed.owner.label().unwrap().len() > 3);
    assert!(closed.classification.is_some());
    assert!(closed.first_human_action.unwrap() > closed.created);
    assert!(closed.closed.unwrap() >= closed.first_human_action.unwrap());
    let classifications: HashSet<Classification> = standard()
        .iter()
        .filter_map(|it| it.classification)
        .collect();
    assert!(classifications.len() >= 3);
}

#[test]
fn duplicate_rows_collapse_to_one_incident() {
    let all_rows = rows(now(), STANDARD_COUNT, SEED);
    let duplicates = all_rows
        .iter()
        .enumerate()
        .filter(|(index, row)| all_rows[..*index].contains(row))
        .count();
    assert!(duplicates > 0, "no duplicated row in the demo data");
    let numbers: HashSet<u64> = all_rows.iter().map(|row| row.incident.number).collect();
    assert_eq!(incident::collapse(all_rows).len(), numbers.len());
}

#[test]
fn last_week_has_a_flagged_spike_day() {
    let window = Window {
        start: now() - Duration::days(7),
        end: now(),
    };
    let summary = analytics::summarize(&standard(), window);
    let spikes: Vec<_> = summary.daily.iter().filter(|day| day.anomaly).collect();
    assert_eq!(spikes.len(), 1, "{:?}", summary.daily);
    assert_eq!(
        spikes[0].date,
        (now() - Duration::days(generate::SPIKE_DAYS_AGO)).date_naive()
    );
}

#[tokio::test]
async fn an_incident_number_names_the_same_incident_all_day() {
    let morning = Utc.with_ymd_and_hms(2026, 11, 23, 0, 5, 0).unwrap();
    let evening = Utc.with_ymd_and_hms(2026, 11, 23, 23, 55, 0).unwrap();
    let early = DemoSource::new(morning);
    let late = DemoSource::new(evening);
    for number in [1000, 1200, 1400, 1492] {
        let (before, after) = (
            early
                .incident(crate::incident::IncidentKey::only(number))
                .await,
            late.incident(crate::incident::IncidentKey::only(number))
                .await,
        );
        let (before, after) = (before.unwrap().incident, after.unwrap().incident);
        assert_eq!(
            (&before.title, before.severity, before.created),
            (&after.title, after.severity, after.created),
            "incident {number}"
        );
    }
    // The next day is a new data set, anchored at its own end.
    assert_eq!(anchor(morning), anchor(evening));
    assert_ne!(anchor(morning), anchor(evening + Duration::minutes(10)));
    // Nothing from later in the day is visible in the morning.
    let incidents = early
        .incidents(Window {
            start: morning - Duration::days(7),
            end: morning,
        })
        .await
        .unwrap()
        .incidents;
    assert!(
        incidents
            .iter()
            .all(|it| it.created <= morning && it.last_modified <= morning)
    );
}

#[test]
fn some_incidents_stay_open_for_weeks() {
    let long_open = standard()
        .iter()
        .filter(|it| it.status.is_open() && now() - it.created > Duration::days(14))
        .count();
    assert!(long_open >= 3, "{long_open}");
}

#[test]
fn some_titles_need_escaping() {
    let titles: Vec<ArcStr> = standard().into_iter().map(|it| it.title).collect();
    assert!(titles.iter().any(|title| title.contains("<script>")));
    assert!(titles.iter().any(|title| title.contains('*')));
}

#[test]
fn large_sets_generate() {
    let all_rows = rows(now(), 100_000, SEED);
    let numbers: HashSet<u64> = all_rows.iter().map(|row| row.incident.number).collect();
    assert_eq!(numbers.len(), 100_000);
}

#[tokio::test]
async fn incidents_include_older_open_ones() {
    let source = DemoSource::new(now());
    let window = Window {
        start: now() - Duration::days(7),
        end: now(),
    };
    let incidents = source.incidents(window).await.unwrap().incidents;
    assert!(incidents.iter().any(|it| window.contains(it.created)));
    let older: Vec<&Incident> = incidents
        .iter()
        .filter(|it| !window.contains(it.created))
        .collect();
    assert!(!older.is_empty());
    assert!(older.iter().all(|it| it.status.is_open()));
    assert!(
        incidents
            .iter()
            .all(|it| now() - it.created <= Duration::days(OPEN_LOOKBACK_DAYS))
    );
}

#[tokio::test]
async fn past_windows_include_incidents_open_at_their_end() {
    let source = DemoSource::new(now());
    let window = Window {
        start: now() - Duration::days(22),
        end: now() - Duration::days(21),
    };
    let incidents = source.incidents(window).await.unwrap().incidents;
    let older: Vec<&Incident> = incidents
        .iter()
        .filter(|it| !window.contains(it.created))
        .collect();
    assert!(older.iter().all(|it| it.created < window.start));
    assert!(
        older
            .iter()
            .all(|it| it.closed.is_none_or(|closed| closed >= window.end))
    );
    // Some were closed since, yet count as open at the end of that week.
    assert!(older.iter().any(|it| it.status == Status::Closed));
}

#[tokio::test]
async fn detail_has_alerts_entities_and_etag() {
    let source = DemoSource::new(now());
    let number = generate::FIRST_NUMBER + 10;
    let detail = source
        .incident(crate::incident::IncidentKey::only(number))
        .await
        .unwrap();
    assert_eq!(detail.etag.as_deref(), Some("demo-1010-1"));
    assert!((1..=4).contains(&detail.alerts.len()));
    assert_eq!(detail.alerts.len(), detail.incident.alert_ids.len());
    assert_eq!(detail.alerts[0].name, detail.incident.title);
    assert!(!detail.alerts[0].entities.is_empty());
    assert!(detail.comments.len() <= 3);
    assert_eq!(
        source
            .incident(crate::incident::IncidentKey::only(number))
            .await
            .unwrap(),
        detail
    );
    assert_eq!(
        source
            .incident(crate::incident::IncidentKey::only(99))
            .await,
        Err(SourceError::NotFound(crate::incident::IncidentKey::only(
            99
        )))
    );
}

#[tokio::test]
async fn update_checks_etag_and_persists() {
    let source = DemoSource::new(now());
    let number = generate::FIRST_NUMBER + 20;
    let before = source
        .incident(crate::incident::IncidentKey::only(number))
        .await
        .unwrap();
    let update = IncidentUpdate {
        status: Some(Status::Closed),
        classification: Some(Classification::FalsePositive),
        classification_comment: Some("Tuning requested".into()),
        owner: Some(Owner {
            name: Some("Test Analyst".into()),
            ..Owner::default()
        }),
        ..IncidentUpdate::default()
    };
    assert_eq!(
        source
            .update(
                crate::incident::IncidentKey::only(number),
                &update,
                Some("demo-1020-0")
            )
            .await,
        Err(SourceError::Conflict { system: SYSTEM })
    );
    let updated = source
        .update(
            crate::incident::IncidentKey::only(number),
            &update,
            before.etag.as_deref(),
        )
        .await
        .unwrap();
    assert_eq!(updated.status, Status::Closed);
    assert_eq!(updated.classification, Some(Classification::FalsePositive));
    assert!(updated.closed.is_some());
    let after = source
        .incident(crate::incident::IncidentKey::only(number))
        .await
        .unwrap();
    assert_eq!(after.incident, updated);
    assert_eq!(after.etag.as_deref(), Some("demo-1020-2"));
    // The old etag is now stale.
    assert!(matches!(
        source
            .update(
                crate::incident::IncidentKey::only(number),
                &update,
                before.etag.as_deref()
            )
            .await,
        Err(SourceError::Conflict { .. })
    ));
    assert_eq!(
        source
            .update(crate::incident::IncidentKey::only(5), &update, None)
            .await,
        Err(SourceError::NotFound(crate::incident::IncidentKey::only(5)))
    );
}

#[tokio::test]
async fn closing_without_classification_is_refused() {
    let source = DemoSource::new(now());
    let open = source
        .incidents(Window {
            start: now() - Duration::days(7),
            end: now(),
        })
        .await
        .unwrap()
        .incidents
        .into_iter()
        .find(|it| it.status.is_open())
        .unwrap();
    let update = IncidentUpdate {
        status: Some(Status::Closed),
        ..IncidentUpdate::default()
    };
    assert!(matches!(
        source
            .update(
                crate::incident::IncidentKey::only(open.number),
                &update,
                None
            )
            .await,
        Err(SourceError::Failed { .. })
    ));
}

#[tokio::test]
async fn closing_with_a_reason_the_classification_does_not_take_is_refused() {
    let source = DemoSource::new(now());
    let number = generate::FIRST_NUMBER + 20;
    let before = source.incident(IncidentKey::only(number)).await.unwrap();
    let update = IncidentUpdate {
        status: Some(Status::Closed),
        classification: Some(Classification::TruePositive),
        classification_reason: Some(ClassificationReason::InaccurateData),
        ..IncidentUpdate::default()
    };
    assert_eq!(
        source.update(IncidentKey::only(number), &update, None).await,
        Err(SourceError::Failed {
            system: SYSTEM,
            reason: "InaccurateData is not a reason for TruePositive: TruePositive takes SuspiciousActivity".to_string(),
        })
    );
    assert_eq!(
        source.incident(IncidentKey::only(number)).await.unwrap(),
        before,
        "nothing written"
    );
}

#[tokio::test]
async fn comments_persist_and_creates_get_next_number() {
    let source = DemoSource::new(now());
    let number = generate::FIRST_NUMBER + 3;
    let before = source
        .incident(crate::incident::IncidentKey::only(number))
        .await
        .unwrap()
        .comments
        .len();
    source
        .add_comment(
            crate::incident::IncidentKey::only(number),
            "Checked <b>it</b>",
        )
        .await
        .unwrap();
    let comments = source
        .incident(crate::incident::IncidentKey::only(number))
        .await
        .unwrap()
        .comments;
    assert_eq!(comments.len(), before + 1);
    // Read back as Sentinel's reader gives a comment: HTML as text.
    assert_eq!(comments[before].message, "Checked it");
    assert_eq!(
        source
            .add_comment(crate::incident::IncidentKey::only(1), "x")
            .await,
        Err(SourceError::NotFound(crate::incident::IncidentKey::only(1)))
    );

    let created = source
        .create(&NewIncident {
            title: "Lost laptop".into(),
            description: "Reported by phone".into(),
            severity: Severity::Medium,
            owner: None,
        })
        .await
        .unwrap();
    // Numbers are given in creation order; the next one follows the last incident so far.
    let so_far = rows(anchor(now()), STANDARD_COUNT, SEED)
        .iter()
        .filter(|row| row.incident.created <= now())
        .map(|row| row.incident.number)
        .max()
        .unwrap();
    let expected = so_far + 1;
    assert_eq!(created.number, expected);
    assert_eq!(created.status, Status::New);
    assert_eq!(
        source
            .incident(crate::incident::IncidentKey::only(expected))
            .await
            .unwrap()
            .incident,
        created
    );
    let second = source
        .create(&NewIncident {
            title: "Another".into(),
            description: String::new(),
            severity: Severity::Low,
            owner: None,
        })
        .await
        .unwrap();
    assert_eq!(second.number, expected + 1);
}

#[tokio::test]
async fn threat_intel_fits_the_incident() {
    let source = DemoSource::new(now());
    let endpoint = standard()
        .into_iter()
        .find(|it| {
            it.title
                .starts_with("Suspicious PowerShell command line on ")
        })
        .unwrap();
    let host = endpoint.title.rsplit(' ').next().unwrap().to_string();
    let actions = source.recommended_actions(&endpoint).await.unwrap();
    assert!(
        actions[0]
            .text
            .starts_with("Collect artifacts and determine scope\n")
    );
    assert!(
        actions[1]
            .text
            .starts_with("Isolate the device from the network")
    );
    assert!(actions.iter().all(|it| it.devices == [host.clone()]));
    assert_eq!(
        actions,
        source.recommended_actions(&endpoint).await.unwrap()
    );

    let intel = source
        .tactic_intel(Tactic::Execution, &["T1059.001".to_string()])
        .await
        .unwrap();
    assert_eq!(intel.len(), 2);
    assert!(
        intel
            .iter()
            .all(|it| it.title.starts_with("Demo intelligence:"))
    );
    let bare = source.tactic_intel(Tactic::Impact, &[]).await.unwrap();
    assert_eq!(bare.len(), 1);
}
