//! The bot core: chat text in, `Reply` out, in one place for every platform.
//! Must not know Teams, Slack, HTTP or SQL.

pub mod actions;
pub mod command;
pub mod free_text;
pub mod people;
pub mod permissions;
pub mod recommend;
pub mod shared;
pub mod views;

use crate::analytics::{self, CreatedFilter, DEFAULT_LONG_OPEN, PeriodFacts};
use crate::deadline::{self, Budget};
use crate::incident::{Incident, IncidentKey, IncidentRef, Skipped};
use crate::period::Window;
use crate::reply::{self, Reply};
use crate::report::{self, WeeklyReport};
use crate::sources::{IncidentSource, Located, PeriodAnswer, PeriodPart, SourceError, ThreatIntel};
use chrono::{DateTime, Duration, Utc};
use command::{Command, UsageError, Verb};
use std::sync::Arc;

/// Tunables of the core.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Open incidents older than this are long-unresolved.
    pub long_open_after: Duration,
    /// Rows per page of an incident table.
    pub page_size: usize,
    /// Who may change incidents.
    pub permissions: permissions::Permissions,
    /// Where `/report` keeps its full report as a web page; `None` gives no link.
    pub web_reports: Option<crate::web_report::WebReports>,
    /// Identical questions asked together share one answer ([`shared::SharedAnswers`]).
    pub shared_answers: Arc<shared::SharedAnswers>,
    /// How long answers may take.
    pub deadlines: Deadlines,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            long_open_after: DEFAULT_LONG_OPEN,
            page_size: 10,
            permissions: permissions::Permissions::default(),
            web_reports: None,
            shared_answers: Arc::new(shared::SharedAnswers::default()),
            deadlines: Deadlines::default(),
        }
    }
}

/// How long an answer may take before the user gets an apology naming the slow system.
/// Advice that would miss the deadline is left out with a note, so the figures still come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// A command typed in chat or pressed on a card. 25 s by default, so the answer (or the
    /// apology) is delivered within the 30 s people wait.
    pub interactive: std::time::Duration,
    /// The scheduled weekly report and `sentinel-bot report`. 10 minutes by default.
    pub scheduled: std::time::Duration,
}

impl Default for Deadlines {
    fn default() -> Self {
        Deadlines {
            interactive: std::time::Duration::from_secs(25),
            scheduled: std::time::Duration::from_secs(600),
        }
    }
}

/// Who sent a command.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct User {
    /// Platform user id (Slack `U...`, Teams AAD object id).
    pub id: String,
    pub name: Option<String>,
    /// E-mail or UPN where the platform gives one.
    pub email: Option<String>,
    /// Which directory issued `id`.
    pub realm: Realm,
}

/// Which directory issued a user id, so a group check asks the one that knows it.
///
/// It travels on the user rather than the directory being picked per channel: one `Bot`
/// serves every channel, each channel already builds the `User`, and only the channel
/// knows whether it really has an Entra object id (Teams may send only its own id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Realm {
    /// No directory: the terminal, or a Teams user sent without an Entra object id.
    #[default]
    Local,
    /// An Entra ID user object id.
    Entra,
    /// A Slack user id in the bot's workspace.
    Slack,
}

/// One command as a channel received it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Request {
    /// The text after mention stripping.
    pub text: String,
    pub user: User,
    /// A key for the thread the command came from (Teams reply chain, Slack thread),
    /// so follow-ups continue a conversation.
    pub thread: Option<String>,
    /// The people the text mentions, as the channel resolved them; each stands in `text`
    /// as its `key`.
    pub mentions: Vec<people::Mention>,
}

/// Everything the core needs to answer.
pub struct Bot {
    pub source: Arc<dyn IncidentSource>,
    pub intel: Arc<dyn ThreatIntel>,
    /// Pending confirmations and the audit log.
    pub ledger: Arc<dyn actions::Ledger>,
    pub settings: Settings,
    /// The advisor for `/recommend`; `None` answers from the offline knowledge base.
    pub advisor: Option<Arc<crate::advice::Advisor>>,
}

/// The key under which `command`'s answer is shared, for questions whose answer does
/// not depend on who asks: the command and the minute it is asked in (the data's
/// freshness: Sentinel's ingestion delay is minutes). `None` for everything else.
fn shared_key(command: &Command, now: DateTime<Utc>) -> Option<String> {
    match command {
        Command::Incidents(_) | Command::Report { .. } => Some(format!(
            "{command:?} at minute {}",
            now.timestamp().div_euclid(60)
        )),
        _ => None,
    }
}

/// Why a command could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    /// The user typed something the grammar does not accept.
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// An outside system failed; the message says which and why.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The user may not do this.
    #[error("{0}")]
    NotAllowed(String),
    /// The command was read but cannot be carried out as asked (e.g. "assign to me" without
    /// a known identity); the message says why and what to type instead.
    #[error("{0}")]
    Cannot(String),
    /// The bot's own state (the store) failed.
    #[error("the bot's store failed: {0}")]
    Store(String),
    /// A bare incident number typed with `verb` is in several workspaces: the answer asks
    /// which one, listing `incidents` (most severe first).
    #[error("incident {number} is in several workspaces")]
    Ambiguous {
        verb: Verb,
        number: u64,
        incidents: Vec<Incident>,
    },
}

impl Bot {
    /// Answers one request within the interactive deadline (or the budget the channel set).
    /// Never fails: errors become an apology or help in the reply, and an answer that misses
    /// the deadline becomes an apology naming the systems still being waited on.
    pub async fn answer(&self, request: &Request, now: DateTime<Utc>) -> Reply {
        Arc::unwrap_or_clone(self.answer_shared(request, now).await)
    }

