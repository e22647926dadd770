//! Review finding F6: on SQLite the WAL file does not keep the size a burst of writes
//! gave it. A reader that holds its snapshot through a burst stops every checkpoint
//! from resetting the WAL, so it grows; once the reader is gone, housekeeping
//! checkpoints and truncates it, and `journal_size_limit` caps what a reset leaves.

use sqlx::Connection as _;

use crate::harness::*;

fn wal_size(app: &TestApp) -> u64 {
    let url = &app.state.config.database_url;
    let path = url.trim_start_matches("sqlite://");
    let path = path.split('?').next().unwrap();
    std::fs::metadata(format!("{path}-wal")).map_or(0, |m| m.len())
}

#[tokio::test]
async fn housekeeping_truncates_the_wal_after_a_burst() {
    if backend() != "sqlite" {
        return;
    }
    let app = TestApp::spawn().await;
    let pool = app.state.db.pool();
    sqlx::query("CREATE TABLE wal_filler (x TEXT NOT NULL)")
        .execute(pool)
        .await
        .unwrap();
    let (limit,): (i64,) = sqlx::query_as("PRAGMA journal_size_limit")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(
        limit,
        4 * 1024 * 1024,
        "journal_size_limit on every connection"
    );

    // A long reader: its snapshot pins the WAL.
    let mut reader = sqlx::SqliteConnection::connect(&app.state.config.database_url)
        .await
        .unwrap();
    sqlx::query("BEGIN").execute(&mut reader).await.unwrap();
    let _: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
        .fetch_one(&mut reader)
        .await
        .unwrap();
    let row = "x".repeat(8 * 1024);
    for _ in 0..1500 {
        sqlx::query("INSERT INTO wal_filler (x) VALUES ($1)")
            .bind(&row)
            .execute(pool)
            .await
            .unwrap();
    }
    let peak = wal_size(&app);
    assert!(peak > 10 * 1024 * 1024, "the burst grew the WAL: {peak}");
    sqlx::query("COMMIT").execute(&mut reader).await.unwrap();
    reader.close().await.unwrap();

    // The next housekeeping run brings it back.
    app.state
        .db
        .purge_expired(app.clock_now(), 24 * 3600)
        .await
        .unwrap();
    let after = wal_size(&app);
    assert!(
        after <= 4 * 1024 * 1024,
        "the WAL kept {after} bytes of a {peak}-byte burst"
    );
    // And writes go on as before.
    sqlx::query("DELETE FROM wal_filler")
        .execute(pool)
        .await
        .unwrap();
}
