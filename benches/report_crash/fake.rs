//! One fake on 127.0.0.1 playing Slack's Web API (chat.postMessage, chat.update,
//! conversations.history, the files upload v2 flow), the Bot Framework connector (create
//! conversation, update activity), the Entra token endpoint and Microsoft Graph's channel
//! messages. It records every delivery as the platform would show it, tells which replica
//! sent each request (by its token), and can hold, fail or delay one chosen request.
//!
//! A request is processed in its own task, so a replica killed while waiting for the
//! answer does not stop the platform from delivering what it received, as in reality.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// The requests a fault can be aimed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Step {
    /// chat.postMessage (the placeholder).
    SlackPost,
    /// chat.update (filling it).
    SlackUpdate,
    /// files.getUploadURLExternal.
    SlackUploadUrl,
    /// files.completeUploadExternal (sharing the chart).
    SlackShare,
    /// POST v3/conversations (the Teams placeholder).
    TeamsCreate,
    /// PUT v3/conversations/{id}/activities/{id} (filling it).
    TeamsUpdate,
}

impl Step {
    pub fn label(self) -> &'static str {
        match self {
            Step::SlackPost => "chat.postMessage",
            Step::SlackUpdate => "chat.update",
            Step::SlackUploadUrl => "files.getUploadURLExternal",
            Step::SlackShare => "files.completeUploadExternal",
            Step::TeamsCreate => "create conversation",
            Step::TeamsUpdate => "update activity",
        }
    }
}

/// What happens to the chosen request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// Held before processing until the harness releases it; then delivered or dropped.
    InFlight { deliver: bool },
    /// Processed, then the answer is held until the harness releases it.
    AfterDelivery,
    /// Processed, then answered 500 (Slack) or 502 (Teams).
    ServerError,
    /// Processed, then answered only after `hold`, past the poster's cut-off.
    Timeout,
}

/// What the harness hears about the chosen request.
#[derive(Debug)]
pub enum Event {
    /// The request arrived from `replica`; the fake waits for the release.
    Holding {
        replica: String,
        release: oneshot::Sender<()>,
    },
    /// The request from `replica` was delivered; its answer waits for the release.
    Delivered {
        replica: String,
        release: oneshot::Sender<()>,
    },
}

/// A Slack message as the channel shows it.
#[derive(Debug, Clone)]
pub struct SlackMessage {
    pub ts: String,
    pub text: String,
    pub blocks: usize,
    pub metadata: Value,
    pub file_id: Option<String>,
}

/// A Teams channel thread's root message.
#[derive(Debug, Clone)]
pub struct TeamsMessage {
    pub id: String,
    pub card: Value,
    pub updates: usize,
}

/// Everything the platforms received, reset between trials.
#[derive(Default)]
pub struct World {
    pub slack: HashMap<String, Vec<SlackMessage>>,
    /// Uploaded file ids and whether their bytes arrived.
    pub uploads: HashMap<String, bool>,
    pub teams: HashMap<String, Vec<TeamsMessage>>,
    pub history_reads: usize,
    pub graph_reads: usize,
    next_id: u64,
    fault: Option<(Step, Fault)>,
}

