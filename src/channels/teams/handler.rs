//! The `POST /api/messages` route: authenticate, acknowledge fast, answer in a task.

use super::TeamsState;
use super::activity::{ADAPTIVE_CARD, Account, Activity};
use crate::bot::people::{Identity, Mention};
use crate::bot::{Realm, Request, User};
use crate::channels::workload::BUSY;
use crate::deadline::Budget;
use crate::render::adaptive_card::{self, Options};
use crate::reply::{Block, Reply};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::sync::oneshot;

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
            match state.workload.admit() {
                Ok(admitted) => {
                    let answer = answer_message(state.clone(), activity);
                    state.tasks().spawn(admitted.run(answer));
                }
                Err(_) => {
                    state.tasks().spawn(reply_busy(state.clone(), activity));
                }
            }
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

/// Tells the user the bot is busy; no answer is computed.
async fn reply_busy(state: TeamsState, activity: Activity) {
    let busy = Reply::titled("Busy").with(Block::Text(BUSY.to_string()));
    if let Err(error) = state.inner.connector.reply(&activity, &busy).await {
        tracing::warn!(%error, "could not tell the Teams user the bot is busy");
    }
}

/// `adaptiveCard/action`: answers with the new card in the invoke response (item 31) when
/// the answer is ready within the invoke deadline. A slower answer keeps running: the invoke
/// is answered with a message naming what the bot is waiting for, and the card follows as
/// a reply in the conversation.
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
    let Ok(admitted) = state.workload.admit() else {
        return invoke_message(BUSY);
    };
    let request = request_of(&activity, command, Vec::new());
    let budget = Budget::new(state.inner.bot.settings.deadlines.interactive);
    let (answered, mut answer) = oneshot::channel();
    let late = state.clone();
    let work = budget.scope(async move {
        let reply = late.inner.bot.answer(&request, chrono::Utc::now()).await;
        // The receiver is gone once the invoke was answered "still working".
        if let Err(reply) = answered.send(reply) {
            let mut card_message = activity.clone();
            card_message.id = activity.reply_to_id.clone();
            if let Err(error) = late.inner.connector.reply(&card_message, &reply).await {
                tracing::warn!(%error, "delivering a late card answer to Teams failed");
            }
        }
    });
    state.tasks().spawn(admitted.run(work));
    let reply = match tokio::time::timeout(state.invoke_deadline, &mut answer).await {
        Ok(Ok(reply)) => reply,
        Ok(Err(_)) => return invoke_message(crate::channels::slack::APOLOGY),
        Err(_) => {
            // Closing first means the answer either came in just now or will go as a message.
            answer.close();
            match answer.try_recv() {
                Ok(reply) => reply,
                Err(_) => return invoke_message(&still_working(&budget.waiting_on())),
            }
        }
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

/// The invoke answer that shows a message instead of replacing the card.
fn invoke_message(text: &str) -> Response {
    let body = json!({
        "statusCode": 200,
        "type": "application/vnd.microsoft.activity.message",
        "value": text,
    });
    (StatusCode::OK, Json(body)).into_response()
}

/// "Still working: waiting for Microsoft Graph. ..." naming the slow systems, if any.
fn still_working(waiting: &[&str]) -> String {
    let follow = "The answer will follow in this conversation.";
    if waiting.is_empty() {
        format!("Still working on it. {follow}")
    } else {
        format!(
            "Still working: waiting for {}. {follow}",
            crate::deadline::join_names(waiting)
        )
    }
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
