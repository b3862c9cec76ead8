//! Outbound Bot Framework connector: bot token, replies, typing, proactive channel posts,
//! and updates of posted activities.

use super::activity::{ADAPTIVE_CARD, Activity, Attachment};
use crate::config::TeamsChannel;
use crate::render::adaptive_card::{self, Options};
use crate::reply::Reply;
use crate::upstream::{self, Upstream};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Scope of the bot's own token (protocols.md item 14).
const SCOPE: &str = "https://api.botframework.com/.default";
/// Sends per second per thread Teams allows (protocols.md item 19).
const SENDS_PER_SECOND: usize = 7;
/// Attempts per send, including the first, for retryable statuses.
const MAX_ATTEMPTS: u32 = 4;

/// Which answers a call may be sent again after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Resend {
    /// Repeating the call is harmless (an update, a read): retry 412, 429, 502, 503, 504.
    Always,
    /// The call posts something, and a gateway error or timeout may hide a delivery:
    /// retry only 429, which Teams answers without posting.
    OnlyThrottled,
}

/// A thread the bot started in a channel: the new conversation (`<channel id>;messageid=<id>`)
/// and the id of its first activity, which [`Connector::update_activity`] replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelThread {
    pub conversation_id: String,
    pub activity_id: String,
}

/// Why an outbound call failed.
#[derive(Debug, thiserror::Error)]
pub enum TeamsError {
    /// The HTTP call itself failed.
    #[error("connector request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// Entra refused to issue the bot token.
    #[error("token request failed with status {0}")]
    Token(u16),
    /// The connector answered with a non-success status after any retries.
    #[error("connector answered {status}: {body}")]
    Status { status: u16, body: String },
}

/// A conversation member as the roster describes them (Teams' `TeamsChannelAccount`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// The Bot Framework id, `29:...`.
    pub id: String,
    pub name: Option<String>,
    /// The Entra ID object id.
    pub aad_object_id: Option<String>,
    pub email: Option<String>,
    pub user_principal_name: Option<String>,
}

/// The id of a posted message or created conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedId(pub String);

/// Credentials for the bot token; `None` password means unauthenticated (Playground).
#[derive(Clone)]
pub struct Credentials {
    pub app_id: String,
    pub app_password: Option<SecretString>,
    /// Single-tenant bots use their tenant; multi-tenant uses `botframework.com`.
    pub tenant_id: Option<String>,
    /// Base URL of the Entra login endpoint.
    pub login_url: String,
    /// Base URL of Microsoft Graph (reading channel messages back).
    pub graph_url: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("app_id", &self.app_id)
            .field("tenant_id", &self.tenant_id)
            .finish_non_exhaustive()
    }
}

struct CachedToken {
    token: SecretString,
    refresh_at: Instant,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: SecretString,
    expires_in: u64,
}

/// Sends activities to Teams; Clone shares the token caches and rate limiter.
#[derive(Clone)]
pub struct Connector {
    pub(super) http: reqwest::Client,
    pub(super) credentials: Arc<Credentials>,
    token: Arc<Mutex<Option<CachedToken>>>,
    /// Graph tokens by tenant, for reading channel messages back.
    graph_tokens: Arc<Mutex<HashMap<String, CachedToken>>>,
    /// Client-side per-thread send limit.
    limiter: Arc<ThreadLimiter>,
}

impl Connector {
    /// A connector with empty caches.
    pub fn new(http: reqwest::Client, credentials: Credentials) -> Connector {
        Connector {
            http,
            credentials: Arc::new(credentials),
            token: Arc::new(Mutex::new(None)),
            graph_tokens: Arc::new(Mutex::new(HashMap::new())),
            limiter: Arc::new(ThreadLimiter::new(SENDS_PER_SECOND, Duration::from_secs(1))),
        }
    }

    /// The bot's Microsoft App ID.
    pub fn app_id(&self) -> &str {
        &self.credentials.app_id
    }

