//! One trial: two `sentinel-bot serve` replicas on one fresh PostgreSQL schema post the
//! weekly report to one Slack and one Teams channel of the fake; one or both are killed
//! with SIGKILL at the chosen moment, restarted, and the deliveries are counted.
//!
//! The moments are hit exactly, from outside the processes: "before the claim" and
//! "after the claim" hold a table lock the replica's next statement waits on; "in flight"
//! holds the request in the fake; "after the platform answered, before the store was
//! updated" delivers and answers while a table lock holds the replica's next write. A
//! killed replica's waiting statement is cancelled (its backend terminated) before the
//! lock is released, as the crash would have left it.

use crate::fake::{Event, Fake, Fault, Step};
use sqlx::{Connection, PgConnection};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// When the replica is killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Moment {
    /// No fault and no kill: what the channels get when nothing goes wrong.
    Baseline,
    /// Waiting to claim the run.
    BeforeClaim,
    /// Holding the claim, nothing sent yet.
    AfterClaim,
    /// At a request of the post, as the fault says.
    Request(Step, Fault),
}

impl Moment {
    pub fn label(self) -> String {
        match self {
            Moment::Baseline => "no fault (baseline)".to_string(),
            Moment::BeforeClaim => "before the claim".to_string(),
            Moment::AfterClaim => "after the claim, nothing sent".to_string(),
            Moment::Request(step, Fault::InFlight { deliver: true }) => {
                format!("{} in flight, delivered", step.label())
            }
            Moment::Request(step, Fault::InFlight { deliver: false }) => {
                format!("{} in flight, lost", step.label())
            }
            Moment::Request(step, Fault::AfterDelivery) => {
                format!("{} answered 200, store not updated", step.label())
            }
            Moment::Request(step, Fault::ServerError) => {
                format!("{} delivered, answered 5xx", step.label())
            }
            Moment::Request(step, Fault::Timeout) => {
                format!("{} delivered, answer timed out", step.label())
            }
        }
    }

    fn kills(self) -> bool {
        !matches!(
            self,
            Moment::Baseline | Moment::Request(_, Fault::ServerError | Fault::Timeout)
        )
    }
}

/// Which replicas die.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Victims {
    /// The one at the moment (the lease holder, or a replica waiting to claim).
    One,
    /// Both replicas at once.
    Both,
    /// None: the fault is the platform's alone.
    None,
}

impl Victims {
    pub fn label(self) -> &'static str {
        match self {
            Victims::One => "one",
            Victims::Both => "both",
            Victims::None => "none",
        }
    }
}

/// What a trial left in the channels.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    /// Report messages in the Slack channel (placeholders included).
    pub slack_messages: usize,
    /// Distinct parts among them (the report may span several Block Kit messages, each a
    /// part marked in its metadata).
    pub slack_parts: usize,
    /// Chart files shared into the Slack channel.
    pub slack_files: usize,
    /// Every Slack report message holds the report, not the placeholder.
    pub slack_filled: bool,
    /// Threads the bot started in the Teams channel.
    pub teams_messages: usize,
    /// Every Teams thread holds the report card.
    pub teams_filled: bool,
    /// Both runs were marked done in the store in time.
    pub finished: bool,
    /// The kill (or fault) happened at the intended moment.
    pub reached: bool,
    pub history_reads: usize,
    pub graph_reads: usize,
}

impl Counts {
    /// Exactly one message per part of the report (`parts`, from a trial without faults)
    /// and one file in the Slack channel, one thread in the Teams channel, all holding the
    /// report.
    pub fn exactly_once(&self, parts: usize) -> bool {
        self.finished
            && self.slack_parts == parts
            && self.slack_messages == parts
            && self.slack_files == 1
            && self.slack_filled
            && self.teams_messages == 1
            && self.teams_filled
    }
}

/// Settings shared by every trial.
pub struct Setup {
    pub binary: PathBuf,
    pub postgres: String,
    pub fake: Fake,
    pub lease_seconds: u64,
    pub work: PathBuf,
}

struct Replica {
    name: String,
    child: Child,
}