    /// [`Bot::answer`], without copying a shared answer: every request served from one
    /// computation of a shared question gets the same `Arc`, so a channel may lay the reply
    /// out once for all of them (keyed by the `Arc`). Other replies are in an `Arc` of their own.
    pub async fn answer_shared(&self, request: &Request, now: DateTime<Utc>) -> Arc<Reply> {
        let budget =
            deadline::current().unwrap_or_else(|| Budget::new(self.settings.deadlines.interactive));
        match budget.run(self.answer_now(request, now)).await {
            Ok(reply) => reply,
            Err(timed_out) => Arc::new(too_slow(&timed_out)),
        }
    }

    async fn answer_now(&self, request: &Request, now: DateTime<Utc>) -> Arc<Reply> {
        match command::parse(&request.text) {
            Ok(command) => match shared_key(&command, now) {
                Some(key) => {
                    let answering = async {
                        match self.run(command, request, now).await {
                            Ok(reply) => (reply, true),
                            Err(error) => (views::error(&error), false),
                        }
                    };
                    self.settings.shared_answers.answer(key, answering).await
                }
                None => Arc::new(match self.run(command, request, now).await {
                    Ok(reply) => reply,
                    Err(error) => views::error(&error),
                }),
            },
            Err(error) if error.verb.is_some() => {
                Arc::new(free_text::misread_arguments(self, request, &error, now).await)
            }
            Err(error) => Arc::new(free_text::answer(self, request, &error, now).await),
        }
    }

    /// Whether a language model answers free text.
    pub fn has_model(&self) -> bool {
        self.advisor
            .as_ref()
            .is_some_and(|advisor| advisor.has_model())
    }

    /// The facts of `window`, the "created in this period" figures narrowed to the incidents
    /// `filter` keeps (the open backlog is always whole): one answer for the window and,
    /// when `with_previous`, one for the period before, asked together. Each comes as rows
    /// or, for a period too large to read row by row, as figures aggregated by the source
    /// (`IncidentSource::period`), each period deciding on its own; the figures are the same
    /// either way. Every view of a period (`/incidents`, `/report`, `/recommend week`, the
    /// export) is built from this.
    pub async fn period_facts(
        &self,
        window: Window,
        now: DateTime<Utc>,
        with_previous: bool,
        filter: CreatedFilter,
    ) -> Result<PeriodFacts, BotError> {
        let previous_window = window.previous();
        let (current, previous) = tokio::join!(
            self.source.period(window, filter, PeriodPart::WithBacklog),
            async {
                match with_previous {
                    true => self
                        .source
                        .period(previous_window, filter, PeriodPart::CreatedOnly)
                        .await
                        .map(Some),
                    false => Ok(None),
                }
            }
        );
        let (current, previous) = (current?, previous?);
        let long_open_after = self.settings.long_open_after;
        let keep = |it: &Incident| filter.keeps(it);
        let (facts, skipped) = match current {
            PeriodAnswer::Rows(rows) => (
                PeriodFacts::from_incidents(
                    rows.incidents,
                    None,
                    window,
                    now,
                    long_open_after,
                    keep,
                ),
                rows.skipped,
            ),
            PeriodAnswer::Aggregated { created, open } => (
                PeriodFacts::from_aggregates(
                    *created,
                    None,
                    &open.incidents,
                    window,
                    now,
                    long_open_after,
                ),
                open.skipped,
            ),
        };
        // The period before's figures, computed as `compute_matching` computes them from
        // rows, or as the source aggregated them.
        let (previous, skipped_before) = match previous {
            None => (None, Skipped::default()),
            Some(PeriodAnswer::Rows(rows)) => {
                let kept: Vec<Incident> = rows.incidents.into_iter().filter(keep).collect();
                (
                    Some(analytics::summarize(&kept, previous_window)),
                    rows.skipped,
                )
            }
            Some(PeriodAnswer::Aggregated { created, .. }) => (Some(*created), Skipped::default()),
        };
        let facts = match previous {
            Some(previous) => facts.with_previous(previous),
            None => facts,
        };
        Ok(facts.with_skipped(skipped, skipped_before))
    }

    /// Builds the incident report for `window`: its facts with the period before, then the
    /// advice built from those same facts (offline knowledge base when no model is configured).
    /// Runs within the current answer's budget, or else the scheduled deadline.
    pub async fn weekly_report(
        &self,
        window: Window,
        now: DateTime<Utc>,
    ) -> Result<WeeklyReport, BotError> {
        if deadline::current().is_some() {
            return self.build_report(window, now).await;
        }
        let budget = Budget::new(self.settings.deadlines.scheduled);
        match budget.run(self.build_report(window, now)).await {
            Ok(report) => report,
            Err(timed_out) => Err(BotError::Source(SourceError::TimedOut {
                system: timed_out.waiting.first().copied().unwrap_or("the report"),
                waited: timed_out.allowed,
            })),
        }
    }

    async fn build_report(
        &self,
        window: Window,
        now: DateTime<Utc>,
    ) -> Result<WeeklyReport, BotError> {
        let facts = self
            .period_facts(window, now, true, CreatedFilter::default())
            .await?;
        let offline;
        let advisor = match &self.advisor {
            Some(advisor) => advisor.as_ref(),
            None => {
                offline = crate::advice::Advisor::new(None, self.intel.clone());
                &offline
            }
        };
        let advice = advisor.weekly_recommendations(&facts).await;
        Ok(WeeklyReport { facts, advice })
    }

    /// The incident `reference` names, or [`BotError::Ambiguous`] when a bare number typed
    /// with `verb` is in several workspaces.
    async fn resolve(&self, verb: Verb, reference: &IncidentRef) -> Result<IncidentKey, BotError> {
        match self.source.locate(reference).await? {
            Located::One(key) => Ok(key),
            Located::Several(incidents) => Err(BotError::Ambiguous {
                verb,
                number: reference.number,
                incidents,
            }),
        }
    }