    /// The bot token, cached and refreshed 5 minutes before expiry; `None` without a password.
    pub async fn bot_token(&self) -> Result<Option<SecretString>, TeamsError> {
        let Some(password) = &self.credentials.app_password else {
            return Ok(None);
        };
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref()
            && Instant::now() < token.refresh_at
        {
            return Ok(Some(token.token.clone()));
        }
        let tenant = self
            .credentials
            .tenant_id
            .as_deref()
            .filter(|t| !t.is_empty())
            .unwrap_or("botframework.com");
        let fresh = self.fetch_token(password, tenant, SCOPE).await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(Some(token))
    }

    /// An app-only Microsoft Graph token of the bot's own app registration in `tenant`,
    /// cached like the bot token; `None` without a password. What it may read comes from
    /// the resource-specific consent the team granted at install.
    pub(super) async fn graph_token(
        &self,
        tenant: &str,
    ) -> Result<Option<SecretString>, TeamsError> {
        let Some(password) = &self.credentials.app_password else {
            return Ok(None);
        };
        let mut cached = self.graph_tokens.lock().await;
        if let Some(token) = cached.get(tenant)
            && Instant::now() < token.refresh_at
        {
            return Ok(Some(token.token.clone()));
        }
        let scope = format!(
            "{}/.default",
            self.credentials.graph_url.trim_end_matches('/')
        );
        let fresh = self.fetch_token(password, tenant, &scope).await?;
        let token = fresh.token.clone();
        cached.insert(tenant.to_string(), fresh);
        Ok(Some(token))
    }

