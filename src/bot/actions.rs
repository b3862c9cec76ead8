//! Incident actions from chat: confirmation, execution, audit (who may act is `permissions`).
//! An action runs only after the same user presses Confirm; every outcome is audited.

use super::command::{Assignee, Command};
use super::permissions::Directory;
use super::{BotError, Request, people};
use crate::incident::{
    ArcStr, Classification, ClassificationReason, Incident, IncidentKey, Owner, Severity, Status,
    Workspace,
};
use crate::reply::{Action, ActionStyle, Block, Fact, Reply};
use crate::sources::{IncidentSource, IncidentUpdate, NewIncident};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;

/// How long a confirmation button stays valid.
pub const CONFIRMATION_TTL: Duration = Duration::minutes(10);

/// Sentinel's limit on one comment, in characters.
pub const MAX_COMMENT: usize = 30_000;

/// A change waiting for confirmation, as stored between the request and the button press.
/// `workspace` with `number` is the incident's identity; records stored before workspaces
/// had names (and every record of a single-workspace bot) carry none: the main workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PendingAction {
    /// `owner` labels the assignee for people; `name`, `email` (UPN or e-mail) and `object_id`
    /// (Entra) are Sentinel's owner fields. Records stored before `name` and `email` existed
    /// carry the e-mail in `owner`, or with an object id, the name.
    Assign {
        number: u64,
        #[serde(default, skip_serializing_if = "Workspace::is_only")]
        workspace: Workspace,
        owner: String,
        object_id: Option<String>,
        #[serde(default)]
        email: Option<String>,
        #[serde(default)]
        name: Option<String>,
    },
    SetStatus {
        number: u64,
        #[serde(default, skip_serializing_if = "Workspace::is_only")]
        workspace: Workspace,
        status: Status,
    },
    /// `reason` is the one written to Sentinel: the one asked for, or the classification's
    /// default, so the confirmation shows the pair as it will be written. Records stored
    /// when it was a string read the same, as the names are Sentinel's.
    Close {
        number: u64,
        #[serde(default, skip_serializing_if = "Workspace::is_only")]
        workspace: Workspace,
        classification: Classification,
        reason: Option<ClassificationReason>,
        comment: Option<String>,
    },
    /// `author` is who asked, named in the comment written to Sentinel.
    Comment {
        number: u64,
        #[serde(default, skip_serializing_if = "Workspace::is_only")]
        workspace: Workspace,
        text: String,
        #[serde(default)]
        author: Option<String>,
    },
    Create {
        title: String,
        severity: Severity,
        description: String,
    },
}

impl PendingAction {
    /// One line saying what the action will do.
    pub fn describe(&self) -> String {
        let number = self
            .incident()
            .map_or_else(String::new, |key| key.to_string());
        match self {
            PendingAction::Assign { owner, .. } => {
                format!("Assign incident {number} to {owner}")
            }
            PendingAction::SetStatus { status, .. } => {
                format!("Set incident {number} to {status}")
            }
            PendingAction::Close {
                classification,
                reason,
                ..
            } => match reason {
                Some(reason) => format!("Close incident {number} as {classification} ({reason})"),
                None => format!("Close incident {number} as {classification}"),
            },
            PendingAction::Comment { .. } => format!("Comment on incident {number}"),
            PendingAction::Create { severity, .. } => {
                format!("Create a {severity} severity incident")
            }
        }
    }

    /// The same action on the incident `key` (the one its typed number turned out to name).
    pub fn at(mut self, key: IncidentKey) -> PendingAction {
        match &mut self {
            PendingAction::Assign {
                number, workspace, ..
            }
            | PendingAction::SetStatus {
                number, workspace, ..
            }
            | PendingAction::Close {
                number, workspace, ..
            }
            | PendingAction::Comment {
                number, workspace, ..
            } => {
                *number = key.number;
                *workspace = key.workspace;
            }
            PendingAction::Create { .. } => {}
        }
        self
    }

    /// The incident whose fields it overwrites, if any: assign, status and close do; a
    /// comment adds to the incident and overwrites nothing.
    pub fn overwrites(&self) -> Option<IncidentKey> {
        match self {
            PendingAction::Assign { .. }
            | PendingAction::SetStatus { .. }
            | PendingAction::Close { .. } => self.incident(),
            PendingAction::Comment { .. } | PendingAction::Create { .. } => None,
        }
    }

