//! Who a command names: the caller (`me`), a person typed as an e-mail, UPN or Entra object
//! id, or a person a channel resolved from a mention; and who a comment is written for.
//! They become Sentinel's owner fields through the `Directory` (Slack's and Entra ID's user
//! lookups). Must not know Teams, Slack, Graph or HTTP.

use super::command::{UsageError, Verb};
use super::permissions::Directory;
use super::{Realm, Request, User};
use crate::incident::{ArcStr, IncidentKey, Owner};

/// A person as a directory or a channel knows them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identity {
    /// Display name, e.g. "Dana Example".
    pub name: Option<String>,
    /// User principal name, else e-mail.
    pub email: Option<String>,
    /// Entra ID object id.
    pub object_id: Option<String>,
}

impl Identity {
    /// Sentinel's owner fields for this person.
    pub fn owner(&self) -> Owner {
        Owner {
            name: self.name.as_deref().map(ArcStr::from),
            email: self.email.as_deref().map(ArcStr::from),
            object_id: self.object_id.as_deref().map(ArcStr::from),
        }
    }
}

/// A person a message mentions, as the channel resolved them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mention {
    /// The word that stands for them in `Request::text`: their UPN or e-mail, else their
    /// Entra object id, else `@name`.
    pub key: String,
    pub identity: Identity,
    /// What the channel could not find out about them, said when a command needs it.
    pub missing: Option<String>,
}

/// Why a directory could not say who someone is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// No directory that could answer is configured; the text says which one is missing.
    #[error("{0}")]
    NotConfigured(String),
    /// The directory answered that there is no such user.
    #[error("{0}")]
    NotFound(String),
    /// The directory could not be asked, or failed; the text names the system and the reason.
    #[error("{0}")]
    Failed(String),
}

fn refusal(message: String) -> UsageError {
    UsageError {
        message,
        verb: Some(Verb::Assign),
    }
}

/// Sentinel's owner for `/assign {number} {key}` (`key` `None` for `me`), resolved through
/// the request's mentions and the directory. The error says what is missing and how to
/// assign by e-mail instead. Without an Entra directory (demo data) an e-mail or object id
/// is used as typed.
pub async fn owner(
    directory: &dyn Directory,
    request: &Request,
    key: Option<&str>,
    number: IncidentKey,
) -> Result<Owner, UsageError> {
    let Some(key) = key else {
        return me(directory, &request.user, number).await;
    };
    if let Some(mention) = request
        .mentions
        .iter()
        .find(|mention| mention.key.eq_ignore_ascii_case(key))
    {
        return mentioned(directory, mention, number).await;
    }
    if key.starts_with('@') {
        return Err(refusal(format!(
            "I cannot tell who `{key}` is: pick the person from the mention list so the chat links their account, or use their e-mail: `/assign {number} name@yourdomain.com`."
        )));
    }
    named(directory, key, None).await
}

/// A person typed by UPN, e-mail or object id, looked up in Entra ID.
async fn named(
    directory: &dyn Directory,
    key: &str,
    name: Option<&str>,
) -> Result<Owner, UsageError> {
    match directory.entra_user(key).await {
        Ok(found) => Ok(Identity {
            name: found.name.or(name.map(str::to_string)),
            email: found
                .email
                .or_else(|| key.contains('@').then(|| key.to_string())),
            object_id: found.object_id,
        }
        .owner()),
        Err(LookupError::NotConfigured(_)) => Ok(as_typed(key, name)),
        Err(LookupError::NotFound(_)) => Err(refusal(format!(
            "No Entra ID user has the user principal name, e-mail or object id `{key}`."
        ))),
        Err(LookupError::Failed(reason)) => Err(refusal(format!(
            "I could not look up `{key}` in Entra ID: {reason}."
        ))),
    }
}

