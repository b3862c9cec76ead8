//! Who may change incidents: the user allow-list, then membership of an allowed group as
//! a `Directory` answers it. When membership cannot be checked the answer is no.
//! Must not know Teams, Slack, Graph or HTTP.

use super::User;
use super::people::{Identity, LookupError};
use async_trait::async_trait;
use std::sync::Arc;

/// Answers group membership, and who a user is, for the users the bot meets.
#[async_trait]
pub trait Directory: Send + Sync {
    /// Whether `user` belongs to any of `groups` (ids from `actions.allowed_groups`).
    async fn member_of_any(&self, user: &User, groups: &[String]) -> Result<bool, DirectoryError>;

    /// Who a chat user is in their platform's own directory (a Slack user's display name and
    /// e-mail). Without one: `NotConfigured`.
    async fn identify(&self, _user: &User) -> Result<Identity, LookupError> {
        Err(LookupError::NotConfigured(
            "no user directory is configured".to_string(),
        ))
    }

    /// The Entra ID user whose user principal name, e-mail or object id is `key`.
    /// Without Microsoft Graph: `NotConfigured`.
    async fn entra_user(&self, _key: &str) -> Result<Identity, LookupError> {
        Err(LookupError::NotConfigured(
            "Microsoft Graph is not configured".to_string(),
        ))
    }
}

/// Why group membership could not be checked; the text is shown in chat and audited,
/// so it names the system and the reason but never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DirectoryError(pub String);

/// The directory of a bot without one: every question fails, so groups deny.
#[derive(Debug, Default)]
pub struct NoDirectory;

#[async_trait]
impl Directory for NoDirectory {
    async fn member_of_any(
        &self,
        _user: &User,
        _groups: &[String],
    ) -> Result<bool, DirectoryError> {
        Err(DirectoryError(
            "no group directory is configured".to_string(),
        ))
    }
}

/// Why a user may not act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Neither on the user allow-list nor in an allowed group.
    NotAllowed,
    /// Group membership could not be checked, so the bot refuses (fails closed).
    Unchecked(DirectoryError),
}

impl Refusal {
    /// What the user reads in chat.
    pub fn message(&self) -> String {
        match self {
            Refusal::NotAllowed => "You are not allowed to change incidents from chat. Ask the bot's operator to add you to `actions.allowed_users` or to a group in `actions.allowed_groups`.".to_string(),
            Refusal::Unchecked(error) => format!(
                "I could not check your group membership, so I cannot let you change incidents right now: {error}. Try again later, or ask the bot's operator to add you to `actions.allowed_users`."
            ),
        }
    }

    /// The `result` of the audit record.
    pub fn audit_result(&self) -> String {
        match self {
            Refusal::NotAllowed => "refused: not on the allow-list".to_string(),
            Refusal::Unchecked(error) => {
                format!("refused: group membership could not be checked: {error}")
            }
        }
    }
}

/// Who may act: listed users, and members of listed groups.
#[derive(Clone)]
pub struct Permissions {
    /// User ids or e-mails (compared case-insensitively).
    pub allowed_users: Vec<String>,
    /// Group ids: Entra group object ids for Teams users, Slack user group ids (`S...`)
    /// for Slack users.
    pub allowed_groups: Vec<String>,
    /// Asked only when groups are configured and the user is not listed.
    pub directory: Arc<dyn Directory>,
}

impl Default for Permissions {
    fn default() -> Self {
        Permissions {
            allowed_users: Vec::new(),
            allowed_groups: Vec::new(),
            directory: Arc::new(NoDirectory),
        }
    }
}

impl std::fmt::Debug for Permissions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Permissions")
            .field("allowed_users", &self.allowed_users)
            .field("allowed_groups", &self.allowed_groups)
            .finish_non_exhaustive()
    }
}

impl Permissions {
    /// Whether the user may act: the allow-list first (no I/O), then the groups.
    pub async fn check(&self, user: &User) -> Result<(), Refusal> {
        if self.lists(user) {
            return Ok(());
        }
        if self.allowed_groups.is_empty() {
            return Err(Refusal::NotAllowed);
        }
        match self
            .directory
            .member_of_any(user, &self.allowed_groups)
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(Refusal::NotAllowed),
            Err(error) => Err(Refusal::Unchecked(error)),
        }
    }

    /// True when the user's id or e-mail is on the allow-list.
    pub fn lists(&self, user: &User) -> bool {
        self.allowed_users.iter().any(|allowed| {
            allowed.eq_ignore_ascii_case(&user.id)
                || user
                    .email
                    .as_deref()
                    .is_some_and(|email| allowed.eq_ignore_ascii_case(email))
        })
    }
}