    /// The comment as it will be written to Sentinel: signed with who asked, when known.
    pub fn comment_message(&self) -> Option<String> {
        let PendingAction::Comment { text, author, .. } = self else {
            return None;
        };
        let message = match author {
            Some(author) => format!("{author} via sentinel-bot: {text}"),
            None => text.clone(),
        };
        Some(message.chars().take(MAX_COMMENT).collect())
    }

    /// The incident it touches, if any.
    pub fn incident(&self) -> Option<IncidentKey> {
        match self {
            PendingAction::Assign {
                number, workspace, ..
            }
            | PendingAction::SetStatus {
                number, workspace, ..
            }
            | PendingAction::Close {
                number, workspace, ..
            }
            | PendingAction::Comment {
                number, workspace, ..
            } => Some(IncidentKey {
                workspace: *workspace,
                number: *number,
            }),
            PendingAction::Create { .. } => None,
        }
    }
}

/// What an incident looked like when a change to it was proposed: its version, and the
/// fields another analyst's change most likely touched, to say what changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    /// Sentinel's etag; sent with the change so Sentinel refuses it if the incident moved on.
    pub etag: Option<String>,
    /// `lastModifiedTimeUtc`; the version when the source gives no etag.
    pub last_modified: DateTime<Utc>,
    pub status: Status,
    /// The owner's label, if assigned.
    pub owner: Option<String>,
    pub classification: Option<Classification>,
}

impl Seen {
    /// The incident as read now, with its etag.
    pub fn of(incident: &Incident, etag: Option<String>) -> Seen {
        Seen {
            etag,
            last_modified: incident.last_modified,
            status: incident.status,
            owner: incident.owner.label().map(str::to_string),
            classification: incident.classification,
        }
    }

    /// True when `now` is the same version of the incident (same etag, or with no etags, the
    /// same last-modified time).
    pub fn same_version(&self, now: &Seen) -> bool {
        match (&self.etag, &now.etag) {
            (Some(then), Some(current)) => then == current,
            _ => self.last_modified == now.last_modified,
        }
    }

    /// One line per field that differs, e.g. "status: Active → Closed".
    pub fn changes(&self, now: &Seen) -> Vec<String> {
        let none = || "(none)".to_string();
        let mut changes = Vec::new();
        if self.status != now.status {
            changes.push(format!("status: {} → {}", self.status, now.status));
        }
        if self.owner != now.owner {
            changes.push(format!(
                "owner: {} → {}",
                self.owner.clone().unwrap_or_else(none),
                now.owner.clone().unwrap_or_else(none)
            ));
        }
        if self.classification != now.classification {
            let label = |it: Option<Classification>| it.map_or_else(none, |it| it.to_string());
            changes.push(format!(
                "classification: {} → {}",
                label(self.classification),
                label(now.classification)
            ));
        }
        changes
    }
}

/// A change waiting for confirmation, with the incident as it was when the change was
/// proposed (`None` for actions that overwrite nothing: comments, new incidents).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    pub action: PendingAction,
    #[serde(default)]
    pub seen: Option<Seen>,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Platform user id.
    pub user_id: String,
    pub user_name: Option<String>,
    /// What was asked, e.g. "Close incident 12 as FalsePositive".
    pub action: String,
    pub incident: Option<IncidentKey>,
    pub at: DateTime<Utc>,
    /// "ok", "refused: ...", "failed: ...", "cancelled".
    pub result: String,
}

/// Where pending confirmations and audit records live (the SQL store, or memory).
#[async_trait]
pub trait Ledger: Send + Sync {
    /// Keeps a proposal until `expires` for `user_id` under `token`.
    async fn put_pending(
        &self,
        token: &str,
        user_id: &str,
        proposal: &Proposal,
        expires: DateTime<Utc>,
    ) -> anyhow::Result<()>;
    /// Removes and returns the proposal if it exists, belongs to `user_id` and has not expired.
    async fn take_pending(
        &self,
        token: &str,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<Proposal>>;
    /// Appends an audit record.
    async fn audit(&self, record: &AuditRecord) -> anyhow::Result<()>;
}

/// A proposal with its owner and expiry.
type Pending = (String, Proposal, DateTime<Utc>);

/// A process-local ledger, for the CLI and tests.
#[derive(Default)]
pub struct MemoryLedger {
    pending: Mutex<HashMap<String, Pending>>,
    /// Every audit record written, oldest first.
    pub records: Mutex<Vec<AuditRecord>>,
}

#[async_trait]
impl Ledger for MemoryLedger {
    async fn put_pending(
        &self,
        token: &str,
        user_id: &str,
        proposal: &Proposal,
        expires: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let mut pending = self
            .pending
            .lock()
            .map_err(|_| anyhow::anyhow!("ledger lock poisoned"))?;
        pending.insert(
            token.to_string(),
            (user_id.to_string(), proposal.clone(), expires),
        );
        Ok(())
    }

