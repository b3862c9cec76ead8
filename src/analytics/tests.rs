//! Hand-computed checks of the analytics over tiny incident sets.

use super::*;
use crate::incident::{Classification, IncidentRow, Owner};
use crate::period::Period;
use chrono::{Datelike, TimeZone};

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap()
}

fn incident(number: u64, created: DateTime<Utc>, severity: Severity, status: Status) -> Incident {
    Incident {
        workspace: crate::incident::Workspace::ONLY,
        number,
        id: format!("id-{number}"),
        title: format!("Incident {number}").into(),
        description: "".into(),
        severity,
        status,
        classification: None,
        classification_comment: None,
        owner: Owner::default(),
        tactics: Vec::new(),
        techniques: Vec::new(),
        alert_products: Vec::new(),
        alert_ids: Vec::new(),
        labels: Vec::new(),
        created,
        first_modified: None,
        first_human_action: None,
        last_modified: created,
        closed: None,
        url: None,
    }
}

fn week() -> Window {
    Window {
        start: at(16, 0),
        end: at(23, 0),
    }
}

fn day(date_day: u32, total: usize) -> DayVolume {
    DayVolume {
        date: NaiveDate::from_ymd_opt(2026, 11, date_day).unwrap(),
        by_severity: [0, total, 0, 0],
        total,
        partial: false,
        anomaly: false,
    }
}

#[test]
fn counts_by_status_severity_tactic_and_both() {
    let mut first = incident(1, at(16, 9), Severity::High, Status::New);
    first.tactics = vec![Tactic::InitialAccess, Tactic::Execution];
    let mut second = incident(2, at(17, 9), Severity::Medium, Status::Active);
    second.tactics = vec![Tactic::Execution];
    let third = incident(3, at(18, 9), Severity::Medium, Status::Closed);
    let mut fourth = incident(4, at(19, 9), Severity::Low, Status::Closed);
    fourth.tactics = vec![Tactic::CredentialAccess, Tactic::CredentialAccess];
    // Created before the window: not counted in the breakdowns.
    let mut outside = incident(5, at(10, 9), Severity::High, Status::Active);
    outside.tactics = vec![Tactic::Impact];

    let summary = summarize(&[first, second, third, fourth, outside], week());

    assert_eq!(summary.total, 4);
    assert_eq!(summary.by_status, [1, 1, 2]);
    assert_eq!(summary.by_severity, [1, 2, 1, 0]);
    assert_eq!(
        summary.status_by_severity,
        [[1, 0, 0], [0, 1, 1], [0, 0, 1], [0, 0, 0]]
    );
    assert_eq!(
        summary.by_tactic,
        vec![
            (Tactic::Execution, 2),
            (Tactic::InitialAccess, 1),
            (Tactic::CredentialAccess, 1),
        ]
    );
    assert_eq!(summary.without_tactics, 1);
    assert_eq!(summary.resolution_rate, Some(0.5));
}

#[test]
fn every_sentinel_tactic_and_other_names_are_counted_none_as_no_tactic() {
    let tactics = |names: &[&str]| -> Vec<Tactic> {
        names.iter().filter_map(|it| Tactic::read(it)).collect()
    };
    let with = |number: u64, names: &[&str]| {
        let mut it = incident(number, at(17, 9), Severity::Medium, Status::New);
        it.tactics = tactics(names);
        it
    };
    let incidents = [
        with(1, &["PreAttack"]),
        with(2, &["ImpairProcessControl"]),
        with(3, &["initial access"]),
        with(4, &["MyCustomTactic"]),
        // Two spellings of one tactic and one other name twice: counted once each.
        with(5, &["InitialAccess", "Initial-Access", "Zeta", "Zeta"]),
        with(6, &["Inhibit Response Function", "MyCustomTactic"]),
        with(7, &[]),
    ];

    let summary = summarize(&incidents, week());

    let other = |name: &str| Tactic::Other(name.into());
    // Most frequent first; ties in kill-chain order, then other names by name.
    assert_eq!(
        summary.by_tactic,
        vec![
            (Tactic::InitialAccess, 2),
            (other("MyCustomTactic"), 2),
            (Tactic::PreAttack, 1),
            (Tactic::InhibitResponseFunction, 1),
            (Tactic::ImpairProcessControl, 1),
            (other("Zeta"), 1),
        ]
    );
    assert_eq!(summary.without_tactics, 1);
}

