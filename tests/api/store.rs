//! Store tests against real databases: a SQLite file, and PostgreSQL when
//! `SENTINEL_BOT_TEST_POSTGRES` is set (each test in its own schema).

use chrono::{DateTime, TimeDelta, Utc};
use sentinel_bot::store::{Claim, Role, Store};

/// Name of the variable holding a PostgreSQL URL for the gated tests.
pub const POSTGRES_ENV: &str = "SENTINEL_BOT_TEST_POSTGRES";

/// A fixed instant for tests.
pub fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("valid time")
}

/// A new SQLite file URL in `dir`.
pub fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("bot.db").display())
}

/// A URL to a fresh, empty schema on the test PostgreSQL. The tests calling it are compiled
/// in only when `SENTINEL_BOT_TEST_POSTGRES` is set (see build.rs) and are listed as ignored
/// otherwise; a server that cannot be reached then fails the test instead of skipping it.
pub async fn postgres_url() -> String {
    let base = std::env::var(POSTGRES_ENV)
        .unwrap_or_else(|_| panic!("set {POSTGRES_ENV} to run the PostgreSQL tests"));
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&base)
        .await
        .unwrap_or_else(|error| {
            panic!("{POSTGRES_ENV} is set but PostgreSQL cannot be reached: {error}")
        });
    // The schema name is a generated hex id, so formatting it into SQL is safe.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut admin)
        .await
        .expect("create schema");
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}options=-c%20search_path%3D{schema}")
}

async fn claims_are_exclusive(store: &Store) {
    let lease = TimeDelta::minutes(10);
    let (first, second) = tokio::join!(
        store.claim_run("report:x:2026-W48", at(0), lease),
        store.claim_run("report:x:2026-W48", at(0), lease)
    );
    let claims = [first.unwrap(), second.unwrap()];
    let acquired: Vec<_> = claims
        .iter()
        .filter_map(|claim| match claim {
            Claim::Acquired(lease) => Some(lease.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(acquired.len(), 1, "{claims:?}");
    assert!(claims.contains(&Claim::Busy));
    assert!(store.finish_run(&acquired[0], at(1)).await.unwrap());
    assert_eq!(
        store
            .claim_run("report:x:2026-W48", at(10_000), lease)
            .await
            .unwrap(),
        Claim::Done
    );
}

async fn small_tables_work(store: &Store) {
    let ttl = TimeDelta::hours(1);
    assert!(store.first_time("Ev1", at(0), ttl).await.unwrap());
    assert!(!store.first_time("Ev1", at(1), ttl).await.unwrap());
    store
        .put_pending("tok", "U1", "{\"a\":1}", at(300))
        .await
        .unwrap();
    assert_eq!(store.take_pending("tok", "U2", at(0)).await.unwrap(), None);
    assert_eq!(
        store
            .take_pending("tok", "U1", at(0))
            .await
            .unwrap()
            .as_deref(),
        Some("{\"a\":1}")
    );
    assert_eq!(store.take_pending("tok", "U1", at(0)).await.unwrap(), None);
    for index in 0..22 {
        store
            .append_turn("th", Role::User, &format!("m{index}"), at(index))
            .await
            .unwrap();
    }
    let turns = store.turns("th", 50, at(0)).await.unwrap();
    assert_eq!(turns.len(), 20);
    assert_eq!(turns[0].text, "m2");
    assert!(store.mark_triaged("", 5, at(0)).await.unwrap());
    assert!(!store.mark_triaged("", 5, at(0)).await.unwrap());
    // Identity is (workspace, number): two workspaces' incident 5 are triaged separately.
    assert!(store.mark_triaged("contoso", 5, at(0)).await.unwrap());
    assert!(store.mark_triaged("fabrikam", 5, at(0)).await.unwrap());
    assert!(!store.mark_triaged("fabrikam", 5, at(0)).await.unwrap());
    store.unmark_triaged("contoso", 5).await.unwrap();
    assert!(!store.mark_triaged("fabrikam", 5, at(0)).await.unwrap());
    assert!(!store.mark_triaged("", 5, at(0)).await.unwrap());
    assert!(store.mark_triaged("contoso", 5, at(0)).await.unwrap());
    let window_end = at(301);
    assert!(
        store
            .first_use_of_signature("v0=aa", at(0), window_end)
            .await
            .unwrap()
    );
    assert!(
        !store
            .first_use_of_signature("v0=aa", at(1), window_end)
            .await
            .unwrap()
    );
    store.cache_put("k", "v", at(0)).await.unwrap();
    assert_eq!(store.cache_get("k").await.unwrap().as_deref(), Some("v"));
    store.purge_expired(at(7200)).await.unwrap();
    assert!(store.first_time("Ev1", at(7200), ttl).await.unwrap());
    assert!(
        store
            .first_use_of_signature("v0=aa", at(7200), at(7501))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn sqlite_claims_are_exclusive() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&sqlite_url(&dir)).await.unwrap();
    claims_are_exclusive(&store).await;
}

#[tokio::test]
async fn sqlite_small_tables_work() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&sqlite_url(&dir)).await.unwrap();
    small_tables_work(&store).await;
}

#[tokio::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "set SENTINEL_BOT_TEST_POSTGRES to run against PostgreSQL"
)]
async fn postgres_claims_are_exclusive_across_two_pools() {
    let url = postgres_url().await;
    let store = Store::connect(&url).await.unwrap();
    // A second pool on the same schema behaves like a second replica; migrations are a no-op.
    let replica = Store::connect(&url).await.unwrap();
    claims_are_exclusive(&store).await;
    assert_eq!(
        replica
            .claim_run("report:x:2026-W48", at(20_000), TimeDelta::minutes(10))
            .await
            .unwrap(),
        Claim::Done
    );
}