    async fn take_pending(
        &self,
        token: &str,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<Proposal>> {
        let mut pending = self
            .pending
            .lock()
            .map_err(|_| anyhow::anyhow!("ledger lock poisoned"))?;
        let matches = pending
            .get(token)
            .is_some_and(|(owner, _, expires)| owner == user_id && *expires > now);
        Ok(if matches {
            pending.remove(token).map(|(_, action, _)| action)
        } else {
            None
        })
    }

    async fn audit(&self, record: &AuditRecord) -> anyhow::Result<()> {
        self.records
            .lock()
            .map_err(|_| anyhow::anyhow!("ledger lock poisoned"))?
            .push(record.clone());
        Ok(())
    }
}

/// Turns an action command into a draft pending action, with no directory or workspace
/// asked yet (so a refusal is audited before any lookup; the incident is the typed number
/// until [`PendingAction::at`] names it); `None` for commands that are not actions.
/// [`complete`] fills in the rest once the user may act.
pub fn pending_action(command: &Command) -> Option<PendingAction> {
    Some(match command {
        Command::Assign { number, assignee } => PendingAction::Assign {
            number: number.number,
            workspace: Workspace::ONLY,
            owner: match assignee {
                Assignee::Me => "me".to_string(),
                Assignee::User(key) => key.clone(),
            },
            object_id: None,
            email: None,
            name: None,
        },
        Command::SetStatus { number, status } => PendingAction::SetStatus {
            number: number.number,
            workspace: Workspace::ONLY,
            status: *status,
        },
        Command::Close {
            number,
            classification,
            reason,
            comment,
        } => PendingAction::Close {
            number: number.number,
            workspace: Workspace::ONLY,
            classification: *classification,
            reason: reason.or(classification.default_reason()),
            comment: comment.clone(),
        },
        Command::Comment { number, text } => PendingAction::Comment {
            number: number.number,
            workspace: Workspace::ONLY,
            text: text.clone(),
            author: None,
        },
        Command::Create {
            title,
            severity,
            description,
        } => PendingAction::Create {
            title: title.clone(),
            severity: *severity,
            description: description.clone(),
        },
        _ => return None,
    })
}

/// Completes a draft from the directories: the assignee's Entra ID identity for `/assign`
/// (from the request's mentions, Slack and Microsoft Graph), the requester's name for a
/// comment. A lookup that fails is [`BotError::Cannot`], saying what is missing.
pub async fn complete(
    draft: PendingAction,
    command: &Command,
    request: &Request,
    directory: &dyn Directory,
) -> Result<PendingAction, BotError> {
    Ok(match (draft, command) {
        (
            PendingAction::Assign {
                number, workspace, ..
            },
            Command::Assign { assignee, .. },
        ) => {
            let key = match assignee {
                Assignee::Me => None,
                Assignee::User(key) => Some(key.as_str()),
            };
            // The command was read; a person who cannot be found is not a parse error.
            let incident = IncidentKey { workspace, number };
            let owner = people::owner(directory, request, key, incident)
                .await
                .map_err(|missing| BotError::Cannot(missing.message))?;
            PendingAction::Assign {
                number,
                workspace,
                owner: owner_label(&owner),
                object_id: owner.object_id.as_deref().map(String::from),
                email: owner.email.as_deref().map(String::from),
                name: owner.name.as_deref().map(String::from),
            }
        }
        (
            PendingAction::Comment {
                number,
                workspace,
                text,
                ..
            },
            _,
        ) => PendingAction::Comment {
            number,
            workspace,
            text,
            author: Some(people::author(directory, &request.user).await),
        },
        (draft, _) => draft,
    })
}

/// `Dana Example (dana@contoso.com)`, or whichever of the three is known.
fn owner_label(owner: &Owner) -> String {
    match (&owner.name, &owner.email, &owner.object_id) {
        (Some(name), Some(email), _) => format!("{name} ({email})"),
        (Some(name), None, _) => name.to_string(),
        (None, Some(email), _) => email.to_string(),
        (None, None, Some(object_id)) => object_id.to_string(),
        (None, None, None) => "nobody".to_string(),
    }
}

/// The confirmation card for a pending action.
pub fn confirmation(action: &PendingAction, token: &str) -> Reply {
    let mut facts = vec![Fact::new("Action", action.describe())];
    match action {
        PendingAction::Close {
            comment: Some(text),
            ..
        } => {
            facts.push(Fact::new("Comment", text));
        }
        PendingAction::Comment { .. } => {
            facts.push(Fact::new(
                "Comment",
                action.comment_message().unwrap_or_default(),
            ));
        }
        PendingAction::Create {
            title, description, ..
        } => {
            facts.push(Fact::new("Title", title));
            if !description.is_empty() {
                facts.push(Fact::new("Description", description));
            }
        }
        _ => {}
    }
    // Both buttons replace this card with the outcome, so a used confirmation keeps no live buttons.
    Reply::titled("Please confirm")
        .with(Block::Facts(facts))
        .with(Block::Note(format!(
            "Only you can confirm; the request expires in {} minutes.",
            CONFIRMATION_TTL.num_minutes()
        )))
        .with_action(
            Action::new("Confirm", format!("/confirm {token}"))
                .styled(ActionStyle::Primary)
                .in_place(),
        )
        .with_action(Action::new("Cancel", format!("/cancel {token}")).in_place())
        .with_summary(format!("Please confirm: {}", action.describe()))
}

/// The answer when the incident changed between the proposal and the click: nothing is
/// written, and the user sees what changed.
pub fn changed_meanwhile(action: &PendingAction, changes: &[String]) -> Reply {
    let number = action
        .incident()
        .map_or_else(String::new, |key| key.to_string());
    let mut reply = Reply::titled(format!("Incident {number} changed since you asked")).with(
        Block::Alert(format!(
            "Nothing was changed: someone else changed incident {number} after you asked to {}.",
            lowercase_first(&action.describe())
        )),
    );
    if changes.is_empty() {
        reply = reply.with(Block::Note(
            "Its status, owner and classification are as they were; other fields changed."
                .to_string(),
        ));
    } else {
        let facts = changes
            .iter()
            .map(|change| match change.split_once(": ") {
                Some((field, values)) => Fact::new(capitalise(field), values),
                None => Fact::new("Change", change),
            })
            .collect();
        reply = reply.with(Block::Facts(facts));
    }
    reply
        .with(Block::Note(
            "Look at the incident, then ask again if the change is still needed.".to_string(),
        ))
        .with_action(Action::new("Show incident", format!("/incident {number}")))
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// What a confirmed action did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    /// One sentence, e.g. "Incident 12 is closed as FalsePositive."
    pub message: String,
    /// The incident changed or created, for the "Show incident" next step.
    pub incident: Option<IncidentKey>,
}

/// Who pressed and when, for outcome cards: "Dana at 09:12 UTC".
fn by_whom(user_label: &str, at: DateTime<Utc>) -> String {
    format!("{user_label} at {}", at.format("%H:%M UTC"))
}

/// The card a confirmation becomes once carried out: what happened, by whom, and the
/// incident to look at next. No confirmation buttons remain.
pub fn done(done: &Done, user_label: &str, at: DateTime<Utc>) -> Reply {
    let mut reply = Reply::titled("Done")
        .with(Block::Text(done.message.clone()))
        .with(Block::Note(format!(
            "Confirmed by {}.",
            by_whom(user_label, at)
        )))
        .with_summary(format!("Done: {}", done.message));
    if let Some(number) = done.incident {
        reply = reply.with_action(Action::new("Show incident", format!("/incident {number}")));
    }
    reply
}

/// The card a confirmation becomes once cancelled: nothing changed, and the incident to look at.
pub fn cancelled(action: &PendingAction, user_label: &str, at: DateTime<Utc>) -> Reply {
    let mut reply = Reply::titled("Cancelled")
        .with(Block::Text(format!(
            "Cancelled: {}. Nothing was changed.",
            action.describe()
        )))
        .with(Block::Note(format!(
            "Cancelled by {}.",
            by_whom(user_label, at)
        )))
        .with_summary(format!("Cancelled: {}", action.describe()));
    if let Some(number) = action.incident() {
        reply = reply.with_action(Action::new("Show incident", format!("/incident {number}")));
    }
    reply
}

/// The answer to a confirmation button that is expired, used, or someone else's: a notice to
/// the presser only, so the card (perhaps still waiting for its owner) stays as it is.
pub fn nothing_to_confirm() -> Reply {
    let message = "This confirmation has expired, was already used, or belongs to someone else. Nothing was changed.";
    Reply {
        notice: true,
        ..Reply::titled("Nothing to confirm")
            .with(Block::Alert(message.to_string()))
            .with_summary(message)
    }
}

/// Carries out a confirmed action against Sentinel and says what happened. `etag` is the
/// incident's version when the change was proposed: Sentinel refuses the write if it moved on.
pub async fn execute(
    source: &dyn IncidentSource,
    action: &PendingAction,
    etag: Option<&str>,
) -> Result<Done, BotError> {
    let message = run(source, action, etag).await?;
    let incident = match action {
        PendingAction::Create { .. } => message.1,
        _ => action.incident(),
    };
    Ok(Done {
        message: message.0,
        incident,
    })
}

/// The change itself: the sentence saying what happened, and a created incident's key.
async fn run(
    source: &dyn IncidentSource,
    action: &PendingAction,
    etag: Option<&str>,
) -> Result<(String, Option<IncidentKey>), BotError> {
    let key = |number: &u64, workspace: &Workspace| IncidentKey {
        workspace: *workspace,
        number: *number,
    };
    match action {
        PendingAction::Assign {
            number,
            workspace,
            owner,
            object_id,
            email,
            name,
        } => {
            let key = key(number, workspace);
            let owner_value = match (email, name) {
                // A record stored before `email` and `name` existed.
                (None, None) => Owner {
                    email: object_id.is_none().then(|| owner.as_str().into()),
                    name: object_id.is_some().then(|| owner.as_str().into()),
                    object_id: object_id.as_deref().map(ArcStr::from),
                },
                _ => Owner {
                    email: email.as_deref().map(ArcStr::from),
                    name: name.as_deref().map(ArcStr::from),
                    object_id: object_id.as_deref().map(ArcStr::from),
                },
            };
            let update = IncidentUpdate {
                owner: Some(owner_value),
                ..IncidentUpdate::default()
            };
            source.update(key, &update, etag).await?;
            Ok((format!("Incident {key} is assigned to {owner}."), None))
        }
        PendingAction::SetStatus {
            number,
            workspace,
            status,
        } => {
            let key = key(number, workspace);
            let update = IncidentUpdate {
                status: Some(*status),
                ..IncidentUpdate::default()
            };
            source.update(key, &update, etag).await?;
            Ok((format!("Incident {key} is now {status}."), None))
        }
        PendingAction::Close {
            number,
            workspace,
            classification,
            reason,
            comment,
        } => {
            let key = key(number, workspace);
            let update = IncidentUpdate {
                status: Some(Status::Closed),
                classification: Some(*classification),
                classification_comment: comment.clone(),
                classification_reason: *reason,
                ..IncidentUpdate::default()
            };
            source.update(key, &update, etag).await?;
            Ok((
                format!("Incident {key} is closed as {classification}."),
                None,
            ))
        }
        PendingAction::Comment {
            number, workspace, ..
        } => {
            let key = key(number, workspace);
            let text = action.comment_message().unwrap_or_default();
            source.add_comment(key, &text).await?;
            Ok((format!("Comment added to incident {key}."), None))
        }
        PendingAction::Create {
            title,
            severity,
            description,
        } => {
            let created = source
                .create(&NewIncident {
                    title: title.clone(),
                    description: description.clone(),
                    severity: *severity,
                    owner: None,
                })
                .await?;
            Ok((
                format!("Created incident {}.", created.key()),
                Some(created.key()),
            ))
        }
    }
}