#[test]
fn comparison_keeps_other_names_of_either_period() {
    let mut now_custom = incident(1, at(20, 0), Severity::Low, Status::New);
    now_custom.tactics = vec![Tactic::Other("Custom".into()), Tactic::PreAttack];
    let mut before_custom = incident(2, at(12, 0), Severity::Low, Status::New);
    before_custom.tactics = vec![Tactic::Other("Older".into())];
    let all = [now_custom, before_custom];

    let comparison = compare(
        &summarize(&all, week()),
        &summarize(&all, week().previous()),
    );

    let counts: Vec<(Tactic, usize, usize)> = comparison
        .by_tactic
        .into_iter()
        .map(|(tactic, trend)| (tactic, trend.current, trend.previous))
        .collect();
    assert_eq!(
        counts,
        vec![
            (Tactic::PreAttack, 1, 0),
            (Tactic::Other("Custom".into()), 1, 0),
            (Tactic::Other("Older".into()), 0, 1),
        ]
    );
}

#[test]
fn empty_period_is_all_zeros_with_no_rates() {
    let summary = summarize(&[], week());
    assert_eq!(summary.total, 0);
    assert_eq!(summary.by_status, [0; 3]);
    assert_eq!(summary.by_severity, [0; 4]);
    assert!(summary.by_tactic.is_empty());
    assert_eq!(summary.without_tactics, 0);
    assert_eq!(summary.resolution_rate, None);
    assert_eq!(summary.time_to_triage.count, 0);
    assert_eq!(summary.time_to_triage.mean, None);
    assert_eq!(summary.time_to_resolve.median, None);
    assert_eq!(summary.daily_average, Some(0.0));
    assert_eq!(summary.daily.len(), 7);
    assert!(
        summary
            .daily
            .iter()
            .all(|day| day.total == 0 && !day.anomaly)
    );
}

#[test]
fn triage_and_resolve_means_and_medians() {
    let mut quick = incident(1, at(16, 0), Severity::Low, Status::Closed);
    quick.first_modified = Some(at(16, 1));
    quick.closed = Some(at(16, 3));
    let mut slow = incident(2, at(17, 0), Severity::Low, Status::Closed);
    slow.first_modified = Some(at(17, 3));
    slow.closed = Some(at(17, 9));
    let mut open = incident(3, at(18, 0), Severity::Low, Status::Active);
    open.first_modified = Some(at(18, 8));
    // Modified "before" creation: bad data, skipped.
    let mut broken = incident(4, at(19, 5), Severity::Low, Status::New);
    broken.first_modified = Some(at(19, 1));

    let summary = summarize(&[quick, slow, open, broken], week());

    // Triage: 1 h, 3 h, 8 h.
    assert_eq!(summary.time_to_triage.count, 3);
    assert_eq!(summary.time_to_triage.mean, Some(Duration::hours(4)));
    assert_eq!(summary.time_to_triage.median, Some(Duration::hours(3)));
    // Resolve: 3 h and 9 h; even count, so the median is the mean of the middle two.
    assert_eq!(summary.time_to_resolve.count, 2);
    assert_eq!(summary.time_to_resolve.mean, Some(Duration::hours(6)));
    assert_eq!(summary.time_to_resolve.median, Some(Duration::hours(6)));
    assert_eq!(summary.resolution_rate, Some(0.5));
}