pub async fn run(
    setup: &Setup,
    events: &mut mpsc::UnboundedReceiver<Event>,
    number: usize,
    moment: Moment,
    victims: Victims,
) -> anyhow::Result<Counts> {
    while events.try_recv().is_ok() {}
    let fault = match moment {
        Moment::Request(step, fault) => Some((step, fault)),
        _ => None,
    };
    setup.fake.reset(fault);
    let schema = format!("crash_{number}_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&setup.postgres).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut admin)
        .await?;
    let url = |application: &str| schema_url(&setup.postgres, &schema, application);
    // Migrate first, so the tables exist for the locks.
    sentinel_bot::store::Store::connect(&url("crash-harness"))
        .await?
        .close()
        .await;
    let mut harness = PgConnection::connect(&url("crash-harness")).await?;
    let names = [format!("crash-{number}-a"), format!("crash-{number}-b")];
    for name in &names {
        let config = config(setup, &url(name), name);
        std::fs::write(setup.work.join(format!("{name}.toml")), config)?;
    }

    let mut lock = match moment {
        Moment::BeforeClaim => Some(lock_table(&url("crash-lock"), "schedule_runs").await?),
        Moment::AfterClaim => Some(lock_table(&url("crash-lock"), "schedule_parts").await?),
        Moment::Request(..) | Moment::Baseline => None,
    };
    let mut replicas = Vec::new();
    for name in &names {
        replicas.push(start(setup, name)?);
    }

    let mut reached = false;
    let mut killed: Vec<String> = Vec::new();
    let deadline = Duration::from_secs(30);
    match moment {
        Moment::BeforeClaim | Moment::AfterClaim => {
            if let Some(waiting) = waiting_on_lock(&mut harness, &names, deadline).await? {
                reached = true;
                killed = pick(&names, &waiting, victims);
                kill(&mut replicas, &killed, &mut harness).await?;
            }
            if let Some(lock) = lock.take() {
                lock.release().await?;
            }
        }
        Moment::Request(_, Fault::InFlight { .. }) => {
            if let Ok(Some(Event::Holding { replica, release })) =
                tokio::time::timeout(deadline, events.recv()).await
            {
                reached = true;
                killed = pick(&names, &replica, victims);
                kill(&mut replicas, &killed, &mut harness).await?;
                let _ = release.send(());
            }
        }
        Moment::Request(_, Fault::AfterDelivery) => {
            if let Ok(Some(Event::Delivered { replica, release })) =
                tokio::time::timeout(deadline, events.recv()).await
            {
                let lock = lock_table(&url("crash-lock"), "schedule_parts").await?;
                let _ = release.send(());
                let holder = [replica.clone()];
                if waiting_on_lock(&mut harness, &holder, Duration::from_secs(10))
                    .await?
                    .is_some()
                {
                    reached = true;
                    killed = pick(&names, &replica, victims);
                    kill(&mut replicas, &killed, &mut harness).await?;
                }
                lock.release().await?;
            }
        }
        Moment::Baseline | Moment::Request(_, Fault::ServerError | Fault::Timeout) => {}
    }
    for name in &killed {
        replicas.push(start(setup, name)?);
    }

    let finished = wait_done(&mut harness, Duration::from_secs(90)).await?;
    if moment == Moment::Baseline {
        reached = true;
    } else if !moment.kills() {
        reached = setup
            .fake
            .world
            .lock()
            .is_ok_and(|world| world.fault_fired());
    }
    // Anything a dead replica still had on its way lands now, and would be counted.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for replica in &mut replicas {
        let _ = replica.child.kill();
        let _ = replica.child.wait();
    }
    let counts = count(&setup.fake, finished, reached);
    harness.close().await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&mut admin)
        .await?;
    Ok(counts)
}

fn schema_url(base: &str, schema: &str, application: &str) -> String {
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}options=-c%20search_path%3D{schema}&application_name={application}")
}

fn config(setup: &Setup, store_url: &str, name: &str) -> String {
    let fake = &setup.fake.url;
    let app_id = crate::APP_ID;
    let lease = setup.lease_seconds;
    format!(
        r#"[server]
bind = "127.0.0.1:0"

[store]
url = "{store_url}"

[report]
cron = "0 0 8 * * Mon"
time_zone = "UTC"
lease_seconds = {lease}
retry_seconds = 1
# One file part, the chart; the HTML report file (web_pages) is another part on the same path.
web_pages = false

[slack]
bot_token = "xoxb-{name}"
signing_secret = "crash-test"
report_channels = ["C-SOC"]
api_url = "{fake}/slack"

[teams]
app_id = "{app_id}"
app_password = "{name}"
login_url = "{fake}/login"
graph_url = "{fake}/graph"

[[teams.report_channels]]
service_url = "{fake}/svc/"
channel_id = "19:soc@thread.tacv2"
tenant_id = "tenant-1"
team_id = "team-1"
"#
    )
}

