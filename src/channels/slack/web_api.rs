//! Slack Web API client: chat.postMessage (with message metadata), chat.update,
//! conversations.history, response_url follow-ups, the files upload v2 flow, user group
//! members and users (users.info, cached), with per-channel pacing and 429 Retry-After
//! handling.

use crate::render::block_kit::Message;
use crate::upstream::{self, Upstream};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use slack_morphism::prelude::SlackApiUsersInfoResponse;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Longest Retry-After we are willing to wait for in one step.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Messages asked for per conversations.history page (Slack may return fewer).
const HISTORY_PAGE: &str = "100";

/// Which answers a call may be sent again after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resend {
    /// The call is idempotent or harmless to repeat: retry 429 and 5xx.
    Always,
    /// The call posts something and Slack may have done so before answering 5xx: retry only
    /// 429, which Slack answers before doing anything.
    OnlyThrottled,
}

/// Slack message metadata: an app-defined event type and a JSON payload, stored with the
/// message and returned by conversations.history with `include_all_metadata`
/// (https://docs.slack.dev/messaging/message-metadata).
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    /// e.g. `sentinel_bot_report`.
    pub event_type: String,
    /// A flat JSON object.
    pub payload: Value,
}

/// Where a posted message lives: Slack's channel id and the message `ts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedMessage {
    pub channel: String,
    pub ts: String,
}

/// A message from conversations.history, reduced to what finds the bot's own posts.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryMessage {
    pub ts: String,
    /// Present when the message was posted with metadata.
    pub metadata: Option<Metadata>,
    /// Ids of the files the message shares.
    pub file_ids: Vec<String>,
}

/// How long a users.info answer is trusted: names and e-mails change rarely, but they do.
const USER_TTL: Duration = Duration::from_secs(60 * 60);

/// Most users kept in the users.info cache.
const USER_CAPACITY: u64 = 10_000;

/// A Slack user as users.info describes them; only what the bot reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackUser {
    pub id: String,
    /// The full name (`real_name`), else the display name, else the handle.
    pub name: Option<String>,
    /// `profile.email`: present only when the app has the `users:read.email` scope.
    pub email: Option<String>,
}

/// Why a Web API call failed.
#[derive(Debug, thiserror::Error)]
pub enum WebApiError {
    /// Slack answered `{"ok": false, "error": code}`.
    #[error("Slack refused {method}: {code}")]
    Slack { method: String, code: String },
    /// Still rate limited (429) or failing (5xx) after the allowed retries.
    #[error("Slack {method} still failed after {attempts} attempts (HTTP {status})")]
    Exhausted {
        method: String,
        attempts: u32,
        status: u16,
    },
    /// Any other HTTP status.
    #[error("Slack {method} answered HTTP {status}")]
    Status { method: String, status: u16 },
    /// The connection failed, timed out, or the answer was not the expected JSON.
    #[error("calling Slack {method}: {source}")]
    Transport {
        method: String,
        #[source]
        source: reqwest::Error,
    },
    /// The answer lacked a field we need.
    #[error("Slack {method} answered without {field}")]
    Malformed { method: String, field: &'static str },
}

/// A Slack Web API client bound to one bot token.
pub struct WebApi {
    http: reqwest::Client,
    base_url: String,
    token: SecretString,
    /// Smallest gap between two posts to the same channel.
    channel_gap: Duration,
    max_attempts: u32,
    last_post: Mutex<HashMap<String, Instant>>,
    /// users.info answers by user id, for [`USER_TTL`].
    users: moka::future::Cache<String, SlackUser>,
}

impl std::fmt::Debug for WebApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebApi")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl WebApi {
    /// A client for `base_url` (e.g. `https://slack.com/api`) with ~1 post per second per channel.
    pub fn new(base_url: &str, token: SecretString) -> WebApi {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .unwrap_or_default();
        WebApi {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            token,
            channel_gap: Duration::from_secs(1),
            max_attempts: 4,
            last_post: Mutex::new(HashMap::new()),
            users: user_cache(USER_TTL),
        }
    }