#[test]
fn mttt_follows_the_workbook_and_human_action_skips_automation() {
    // An automation rule tags both incidents 2 minutes after creation; Dana picks the first
    // up after 2 hours, nobody has touched the second.
    let rows = |number: u64, human: Option<DateTime<Utc>>| {
        let created = at(17, 9);
        let mut base = incident(number, created, Severity::Medium, Status::New);
        let mut tagged = base.clone();
        tagged.last_modified = created + Duration::minutes(2);
        let mut rows = vec![
            IncidentRow {
                time_generated: created,
                modified_by: Some("Incident created from alert".to_string()),
                incident: base.clone(),
            },
            IncidentRow {
                time_generated: tagged.last_modified,
                modified_by: Some("Automation rule - Tag by product".to_string()),
                incident: tagged,
            },
        ];
        if let Some(time) = human {
            base.status = Status::Active;
            base.last_modified = time;
            rows.push(IncidentRow {
                time_generated: time,
                modified_by: Some("dana@contoso.com".to_string()),
                incident: base,
            });
        }
        rows
    };
    let all: Vec<IncidentRow> = rows(1, Some(at(17, 11)))
        .into_iter()
        .chain(rows(2, None))
        .collect();
    let summary = summarize(&crate::incident::collapse(all), week());
    // Workbook MTTT: both were first modified 2 minutes after creation.
    assert_eq!(summary.time_to_triage.count, 2);
    assert_eq!(summary.time_to_triage.mean, Some(Duration::minutes(2)));
    // A person acted on one of them, after 2 hours.
    assert_eq!(summary.time_to_first_human_action.count, 1);
    assert_eq!(
        summary.time_to_first_human_action.mean,
        Some(Duration::hours(2))
    );
}

#[test]
fn a_reopened_incident_has_no_resolve_time() {
    let mut reopened = incident(1, at(16, 0), Severity::High, Status::Active);
    reopened.closed = Some(at(16, 5));
    let mut closed = incident(2, at(17, 0), Severity::High, Status::Closed);
    closed.closed = Some(at(17, 2));
    let summary = summarize(&[reopened, closed], week());
    assert_eq!(summary.time_to_resolve.count, 1);
    assert_eq!(summary.time_to_resolve.mean, Some(Duration::hours(2)));
}

#[test]
fn daily_average_divides_by_the_period_length_not_the_day_buckets() {
    // 84 incidents in the 7 days from 10:00 on the 16th: 8 calendar days touched.
    let now = at(23, 10);
    let window = Period::Week.window(now);
    let incidents: Vec<Incident> = (0..84)
        .map(|number| {
            let created = window.start + Duration::hours(2 * number as i64);
            incident(number, created, Severity::Low, Status::New)
        })
        .collect();
    let summary = summarize(&incidents, window);
    assert_eq!(summary.total, 84);
    assert_eq!(summary.daily.len(), 8);
    assert_eq!(summary.daily_average, Some(12.0));
    // 30 days: 252 incidents make 8.4 a day.
    let month = Period::Month.window(now);
    let incidents: Vec<Incident> = (0..252)
        .map(|number| {
            incident(
                number,
                month.start + Duration::hours(2),
                Severity::Low,
                Status::New,
            )
        })
        .collect();
    let average = summarize(&incidents, month).daily_average.unwrap();
    assert!((average - 8.4).abs() < 1e-9, "{average}");
    // Under a day there is no daily average.
    assert_eq!(
        summarize(&[], Period::Hours(6).window(now)).daily_average,
        None
    );
}

#[test]
fn partial_days_are_marked_and_never_flagged() {
    // The week from 10:00 on the 16th: the 16th and 23rd are partial. A burst of 20 in the
    // three hours of the 23rd and 3 a day otherwise.
    let now = at(23, 13);
    let window = Period::Week.window(now);
    let mut incidents = Vec::new();
    for date_day in 17..23 {
        for index in 0..3 {
            incidents.push(incident(
                index,
                at(date_day, 12),
                Severity::Low,
                Status::New,
            ));
        }
    }
    for index in 0..20 {
        incidents.push(incident(
            100 + index,
            at(23, 11),
            Severity::Low,
            Status::New,
        ));
    }
    let summary = summarize(&incidents, window);
    let partial: Vec<u32> = summary
        .daily
        .iter()
        .filter(|day| day.partial)
        .map(|day| day.date.day())
        .collect();
    assert_eq!(partial, vec![16, 23]);
    assert!(summary.daily.iter().all(|day| !day.anomaly));
    // The same burst on a whole day is flagged.
    for index in 0..20 {
        incidents.push(incident(
            200 + index,
            at(19, 11),
            Severity::Low,
            Status::New,
        ));
    }
    let flagged: Vec<u32> = summarize(&incidents, window)
        .daily
        .iter()
        .filter(|day| day.anomaly)
        .map(|day| day.date.day())
        .collect();
    assert_eq!(flagged, vec![19]);
}

