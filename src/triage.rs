//! Auto-triage: every new incident gets one triage comment written back to Sentinel (impact
//! and recommendations, each with its source), and high-severity ones are announced in the
//! configured channels with buttons. New incidents come from a poll with a watermark or from
//! the Sentinel automation webhook; a mark per incident in the store makes both paths, and
//! several replicas, comment at most once. Knows nothing of chat platforms: an [`Announcer`]
//! posts the announcement.

use crate::advice::{Advisor, IncidentAdvice};
use crate::bot::actions::MAX_COMMENT;
use crate::incident::{Incident, IncidentKey, IncidentRef, Severity, Status};
use crate::period::Window;
use crate::render::html::escape;
use crate::reply::{Action, ActionStyle, Block, Fact, Reply};
use crate::sources::{IncidentSource, Located, SourceError};
use crate::store::{Store, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use std::future::Future;
use std::sync::Arc;

/// Store name of the poll watermark: the creation time of the newest incident handled.
pub const WATERMARK: &str = "incident_poll";
/// How far before the watermark each poll looks again: `SecurityIncident` rows can reach Log
/// Analytics minutes after the incident's creation time.
pub const OVERLAP: TimeDelta = TimeDelta::minutes(10);
/// How far back the very first poll looks, so turning triage on does not comment on history.
pub const FIRST_LOOKBACK: TimeDelta = TimeDelta::hours(1);
/// Opens every triage comment; also how an earlier comment of ours is recognised.
pub const MARKER: &str = "sentinel-bot triage";

/// Posts an announcement to the configured channels.
#[async_trait]
pub trait Announcer: Send + Sync {
    /// Posts `reply` to every alert channel; fails if any post failed.
    async fn announce(&self, reply: &Reply) -> anyhow::Result<()>;
}

/// What triaging one incident did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The comment was written; `announced` when a high-severity announcement was posted too.
    Commented { announced: bool },
    /// Marked or commented on before (by this or another replica, or the other path).
    AlreadyTriaged,
    /// Closed before triage got to it; nothing written.
    Closed,
}

/// Why an incident could not be triaged; its mark is released so it is tried again.
#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    /// Sentinel failed or the incident does not exist.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The bot's store failed.
    #[error("the bot's store failed: {0}")]
    Store(#[from] StoreError),
    /// A bare number that several workspaces have; the caller must name the workspace.
    #[error("{} workspaces have this incident number ({}): name the workspace", .0.len(), keys(.0))]
    Ambiguous(Vec<IncidentKey>),
}