    async fn ask_confirmation(
        &self,
        draft: actions::PendingAction,
        command: &Command,
        request: &Request,
        now: DateTime<Utc>,
    ) -> Result<Reply, BotError> {
        if let Err(refusal) = self.settings.permissions.check(&request.user).await {
            return Err(self.refuse(request, &draft, now, &refusal).await);
        }
        // The confirmation names the incident's workspace, so the click acts on that one.
        let draft = match (command.incident(), command.verb()) {
            (Some(reference), Some(verb)) => draft.at(self.resolve(verb, reference).await?),
            _ => draft,
        };
        let directory = self.settings.permissions.directory.as_ref();
        let action = actions::complete(draft, command, request, directory).await?;
        // The incident's version now, so the click cannot overwrite a change made meanwhile.
        let seen = match action.overwrites() {
            Some(number) => {
                let (incident, etag) = self.source.current(number).await?;
                Some(actions::Seen::of(&incident, etag))
            }
            None => None,
        };
        let token = uuid::Uuid::new_v4().simple().to_string();
        let proposal = actions::Proposal { action, seen };
        self.ledger
            .put_pending(
                &token,
                &request.user.id,
                &proposal,
                now + actions::CONFIRMATION_TTL,
            )
            .await
            .map_err(|error| BotError::Store(format!("{error:#}")))?;
        Ok(actions::confirmation(&proposal.action, &token))
    }

    async fn confirm(
        &self,
        token: &str,
        request: &Request,
        now: DateTime<Utc>,
    ) -> Result<Reply, BotError> {
        let taken = self
            .ledger
            .take_pending(token, &request.user.id, now)
            .await
            .map_err(|error| BotError::Store(format!("{error:#}")))?;
        let Some(actions::Proposal { action, seen }) = taken else {
            return Ok(actions::nothing_to_confirm());
        };
        // The allow-list or the groups may have changed between the request and the button press.
        if let Err(refusal) = self.settings.permissions.check(&request.user).await {
            return Err(self.refuse(request, &action, now, &refusal).await);
        }
        if let (Some(seen), Some(number)) = (&seen, action.overwrites()) {
            let (incident, etag) = self.source.current(number).await?;
            let current = actions::Seen::of(&incident, etag);
            if !seen.same_version(&current) {
                self.audit(
                    request,
                    &action,
                    now,
                    "refused: the incident changed since the request",
                )
                .await?;
                return Ok(actions::changed_meanwhile(&action, &seen.changes(&current)));
            }
        }
        let etag = seen.as_ref().and_then(|seen| seen.etag.as_deref());
        match actions::execute(self.source.as_ref(), &action, etag).await {
            Ok(done) => {
                // Answers computed before the change would show the incident as it was.
                self.settings.shared_answers.forget();
                self.audit(request, &action, now, "ok").await?;
                Ok(actions::done(&done, &user_label(&request.user), now))
            }
            Err(error) => {
                self.audit(request, &action, now, &format!("failed: {error}"))
                    .await?;
                Err(error)
            }
        }
    }

    /// Audits a refusal and turns it into the error the user reads.
    async fn refuse(
        &self,
        request: &Request,
        action: &actions::PendingAction,
        now: DateTime<Utc>,
        refusal: &permissions::Refusal,
    ) -> BotError {
        match self
            .audit(request, action, now, &refusal.audit_result())
            .await
        {
            Ok(()) => BotError::NotAllowed(refusal.message()),
            // An unaudited refusal still refuses; the store error says why nothing was logged.
            Err(error) => error,
        }
    }

    async fn audit(
        &self,
        request: &Request,
        action: &actions::PendingAction,
        now: DateTime<Utc>,
        result: &str,
    ) -> Result<(), BotError> {
        let record = actions::AuditRecord {
            user_id: request.user.id.clone(),
            user_name: request.user.name.clone(),
            action: action.describe(),
            incident: action.incident(),
            at: now,
            result: result.to_string(),
        };
        tracing::info!(user = %record.user_id, action = %record.action, result = %record.result, "audit");
        self.ledger
            .audit(&record)
            .await
            .map_err(|error| BotError::Store(format!("{error:#}")))
    }

    /// Runs a parsed command. Boxed: every command's future inline would make each caller's
    /// future (and a debug build's 2 MB test thread stack) hold the largest of them.
    pub fn run<'a>(
        &'a self,
        command: Command,
        request: &'a Request,
        now: DateTime<Utc>,
    ) -> futures::future::BoxFuture<'a, Result<Reply, BotError>> {
        Box::pin(self.run_inline(command, request, now))
    }

    async fn run_inline(
        &self,
        command: Command,
        request: &Request,
        now: DateTime<Utc>,
    ) -> Result<Reply, BotError> {
        if let Some(draft) = actions::pending_action(&command) {
            return self.ask_confirmation(draft, &command, request, now).await;
        }
        match command {
            Command::Help { topic } => Ok(views::help(topic)),
            Command::Incidents(query) => {
                let window = query.period.window(now);
                let facts = self
                    .period_facts(window, now, false, query.filter())
                    .await?;
                Ok(views::incidents(&query, &facts, self.settings.page_size))
            }
            Command::Incident { number } => {
                let key = self.resolve(Verb::Incident, &number).await?;
                let detail = self.source.incident(key).await?;
                Ok(views::incident(&detail, now))
            }
            Command::Report { period } => {
                let report = self.weekly_report(period.window(now), now).await?;
                let reply = report::to_reply(&report, report::Layout::Chat);
                Ok(match &self.settings.web_reports {
                    Some(pages) => pages.link(reply, &report, now).await,
                    None => reply,
                })
            }
            Command::Confirm { token } => self.confirm(&token, request, now).await,
            Command::Cancel { token } => {
                let taken = self
                    .ledger
                    .take_pending(&token, &request.user.id, now)
                    .await
                    .map_err(|error| BotError::Store(format!("{error:#}")))?;
                match taken {
                    Some(actions::Proposal { action, .. }) => {
                        self.audit(request, &action, now, "cancelled").await?;
                        Ok(actions::cancelled(&action, &user_label(&request.user), now))
                    }
                    None => Ok(actions::nothing_to_confirm()),
                }
            }
            Command::Recommend(target) => recommend::run(self, target, request, now).await,
            other => Ok(views::not_available(&other)),
        }
    }
}