#[test]
fn an_old_open_high_incident_is_in_the_backlog() {
    let now = at(23, 0);
    // Opened 60 days ago, still Active: nothing about it is in this week's creations.
    let lsass = incident(1, now - Duration::days(60), Severity::High, Status::Active);
    let fresh = incident(2, at(20, 0), Severity::High, Status::New);
    let closed = incident(3, at(19, 0), Severity::High, Status::Closed);
    let facts = PeriodFacts::compute(
        &[lsass, fresh, closed],
        None,
        week(),
        now,
        DEFAULT_LONG_OPEN,
    );
    let open_high: Vec<u64> = facts.backlog.open_high.iter().map(|it| it.number).collect();
    assert_eq!(open_high, vec![1, 2]);
    assert_eq!(facts.backlog.open_high[0].age, Duration::days(60));
    assert_eq!(facts.backlog.open, 2);
    assert_eq!(facts.backlog.unowned, 2);
    // Created in the period: the fresh one and the closed one only.
    assert_eq!(facts.created.total, 2);
    assert_eq!(facts.incidents().len(), 2);
}

#[test]
fn durations_skip_negatives_and_average_middle_pair() {
    let result = durations([
        Duration::minutes(10),
        Duration::minutes(-5),
        Duration::minutes(40),
        Duration::minutes(20),
        Duration::minutes(30),
    ]);
    assert_eq!(result.count, 4);
    assert_eq!(result.mean, Some(Duration::minutes(25)));
    assert_eq!(result.median, Some(Duration::minutes(25)));
    assert_eq!(
        durations(Vec::new()),
        Durations {
            count: 0,
            mean: None,
            median: None
        }
    );
}

#[test]
fn long_unresolved_includes_older_open_incidents_oldest_first() {
    let now = at(23, 0);
    let mut old = incident(1, at(1, 0), Severity::High, Status::Active);
    old.owner.name = Some("Dana Analyst".into());
    let recent_long = incident(2, at(18, 0), Severity::Low, Status::New);
    // Exactly three days old: not *longer* than the threshold.
    let boundary = incident(3, now - Duration::days(3), Severity::Low, Status::New);
    let just_over = incident(
        4,
        now - Duration::days(3) - Duration::seconds(1),
        Severity::Low,
        Status::New,
    );
    let closed_old = incident(5, at(2, 0), Severity::High, Status::Closed);

    let facts = PeriodFacts::compute(
        &[recent_long, boundary, closed_old, just_over, old],
        None,
        week(),
        now,
        DEFAULT_LONG_OPEN,
    );

    let backlog = &facts.backlog;
    let numbers: Vec<u64> = backlog.long_unresolved.iter().map(|it| it.number).collect();
    assert_eq!(numbers, vec![1, 2, 4]);
    let oldest = &backlog.long_unresolved[0];
    assert_eq!(oldest.age, Duration::days(22));
    assert_eq!(oldest.owner.label(), Some("Dana Analyst"));
    assert_eq!(oldest.status, Status::Active);
    // Four open incidents, one with an owner.
    assert_eq!(backlog.open, 4);
    assert_eq!(backlog.unowned, 3);
    assert_eq!(backlog.by_status, [3, 1, 0]);
    // The older incidents are in the backlog, not in the period's creations.
    assert_eq!(facts.created.total, 3);
}