fn keys(keys: &[IncidentKey]) -> String {
    keys.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What one poll did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PollReport {
    /// New incidents the query returned (open and closed).
    pub seen: usize,
    /// Comments written by this poll.
    pub commented: usize,
    /// Incidents whose triage failed; they are tried again at the next poll.
    pub failed: usize,
}

/// The auto-triage job.
pub struct Triage {
    source: Arc<dyn IncidentSource>,
    advisor: Arc<Advisor>,
    store: Store,
    announcer: Option<Arc<dyn Announcer>>,
}

impl Triage {
    /// A triage job; without an announcer high-severity incidents are only commented on.
    pub fn new(
        source: Arc<dyn IncidentSource>,
        advisor: Arc<Advisor>,
        store: Store,
        announcer: Option<Arc<dyn Announcer>>,
    ) -> Triage {
        Triage {
            source,
            advisor,
            store,
            announcer,
        }
    }

    /// The incident `reference` names (the webhook's number, maybe with its workspace).
    /// A bare number that several workspaces have is [`TriageError::Ambiguous`].
    pub async fn locate(&self, reference: &IncidentRef) -> Result<IncidentKey, TriageError> {
        match self.source.locate(reference).await? {
            Located::One(key) => Ok(key),
            Located::Several(found) => Err(TriageError::Ambiguous(
                found.iter().map(Incident::key).collect(),
            )),
        }
    }

    /// Triages incident `key` unless it was triaged before. The mark, per (workspace,
    /// number), is taken before the comment is written, so two callers racing on one
    /// incident write one comment.
    pub async fn incident(
        &self,
        key: IncidentKey,
        now: DateTime<Utc>,
    ) -> Result<Outcome, TriageError> {
        let number = i64::try_from(key.number).map_err(|_| SourceError::NotFound(key))?;
        let workspace = key.workspace.name().unwrap_or_default();
        if !self.store.mark_triaged(workspace, number, now).await? {
            return Ok(Outcome::AlreadyTriaged);
        }
        let result = self.comment_and_announce(key).await;
        if let Err(error) = &result {
            tracing::warn!(incident = %key, %error, "triage failed; will try again");
            metrics::counter!("triage_total", "outcome" => "failed").increment(1);
            if let Err(error) = self.store.unmark_triaged(workspace, number).await {
                tracing::error!(incident = %key, %error, "could not release the triage mark");
            }
        }
        result
    }

    async fn comment_and_announce(&self, key: IncidentKey) -> Result<Outcome, TriageError> {
        let detail = self.source.incident(key).await?;
        if detail.incident.status == Status::Closed {
            return Ok(Outcome::Closed);
        }
        // The store may have been reset; the incident itself remembers our comment.
        if detail
            .comments
            .iter()
            .any(|comment| comment.message.contains(MARKER))
        {
            return Ok(Outcome::AlreadyTriaged);
        }
        let advice = self.advisor.incident_advice(&detail, None).await;
        self.source
            .add_comment(key, &comment(&detail.incident, &advice))
            .await?;
        metrics::counter!("triage_total", "outcome" => "commented").increment(1);
        tracing::info!(incident = %key, "triage comment written");
        let mut announced = false;
        if detail.incident.severity == Severity::High
            && let Some(announcer) = &self.announcer
        {
            // The comment is written, so a failed announcement is logged, not retried:
            // retrying would write a second comment.
            match announcer
                .announce(&announcement(&detail.incident, &advice))
                .await
            {
                Ok(()) => announced = true,
                Err(error) => {
                    tracing::warn!(incident = %key, error = %format!("{error:#}"), "announcing a high-severity incident failed");
                }
            }
        }
        Ok(Outcome::Commented { announced })
    }

    /// Triages every open incident created since the watermark (less [`OVERLAP`]) and moves
    /// the watermark up to the newest one handled, never past one that failed.
    pub async fn poll(&self, now: DateTime<Utc>) -> Result<PollReport, TriageError> {
        let since = self
            .store
            .watermark(WATERMARK)
            .await?
            .unwrap_or(now - FIRST_LOOKBACK);
        let window = Window {
            start: since - OVERLAP,
            end: now,
        };
        let mut incidents = self.source.created_in(window).await?;
        incidents.sort_by_key(|it| (it.created, it.number, it.workspace));
        let mut report = PollReport {
            seen: incidents.len(),
            ..PollReport::default()
        };
        let mut first_failure: Option<DateTime<Utc>> = None;
        for incident in incidents.iter().filter(|it| it.status != Status::Closed) {
            match self.incident(incident.key(), now).await {
                Ok(Outcome::Commented { .. }) => report.commented += 1,
                Ok(_) => {}
                Err(_) => {
                    report.failed += 1;
                    first_failure.get_or_insert(incident.created);
                }
            }
        }
        let newest = incidents.iter().map(|it| it.created).max();
        let next = first_failure.or(newest).map_or(since, |at| at.max(since));
        if next > since {
            self.store.set_watermark(WATERMARK, next).await?;
        }
        Ok(report)
    }

    /// Polls now and every `every` until `shutdown` completes.
    pub async fn run(&self, every: std::time::Duration, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            match self.poll(Utc::now()).await {
                Ok(report) if report.seen > 0 => {
                    tracing::info!(?report, "triage poll");
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "triage poll failed"),
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(every) => {}
            }
        }
    }
}

/// The triage comment, as the HTML Sentinel shows in its comments, within [`MAX_COMMENT`]
/// characters. Every upstream or model text is escaped.
pub fn comment(incident: &Incident, advice: &IncidentAdvice) -> String {
    let head = format!(
        "<p><b>{MARKER}</b> (automated) for incident {}: {}</p><p><b>Impact:</b> {}</p>",
        incident.key(),
        escape(&incident.title),
        escape(&advice.impact),
    );
    let notes: String = advice
        .notes
        .iter()
        .map(|note| format!("<p><i>{}</i></p>", escape(note)))
        .collect();
    let items: Vec<String> = advice
        .recommendations
        .iter()
        .map(|item| {
            let steps: String = item
                .steps
                .iter()
                .map(|step| format!("<li>{}</li>", escape(step)))
                .collect();
            let tag = if item.numbered { "ol" } else { "ul" };
            let steps = match steps.is_empty() {
                true => String::new(),
                false => format!("<{tag}>{steps}</{tag}>"),
            };
            format!(
                "<li>{} <i>(source: {})</i>{steps}</li>",
                escape(&item.text),
                escape(&item.source.to_string())
            )
        })
        .collect();
    let list_open = "<p><b>Recommended next steps</b></p><ol>";
    let list_close = "</ol>";
    let length = |text: &str| text.chars().count();
    let mut budget = MAX_COMMENT
        .saturating_sub(length(&head) + length(&notes) + length(list_open) + length(list_close));
    let mut list = String::new();
    for item in &items {
        // Whole items only: a cut inside one would leave broken HTML.
        let size = length(item);
        if size > budget {
            break;
        }
        budget -= size;
        list.push_str(item);
    }
    let mut text = head;
    if !list.is_empty() {
        text.push_str(list_open);
        text.push_str(&list);
        text.push_str(list_close);
    }
    text.push_str(&notes);
    if length(&text) > MAX_COMMENT {
        // Only a huge impact text gets here: fall back to plain text cut to the limit.
        let plain = format!("{MARKER} (automated): {}", advice.impact);
        return escape(&plain.chars().take(MAX_COMMENT / 6).collect::<String>());
    }
    text
}