impl World {
    /// Whether the aimed fault has hit its request.
    pub fn fault_fired(&self) -> bool {
        self.fault.is_none()
    }

    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

/// The fake's shared state.
#[derive(Clone)]
pub struct Fake {
    pub url: String,
    pub world: Arc<Mutex<World>>,
    events: mpsc::UnboundedSender<Event>,
    /// Extra delay on every answer, up to this many milliseconds.
    jitter_ms: u64,
    /// How long a `Timeout` answer is held.
    hold: Duration,
    /// Refuse every history read (Slack `not_in_channel`, Graph 403), as for a bot
    /// without the history permissions: the control run.
    refuse_history: bool,
}

impl Fake {
    /// Starts the fake; returns it and the harness's end of its event channel.
    pub async fn start(
        jitter_ms: u64,
        hold: Duration,
        refuse_history: bool,
    ) -> (Fake, mpsc::UnboundedReceiver<Event>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let (events, receiver) = mpsc::unbounded_channel();
        let fake = Fake {
            url,
            world: Arc::new(Mutex::new(World::default())),
            events,
            jitter_ms,
            hold,
            refuse_history,
        };
        let router = Router::new()
            .route("/slack/chat.postMessage", post(slack_post))
            .route("/slack/chat.update", post(slack_update))
            .route("/slack/conversations.history", get(slack_history))
            .route("/slack/files.getUploadURLExternal", post(slack_upload_url))
            .route("/upload/{file_id}", post(slack_upload))
            .route("/slack/files.completeUploadExternal", post(slack_share))
            .route("/login/{tenant}/oauth2/v2.0/token", post(token))
            .route("/svc/v3/conversations", post(teams_create))
            .route(
                "/svc/v3/conversations/{conversation}/activities/{activity}",
                put(teams_update),
            )
            .route(
                "/graph/v1.0/teams/{team}/channels/{channel}/messages",
                get(graph_messages),
            )
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        (fake, receiver)
    }

    /// Forgets every delivery and aims the next trial's fault.
    pub fn reset(&self, fault: Option<(Step, Fault)>) {
        let mut world = self.world.lock().expect("world");
        *world = World {
            fault,
            ..World::default()
        };
    }

    /// Runs `effect` (the platform's processing) with the fault aimed at `step`, if it is
    /// the first request of that step; returns the answer or `error_status`.
    async fn handle(
        &self,
        step: Step,
        replica: String,
        error_status: StatusCode,
        effect: impl FnOnce(&mut World) -> Response + Send + 'static,
    ) -> Response {
        let fake = self.clone();
        let task = tokio::spawn(async move {
            let fault = {
                let mut world = fake.world.lock().expect("world");
                match world.fault {
                    Some((aimed, fault)) if aimed == step => {
                        world.fault = None;
                        Some(fault)
                    }
                    _ => None,
                }
            };
            fake.jitter().await;
            match fault {
                None => fake.apply(effect),
                Some(Fault::InFlight { deliver }) => {
                    let (release, released) = oneshot::channel();
                    let _ = fake.events.send(Event::Holding { replica, release });
                    let _ = released.await;
                    if deliver {
                        fake.apply(effect)
                    } else {
                        // Lost on the way: the platform never saw it.
                        StatusCode::GATEWAY_TIMEOUT.into_response()
                    }
                }
                Some(Fault::AfterDelivery) => {
                    let answer = fake.apply(effect);
                    let (release, released) = oneshot::channel();
                    let _ = fake.events.send(Event::Delivered { replica, release });
                    let _ = released.await;
                    answer
                }
                Some(Fault::ServerError) => {
                    fake.apply(effect);
                    error_status.into_response()
                }
                Some(Fault::Timeout) => {
                    let answer = fake.apply(effect);
                    tokio::time::sleep(fake.hold).await;
                    answer
                }
            }
        });
        task.await
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
    }

    fn apply(&self, effect: impl FnOnce(&mut World) -> Response) -> Response {
        let mut world = self.world.lock().expect("world");
        effect(&mut world)
    }

    async fn jitter(&self) {
        if self.jitter_ms > 0 {
            let millis = rand::random::<u64>() % self.jitter_ms;
            tokio::time::sleep(Duration::from_millis(millis)).await;
        }
    }
}

/// The replica behind a request: Slack bot tokens are `xoxb-<replica>`, Teams and Graph
/// tokens `token-<replica>` (issued for the app password `<replica>`).
fn replica(headers: &HeaderMap) -> String {
    let bearer = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    bearer
        .strip_prefix("xoxb-")
        .or_else(|| bearer.strip_prefix("token-"))
        .unwrap_or(bearer)
        .to_string()
}

fn form(body: &Bytes) -> HashMap<String, String> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| {
            let decode = |text: &str| {
                urlencoding::decode(&text.replace('+', " "))
                    .map(|it| it.into_owned())
                    .unwrap_or_default()
            };
            (decode(key), decode(value))
        })
        .collect()
}