#[tokio::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "set SENTINEL_BOT_TEST_POSTGRES to run against PostgreSQL"
)]
async fn postgres_small_tables_work() {
    let url = postgres_url().await;
    let store = Store::connect(&url).await.unwrap();
    small_tables_work(&store).await;
}

/// A store made by the migrations before triage marks had a workspace, holding a mark for
/// incident 5, then opened by this version: the mark is kept as the single workspace's
/// (key ''), and another workspace's incident 5 is still free to mark.
async fn upgrade_keeps_triage_marks(url: &str, backend: &str) {
    let before = tempfile::tempdir().unwrap();
    let source = format!("{}/migrations/{backend}", env!("CARGO_MANIFEST_DIR"));
    for entry in std::fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with("20261206000013") {
            std::fs::copy(&path, before.path().join(&name)).unwrap();
        }
    }
    let old = sqlx::migrate::Migrator::new(before.path()).await.unwrap();
    let insert = "INSERT INTO triaged_incidents (incident_number, at) VALUES (5, 1)";
    if backend == "sqlite" {
        let options = <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(url)
            .unwrap()
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        old.run(&pool).await.unwrap();
        sqlx::query(insert).execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        old.run(&pool).await.unwrap();
        sqlx::query(insert).execute(&pool).await.unwrap();
        pool.close().await;
    }
    let store = Store::connect(url).await.unwrap();
    assert!(!store.mark_triaged("", 5, at(0)).await.unwrap());
    assert!(store.mark_triaged("fabrikam", 5, at(0)).await.unwrap());
}

#[tokio::test]
async fn sqlite_upgrade_keeps_triage_marks() {
    let dir = tempfile::tempdir().unwrap();
    upgrade_keeps_triage_marks(&sqlite_url(&dir), "sqlite").await;
}

#[tokio::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "set SENTINEL_BOT_TEST_POSTGRES to run against PostgreSQL"
)]
async fn postgres_upgrade_keeps_triage_marks() {
    upgrade_keeps_triage_marks(&postgres_url().await, "postgres").await;
}