fn start(setup: &Setup, name: &str) -> anyhow::Result<Replica> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(setup.work.join(format!("{name}.log")))?;
    let child = Command::new(&setup.binary)
        .arg("serve")
        .arg("--config")
        .arg(setup.work.join(format!("{name}.toml")))
        .env("RUST_LOG", "info,sqlx=warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()?;
    Ok(Replica {
        name: name.to_string(),
        child,
    })
}

/// The replicas to kill: `at` alone, or both.
fn pick(names: &[String; 2], at: &str, victims: Victims) -> Vec<String> {
    match victims {
        Victims::One => vec![at.to_string()],
        Victims::Both => names.to_vec(),
        Victims::None => Vec::new(),
    }
}

/// SIGKILLs the named replicas and ends their database sessions, so a statement they had
/// sent but that was still waiting does not run after their death.
async fn kill(
    replicas: &mut Vec<Replica>,
    names: &[String],
    harness: &mut PgConnection,
) -> anyhow::Result<()> {
    for replica in replicas.iter_mut().filter(|it| names.contains(&it.name)) {
        replica.child.kill()?;
        replica.child.wait()?;
    }
    replicas.retain(|it| !names.contains(&it.name));
    for name in names {
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
        )
        .bind(name)
        .execute(&mut *harness)
        .await?;
    }
    Ok(())
}

/// A table held in ACCESS EXCLUSIVE mode by an open transaction of its own connection.
struct TableLock(PgConnection);

impl TableLock {
    async fn release(mut self) -> anyhow::Result<()> {
        sqlx::query("COMMIT").execute(&mut self.0).await?;
        self.0.close().await?;
        Ok(())
    }
}

async fn lock_table(url: &str, table: &str) -> anyhow::Result<TableLock> {
    let mut connection = PgConnection::connect(url).await?;
    sqlx::query("BEGIN").execute(&mut connection).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"
    )))
    .execute(&mut connection)
    .await?;
    Ok(TableLock(connection))
}

/// The first of `names` whose session waits on a lock, within `limit`.
async fn waiting_on_lock(
    harness: &mut PgConnection,
    names: &[String],
    limit: Duration,
) -> anyhow::Result<Option<String>> {
    let started = Instant::now();
    while started.elapsed() < limit {
        let waiting: Option<String> = sqlx::query_scalar(
            "SELECT application_name FROM pg_stat_activity \
             WHERE wait_event_type = 'Lock' AND application_name = ANY($1) LIMIT 1",
        )
        .bind(names)
        .fetch_optional(&mut *harness)
        .await?;
        if waiting.is_some() {
            return Ok(waiting);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(None)
}

/// Whether both channels' runs are marked done within `limit`.
async fn wait_done(harness: &mut PgConnection, limit: Duration) -> anyhow::Result<bool> {
    let started = Instant::now();
    while started.elapsed() < limit {
        let done: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM schedule_runs WHERE status = 'done'")
                .fetch_one(&mut *harness)
                .await?;
        if done == 2 {
            return Ok(true);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(false)
}

fn count(fake: &Fake, finished: bool, reached: bool) -> Counts {
    let world = fake.world.lock().expect("world");
    let slack = world.slack.get("C-SOC").cloned().unwrap_or_default();
    let reports: Vec<_> = slack
        .iter()
        .filter(|message| message.file_id.is_none())
        .collect();
    let parts: std::collections::BTreeSet<String> = reports
        .iter()
        .map(|message| message.metadata["event_payload"]["part"].to_string())
        .collect();
    let teams = world
        .teams
        .get("19:soc@thread.tacv2")
        .cloned()
        .unwrap_or_default();
    Counts {
        slack_messages: reports.len(),
        slack_parts: parts.len(),
        slack_files: slack.len() - reports.len(),
        slack_filled: reports
            .iter()
            .all(|message| message.blocks > 0 && !message.text.contains("preparing")),
        teams_messages: teams.len(),
        teams_filled: teams
            .iter()
            .all(|message| message.updates > 0 && !message.card.to_string().contains("preparing")),
        finished,
        reached,
        history_reads: world.history_reads,
        graph_reads: world.graph_reads,
    }
}

/// Keeps the logs of a trial that went wrong, for reading.
pub fn keep_logs(work: &Path, number: usize) -> PathBuf {
    let kept = work.join(format!("failed-{number}"));
    let _ = std::fs::create_dir_all(&kept);
    for side in ["a", "b"] {
        let name = format!("crash-{number}-{side}.log");
        let _ = std::fs::rename(work.join(&name), kept.join(&name));
    }
    kept
}