    /// Client-credentials token for `scope` from `tenant`, refreshed 5 minutes before expiry.
    async fn fetch_token(
        &self,
        password: &SecretString,
        tenant: &str,
        scope: &str,
    ) -> Result<CachedToken, TeamsError> {
        let url = format!(
            "{}/{}/oauth2/v2.0/token",
            self.credentials.login_url.trim_end_matches('/'),
            urlencoding::encode(tenant)
        );
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.credentials.app_id.as_str()),
            ("client_secret", password.expose_secret()),
            ("scope", scope),
        ];
        let response =
            upstream::send(Upstream::EntraToken, self.http.post(url).form(&form)).await?;
        if !response.status().is_success() {
            return Err(TeamsError::Token(response.status().as_u16()));
        }
        let body: TokenResponse = response.json().await?;
        let lifetime = Duration::from_secs(body.expires_in.saturating_sub(300));
        Ok(CachedToken {
            token: body.access_token,
            refresh_at: Instant::now() + lifetime,
        })
    }

    /// Replies to `to` in its thread with the reply rendered as an Adaptive Card.
    pub async fn reply(&self, to: &Activity, reply: &Reply) -> Result<PostedId, TeamsError> {
        let mut activity = card_activity(reply);
        activity.reply_to_id = to.id.clone();
        activity.conversation = to.conversation.clone();
        activity.from = to.recipient.clone();
        activity.recipient = to.from.clone();
        self.send_in_thread(to, &activity).await
    }

    /// Shows the typing indicator in `to`'s conversation.
    pub async fn typing(&self, to: &Activity) -> Result<PostedId, TeamsError> {
        let activity = Activity {
            kind: "typing".to_string(),
            from: to.recipient.clone(),
            conversation: to.conversation.clone(),
            ..Activity::default()
        };
        self.send_in_thread(to, &activity).await
    }

    async fn send_in_thread(
        &self,
        to: &Activity,
        activity: &Activity,
    ) -> Result<PostedId, TeamsError> {
        let service_url = to.service_url.as_deref().unwrap_or_default();
        let conversation = to
            .conversation
            .as_ref()
            .map(|c| c.id.as_str())
            .unwrap_or_default();
        let mut url = format!(
            "{}/v3/conversations/{}/activities",
            service_url.trim_end_matches('/'),
            urlencoding::encode(conversation)
        );
        if let Some(id) = &to.id {
            url.push('/');
            url.push_str(&urlencoding::encode(id));
        }
        let body = serde_json::to_value(activity).unwrap_or(Value::Null);
        let answer = self
            .send(conversation, Resend::Always, || {
                self.http.post(&url).json(&body)
            })
            .await?;
        Ok(posted_id(&answer))
    }

    /// Starts a new thread in a channel with the reply (alerts).
    pub async fn post_to_channel(
        &self,
        channel: &TeamsChannel,
        reply: &Reply,
    ) -> Result<PostedId, TeamsError> {
        let answer = self
            .create_thread(channel, &card_activity(reply), Resend::Always)
            .await?;
        Ok(posted_id(&answer))
    }

    /// Starts a new thread in a channel with `activity`, sent at most once: a gateway error
    /// or a timeout may hide a delivery, so it is returned as an error (only 429 is retried)
    /// for the caller to look for the message before sending again.
    pub async fn start_thread_once(
        &self,
        channel: &TeamsChannel,
        activity: &Activity,
    ) -> Result<ChannelThread, TeamsError> {
        let answer = self
            .create_thread(channel, activity, Resend::OnlyThrottled)
            .await?;
        let conversation_id = answer
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        // Teams names a channel thread `<channel id>;messageid=<root activity id>`.
        let activity_id = answer
            .get("activityId")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| {
                conversation_id
                    .split_once(";messageid=")
                    .map(|(_, id)| id.to_string())
            })
            .filter(|id| !id.is_empty())
            .ok_or_else(|| TeamsError::Status {
                status: 200,
                body: "the connector answered without an activity id".to_string(),
            })?;
        Ok(ChannelThread {
            conversation_id,
            activity_id,
        })
    }

    /// Replaces a posted activity (Bot Framework `UpdateActivity`:
    /// `PUT v3/conversations/{id}/activities/{activityId}`); repeating it is harmless.
    pub async fn update_activity(
        &self,
        service_url: &str,
        thread: &ChannelThread,
        activity: &Activity,
    ) -> Result<(), TeamsError> {
        let url = format!(
            "{}/v3/conversations/{}/activities/{}",
            service_url.trim_end_matches('/'),
            urlencoding::encode(&thread.conversation_id),
            urlencoding::encode(&thread.activity_id)
        );
        let mut activity = activity.clone();
        activity.id = Some(thread.activity_id.clone());
        let body = serde_json::to_value(&activity).unwrap_or(Value::Null);
        self.send(&thread.conversation_id, Resend::Always, || {
            self.http.put(&url).json(&body)
        })
        .await
        .map(|_| ())
    }

    async fn create_thread(
        &self,
        channel: &TeamsChannel,
        activity: &Activity,
        resend: Resend,
    ) -> Result<Value, TeamsError> {
        let url = format!(
            "{}/v3/conversations",
            channel.service_url.trim_end_matches('/')
        );
        let body = json!({
            "isGroup": true,
            "channelData": {
                "channel": {"id": channel.channel_id},
                "tenant": {"id": channel.tenant_id},
            },
            "tenantId": channel.tenant_id,
            "activity": activity,
        });
        self.send(&channel.channel_id, resend, || {
            self.http.post(&url).json(&body)
        })
        .await
    }

    /// One member of `to`'s conversation, by their Bot Framework id (`29:...`), from the roster:
    /// `GET v3/conversations/{id}/members/{member}` on the team when the activity comes from a
    /// team's channel, else on the conversation (protocols.md item 15). Not retried: it only
    /// enriches a mention, and a failure is reported as what is missing.
    pub async fn member(&self, to: &Activity, member_id: &str) -> Result<Member, TeamsError> {
        let service_url = to.service_url.as_deref().unwrap_or_default();
        let roster = to
            .channel_data
            .as_ref()
            .and_then(|data| data.pointer("/team/id"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| {
                to.conversation.as_ref().map(|conversation| {
                    // A channel thread's id carries `;messageid=...`; the roster is the channel's.
                    let id = conversation.id.as_str();
                    id.split(";messageid=").next().unwrap_or(id).to_string()
                })
            })
            .unwrap_or_default();
        let url = format!(
            "{}/v3/conversations/{}/members/{}",
            service_url.trim_end_matches('/'),
            urlencoding::encode(&roster),
            urlencoding::encode(member_id)
        );
        let mut request = self.http.get(url);
        if let Some(token) = self.bot_token().await? {
            request = request.bearer_auth(token.expose_secret());
        }
        let response = upstream::send(Upstream::BotConnector, request).await?;
        let status = response.status().as_u16();
        if !response.status().is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(TeamsError::Status { status, body });
        }
        Ok(response.json().await?)
    }

    /// Sends with the per-thread limit and bounded retries (which statuses: `resend`);
    /// returns the answer's JSON body (`Null` if it has none).
    async fn send(
        &self,
        thread: &str,
        resend: Resend,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Value, TeamsError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.limiter.acquire(thread).await;
            let mut request = build();
            if let Some(token) = self.bot_token().await? {
                request = request.bearer_auth(token.expose_secret());
            }
            let response = upstream::send(Upstream::BotConnector, request).await?;
            let status = response.status().as_u16();
            if response.status().is_success() {
                return Ok(response.json().await.unwrap_or(Value::Null));
            }
            let retryable = match resend {
                Resend::Always => matches!(status, 412 | 429 | 502 | 503 | 504),
                Resend::OnlyThrottled => status == 429,
            };
            if !retryable || attempt >= MAX_ATTEMPTS {
                let body = response.text().await.unwrap_or_default();
                return Err(TeamsError::Status { status, body });
            }
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            tokio::time::sleep(retry_after.unwrap_or_else(|| backoff(attempt))).await;
        }
    }
}