fn ok(body: Value) -> Response {
    axum::Json(body).into_response()
}

async fn slack_post(State(fake): State<Fake>, headers: HeaderMap, body: Bytes) -> Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or_default();
    fake.handle(
        Step::SlackPost,
        replica(&headers),
        StatusCode::INTERNAL_SERVER_ERROR,
        move |world| {
            let channel = request["channel"].as_str().unwrap_or_default().to_string();
            let ts = format!("1764000000.{:06}", world.next_id());
            world
                .slack
                .entry(channel.clone())
                .or_default()
                .push(SlackMessage {
                    ts: ts.clone(),
                    text: request["text"].as_str().unwrap_or_default().to_string(),
                    blocks: request["blocks"].as_array().map_or(0, Vec::len),
                    metadata: request["metadata"].clone(),
                    file_id: None,
                });
            ok(json!({"ok": true, "channel": channel, "ts": ts, "message": {}}))
        },
    )
    .await
}

async fn slack_update(State(fake): State<Fake>, headers: HeaderMap, body: Bytes) -> Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or_default();
    fake.handle(
        Step::SlackUpdate,
        replica(&headers),
        StatusCode::INTERNAL_SERVER_ERROR,
        move |world| {
            let channel = request["channel"].as_str().unwrap_or_default();
            let ts = request["ts"].as_str().unwrap_or_default();
            let message = world
                .slack
                .get_mut(channel)
                .and_then(|messages| messages.iter_mut().find(|message| message.ts == ts));
            let Some(message) = message else {
                return ok(json!({"ok": false, "error": "message_not_found"}));
            };
            message.text = request["text"].as_str().unwrap_or_default().to_string();
            message.blocks = request["blocks"].as_array().map_or(0, Vec::len);
            message.metadata = request["metadata"].clone();
            ok(json!({"ok": true, "channel": channel, "ts": ts}))
        },
    )
    .await
}

async fn slack_history(
    State(fake): State<Fake>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut world = fake.world.lock().expect("world");
    world.history_reads += 1;
    if fake.refuse_history {
        return ok(json!({"ok": false, "error": "not_in_channel"}));
    }
    let channel = query.get("channel").cloned().unwrap_or_default();
    let with_metadata = query.get("include_all_metadata").map(String::as_str) == Some("true");
    let messages: Vec<Value> = world
        .slack
        .get(&channel)
        .into_iter()
        .flatten()
        .rev()
        .map(|message| {
            let mut shown = json!({
                "type": "message", "ts": message.ts, "text": message.text,
                "bot_id": "B0BOT", "app_id": "A0APP",
            });
            if with_metadata && !message.metadata.is_null() {
                shown["metadata"] = message.metadata.clone();
            }
            if let Some(file_id) = &message.file_id {
                shown["files"] = json!([{"id": file_id, "name": "incidents.png"}]);
                shown["upload"] = json!(true);
            }
            shown
        })
        .collect();
    ok(json!({"ok": true, "messages": messages, "has_more": false}))
}

async fn slack_upload_url(State(fake): State<Fake>, headers: HeaderMap) -> Response {
    let url = fake.url.clone();
    fake.handle(
        Step::SlackUploadUrl,
        replica(&headers),
        StatusCode::INTERNAL_SERVER_ERROR,
        move |world| {
            let file_id = format!("F{}", world.next_id());
            world.uploads.insert(file_id.clone(), false);
            ok(json!({"ok": true, "upload_url": format!("{url}/upload/{file_id}"), "file_id": file_id}))
        },
    )
    .await
}