#[test]
fn daily_volume_by_severity_with_one_spike() {
    let mut incidents = Vec::new();
    let mut number = 0;
    for date_day in 16..23 {
        let count = if date_day == 20 { 12 } else { 3 };
        for index in 0..count {
            number += 1;
            let severity = if index == 0 {
                Severity::High
            } else {
                Severity::Medium
            };
            incidents.push(incident(number, at(date_day, 10), severity, Status::New));
        }
    }
    let summary = summarize(&incidents, week());
    assert_eq!(summary.daily.len(), 7);
    assert!(summary.daily.iter().all(|day| !day.partial));
    assert_eq!(
        summary.daily[0].date,
        NaiveDate::from_ymd_opt(2026, 11, 16).unwrap()
    );
    assert_eq!(summary.daily[0].by_severity, [1, 2, 0, 0]);
    assert_eq!(summary.daily[4].total, 12);
    let flagged: Vec<u32> = summary
        .daily
        .iter()
        .filter(|day| day.anomaly)
        .map(|day| day.date.day())
        .collect();
    assert_eq!(flagged, vec![20]);
}

#[test]
fn daily_volume_touches_partial_days() {
    // 10:00 on the 16th to 10:00 on the 18th touches three UTC days.
    let window = Window {
        start: at(16, 10),
        end: at(18, 10),
    };
    let summary = summarize(&[], window);
    assert_eq!(summary.daily.len(), 3);
    let partial: Vec<bool> = summary.daily.iter().map(|day| day.partial).collect();
    assert_eq!(partial, vec![true, false, true]);
    // Ending exactly at midnight does not touch the next day.
    let summary = summarize(&[], week());
    assert_eq!(
        summary.daily.last().map(|day| day.date),
        NaiveDate::from_ymd_opt(2026, 11, 22)
    );
}

#[test]
fn flat_series_is_not_flagged() {
    let mut days: Vec<DayVolume> = (16..23).map(|date_day| day(date_day, 5)).collect();
    flag_anomalies(&mut days);
    assert!(days.iter().all(|day| !day.anomaly));
    // A small bump stays under both the MAD floor and twice the median.
    days[3].total = 8;
    flag_anomalies(&mut days);
    assert!(days.iter().all(|day| !day.anomaly));
}

#[test]
fn spike_is_flagged_and_flags_are_recomputed() {
    let mut days: Vec<DayVolume> = (16..23).map(|date_day| day(date_day, 6)).collect();
    days[2].total = 20;
    days[5].anomaly = true;
    flag_anomalies(&mut days);
    let flagged: Vec<bool> = days.iter().map(|day| day.anomaly).collect();
    assert_eq!(
        flagged,
        vec![false, false, true, false, false, false, false]
    );
}