/// The id a send answered with: the new conversation's, or the activity's.
fn posted_id(answer: &Value) -> PostedId {
    let id = answer
        .get("id")
        .or_else(|| answer.get("activityId"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    PostedId(id.to_string())
}

/// A sliding-window limit per thread: at most `limit` sends in any `window`.
pub struct ThreadLimiter {
    limit: usize,
    window: Duration,
    sends: Mutex<HashMap<String, Vec<Instant>>>,
}

impl ThreadLimiter {
    /// A limiter allowing `limit` sends per `window` in each thread.
    pub fn new(limit: usize, window: Duration) -> ThreadLimiter {
        ThreadLimiter {
            limit,
            window,
            sends: Mutex::new(HashMap::new()),
        }
    }

    /// Waits until `thread` may send again, then records the send.
    pub async fn acquire(&self, thread: &str) {
        loop {
            let wait = {
                let mut sends = self.sends.lock().await;
                let times = sends.entry(thread.to_string()).or_default();
                let now = Instant::now();
                times.retain(|t| now.duration_since(*t) < self.window);
                if times.len() < self.limit.max(1) {
                    times.push(now);
                    return;
                }
                self.window
                    .saturating_sub(now.duration_since(times[0]))
                    .max(Duration::from_millis(1))
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// Exponential backoff with a little jitter: ~0.5 s, 1 s, 2 s, capped at 8 s.
fn backoff(attempt: u32) -> Duration {
    let base = 250u64 << attempt.min(5);
    let jitter = u64::from(rand::random::<u8>()) % 100;
    Duration::from_millis((base + jitter).min(8000))
}

/// A message activity holding only the card (no text: Teams would split it, item 18), with
/// the reply's summary line for notifications and the chat list.
pub fn card_activity(reply: &Reply) -> Activity {
    Activity {
        kind: "message".to_string(),
        summary: Some(crate::render::escape::truncate(&reply.summary_text(), 500)),
        attachments: vec![Attachment {
            content_type: ADAPTIVE_CARD.to_string(),
            content: adaptive_card::render(reply, &Options::teams()),
        }],
        ..Activity::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn limiter_spaces_sends_per_thread_only() {
        let limiter = ThreadLimiter::new(3, Duration::from_millis(200));
        let start = Instant::now();
        for _ in 0..3 {
            limiter.acquire("a").await;
        }
        limiter.acquire("b").await;
        assert!(
            start.elapsed() < Duration::from_millis(200),
            "within the limit"
        );
        limiter.acquire("a").await;
        assert!(
            start.elapsed() >= Duration::from_millis(200),
            "fourth send waited"
        );
    }

    #[test]
    fn backoff_grows_and_is_bounded() {
        assert!(backoff(1) < backoff(3));
        assert!(backoff(30) <= Duration::from_secs(8));
    }
}