async fn slack_upload(
    State(fake): State<Fake>,
    Path(file_id): Path<String>,
    body: Bytes,
) -> Response {
    let mut world = fake.world.lock().expect("world");
    match world.uploads.get_mut(&file_id) {
        Some(received) if !body.is_empty() => {
            *received = true;
            StatusCode::OK.into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn slack_share(State(fake): State<Fake>, headers: HeaderMap, body: Bytes) -> Response {
    let request = form(&body);
    fake.handle(
        Step::SlackShare,
        replica(&headers),
        StatusCode::INTERNAL_SERVER_ERROR,
        move |world| {
            let files: Value =
                serde_json::from_str(request.get("files").map_or("", String::as_str))
                    .unwrap_or_default();
            let file_id = files[0]["id"].as_str().unwrap_or_default().to_string();
            if world.uploads.get(&file_id) != Some(&true) {
                return ok(json!({"ok": false, "error": "file_not_found"}));
            }
            let channel = request.get("channel_id").cloned().unwrap_or_default();
            let ts = format!("1764000000.{:06}", world.next_id());
            world.slack.entry(channel).or_default().push(SlackMessage {
                ts,
                text: String::new(),
                blocks: 0,
                metadata: Value::Null,
                file_id: Some(file_id.clone()),
            });
            ok(json!({"ok": true, "files": [{"id": file_id}]}))
        },
    )
    .await
}

async fn token(body: Bytes) -> Response {
    let request = form(&body);
    let secret = request.get("client_secret").cloned().unwrap_or_default();
    ok(
        json!({"token_type": "Bearer", "expires_in": 3600, "access_token": format!("token-{secret}")}),
    )
}

async fn teams_create(State(fake): State<Fake>, headers: HeaderMap, body: Bytes) -> Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or_default();
    fake.handle(
        Step::TeamsCreate,
        replica(&headers),
        StatusCode::BAD_GATEWAY,
        move |world| {
            let channel = request["channelData"]["channel"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let id = format!("1764000000{:03}", world.next_id());
            world
                .teams
                .entry(channel.clone())
                .or_default()
                .push(TeamsMessage {
                    id: id.clone(),
                    card: request["activity"]["attachments"][0]["content"].clone(),
                    updates: 0,
                });
            (
                StatusCode::CREATED,
                axum::Json(json!({"id": format!("{channel};messageid={id}"), "activityId": id})),
            )
                .into_response()
        },
    )
    .await
}

async fn teams_update(
    State(fake): State<Fake>,
    Path((conversation, activity)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or_default();
    fake.handle(
        Step::TeamsUpdate,
        replica(&headers),
        StatusCode::BAD_GATEWAY,
        move |world| {
            let channel = conversation.split(";messageid=").next().unwrap_or_default();
            let message = world
                .teams
                .get_mut(channel)
                .and_then(|messages| messages.iter_mut().find(|message| message.id == activity));
            let Some(message) = message else {
                return StatusCode::NOT_FOUND.into_response();
            };
            message.card = request["attachments"][0]["content"].clone();
            message.updates += 1;
            ok(json!({"id": activity}))
        },
    )
    .await
}

async fn graph_messages(
    State(fake): State<Fake>,
    Path((_team, channel)): Path<(String, String)>,
) -> Response {
    let mut world = fake.world.lock().expect("world");
    world.graph_reads += 1;
    if fake.refuse_history {
        return (
            StatusCode::FORBIDDEN,
            axum::Json(json!({"error": {"code": "Forbidden", "message": "Missing role permissions on the request."}})),
        )
            .into_response();
    }
    let at = chrono::Utc::now().to_rfc3339();
    let value: Vec<Value> = world
        .teams
        .get(&channel)
        .into_iter()
        .flatten()
        .rev()
        .map(|message| {
            json!({
                "id": message.id, "replyToId": null, "messageType": "message",
                "createdDateTime": at, "lastModifiedDateTime": at,
                "from": {"user": null, "device": null, "application": {
                    "id": crate::APP_ID, "displayName": "Sentinel Bot", "applicationIdentityType": "bot"}},
                "body": {"contentType": "html", "content": "<attachment id=\"a1\"></attachment>"},
                "attachments": [{"id": "a1", "contentType": "application/vnd.microsoft.card.adaptive",
                    "content": message.card.to_string()}],
            })
        })
        .collect();
    ok(json!({"value": value}))
}