#[test]
fn compare_handles_zero_previous() {
    let mut current_incident = incident(1, at(20, 0), Severity::High, Status::Closed);
    current_incident.tactics = vec![Tactic::Execution];
    current_incident.classification = Some(Classification::TruePositive);
    current_incident.first_modified = Some(at(20, 2));
    current_incident.closed = Some(at(20, 4));
    let mut second = incident(2, at(20, 0), Severity::Medium, Status::New);
    second.tactics = vec![Tactic::Execution];
    let mut before = incident(3, at(12, 0), Severity::Medium, Status::Closed);
    before.tactics = vec![Tactic::Impact];
    before.first_modified = Some(at(12, 5));
    before.closed = Some(at(12, 6));
    let all = [current_incident, second, before];
    let current = summarize(&all, week());
    let previous = summarize(&all, week().previous());

    let comparison = compare(&current, &previous);

    assert_eq!(comparison.total.current, 2);
    assert_eq!(comparison.total.previous, 1);
    assert_eq!(comparison.total.change_pct, Some(100.0));
    assert_eq!(
        comparison.by_severity[Severity::High.index()].change_pct,
        None
    );
    assert_eq!(
        comparison.by_severity[Severity::Medium.index()].change_pct,
        Some(0.0)
    );
    assert_eq!(
        comparison.by_tactic,
        vec![
            (
                Tactic::Execution,
                Trend {
                    current: 2,
                    previous: 0,
                    change_pct: None
                }
            ),
            (
                Tactic::Impact,
                Trend {
                    current: 0,
                    previous: 1,
                    change_pct: Some(-100.0)
                }
            ),
        ]
    );
    // 50 % now against 100 % before.
    assert_eq!(comparison.resolution_rate_change_pts, Some(-50.0));
    assert_eq!(comparison.time_to_triage_change, Some(Duration::hours(-3)));
    assert_eq!(comparison.time_to_resolve_change, Some(Duration::hours(-2)));

    let empty = summarize(&[], week().previous().previous());
    let against_empty = compare(&current, &empty);
    assert_eq!(against_empty.total.change_pct, None);
    assert_eq!(against_empty.resolution_rate_change_pts, None);
    assert_eq!(against_empty.time_to_triage_change, None);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// (hours after the window start, severity, status, triage hours, tactic bits)
    type Spec = (i64, usize, usize, Option<i64>, u32);

    fn build(specs: &[Spec]) -> Vec<Incident> {
        (0u64..)
            .zip(specs)
            .map(
                |(number, &(hours, severity, status, triage, tactic_bits))| {
                    let created = at(16, 0) + Duration::hours(hours);
                    let mut it = incident(
                        number,
                        created,
                        Severity::ALL[severity],
                        Status::ALL[status],
                    );
                    it.first_modified = triage.map(|delay| created + Duration::hours(delay));
                    if it.status == Status::Closed {
                        it.closed = Some(created + Duration::hours(triage.unwrap_or(1).abs() + 1));
                    }
                    // A bit per known tactic, then two other names.
                    let others = [Tactic::Other("Beta".into()), Tactic::Other("Alpha".into())];
                    it.tactics = Tactic::KNOWN
                        .into_iter()
                        .chain(others)
                        .enumerate()
                        .filter(|(bit, _)| tactic_bits & (1 << bit) != 0)
                        .map(|(_, tactic)| tactic)
                        .collect();
                    it
                },
            )
            .collect()
    }

    proptest! {
        #[test]
        fn breakdowns_add_up(specs in prop::collection::vec(
            (-100i64..300, 0usize..4, 0usize..3, prop::option::of(-5i64..100), any::<u32>()),
            0..60,
        )) {
            let incidents = build(&specs);
            let facts = PeriodFacts::compute(&incidents, None, week(), at(23, 0), DEFAULT_LONG_OPEN);
            let summary = &facts.created;
            let in_window = incidents.iter().filter(|it| week().contains(it.created)).count();
            prop_assert_eq!(summary.total, in_window);
            prop_assert_eq!(summary.by_status.iter().sum::<usize>(), in_window);
            prop_assert_eq!(summary.by_severity.iter().sum::<usize>(), in_window);
            prop_assert_eq!(summary.daily.iter().map(|day| day.total).sum::<usize>(), in_window);
            for day in &summary.daily {
                prop_assert_eq!(day.by_severity.iter().sum::<usize>(), day.total);
            }
            let flat: usize = summary.status_by_severity.iter().flatten().sum();
            prop_assert_eq!(flat, in_window);
            let with_tactics = in_window - summary.without_tactics;
            let tactic_sum: usize = summary.by_tactic.iter().map(|(_, count)| count).sum();
            prop_assert!(tactic_sum >= with_tactics);
            prop_assert!(summary.by_tactic.windows(2).all(|pair| pair[0].1 >= pair[1].1));
            if let Some(rate) = summary.resolution_rate {
                prop_assert!((0.0..=1.0).contains(&rate));
            }
            if let (Some(mean), Some(median)) = (summary.time_to_triage.mean, summary.time_to_triage.median) {
                prop_assert!(mean >= Duration::zero() && median >= Duration::zero());
            }
            prop_assert!(facts.backlog.long_unresolved.windows(2).all(|pair| pair[0].created <= pair[1].created));
            let open = incidents.iter().filter(|it| it.status.is_open()).count();
            prop_assert_eq!(facts.backlog.open, open);
            prop_assert_eq!(facts.backlog.by_severity.iter().sum::<usize>(), open);
        }
    }

    proptest! {
        /// The owning constructor moves the incidents instead of copying them: same facts as
        /// the borrowing one, and the same lists as a plain filter and stable sort, with
        /// repeated numbers (two rows of one incident) and a filter on severity.
        #[test]
        fn taking_the_incidents_gives_the_same_facts(
            specs in prop::collection::vec(
                (-100i64..300, 0usize..4, 0usize..3, prop::option::of(-5i64..100), any::<u32>()),
                0..60,
            ),
            repeat in 1u64..8,
            skip_severity in 0usize..5,
        ) {
            let mut incidents = build(&specs);
            for it in &mut incidents {
                it.number %= 40 / repeat;
            }
            let previous = build(&specs[specs.len() / 2..]);
            let keep = |it: &Incident| it.severity.index() != skip_severity;
            let now = at(23, 0);
            let borrowed = PeriodFacts::compute_matching(
                &incidents, Some(&previous), week(), now, DEFAULT_LONG_OPEN, keep,
            );
            let owned = PeriodFacts::from_incidents(
                incidents.clone(), Some(previous), week(), now, DEFAULT_LONG_OPEN, keep,
            );
            prop_assert_eq!(&owned, &borrowed);
            let mut listed: Vec<Incident> = incidents
                .iter()
                .filter(|it| week().contains(it.created) && keep(it))
                .cloned()
                .collect();
            listed.sort_by(|a, b| a.severity.cmp(&b.severity).then(b.created.cmp(&a.created)));
            prop_assert_eq!(owned.incidents(), &listed[..]);
            let mut seen = std::collections::HashSet::new();
            let mut open: Vec<Incident> = incidents
                .iter()
                .filter(|it| it.status.is_open() && seen.insert(it.key()))
                .cloned()
                .collect();
            open.sort_by(|a, b| a.severity.cmp(&b.severity).then(a.created.cmp(&b.created)));
            prop_assert_eq!(owned.open().cloned().collect::<Vec<_>>(), open);
        }
    }
}