/// The channel announcement of a new high-severity incident, with buttons to act on it.
pub fn announcement(incident: &Incident, advice: &IncidentAdvice) -> Reply {
    let tactics = if incident.tactics.is_empty() {
        "none recorded".to_string()
    } else {
        incident
            .tactics
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut facts = vec![
        Fact::new("Severity", incident.severity),
        Fact::new("Status", incident.status),
        Fact::new(
            "Created",
            incident.created.format("%Y-%m-%d %H:%M UTC").to_string(),
        ),
        Fact::new("MITRE tactics", tactics),
    ];
    if !incident.alert_products.is_empty() {
        facts.push(Fact::new("Products", incident.alert_products.join(", ")));
    }
    let number = incident.key();
    Reply::titled(format!(
        "New {} severity incident {number}: {}",
        incident.severity, incident.title
    ))
    .with(Block::Facts(facts))
    .with(Block::Heading("Impact".to_string()))
    .with(Block::Text(advice.impact.clone()))
    .with(Block::Note(
        "A triage comment with the recommendations was written to the incident in Sentinel."
            .to_string(),
    ))
    .with_action(
        Action::new("Recommend", format!("/recommend {number}")).styled(ActionStyle::Primary),
    )
    .with_action(Action::new("Show incident", format!("/incident {number}")))
    .with_action(Action::new("Assign to me", format!("/assign {number} me")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advice::{Recommendation, Source};
    use crate::incident::{Owner, Tactic};
    use chrono::TimeZone;

    fn incident() -> Incident {
        let created = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        Incident {
            workspace: crate::incident::Workspace::ONLY,
            number: 42,
            id: "id-42".to_string(),
            title: "Ransomware <script>alert(1)</script> on FIN-01".into(),
            description: "".into(),
            severity: Severity::High,
            status: Status::New,
            classification: None,
            classification_comment: None,
            owner: Owner::default(),
            tactics: vec![Tactic::Impact],
            techniques: vec![],
            alert_products: vec!["Microsoft Defender for Endpoint".into()],
            alert_ids: vec![],
            labels: vec![],
            created,
            first_modified: None,
            first_human_action: None,
            last_modified: created,
            closed: None,
            url: None,
        }
    }

    fn advice(items: usize, item_length: usize) -> IncidentAdvice {
        IncidentAdvice {
            number: 42,
            impact: "Files on a finance server may be encrypted & lost.".to_string(),
            impact_from_model: false,
            recommendations: (0..items)
                .map(|index| {
                    Recommendation::new(
                        format!("{index} {}", "x".repeat(item_length)),
                        Source::DefenderXdr,
                    )
                })
                .collect(),
            notes: vec!["Model unavailable: no [llm] is configured.".to_string()],
            unverified: 0,
            from_cache: false,
        }
    }

    #[test]
    fn comment_escapes_untrusted_text_and_names_each_source() {
        let text = comment(&incident(), &advice(2, 10));
        assert!(text.starts_with("<p><b>sentinel-bot triage</b>"), "{text}");
        assert!(!text.contains("<script>"), "{text}");
        assert!(text.contains("&lt;script&gt;"), "{text}");
        assert!(text.contains("encrypted &amp; lost"), "{text}");
        assert_eq!(text.matches("<li>").count(), 2);
        assert_eq!(text.matches("(source: Defender XDR)").count(), 2);
        assert!(text.contains("Model unavailable"));
    }

    #[test]
    fn comment_stays_within_sentinels_limit_with_whole_items() {
        let text = comment(&incident(), &advice(50, 2_000));
        assert!(text.chars().count() <= MAX_COMMENT, "{}", text.len());
        let kept = text.matches("<li>").count();
        assert!(kept > 0 && kept < 50, "kept {kept}");
        assert_eq!(kept, text.matches("</li>").count());
        assert!(text.ends_with("</p>"));

        let mut huge = advice(1, 10);
        huge.impact = "y".repeat(MAX_COMMENT * 2);
        let text = comment(&incident(), &huge);
        assert!(text.chars().count() <= MAX_COMMENT);
        assert!(text.starts_with(MARKER));
    }

    #[test]
    fn announcement_has_buttons_to_act_on_the_incident() {
        let reply = announcement(&incident(), &advice(1, 10));
        assert!(reply.title.starts_with("New High severity incident 42"));
        let commands: Vec<&str> = reply
            .actions
            .iter()
            .map(|action| action.command.as_str())
            .collect();
        assert_eq!(commands, ["/recommend 42", "/incident 42", "/assign 42 me"]);
    }
}