/// An owner from the key alone, for a bot with no Entra directory.
fn as_typed(key: &str, name: Option<&str>) -> Owner {
    let is_email = key.contains('@');
    Owner {
        name: name.map(ArcStr::from),
        email: is_email.then(|| key.into()),
        object_id: (!is_email).then(|| key.into()),
    }
}

async fn mentioned(
    directory: &dyn Directory,
    mention: &Mention,
    number: IncidentKey,
) -> Result<Owner, UsageError> {
    let identity = &mention.identity;
    if identity.object_id.is_some() {
        return Ok(identity.owner());
    }
    if let Some(email) = &identity.email {
        return named(directory, email, identity.name.as_deref()).await;
    }
    let who = identity.name.as_deref().unwrap_or(&mention.key);
    let why = mention
        .missing
        .clone()
        .unwrap_or_else(|| "the chat gave neither an e-mail nor an Entra ID".to_string());
    Err(refusal(format!(
        "I could not find who {who} is in Entra ID: {why}. Assign by e-mail instead: `/assign {number} name@yourdomain.com`."
    )))
}

/// The caller: their Entra object id (Teams), or their Slack e-mail looked up in Entra ID.
async fn me(
    directory: &dyn Directory,
    user: &User,
    number: IncidentKey,
) -> Result<Owner, UsageError> {
    let by_email = format!("Assign by e-mail instead: `/assign {number} you@yourdomain.com`.");
    match user.realm {
        Realm::Entra => Ok(Owner {
            name: user.name.as_deref().map(ArcStr::from),
            email: user.email.as_deref().map(ArcStr::from),
            object_id: Some(user.id.as_str().into()),
        }),
        Realm::Slack => {
            let (email, name) = match &user.email {
                Some(email) => (email.clone(), user.name.clone()),
                None => {
                    let found = directory.identify(user).await.map_err(|error| {
                        refusal(format!(
                            "I could not find your e-mail address in Slack, so I cannot find you in Entra ID: {error}. {by_email}"
                        ))
                    })?;
                    let Some(email) = found.email else {
                        return Err(refusal(format!(
                            "Slack did not share your e-mail address (the Slack app needs the users:read.email scope), so I cannot find you in Entra ID. {by_email}"
                        )));
                    };
                    (email, found.name.or_else(|| user.name.clone()))
                }
            };
            match directory.entra_user(&email).await {
                Ok(found) => Ok(Identity {
                    name: found.name.or(name),
                    email: found.email.or(Some(email)),
                    object_id: found.object_id,
                }
                .owner()),
                Err(LookupError::NotConfigured(_)) => Ok(as_typed(&email, name.as_deref())),
                Err(LookupError::NotFound(_)) => Err(refusal(format!(
                    "No Entra ID user has your Slack e-mail address `{email}`. Assign by user principal name instead: `/assign {number} you@yourdomain.com`."
                ))),
                Err(LookupError::Failed(reason)) => Err(refusal(format!(
                    "Your Slack e-mail address is `{email}`, but I could not look it up in Entra ID: {reason}."
                ))),
            }
        }
        Realm::Local => match &user.email {
            Some(email) => named(directory, email, user.name.as_deref()).await,
            None => Err(refusal(format!(
                "You have no Entra ID identity in this chat: your user id here (`{}`) is a test or local id, not an Entra ID user (as in the Agents Playground or the terminal), so I cannot assign to you. {by_email}",
                user.id
            ))),
        },
    }
}

/// The name a comment is signed with: the person's display name from their directory,
/// else the name the channel gave, else their user id. Never fails: a comment is not
/// held back because a directory is down.
pub async fn author(directory: &dyn Directory, user: &User) -> String {
    if user.realm == Realm::Slack {
        match directory.identify(user).await {
            Ok(Identity {
                name: Some(name), ..
            }) => return name,
            Ok(_) => {}
            Err(error) => tracing::info!(%error, "no display name for the comment's author"),
        }
    }
    user.name.clone().unwrap_or_else(|| user.id.clone())
}