    /// Changes how long users.info answers are kept (tests use a short time).
    pub fn with_user_ttl(mut self, ttl: Duration) -> WebApi {
        self.users = user_cache(ttl);
        self
    }

    /// Changes the per-channel pacing (tests use a shorter gap).
    pub fn with_channel_gap(mut self, gap: Duration) -> WebApi {
        self.channel_gap = gap;
        self
    }

    /// Changes the attempts per call, the first included (tests use fewer, to wait less).
    pub fn with_max_attempts(mut self, attempts: u32) -> WebApi {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Posts one message to a channel, in a thread when `thread_ts` is given; returns its `ts`.
    pub async fn post_message(
        &self,
        channel: &str,
        message: &Message,
        thread_ts: Option<&str>,
    ) -> Result<String, WebApiError> {
        self.pace(channel).await;
        let mut body = json!({
            "channel": channel,
            "text": message.text,
            "blocks": message.blocks,
            "unfurl_links": false,
            "unfurl_media": false,
        });
        if let Some(thread_ts) = thread_ts {
            body["thread_ts"] = json!(thread_ts);
        }
        let answer = self
            .call_json("chat.postMessage", &body, Resend::Always)
            .await?;
        text_field(&answer, "chat.postMessage", "ts")
    }

    /// Posts one message carrying `metadata`, sent at most once: a 5xx or a timeout may
    /// hide a delivery, so it is returned as an error for the caller to look in the history
    /// ([`WebApi::history`]) before posting again. Only 429 is retried.
    pub async fn post_message_once(
        &self,
        channel: &str,
        message: &Message,
        metadata: &Metadata,
    ) -> Result<PostedMessage, WebApiError> {
        self.pace(channel).await;
        let method = "chat.postMessage";
        let body = json!({
            "channel": channel,
            "text": message.text,
            "blocks": message.blocks,
            "metadata": metadata_json(metadata),
            "unfurl_links": false,
            "unfurl_media": false,
        });
        let answer = self.call_json(method, &body, Resend::OnlyThrottled).await?;
        Ok(PostedMessage {
            channel: text_field(&answer, method, "channel")?,
            ts: text_field(&answer, method, "ts")?,
        })
    }

    /// Replaces a message's text, blocks and metadata (chat.update); repeating it is harmless.
    pub async fn update_message(
        &self,
        posted: &PostedMessage,
        message: &Message,
        metadata: &Metadata,
    ) -> Result<(), WebApiError> {
        let body = json!({
            "channel": posted.channel,
            "ts": posted.ts,
            "text": message.text,
            "blocks": message.blocks,
            "metadata": metadata_json(metadata),
        });
        self.call_json("chat.update", &body, Resend::Always)
            .await
            .map(|_| ())
    }

    /// The channel's messages since `oldest` (epoch seconds), newest first, with their
    /// metadata (conversations.history with `include_all_metadata`), at most `max_pages`
    /// pages. Needs `channels:history` (public) or `groups:history` (private channels), and
    /// the bot in the channel.
    pub async fn history(
        &self,
        channel: &str,
        oldest: i64,
        max_pages: usize,
    ) -> Result<Vec<HistoryMessage>, WebApiError> {
        let method = "conversations.history";
        let url = format!("{}/{method}", self.base_url);
        let oldest = format!("{oldest}.000000");
        let mut messages = Vec::new();
        let mut cursor = String::new();
        for _ in 0..max_pages.max(1) {
            let mut query = vec![
                ("channel", channel),
                ("oldest", oldest.as_str()),
                ("limit", HISTORY_PAGE),
                ("include_all_metadata", "true"),
            ];
            if !cursor.is_empty() {
                query.push(("cursor", cursor.as_str()));
            }
            let response = self
                .send_with_retries(method, Resend::Always, || {
                    self.http
                        .get(&url)
                        .bearer_auth(self.token.expose_secret())
                        .query(&query)
                })
                .await?;
            let answer = read_answer(method, response).await?;
            let page =
                answer
                    .get("messages")
                    .and_then(Value::as_array)
                    .ok_or(WebApiError::Malformed {
                        method: method.to_string(),
                        field: "messages",
                    })?;
            messages.extend(page.iter().filter_map(history_message));
            cursor = answer
                .pointer("/response_metadata/next_cursor")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if cursor.is_empty() {
                break;
            }
        }
        Ok(messages)
    }

    /// Shows `text` to one user in a channel, visible only to them (chat.postEphemeral).
    pub async fn post_ephemeral(
        &self,
        channel: &str,
        user: &str,
        text: &str,
    ) -> Result<(), WebApiError> {
        let body = json!({"channel": channel, "user": user, "text": text});
        self.call_json("chat.postEphemeral", &body, Resend::Always)
            .await
            .map(|_| ())
    }

    /// Posts the weekly report (or an alert): each message, then the chart as a PNG file.
    /// Returns the `ts` of each posted message.
    pub async fn post_report(
        &self,
        channel: &str,
        messages: &[Message],
        chart_png: Option<Vec<u8>>,
    ) -> Result<Vec<String>, WebApiError> {
        let mut posted = Vec::with_capacity(messages.len());
        for message in messages {
            posted.push(self.post_message(channel, message, None).await?);
        }
        if let Some(png) = chart_png {
            self.upload_file(channel, "incidents.png", "Incidents chart", png, None)
                .await?;
        }
        Ok(posted)
    }

    /// Uploads a file with files upload v2: get an upload URL, send the bytes, complete
    /// the upload into `channel`. Returns the file id.
    pub async fn upload_file(
        &self,
        channel: &str,
        filename: &str,
        title: &str,
        bytes: Vec<u8>,
        thread_ts: Option<&str>,
    ) -> Result<String, WebApiError> {
        let file_id = self.upload_unshared(filename, bytes).await?;
        self.complete_upload(channel, &file_id, title, thread_ts, Resend::Always)
            .await?;
        Ok(file_id)
    }

    /// The first two steps of files upload v2: an upload URL, then the bytes. The file is
    /// in Slack but in no channel yet. Returns its id.
    pub async fn upload_unshared(
        &self,
        filename: &str,
        bytes: Vec<u8>,
    ) -> Result<String, WebApiError> {
        let method = "files.getUploadURLExternal";
        let length = bytes.len().to_string();
        let ticket = self
            .call_form(
                method,
                &[("filename", filename), ("length", &length)],
                Resend::Always,
            )
            .await?;
        let upload_url = text_field(&ticket, method, "upload_url")?;
        let file_id = text_field(&ticket, method, "file_id")?;

        let upload = "upload_url";
        let response = upstream::send(Upstream::Slack, self.http.post(&upload_url).body(bytes))
            .await
            .map_err(|source| transport(upload, source))?;
        if !response.status().is_success() {
            return Err(WebApiError::Status {
                method: upload.to_string(),
                status: response.status().as_u16(),
            });
        }

        Ok(file_id)
    }

    /// Shares an uploaded file into `channel` (files.completeUploadExternal), sent at most
    /// once like [`WebApi::post_message_once`]. Slack shares asynchronously: the file's
    /// message shows in the history a few seconds later.
    pub async fn share_file_once(
        &self,
        channel: &str,
        file_id: &str,
        title: &str,
    ) -> Result<(), WebApiError> {
        self.complete_upload(channel, file_id, title, None, Resend::OnlyThrottled)
            .await
    }

    async fn complete_upload(
        &self,
        channel: &str,
        file_id: &str,
        title: &str,
        thread_ts: Option<&str>,
        resend: Resend,
    ) -> Result<(), WebApiError> {
        let files = json!([{"id": file_id, "title": title}]).to_string();
        let mut form = vec![("files", files.as_str()), ("channel_id", channel)];
        if let Some(thread_ts) = thread_ts {
            form.push(("thread_ts", thread_ts));
        }
        self.call_form("files.completeUploadExternal", &form, resend)
            .await
            .map(|_| ())
    }

    /// The user ids in the user group `usergroup` (`S...`), by usergroups.users.list; needs the
    /// `usergroups:read` scope.
    pub async fn usergroup_members(&self, usergroup: &str) -> Result<Vec<String>, WebApiError> {
        let method = "usergroups.users.list";
        let url = format!("{}/{method}", self.base_url);
        let response = self
            .send_with_retries(method, Resend::Always, || {
                self.http
                    .get(&url)
                    .bearer_auth(self.token.expose_secret())
                    .query(&[("usergroup", usergroup)])
            })
            .await?;
        let answer = read_answer(method, response).await?;
        let users =
            answer
                .get("users")
                .and_then(Value::as_array)
                .ok_or(WebApiError::Malformed {
                    method: method.to_string(),
                    field: "users",
                })?;
        Ok(users
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect())
    }

    /// The user with id `user` (`U...` or `W...`) by users.info, which needs the `users:read`
    /// scope (and `users:read.email` for the e-mail). Answers are cached for an hour; failures
    /// are not, so a fixed scope works at the next request.
    pub async fn user(&self, user: &str) -> Result<SlackUser, WebApiError> {
        if let Some(known) = self.users.get(user).await {
            return Ok(known);
        }
        let method = "users.info";
        let url = format!("{}/{method}", self.base_url);
        let response = self
            .send_with_retries(method, Resend::Always, || {
                self.http
                    .get(&url)
                    .bearer_auth(self.token.expose_secret())
                    .query(&[("user", user)])
            })
            .await?;
        let answer = read_answer(method, response).await?;
        let info: SlackApiUsersInfoResponse =
            serde_json::from_value(answer).map_err(|_| WebApiError::Malformed {
                method: method.to_string(),
                field: "user",
            })?;
        let found = slack_user(info.user);
        self.users.insert(user.to_string(), found.clone()).await;
        Ok(found)
    }

    /// POSTs a JSON body to a `response_url` (slash commands, interactions).
    pub async fn respond(&self, response_url: &str, body: &Value) -> Result<(), WebApiError> {
        let body = serde_json::to_vec(body).unwrap_or_default();
        self.respond_json(response_url, axum::body::Bytes::from(body))
            .await
    }

    /// [`WebApi::respond`] with a body already serialized as JSON, so one answer laid out
    /// once can be posted as the same bytes to many `response_url`s.
    pub async fn respond_json(
        &self,
        response_url: &str,
        body: axum::body::Bytes,
    ) -> Result<(), WebApiError> {
        let method = "response_url";
        let response = self
            .send_with_retries(method, Resend::Always, || {
                self.http
                    .post(response_url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone())
            })
            .await?;
        // response_url answers `ok` as text or `{"ok":true}`; errors come as JSON.
        let text = response
            .text()
            .await
            .map_err(|source| transport(method, source))?;
        if let Ok(answer) = serde_json::from_str::<Value>(&text)
            && answer.get("ok") == Some(&Value::Bool(false))
        {
            return Err(slack_error(method, &answer));
        }
        Ok(())
    }

    async fn call_json(
        &self,
        method: &str,
        body: &Value,
        resend: Resend,
    ) -> Result<Value, WebApiError> {
        let url = format!("{}/{method}", self.base_url);
        let response = self
            .send_with_retries(method, resend, || {
                self.http
                    .post(&url)
                    .bearer_auth(self.token.expose_secret())
                    .json(body)
            })
            .await?;
        read_answer(method, response).await
    }

    async fn call_form(
        &self,
        method: &str,
        form: &[(&str, &str)],
        resend: Resend,
    ) -> Result<Value, WebApiError> {
        let url = format!("{}/{method}", self.base_url);
        let response = self
            .send_with_retries(method, resend, || {
                self.http
                    .post(&url)
                    .bearer_auth(self.token.expose_secret())
                    .form(form)
            })
            .await?;
        read_answer(method, response).await
    }

    /// Sends, waiting out 429 Retry-After and (when `resend` allows) backing off on 5xx, a
    /// bounded number of times.
    async fn send_with_retries(
        &self,
        method: &str,
        resend: Resend,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, WebApiError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let response = upstream::send(Upstream::Slack, build())
                .await
                .map_err(|source| transport(method, source))?;
            let status = response.status();
            let wait = if status.as_u16() == 429 {
                retry_after(&response).unwrap_or(Duration::from_secs(1))
            } else if status.is_server_error() && resend == Resend::Always {
                Duration::from_millis(200 * u64::from(attempt))
            } else if status.is_success() {
                return Ok(response);
            } else {
                return Err(WebApiError::Status {
                    method: method.to_string(),
                    status: status.as_u16(),
                });
            };
            if attempt >= self.max_attempts {
                return Err(WebApiError::Exhausted {
                    method: method.to_string(),
                    attempts: attempt,
                    status: status.as_u16(),
                });
            }
            tracing::info!(
                method,
                status = status.as_u16(),
                ?wait,
                "Slack asked us to wait"
            );
            tokio::time::sleep(wait.min(MAX_RETRY_AFTER)).await;
        }
    }