/// How outcome cards name the person who pressed: their name, else their id.
fn user_label(user: &User) -> String {
    user.name.clone().unwrap_or_else(|| user.id.clone())
}

/// The apology when the answer missed its deadline, naming what it was still waiting for.
fn too_slow(timed_out: &deadline::TimedOut) -> Reply {
    let cause = if timed_out.waiting.is_empty() {
        "the bot's own work took too long".to_string()
    } else {
        format!(
            "still waiting for {}",
            deadline::join_names(&timed_out.waiting)
        )
    };
    let message = format!(
        "Sorry: no answer within {}; {cause}. Please try again in a few minutes. If you asked for a change, check the incident before asking again.",
        deadline::seconds(timed_out.allowed)
    );
    Reply::titled("Sorry, I could not answer in time")
        .with(reply::Block::Alert(message.clone()))
        .with_summary(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::Tactic;
    use crate::incident::{Incident, Owner, Severity, Status};
    use crate::reply::Block;
    use crate::sources::{IncidentDetail, IncidentSet, IncidentUpdate, Intel, NewIncident};
    use async_trait::async_trait;
    use chrono::TimeZone;
    use std::sync::Mutex;

    /// Records every write; reads answer with one fixed incident.
    #[derive(Default)]
    struct Recorder {
        writes: Mutex<Vec<String>>,
    }

    fn sample(number: u64) -> Incident {
        let created = Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap();
        Incident {
            workspace: crate::incident::Workspace::ONLY,
            number,
            id: format!("id-{number}"),
            title: "Suspicious sign-in".into(),
            description: "".into(),
            severity: Severity::High,
            status: Status::New,
            classification: None,
            classification_comment: None,
            owner: Owner::default(),
            tactics: vec![],
            techniques: vec![],
            alert_products: vec![],
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

    #[async_trait]
    impl IncidentSource for Recorder {
        async fn incidents(&self, _window: Window) -> Result<IncidentSet, SourceError> {
            Ok(vec![sample(1)].into())
        }
        async fn incident(
            &self,
            key: crate::incident::IncidentKey,
        ) -> Result<IncidentDetail, SourceError> {
            let number = key.number;
            Ok(IncidentDetail {
                incident: sample(number),
                alerts: vec![],
                comments: vec![],
                etag: None,
            })
        }
        async fn add_comment(
            &self,
            key: crate::incident::IncidentKey,
            message: &str,
        ) -> Result<(), SourceError> {
            let number = key.number;
            self.writes
                .lock()
                .unwrap()
                .push(format!("comment {number}: {message}"));
            Ok(())
        }
        async fn update(
            &self,
            key: crate::incident::IncidentKey,
            update: &IncidentUpdate,
            _etag: Option<&str>,
        ) -> Result<Incident, SourceError> {
            let number = key.number;
            self.writes
                .lock()
                .unwrap()
                .push(format!("update {number}: {update:?}"));
            Ok(sample(number))
        }
        async fn create(&self, incident: &NewIncident) -> Result<Incident, SourceError> {
            self.writes
                .lock()
                .unwrap()
                .push(format!("create {}", incident.title));
            Ok(sample(99))
        }
    }

    #[async_trait]
    impl ThreatIntel for Recorder {
        async fn recommended_actions(
            &self,
            _incident: &Incident,
        ) -> Result<Vec<crate::sources::RecommendedAction>, SourceError> {
            Ok(vec![])
        }
        async fn tactic_intel(
            &self,
            _tactic: Tactic,
            _techniques: &[String],
        ) -> Result<Vec<Intel>, SourceError> {
            Ok(vec![])
        }
    }

    struct Harness {
        bot: Bot,
        source: Arc<Recorder>,
        ledger: Arc<actions::MemoryLedger>,
    }

    fn harness() -> Harness {
        let source = Arc::new(Recorder::default());
        let ledger = Arc::new(actions::MemoryLedger::default());
        let settings = Settings {
            permissions: permissions::Permissions {
                allowed_users: vec!["U-ANALYST".to_string(), "lead@contoso.com".to_string()],
                ..permissions::Permissions::default()
            },
            ..Settings::default()
        };
        let bot = Bot {
            advisor: None,
            source: source.clone(),
            intel: source.clone(),
            ledger: ledger.clone(),
            settings,
        };
        Harness {
            bot,
            source,
            ledger,
        }
    }

    fn request(text: &str, user: &str) -> Request {
        Request {
            text: text.to_string(),
            user: User {
                id: user.to_string(),
                name: None,
                email: Some(format!("{}@contoso.com", user.to_lowercase())),
                realm: Realm::Slack,
            },
            thread: None,
            mentions: Vec::new(),
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap()
    }

    fn confirm_command(reply: &Reply) -> String {
        reply
            .actions
            .iter()
            .find(|action| action.label == "Confirm")
            .expect("a Confirm button")
            .command
            .clone()
    }

    #[tokio::test]
    async fn unauthorised_user_cannot_act_and_is_audited() {
        let h = harness();
        let reply = h
            .bot
            .answer(
                &request("/close 7 FalsePositive noisy", "U-INTRUDER"),
                now(),
            )
            .await;
        assert_eq!(reply.title, "Not allowed");
        assert!(reply.actions.is_empty());
        assert!(h.source.writes.lock().unwrap().is_empty());
        let records = h.ledger.records.lock().unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].user_id, "U-INTRUDER");
        assert_eq!(
            records[0].incident,
            Some(crate::incident::IncidentKey::only(7))
        );
        assert!(records[0].result.starts_with("refused"));
    }

    #[tokio::test]
    async fn nothing_happens_without_confirmation_then_confirm_acts_once_and_audits() {
        let h = harness();
        let reply = h
            .bot
            .answer(
                &request(
                    "/close 7 FalsePositive IncorrectAlertLogic noisy rule",
                    "U-ANALYST",
                ),
                now(),
            )
            .await;
        assert_eq!(reply.title, "Please confirm");
        assert!(
            h.source.writes.lock().unwrap().is_empty(),
            "asking must not change anything"
        );
        assert!(h.ledger.records.lock().unwrap().is_empty());

        let confirm = confirm_command(&reply);
        let done = h.bot.answer(&request(&confirm, "U-ANALYST"), now()).await;
        assert_eq!(done.title, "Done");
        let writes = h.source.writes.lock().unwrap().clone();
        assert_eq!(writes.len(), 1);
        assert!(
            writes[0].starts_with("update 7:")
                && writes[0].contains("Closed")
                && writes[0].contains("FalsePositive"),
            "{writes:?}"
        );
        let records = h.ledger.records.lock().unwrap().clone();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].result, "ok");
        assert_eq!(
            records[0].action,
            "Close incident 7 as FalsePositive (IncorrectAlertLogic)"
        );

        // The same button again does nothing.
        let again = h.bot.answer(&request(&confirm, "U-ANALYST"), now()).await;
        assert_eq!(again.title, "Nothing to confirm");
        assert_eq!(h.source.writes.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn only_the_requester_can_confirm_and_only_in_time() {
        let h = harness();
        let reply = h
            .bot
            .answer(&request("/comment 3 host reimaged", "U-ANALYST"), now())
            .await;
        let confirm = confirm_command(&reply);
        let other = h.bot.answer(&request(&confirm, "LEAD"), now()).await;
        assert_eq!(other.title, "Nothing to confirm");
        let late = h
            .bot
            .answer(
                &request(&confirm, "U-ANALYST"),
                now() + actions::CONFIRMATION_TTL + Duration::seconds(1),
            )
            .await;
        assert_eq!(late.title, "Nothing to confirm");
        assert!(h.source.writes.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn cancel_is_audited_and_changes_nothing() {
        let h = harness();
        let reply = h
            .bot
            .answer(&request("/assign 5 me", "U-ANALYST"), now())
            .await;
        let cancel = reply
            .actions
            .iter()
            .find(|action| action.label == "Cancel")
            .unwrap()
            .command
            .clone();
        let cancelled = h.bot.answer(&request(&cancel, "U-ANALYST"), now()).await;
        assert_eq!(cancelled.title, "Cancelled");
        assert!(h.source.writes.lock().unwrap().is_empty());
        assert_eq!(h.ledger.records.lock().unwrap()[0].result, "cancelled");
        let confirm = confirm_command(&reply);
        assert_eq!(
            h.bot
                .answer(&request(&confirm, "U-ANALYST"), now())
                .await
                .title,
            "Nothing to confirm"
        );
    }

    #[tokio::test]
    async fn allow_list_matches_email_too() {
        let h = harness();
        let reply = h
            .bot
            .answer(&request("/create \"Lost laptop\" high", "LEAD"), now())
            .await;
        assert_eq!(reply.title, "Please confirm");
        let done = h
            .bot
            .answer(&request(&confirm_command(&reply), "LEAD"), now())
            .await;
        assert!(
            matches!(&done.blocks[0], Block::Text(text) if text == "Created incident 99."),
            "{done:?}"
        );
    }

    #[tokio::test]
    async fn assign_me_uses_the_teams_object_id_when_there_is_no_email() {
        let h = harness();
        let teams_user = "5f1c2a34-1b2c-4d5e-8f90-1234567890ab";
        let mut ask = request("/assign 8 me", teams_user);
        ask.user.email = None;
        ask.user.realm = Realm::Entra;
        ask.user.name = Some("Dana Analyst".to_string());
        let mut bot = h.bot;
        bot.settings
            .permissions
            .allowed_users
            .push(teams_user.to_string());
        let reply = bot.answer(&ask, now()).await;
        assert_eq!(reply.title, "Please confirm", "{reply:?}");
        ask.text = confirm_command(&reply);
        bot.answer(&ask, now()).await;
        let writes = h.source.writes.lock().unwrap().clone();
        assert_eq!(writes.len(), 1);
        assert!(
            writes[0].contains(teams_user) && writes[0].contains("Dana Analyst"),
            "{writes:?}"
        );

        // A Slack user whose e-mail no directory can give: said plainly, nothing stored.
        let mut slack = request("/assign 8 me", "U-ANALYST");
        slack.user.email = None;
        let reply = bot.answer(&slack, now()).await;
        assert!(
            matches!(&reply.blocks[0], Block::Alert(text) if text.contains("could not find your e-mail address in Slack") && text.contains("/assign 8 you@yourdomain.com")),
            "{reply:?}"
        );

        // The Agents Playground's user: no Entra identity in this chat, and how to assign by e-mail.
        let mut playground = request("/assign 8 me", "user-id-0");
        playground.user.email = None;
        playground.user.realm = Realm::Local;
        bot.settings
            .permissions
            .allowed_users
            .push("user-id-0".to_string());
        let reply = bot.answer(&playground, now()).await;
        assert!(
            matches!(&reply.blocks[0], Block::Alert(text) if text.starts_with("You have no Entra ID identity in this chat") && text.contains("`user-id-0`") && text.contains("/assign 8 you@yourdomain.com")),
            "{reply:?}"
        );
        assert!(reply.actions.is_empty(), "no confirmation to press");
        assert_eq!(h.source.writes.lock().unwrap().len(), 1);
    }

    /// A directory that knows one Slack user and one Entra user, and counts lookups.
    struct People {
        lookups: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl permissions::Directory for People {
        async fn member_of_any(
            &self,
            _user: &User,
            _groups: &[String],
        ) -> Result<bool, permissions::DirectoryError> {
            Ok(false)
        }

        async fn identify(&self, user: &User) -> Result<people::Identity, people::LookupError> {
            self.lookups
                .lock()
                .unwrap()
                .push(format!("slack {}", user.id));
            match user.id.as_str() {
                "U-ANALYST" => Ok(people::Identity {
                    name: Some("Ana Lyst".to_string()),
                    email: Some("ana@contoso.com".to_string()),
                    object_id: None,
                }),
                _ => Err(people::LookupError::Failed(
                    "Slack refused users.info: missing_scope".to_string(),
                )),
            }
        }

        async fn entra_user(&self, key: &str) -> Result<people::Identity, people::LookupError> {
            self.lookups.lock().unwrap().push(format!("entra {key}"));
            match key {
                "ana@contoso.com" => Ok(people::Identity {
                    name: Some("Ana Lyst".to_string()),
                    email: Some("ana.lyst@contoso.onmicrosoft.com".to_string()),
                    object_id: Some("0a0a0a0a-1b2c-4d5e-8f90-1234567890ab".to_string()),
                }),
                _ => Err(people::LookupError::NotFound(format!("no user {key}"))),
            }
        }
    }

    #[tokio::test]
    async fn assign_me_from_slack_finds_the_entra_user_by_the_slack_email() {
        let mut h = harness();
        let directory = Arc::new(People {
            lookups: Mutex::new(Vec::new()),
        });
        h.bot.settings.permissions.directory = directory.clone();
        let mut ask = request("/assign 8 me", "U-ANALYST");
        ask.user.email = None;
        let reply = h.bot.answer(&ask, now()).await;
        assert_eq!(reply.title, "Please confirm", "{reply:?}");
        assert!(
            matches!(&reply.blocks[0], Block::Facts(facts) if facts[0].value == "Assign incident 8 to Ana Lyst (ana.lyst@contoso.onmicrosoft.com)"),
            "{reply:?}"
        );
        ask.text = confirm_command(&reply);
        h.bot.answer(&ask, now()).await;
        let writes = h.source.writes.lock().unwrap().clone();
        assert_eq!(writes.len(), 1);
        assert!(
            writes[0].contains("0a0a0a0a-1b2c-4d5e-8f90-1234567890ab")
                && writes[0].contains("ana.lyst@contoso.onmicrosoft.com")
                && writes[0].contains("Ana Lyst"),
            "{writes:?}"
        );
        assert_eq!(
            directory.lookups.lock().unwrap().clone(),
            vec!["slack U-ANALYST", "entra ana@contoso.com"]
        );

        // A typed e-mail Entra ID does not know is refused with the reason, before any confirmation.
        let reply = h
            .bot
            .answer(&request("/assign 8 nobody@contoso.com", "U-ANALYST"), now())
            .await;
        assert!(
            matches!(&reply.blocks[0], Block::Alert(text) if text == "No Entra ID user has the user principal name, e-mail or object id `nobody@contoso.com`."),
            "{reply:?}"
        );
    }

    #[tokio::test]
    async fn a_refused_user_triggers_no_directory_lookup() {
        let mut h = harness();
        let directory = Arc::new(People {
            lookups: Mutex::new(Vec::new()),
        });
        h.bot.settings.permissions.directory = directory.clone();
        let reply = h
            .bot
            .answer(
                &request("/assign 8 someone@contoso.com", "U-INTRUDER"),
                now(),
            )
            .await;
        assert_eq!(reply.title, "Not allowed");
        assert!(directory.lookups.lock().unwrap().is_empty());
        assert_eq!(
            h.ledger.records.lock().unwrap()[0].action,
            "Assign incident 8 to someone@contoso.com"
        );
    }

    #[tokio::test]
    async fn a_mention_the_channel_resolved_needs_no_lookup_and_an_unknown_one_says_why() {
        let mut h = harness();
        let directory = Arc::new(People {
            lookups: Mutex::new(Vec::new()),
        });
        h.bot.settings.permissions.directory = directory.clone();
        let mut ask = request("/assign 8 dana@contoso.com", "U-ANALYST");
        ask.mentions = vec![people::Mention {
            key: "dana@contoso.com".to_string(),
            identity: people::Identity {
                name: Some("Dana Example".to_string()),
                email: Some("dana@contoso.com".to_string()),
                object_id: Some("5f1c2a34-1b2c-4d5e-8f90-1234567890ab".to_string()),
            },
            missing: None,
        }];
        let reply = h.bot.answer(&ask, now()).await;
        assert_eq!(reply.title, "Please confirm", "{reply:?}");
        assert!(directory.lookups.lock().unwrap().is_empty());

        let mut unknown = request("/assign 8 @DanaExample", "U-ANALYST");
        unknown.mentions = vec![people::Mention {
            key: "@DanaExample".to_string(),
            identity: people::Identity {
                name: Some("Dana Example".to_string()),
                ..people::Identity::default()
            },
            missing: Some("Teams did not give their Entra ID".to_string()),
        }];
        let reply = h.bot.answer(&unknown, now()).await;
        assert!(
            matches!(&reply.blocks[0], Block::Alert(text) if text.starts_with("I could not find who Dana Example is in Entra ID: Teams did not give their Entra ID.")),
            "{reply:?}"
        );
        let typed = h
            .bot
            .answer(&request("/assign 8 @dana", "U-ANALYST"), now())
            .await;
        assert!(
            matches!(&typed.blocks[0], Block::Alert(text) if text.starts_with("I cannot tell who `@dana` is")),
            "{typed:?}"
        );
    }

    #[tokio::test]
    async fn a_comment_says_who_asked_and_the_audit_keeps_the_platform_id() {
        let mut h = harness();
        h.bot.settings.permissions.directory = Arc::new(People {
            lookups: Mutex::new(Vec::new()),
        });
        let reply = h
            .bot
            .answer(&request("/comment 3 host reimaged", "U-ANALYST"), now())
            .await;
        assert!(
            matches!(&reply.blocks[0], Block::Facts(facts) if facts[1].value == "Ana Lyst via sentinel-bot: host reimaged"),
            "{reply:?}"
        );
        h.bot
            .answer(&request(&confirm_command(&reply), "U-ANALYST"), now())
            .await;
        assert_eq!(
            h.source.writes.lock().unwrap().clone(),
            vec!["comment 3: Ana Lyst via sentinel-bot: host reimaged"]
        );
        let records = h.ledger.records.lock().unwrap().clone();
        assert_eq!(records[0].user_id, "U-ANALYST");
        assert_eq!(records[0].action, "Comment on incident 3");
    }

    /// A directory with fixed members, or a fixed failure, that records every question.
    #[derive(Default)]
    struct FakeDirectory {
        members: Vec<String>,
        failure: Mutex<Option<String>>,
        asked: Mutex<Vec<(String, Vec<String>)>>,
    }

    #[async_trait]
    impl permissions::Directory for FakeDirectory {
        async fn member_of_any(
            &self,
            user: &User,
            groups: &[String],
        ) -> Result<bool, permissions::DirectoryError> {
            self.asked
                .lock()
                .unwrap()
                .push((user.id.clone(), groups.to_vec()));
            if let Some(reason) = self.failure.lock().unwrap().clone() {
                return Err(permissions::DirectoryError(reason));
            }
            Ok(self.members.contains(&user.id))
        }
    }

    /// The harness with `S0SOC` as the allowed group, answered by `directory`.
    fn harness_with_groups(directory: Arc<FakeDirectory>) -> Harness {
        let mut h = harness();
        h.bot.settings.permissions.allowed_groups = vec!["S0SOC".to_string()];
        h.bot.settings.permissions.directory = directory;
        h
    }

    fn alert_text(reply: &Reply) -> String {
        match reply.blocks.first() {
            Some(Block::Alert(text)) => text.clone(),
            other => panic!("expected an alert, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_member_of_an_allowed_group_confirms_and_then_acts() {
        let directory = Arc::new(FakeDirectory {
            members: vec!["U-SOC".to_string()],
            ..FakeDirectory::default()
        });
        let h = harness_with_groups(directory.clone());
        let reply = h
            .bot
            .answer(&request("/status 4 active", "U-SOC"), now())
            .await;
        assert_eq!(reply.title, "Please confirm", "{reply:?}");
        assert!(h.source.writes.lock().unwrap().is_empty());
        let done = h
            .bot
            .answer(&request(&confirm_command(&reply), "U-SOC"), now())
            .await;
        assert_eq!(done.title, "Done", "{done:?}");
        assert_eq!(h.source.writes.lock().unwrap().len(), 1);
        assert_eq!(h.ledger.records.lock().unwrap()[0].result, "ok");
        // Asked when requesting and again when confirming, with the configured groups.
        let asked = directory.asked.lock().unwrap().clone();
        let expected = ("U-SOC".to_string(), vec!["S0SOC".to_string()]);
        assert_eq!(asked, vec![expected.clone(), expected]);
    }

    #[tokio::test]
    async fn a_user_in_no_allowed_group_is_refused_and_audited() {
        let directory = Arc::new(FakeDirectory {
            members: vec!["U-SOC".to_string()],
            ..FakeDirectory::default()
        });
        let h = harness_with_groups(directory.clone());
        let reply = h
            .bot
            .answer(&request("/comment 4 looks fine", "U-OUTSIDER"), now())
            .await;
        assert_eq!(reply.title, "Not allowed");
        assert!(reply.actions.is_empty());
        assert!(alert_text(&reply).contains("actions.allowed_groups"));
        assert!(h.source.writes.lock().unwrap().is_empty());
        let records = h.ledger.records.lock().unwrap().clone();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].user_id, "U-OUTSIDER");
        assert_eq!(records[0].result, "refused: not on the allow-list");
        assert_eq!(directory.asked.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_directory_failure_refuses_says_why_and_is_audited() {
        let directory = Arc::new(FakeDirectory {
            members: vec!["U-SOC".to_string()],
            failure: Mutex::new(Some(
                "Slack refused usergroups.users.list: missing_scope".into(),
            )),
            ..FakeDirectory::default()
        });
        let h = harness_with_groups(directory.clone());
        let reply = h
            .bot
            .answer(&request("/close 4 BenignPositive", "U-SOC"), now())
            .await;
        assert_eq!(reply.title, "Not allowed");
        assert!(reply.actions.is_empty(), "no confirmation on failure");
        let text = alert_text(&reply);
        assert!(
            text.contains("could not check your group membership"),
            "{text}"
        );
        assert!(text.contains("missing_scope"), "{text}");
        let records = h.ledger.records.lock().unwrap().clone();
        assert_eq!(records.len(), 1);
        assert_eq!(
            records[0].result,
            "refused: group membership could not be checked: Slack refused usergroups.users.list: missing_scope"
        );
        assert!(h.source.writes.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_directory_failure_at_confirmation_still_refuses() {
        let directory = Arc::new(FakeDirectory {
            members: vec!["U-SOC".to_string()],
            ..FakeDirectory::default()
        });
        let h = harness_with_groups(directory.clone());
        let reply = h
            .bot
            .answer(&request("/status 4 active", "U-SOC"), now())
            .await;
        assert_eq!(reply.title, "Please confirm");
        *directory.failure.lock().unwrap() = Some("Microsoft Graph failed: HTTP 503".into());
        let refused = h
            .bot
            .answer(&request(&confirm_command(&reply), "U-SOC"), now())
            .await;
        assert_eq!(refused.title, "Not allowed");
        assert!(h.source.writes.lock().unwrap().is_empty());
        let records = h.ledger.records.lock().unwrap().clone();
        assert_eq!(records.len(), 1);
        assert!(
            records[0]
                .result
                .contains("Microsoft Graph failed: HTTP 503"),
            "{records:?}"
        );
    }

    #[tokio::test]
    async fn the_directory_is_not_asked_for_listed_users_or_without_groups() {
        let directory = Arc::new(FakeDirectory::default());
        let h = harness_with_groups(directory.clone());
        let reply = h
            .bot
            .answer(&request("/status 4 active", "U-ANALYST"), now())
            .await;
        assert_eq!(reply.title, "Please confirm");
        h.bot
            .answer(&request(&confirm_command(&reply), "U-ANALYST"), now())
            .await;
        assert_eq!(h.source.writes.lock().unwrap().len(), 1);

        let mut h = harness();
        h.bot.settings.permissions.directory = directory.clone();
        let refused = h
            .bot
            .answer(&request("/status 4 active", "U-OUTSIDER"), now())
            .await;
        assert_eq!(refused.title, "Not allowed");
        assert!(directory.asked.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_typo_is_answered_as_the_command_with_a_note() {
        let h = harness();
        let reply = h
            .bot
            .answer(&request("incidnets week", "U-ANALYST"), now())
            .await;
        assert!(
            reply.title.starts_with("Incidents, the last 7 days"),
            "{reply:?}"
        );
        assert_eq!(
            reply.blocks[0],
            Block::Note("Did you mean `/incidents week`? That is how I read it.".to_string())
        );
        let wrong = h
            .bot
            .answer(&request("incidnets soon", "U-ANALYST"), now())
            .await;
        assert_eq!(wrong.title, "I could not read that command");
        assert_eq!(
            wrong.blocks[0],
            Block::Alert(
                "Did you mean `/incidents soon`? `soon` is not a period or a filter.".to_string()
            )
        );
        // A slip in the arguments of a command typed right, and a number glued to the command.
        let period = h
            .bot
            .answer(&request("/incidents wek", "U-ANALYST"), now())
            .await;
        assert!(
            period.title.starts_with("Incidents, the last 7 days"),
            "{period:?}"
        );
        assert_eq!(
            period.blocks[0],
            Block::Note("Did you mean `/incidents week`? That is how I read it.".to_string())
        );
        let glued = h
            .bot
            .answer(&request("/incident1200", "U-ANALYST"), now())
            .await;
        assert_eq!(
            glued.blocks[0],
            Block::Note("Did you mean `/incident 1200`? That is how I read it.".to_string())
        );
        // Arguments no slip explains keep the command's usage.
        let still_wrong = h
            .bot
            .answer(&request("/incidents wek soon", "U-ANALYST"), now())
            .await;
        assert_eq!(still_wrong.title, "I could not read that command");
        assert!(
            !format!("{still_wrong:?}").contains("Did you mean"),
            "{still_wrong:?}"
        );
    }

    #[tokio::test]
    async fn without_a_model_a_follow_up_gets_a_short_honest_answer() {
        let h = harness();
        let mut ask = request("what should we do about 501 first?", "U-ANALYST");
        ask.thread = Some("slack:C1:1700000000.000100".to_string());
        let reply = h.bot.answer(&ask, now()).await;
        assert_eq!(reply.title, "I can only answer commands here");
        assert!(
            !reply
                .blocks
                .iter()
                .any(|block| matches!(block, Block::Table(_))),
            "not the whole help table"
        );
        let text: Vec<&str> = reply
            .blocks
            .iter()
            .filter_map(|block| match block {
                Block::Text(text) => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert!(
            text[0].contains("No language model is configured"),
            "{text:?}"
        );
        assert!(text.iter().any(|line| line.starts_with("`/incident 501`")));
        assert!(text.iter().any(|line| line.starts_with("`/recommend 501`")));
        let commands: Vec<&str> = reply.actions.iter().map(|it| it.command.as_str()).collect();
        assert_eq!(commands, vec!["/incident 501", "/recommend 501"]);
        for command in commands {
            assert!(command::parse(command).is_ok(), "{command}");
        }
    }

    #[tokio::test]
    async fn unknown_command_gets_help() {
        let h = harness();
        let reply = h
            .bot
            .answer(&request("/frobnicate", "U-ANALYST"), now())
            .await;
        assert_eq!(reply.title, "I could not read that command");
        assert!(matches!(&reply.blocks[0], Block::Alert(text) if text.contains("frobnicate")));
        assert!(
            reply
                .blocks
                .iter()
                .any(|block| matches!(block, Block::Text(text) if text.starts_with("`/incidents"))),
            "the command list follows"
        );
    }

    #[tokio::test]
    async fn the_periods_are_explained_only_for_commands_that_take_one() {
        let h = harness();
        let note = |reply: &Reply| {
            reply.blocks.iter().find_map(|block| match block {
                Block::Note(text) => Some(text.clone()),
                _ => None,
            })
        };
        for (text, explained) in [
            ("/incident abc", false),
            ("/help close", false),
            ("/incidents fortnight", true),
            ("/help report", true),
            ("/help", true),
        ] {
            let reply = h.bot.answer(&request(text, "U-ANALYST"), now()).await;
            let note = note(&reply).expect("a note");
            assert_eq!(note.contains("Periods:"), explained, "{text}: {note}");
            assert!(note.contains("with or without the slash"), "{text}");
        }
    }
}