#[test]
fn facts_from_aggregates_equal_computed_ones_but_for_the_list_of_incidents_created() {
    let now = at(23, 0);
    let mut closed = incident(2, at(17, 9), Severity::High, Status::Closed);
    closed.closed = Some(at(18, 9));
    let mut old_open = incident(3, at(2, 9), Severity::High, Status::Active);
    old_open.first_modified = Some(at(2, 10));
    let current = vec![
        incident(1, at(16, 9), Severity::High, Status::New),
        closed,
        old_open,
        incident(4, at(20, 9), Severity::Low, Status::Active),
    ];
    let previous = vec![
        incident(5, at(10, 1), Severity::High, Status::Closed),
        incident(6, at(11, 1), Severity::Medium, Status::New),
    ];
    let filter = CreatedFilter {
        severity: Some(Severity::High),
        statuses: None,
    };
    let kept = |set: &[Incident]| -> Vec<Incident> {
        set.iter().filter(|it| filter.keeps(it)).cloned().collect()
    };
    let computed = PeriodFacts::compute_matching(
        &current,
        Some(&previous),
        week(),
        now,
        DEFAULT_LONG_OPEN,
        |it| filter.keeps(it),
    );
    // The source sends every open incident, closed ones are ignored, a repeat counts once.
    let mut open = current.clone();
    open.push(current[0].clone());

    let aggregated = PeriodFacts::from_aggregates(
        summarize(&kept(&current), week()),
        Some(summarize(&kept(&previous), week().previous())),
        &open,
        week(),
        now,
        DEFAULT_LONG_OPEN,
    );

    assert_eq!(aggregated.listing, Listing::Aggregated);
    assert!(aggregated.incidents().is_empty() && !computed.incidents().is_empty());
    assert_eq!(computed.listing, Listing::Every);
    let all_but_the_list = |facts: &PeriodFacts| {
        (
            (facts.window, facts.generated, facts.skipped.clone()),
            (facts.created.clone(), facts.previous.clone()),
            (facts.comparison.clone(), facts.backlog.clone()),
            facts.open().cloned().collect::<Vec<_>>(),
        )
    };
    assert_eq!(all_but_the_list(&aggregated), all_but_the_list(&computed));
    assert_eq!(computed.backlog.open_high.len(), 2);
    assert_eq!(computed.backlog.long_unresolved.len(), 2);
    let attached =
        PeriodFacts::compute_matching(&current, None, week(), now, DEFAULT_LONG_OPEN, |it| {
            filter.keeps(it)
        })
        .with_previous(summarize(&kept(&previous), week().previous()));
    assert_eq!(attached, computed);
}