    /// Keeps posts to one channel about `channel_gap` apart (chat.postMessage's ~1/s/channel).
    async fn pace(&self, channel: &str) {
        let wait_until = {
            let mut last_post = self.last_post.lock().await;
            let now = Instant::now();
            let slot = match last_post.get(channel) {
                Some(previous) if *previous + self.channel_gap > now => {
                    *previous + self.channel_gap
                }
                _ => now,
            };
            last_post.insert(channel.to_string(), slot);
            slot
        };
        tokio::time::sleep_until(wait_until).await;
    }
}

fn user_cache(ttl: Duration) -> moka::future::Cache<String, SlackUser> {
    moka::future::Cache::builder()
        .max_capacity(USER_CAPACITY)
        .time_to_live(ttl)
        .build()
}

/// Our view of slack-morphism's users.info user.
fn slack_user(user: slack_morphism::prelude::SlackUser) -> SlackUser {
    let profile = user.profile.as_ref();
    let non_empty = |text: Option<&String>| text.filter(|it| !it.trim().is_empty()).cloned();
    let name = non_empty(user.real_name.as_ref())
        .or_else(|| non_empty(profile.and_then(|it| it.real_name.as_ref())))
        .or_else(|| non_empty(profile.and_then(|it| it.display_name.as_ref())))
        .or_else(|| non_empty(user.name.as_ref()));
    SlackUser {
        id: user.id.to_string(),
        name,
        email: profile
            .and_then(|it| it.email.as_ref())
            .map(|email| email.to_string())
            .filter(|email| !email.is_empty()),
    }
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let seconds: u64 = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

async fn read_answer(method: &str, response: reqwest::Response) -> Result<Value, WebApiError> {
    let answer: Value = response
        .json()
        .await
        .map_err(|source| transport(method, source))?;
    if answer.get("ok") == Some(&Value::Bool(true)) {
        Ok(answer)
    } else {
        Err(slack_error(method, &answer))
    }
}

fn metadata_json(metadata: &Metadata) -> Value {
    json!({"event_type": metadata.event_type, "event_payload": metadata.payload})
}

fn history_message(message: &Value) -> Option<HistoryMessage> {
    let metadata = message.get("metadata").and_then(|metadata| {
        Some(Metadata {
            event_type: metadata.get("event_type")?.as_str()?.to_string(),
            payload: metadata
                .get("event_payload")
                .cloned()
                .unwrap_or(Value::Null),
        })
    });
    let file_ids = message
        .get("files")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|file| file.get("id").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    Some(HistoryMessage {
        ts: message.get("ts")?.as_str()?.to_string(),
        metadata,
        file_ids,
    })
}

fn slack_error(method: &str, answer: &Value) -> WebApiError {
    WebApiError::Slack {
        method: method.to_string(),
        code: answer
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("unknown_error")
            .to_string(),
    }
}

fn text_field(answer: &Value, method: &str, field: &'static str) -> Result<String, WebApiError> {
    answer
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or(WebApiError::Malformed {
            method: method.to_string(),
            field,
        })
}

fn transport(method: &str, source: reqwest::Error) -> WebApiError {
    // response_url and upload URLs are bearer capabilities: keep them out of logs.
    WebApiError::Transport {
        method: method.to_string(),
        source: source.without_url(),
    }
}
