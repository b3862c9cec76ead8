//! The `POST /api/messages` route: authenticate, acknowledge fast, answer in a task.

use super::TeamsState;
use super::activity::{ADAPTIVE_CARD, Account, Activity};
use crate::bot::people::{Identity, Mention};
use crate::bot::{Realm, Request, User};
use crate::render::adaptive_card::{self, Options};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::time::Duration;

/// Invoke answers are synchronous; stay well inside Teams' 15 s (protocols.md item 21).
const INVOKE_DEADLINE: Duration = Duration::from_secs(10);

/// Handles one Bot Framework activity.
pub async fn messages(
    State(state): State<TeamsState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    // Without credentials the body is not even parsed: 401 before any work.
    if !state.inner.playground && authorization.is_none() {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Ok(activity) = serde_json::from_slice::<Activity>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    if !state.inner.playground {
        let channel = activity.channel_id.as_deref().unwrap_or_default();
        let service_url = activity.service_url.as_deref().unwrap_or_default();
        if let Err(error) = state
            .inner
            .validator
            .validate(authorization, channel, service_url)
            .await
        {
            tracing::warn!(%error, "rejected Bot Framework request");
            return StatusCode::UNAUTHORIZED.into_response();
        }
    }
    // Tenant allow-list: other tenants get 403 and no work is done.
    let allowed = &state.inner.allowed_tenants;
    if !allowed.is_empty()
        && !activity
            .tenant_id()
            .is_some_and(|t| allowed.iter().any(|a| a == t))
    {
        return StatusCode::FORBIDDEN.into_response();
    }
    match activity.kind.as_str() {
        "message" => {
            state.tasks().spawn(answer_message(state.clone(), activity));
            StatusCode::OK.into_response()
        }
        "invoke" if activity.name.as_deref() == Some("adaptiveCard/action") => {
            invoke(state, activity).await
        }
        "invoke" => StatusCode::NOT_IMPLEMENTED.into_response(),
        // conversationUpdate and the like need no answer.
        _ => StatusCode::OK.into_response(),
    }
}

fn request_of(activity: &Activity, text: String, mentions: Vec<Mention>) -> Request {
    let from = activity.from.clone().unwrap_or_default();
    // Only an Entra object id can be looked up in Graph; the Bot Framework id (`29:...`)
    // cannot, nor can a test id that merely looks like one (the Agents Playground's user
    // has `00000000-0000-0000-0000-0000000000020`, one digit too many for a GUID).
    let (id, realm) = match from.aad_object_id.filter(|id| is_object_id(id)) {
        Some(object_id) => (object_id, Realm::Entra),
        None => (from.id, Realm::Local),
    };
    Request {
        text,
        user: User {
            id,
            name: from.name,
            email: None,
            realm,
        },
        thread: activity
            .conversation
            .as_ref()
            .map(|conversation| format!("teams:{}", conversation.id)),
        mentions,
    }
}

/// A hyphenated GUID, as Entra object ids are.
fn is_object_id(id: &str) -> bool {
    id.len() == 36 && uuid::Uuid::parse_str(id).is_ok()
}

/// The request a typed message asks for: other people's mentions resolved (their Entra
/// object id from the entity, else the conversation roster) and standing in the text as
/// their UPN or e-mail (else object id, else `@Name`).
async fn typed_request(state: &TeamsState, activity: &Activity) -> Request {
    let mut keys = Vec::new();
    let mut mentions: Vec<Mention> = Vec::new();
    for entity in activity.other_mentions() {
        let mention = resolve(state, activity, &entity.account).await;
        keys.push((entity.text.clone(), mention.key.clone()));
        if !mentions.iter().any(|known| known.key == mention.key) {
            mentions.push(mention);
        }
    }
    request_of(activity, activity.typed_text(&keys), mentions)
}

/// Who a mentioned account is: the entity's own Entra id when it carries one, completed from
/// the roster (`aadObjectId`, `userPrincipalName`, `email`).
async fn resolve(state: &TeamsState, activity: &Activity, account: &Account) -> Mention {
    let name = account.name.clone();
    let own_object_id = account
        .aad_object_id
        .clone()
        .or_else(|| {
            let id = account.id.strip_prefix("8:orgid:").unwrap_or(&account.id);
            Some(id.to_string())
        })
        .filter(|id| is_object_id(id));
    let (identity, missing) = match state.inner.connector.member(activity, &account.id).await {
        Ok(member) => (
            Identity {
                name: member.name.or(name),
                email: member.user_principal_name.or(member.email),
                object_id: member
                    .aad_object_id
                    .filter(|id| is_object_id(id))
                    .or(own_object_id),
            },
            None,
        ),
        Err(error) => {
            tracing::warn!(%error, "roster lookup for a mention failed");
            (
                Identity {
                    name,
                    email: None,
                    object_id: own_object_id,
                },
                Some(format!(
                    "Teams did not give their Entra ID, and the conversation's member list did not answer ({error})"
                )),
            )
        }
    };
    let key = identity
        .email
        .clone()
        .or_else(|| identity.object_id.clone())
        .unwrap_or_else(|| {
            let shown = identity.name.as_deref().unwrap_or(&account.id);
            format!("@{}", shown.split_whitespace().collect::<String>())
        });
    let missing = missing.filter(|_| identity.object_id.is_none() && identity.email.is_none());
    Mention {
        key,
        identity,
        missing,
    }
}

/// Runs a message's command and replies through the connector, with typing if slow.
async fn answer_message(state: TeamsState, activity: Activity) {
    let request = match activity.button_command() {
        Some(command) => request_of(&activity, command, Vec::new()),
        None if activity.text.is_some() => typed_request(&state, &activity).await,
        None => return,
    };
    let bot = state.inner.bot.clone();
    let answer = async move { bot.answer(&request, chrono::Utc::now()).await };
    tokio::pin!(answer);
    let reply = match tokio::time::timeout(state.inner.typing_after, &mut answer).await {
        Ok(reply) => reply,
        Err(_) => {
            if let Err(error) = state.inner.connector.typing(&activity).await {
                tracing::warn!(%error, "typing indicator failed");
            }
            answer.await
        }
    };
    if let Err(error) = state.inner.connector.reply(&activity, &reply).await {
        tracing::warn!(%error, "reply to Teams failed");
    }
}

/// `adaptiveCard/action`: answers with the new card in the invoke response (item 31).
async fn invoke(state: TeamsState, activity: Activity) -> Response {
    let command = activity
        .value
        .as_ref()
        .and_then(|v| v.pointer("/action/data/command"))
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let Some(command) = command else {
        let body = json!({
            "statusCode": 400,
            "type": "application/vnd.microsoft.error",
            "value": {"code": "BadRequest", "message": "Missing value property"},
        });
        return (StatusCode::OK, Json(body)).into_response();
    };
    let request = request_of(&activity, command, Vec::new());
    let answer = state.inner.bot.answer(&request, chrono::Utc::now());
    let Ok(reply) = tokio::time::timeout(INVOKE_DEADLINE, answer).await else {
        let body = json!({
            "statusCode": 500,
            "type": "application/vnd.microsoft.error",
            "value": {"code": "Timeout", "message": "The answer took too long; try again."},
        });
        return (StatusCode::OK, Json(body)).into_response();
    };
    (StatusCode::OK, Json(invoke_response(&reply))).into_response()
}

/// The invoke answer: the card that replaces the one pressed, or, for a notice, a message
/// shown only to the presser while the card stays as it is (protocols.md item 31).
pub fn invoke_response(reply: &crate::reply::Reply) -> serde_json::Value {
    if reply.notice {
        return json!({
            "statusCode": 200,
            "type": "application/vnd.microsoft.activity.message",
            "value": reply.summary_text(),
        });
    }
    json!({
        "statusCode": 200,
        "type": ADAPTIVE_CARD,
        "value": adaptive_card::render(reply, &Options::teams()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::teams::activity::Account;

    fn from(aad_object_id: Option<&str>) -> Activity {
        Activity {
            kind: "message".to_string(),
            from: Some(Account {
                id: "29:1abc".to_string(),
                name: Some("Dana".to_string()),
                aad_object_id: aad_object_id.map(str::to_string),
            }),
            ..Activity::default()
        }
    }

    #[test]
    fn only_an_entra_object_id_makes_an_entra_user() {
        let user = request_of(
            &from(Some("5f1c2a34-1b2c-4d5e-8f90-1234567890ab")),
            "x".into(),
            Vec::new(),
        )
        .user;
        assert_eq!(user.id, "5f1c2a34-1b2c-4d5e-8f90-1234567890ab");
        assert_eq!(user.realm, Realm::Entra);
        let user = request_of(&from(None), "x".into(), Vec::new()).user;
        assert_eq!(user.id, "29:1abc");
        assert_eq!(user.realm, Realm::Local);
        // The Agents Playground's default user: an aadObjectId that is no GUID.
        let playground = request_of(
            &from(Some("00000000-0000-0000-0000-0000000000020")),
            "x".into(),
            Vec::new(),
        )
        .user;
        assert_eq!(playground.id, "29:1abc");
        assert_eq!(playground.realm, Realm::Local);
    }
}
