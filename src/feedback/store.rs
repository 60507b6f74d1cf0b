//! The feedback database: one schema, applied by versioned migrations at start, the same SQL
//! for SQLite and PostgreSQL.
//!
//! Why sqlx: one async driver layer for both databases (its `Any` pool picks the backend
//! from the URL at run time), pooling and reconnection built in, SQLite bundled (nothing to
//! install for the default file), and no compile-time query macros (no database needed to
//! build). The SQL is kept to what both dialects read alike: `$1` parameters, `BIGINT`,
//! `ON CONFLICT` upserts; the one dialect-specific line is PostgreSQL's migration lock.
//!
//! Writes are idempotent: an answer is keyed by its interaction id and a vote by (answer,
//! voter), so a batch retried after a lost acknowledgement, or sent by two processes, is
//! stored once.

use std::path::PathBuf;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row as _};

use super::{Asked, Record, Vote};

/// Where the database is, from `database_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file (`sqlite:PATH`, `sqlite://PATH`, or a bare path).
    Sqlite(PathBuf),
    /// A PostgreSQL server (`postgres://…` or `postgresql://…`), as given.
    Postgres(String),
}

impl Location {
    /// Reads a `database_url`.
    pub fn parse(url: &str) -> Result<Location, StoreError> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Location::Postgres(url.to_string()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() || path.contains("://") {
            return Err(StoreError::Url);
        }
        Ok(Location::Sqlite(PathBuf::from(path)))
    }

    /// Where it is, for messages (a PostgreSQL password is not shown).
    pub fn describe(&self) -> String {
        match self {
            Location::Sqlite(path) => format!("SQLite file {}", path.display()),
            // Host, port and database only: never the user, password or query string.
            Location::Postgres(url) => {
                let after_scheme = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
                let host_db = after_scheme
                    .rsplit_once('@')
                    .map_or(after_scheme, |(_, h)| h);
                let host_db = host_db.split(['?', '#']).next().unwrap_or_default();
                format!("PostgreSQL at {host_db}")
            }
        }
    }
}

/// What went wrong with the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database_url is neither postgres://… nor a SQLite path (sqlite:PATH)")]
    Url,
    #[error("no feedback database at {0} (the bot creates it on its first start)")]
    Missing(PathBuf),
    #[error("the database's schema is version {found}, newer than this careerbot knows ({known}): upgrade careerbot")]
    NewerSchema { found: i64, known: i64 },
    #[error("the database's schema is version {found}, older than this careerbot's ({known}): start the bot once to migrate it")]
    OlderSchema { found: i64, known: i64 },
    #[error("not a careerbot feedback database (no careerbot_schema table)")]
    NotOurs,
    #[error("an id does not fit the database: {0}")]
    Id(u64),
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("the database did not answer within {0:?}")]
    Timeout(Duration),
}

impl StoreError {
    /// Whether trying again later may succeed: the server unreachable, restarting, out of
    /// connections, a lock or serialization conflict, a timeout. A record refused for what it
    /// is (a constraint, a bad value) or a schema the code does not expect is not.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Timeout(_) => true,
            StoreError::Sql(e) => match e {
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::Protocol(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => true,
                sqlx::Error::Database(db) => {
                    let code = db.code().unwrap_or_default();
                    // PostgreSQL SQLSTATE classes: 08 connection, 40 transaction rollback,
                    // 53 insufficient resources, 57 operator intervention (shutdown).
                    // SQLite: 5 BUSY, 6 LOCKED (and their extended codes).
                    ["08", "40", "53", "57"].iter().any(|c| code.starts_with(c))
                        || matches!(code.parse::<u32>().map(|n| n & 0xff), Ok(5 | 6))
                }
                _ => false,
            },
            _ => false,
        }
    }
}

/// Versioned schema changes, applied in order, each once (recorded in `careerbot_schema`).
/// Never edit a shipped entry: add the next version.
const MIGRATIONS: &[(i64, &[&str])] = &[
    (
        1,
        &[
            "CREATE TABLE answers (
            id BIGINT PRIMARY KEY,
            asked_at BIGINT NOT NULL,
            guild_id BIGINT NOT NULL,
            question TEXT,
            answered BOOLEAN NOT NULL,
            top_passage TEXT NOT NULL,
            other_passages TEXT NOT NULL,
            top_title TEXT NOT NULL,
            content_hash TEXT NOT NULL
        )",
            "CREATE INDEX answers_by_time ON answers (asked_at)",
            "CREATE TABLE votes (
            answer_id BIGINT NOT NULL,
            voter TEXT NOT NULL,
            helpful BOOLEAN NOT NULL,
            voted_at BIGINT NOT NULL,
            click_id BIGINT NOT NULL,
            passage_id TEXT,
            PRIMARY KEY (answer_id, voter)
        )",
            "CREATE INDEX votes_by_time ON votes (voted_at)",
        ],
    ),
    // The not-covered topic a question was refused for (`not-covered.toml`'s name: the
    // moderators' words, not the user's), so the report can list those apart from what
    // nobody has written yet.
    (2, &["ALTER TABLE answers ADD COLUMN not_covered TEXT"]),
];

/// The schema version this code reads and writes (the last migration's).
const KNOWN_SCHEMA: i64 = 2;

/// Separates the passage ids after the first in `other_passages` (ids never hold one).
const ID_SEPARATOR: char = '\n';

/// Longest a batch write may take.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// An open, migrated feedback database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    location: Location,
}

impl Store {
    /// Connects and brings the schema up to date. A SQLite file is created when `create` is
    /// set (the bot), and must exist otherwise (the report, so a mistyped path is an error).
    pub async fn open(location: &Location, create: bool) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let url = match location {
            Location::Postgres(url) => url.clone(),
            Location::Sqlite(path) => {
                if !create && !path.exists() {
                    return Err(StoreError::Missing(path.clone()));
                }
                // sqlx reads the URL's first segment as a host: hand it an absolute path,
                // and percent-encode the characters it would misread.
                let absolute = std::path::absolute(path).unwrap_or_else(|_| path.clone());
                let text = absolute
                    .to_string_lossy()
                    .replace('%', "%25")
                    .replace('?', "%3F")
                    .replace('#', "%23");
                format!("sqlite://{text}?mode={}", if create { "rwc" } else { "rw" })
            }
        };
        let sqlite = matches!(location, Location::Sqlite(_));
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            // An outage must fail a write quickly (the recorder retries), not hang it.
            .acquire_timeout(Duration::from_secs(3))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        // Write-ahead log: the report reads while the bot writes, and a
                        // commit is an append, synced at checkpoints rather than every
                        // transaction (a power cut may lose the last records, never the file).
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA synchronous = NORMAL")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        let store = Store {
            pool,
            location: location.clone(),
        };
        if create {
            store.migrate().await?;
        } else {
            store.check_schema().await?;
        }
        Ok(store)
    }

    /// For readers (the report): the schema must be exactly this code's, and nothing is
    /// created or migrated, so a read-only database role works and a live database is never
    /// migrated under an older bot.
    async fn check_schema(&self) -> Result<(), StoreError> {
        let found: i64 = match sqlx::query("SELECT COALESCE(MAX(version), 0) FROM careerbot_schema")
            .fetch_one(&self.pool)
            .await
        {
            Ok(row) => row.try_get(0)?,
            Err(sqlx::Error::Database(_)) => return Err(StoreError::NotOurs),
            Err(e) => return Err(e.into()),
        };
        match found.cmp(&KNOWN_SCHEMA) {
            std::cmp::Ordering::Equal => Ok(()),
            std::cmp::Ordering::Greater => Err(StoreError::NewerSchema {
                found,
                known: KNOWN_SCHEMA,
            }),
            std::cmp::Ordering::Less => Err(StoreError::OlderSchema {
                found,
                known: KNOWN_SCHEMA,
            }),
        }
    }

    /// Applies the migrations this database has not had, in one transaction.
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        if matches!(self.location, Location::Postgres(_)) {
            // Two processes starting together must not both create the tables.
            sqlx::query("SELECT pg_advisory_xact_lock(727100001)")
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS careerbot_schema (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .execute(&mut *tx)
        .await?;
        let found: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) FROM careerbot_schema")
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        if found > KNOWN_SCHEMA {
            return Err(StoreError::NewerSchema {
                found,
                known: KNOWN_SCHEMA,
            });
        }
        for (version, statements) in MIGRATIONS.iter().filter(|(v, _)| *v > found) {
            for statement in *statements {
                sqlx::query(statement).execute(&mut *tx).await?;
            }
            sqlx::query("INSERT INTO careerbot_schema (version, applied_at) VALUES ($1, $2)")
                .bind(*version)
                .bind(super::now_ms())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Writes a batch in one transaction: all of it, or (on error or after
    /// [`WRITE_TIMEOUT`]) none of it. A connection that hangs mid-write (a partitioned
    /// network) must not hold the writer for as long as TCP takes to notice.
    pub async fn write(&self, batch: &[Record]) -> Result<(), StoreError> {
        tokio::time::timeout(WRITE_TIMEOUT, self.write_now(batch))
            .await
            .map_err(|_| StoreError::Timeout(WRITE_TIMEOUT))?
    }

    async fn write_now(&self, batch: &[Record]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for record in batch {
            match record {
                Record::Asked(a) => insert_asked(&mut tx, a).await?,
                Record::Vote(v) => upsert_vote(&mut tx, v).await?,
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes answers and votes from before `before_ms`; returns how many rows went.
    pub async fn purge(&self, before_ms: i64) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let answers = sqlx::query("DELETE FROM answers WHERE asked_at < $1")
            .bind(before_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let votes = sqlx::query("DELETE FROM votes WHERE voted_at < $1")
            .bind(before_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(answers + votes)
    }

    /// The passage ids an answer showed, best first; `None` when it is not (yet) stored.
    pub async fn shown_passages(&self, answer_id: i64) -> Result<Option<Vec<String>>, StoreError> {
        let row = sqlx::query("SELECT top_passage, other_passages FROM answers WHERE id = $1")
            .bind(answer_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let top: String = row.try_get(0)?;
        let others: String = row.try_get(1)?;
        let mut ids = vec![top];
        ids.extend(
            others
                .split(ID_SEPARATOR)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        );
        ids.retain(|id| !id.is_empty());
        Ok(Some(ids))
    }

    /// Rows of a report query: `$1` the window's start, `$2` the guild (negative: all),
    /// `$3` a row limit (PostgreSQL needs every bound parameter used: the queries that do
    /// not limit rows must not be given one, so it is bound only when the text has `$3`).
    pub(super) async fn report_rows(
        &self,
        sql: &str,
        since_ms: i64,
        guild: i64,
        limit: i64,
    ) -> Result<Vec<AnyRow>, StoreError> {
        let mut query = sqlx::query(sql).bind(since_ms).bind(guild);
        if sql.contains("$3") {
            query = query.bind(limit);
        }
        Ok(query.fetch_all(&self.pool).await?)
    }

    /// Closes the pool (waits for connections in use to be returned).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

async fn insert_asked(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    a: &Asked,
) -> Result<(), StoreError> {
    let top = a.passage_ids.first().cloned().unwrap_or_default();
    let others = a
        .passage_ids
        .iter()
        .skip(1)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(&ID_SEPARATOR.to_string());
    sqlx::query(
        "INSERT INTO answers (id, asked_at, guild_id, question, answered, top_passage, other_passages, top_title, content_hash, not_covered)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING",
    )
    .bind(a.id)
    .bind(a.asked_at_ms)
    .bind(a.guild_id)
    .bind(a.question.as_deref().map(without_nul))
    .bind(a.answered)
    .bind(top)
    .bind(others)
    .bind(without_nul(&a.top_title))
    .bind(a.content_hash.clone())
    .bind(a.not_covered.as_deref().map(without_nul))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// PostgreSQL's text cannot hold U+0000 (SQLite's can): dropped, so one odd question cannot
/// make a batch fail on one database and not the other.
fn without_nul(text: &str) -> String {
    text.replace('\0', "")
}

/// The later of two clicks by one voter on one answer wins, whatever order they arrive in:
/// later by the click's interaction id, which Discord assigns in increasing order (no host
/// clock involved).
async fn upsert_vote(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    v: &Vote,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO votes (answer_id, voter, helpful, voted_at, click_id, passage_id) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (answer_id, voter) DO UPDATE
         SET helpful = excluded.helpful, voted_at = excluded.voted_at, click_id = excluded.click_id,
             passage_id = excluded.passage_id
         WHERE excluded.click_id > votes.click_id",
    )
    .bind(v.answer_id)
    .bind(v.voter.clone())
    .bind(v.helpful)
    .bind(v.voted_at_ms)
    .bind(v.click_id)
    .bind(v.passage_id.as_deref().map(without_nul))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A Discord snowflake as a database id (they fit in 63 bits until the year 2084).
pub fn db_id(snowflake: u64) -> Result<i64, StoreError> {
    i64::try_from(snowflake).map_err(|_| StoreError::Id(snowflake))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls() {
        assert_eq!(
            Location::parse("careerbot.db").unwrap(),
            Location::Sqlite("careerbot.db".into())
        );
        assert_eq!(
            Location::parse("sqlite:///var/lib/careerbot/f.db").unwrap(),
            Location::Sqlite("/var/lib/careerbot/f.db".into())
        );
        assert_eq!(
            Location::parse("sqlite:data/f.db").unwrap(),
            Location::Sqlite("data/f.db".into())
        );
        let pg = Location::parse("postgres://bot:secret@db.internal:5432/careerbot").unwrap();
        assert_eq!(pg.describe(), "PostgreSQL at db.internal:5432/careerbot");
        assert!(matches!(Location::parse("mysql://x"), Err(StoreError::Url)));
        assert!(matches!(Location::parse(""), Err(StoreError::Url)));
    }

    fn asked(id: i64, at: i64, answered: bool, q: &str) -> Record {
        Record::Asked(Asked {
            id,
            asked_at_ms: at,
            guild_id: 1,
            question: Some(q.to_string()),
            answered,
            passage_ids: if answered {
                vec!["faq/a".into(), "faq/b".into(), "faq/c".into()]
            } else {
                vec![]
            },
            top_title: if answered { "A".into() } else { String::new() },
            content_hash: "abc".into(),
            not_covered: None,
        })
    }

    fn vote(answer_id: i64, voter: &str, helpful: bool, at: i64) -> Record {
        Record::Vote(Vote {
            answer_id,
            voter: voter.into(),
            helpful,
            voted_at_ms: at,
            click_id: at,
            passage_id: Some("faq/a".into()),
        })
    }

    /// Rows of `table` (with an optional `WHERE …`), through the report's query path.
    async fn rows(store: &Store, table: &str) -> i64 {
        let filter = if table.contains("WHERE") {
            "AND"
        } else {
            "WHERE"
        };
        let sql = format!("SELECT COUNT(*) FROM {table} {filter} $1 = $1 AND $2 = $2");
        store.report_rows(&sql, 0, -1, 0).await.unwrap()[0]
            .try_get(0)
            .unwrap()
    }

    /// A database a version-1 bot wrote: a reader refuses it until the bot migrates it, and
    /// the migration keeps its rows.
    #[tokio::test]
    async fn a_version_one_database_is_migrated_with_its_rows() {
        let dir = std::env::temp_dir().join(format!("careerbot-v1-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let location = Location::Sqlite(dir.join("v1.db"));
        let url = format!("sqlite://{}?mode=rwc", dir.join("v1.db").display());
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new().connect(&url).await.unwrap();
        sqlx::query(
            "CREATE TABLE careerbot_schema (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .execute(&pool)
        .await
        .unwrap();
        for statement in MIGRATIONS[0].1 {
            sqlx::query(statement).execute(&pool).await.unwrap();
        }
        sqlx::query("INSERT INTO careerbot_schema (version, applied_at) VALUES (1, 0)")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO answers VALUES (7, 1000, 1, 'q', FALSE, '', '', '', 'abc')")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        assert!(matches!(
            Store::open(&location, false).await,
            Err(StoreError::OlderSchema { found: 1, known: 2 })
        ));
        let store = Store::open(&location, true).await.unwrap();
        let mut topic = asked(8, 2_000, false, "how much tax");
        if let Record::Asked(a) = &mut topic {
            a.not_covered = Some("income tax".into());
        }
        store.write(&[topic]).await.unwrap();
        assert_eq!(rows(&store, "answers WHERE not_covered IS NULL").await, 1);
        assert_eq!(
            rows(&store, "answers WHERE not_covered = 'income tax'").await,
            1
        );
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn sqlite_writes_are_idempotent_votes_replace_and_purge_honours_time() {
        let dir = std::env::temp_dir().join(format!("careerbot-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let location = Location::Sqlite(dir.join("odd?name#1%.db"));
        assert!(matches!(
            Store::open(&location, false).await,
            Err(StoreError::Missing(_))
        ));
        let store = Store::open(&location, true).await.unwrap();
        let batch = [
            asked(1, 1_000, true, "q1"),
            asked(2, 2_000, false, "q2"),
            vote(1, "v", false, 3_000),
            vote(1, "v", true, 4_000),
        ];
        store.write(&batch).await.unwrap();
        // A retried batch, and an older vote arriving late: nothing changes.
        store.write(&batch).await.unwrap();
        store.write(&[vote(1, "v", false, 3_500)]).await.unwrap();
        assert_eq!(rows(&store, "answers").await, 2);
        assert_eq!(rows(&store, "votes WHERE helpful").await, 1);
        assert_eq!(rows(&store, "votes").await, 1);
        assert_eq!(
            store.shown_passages(1).await.unwrap(),
            Some(vec!["faq/a".into(), "faq/b".into(), "faq/c".into()])
        );
        assert_eq!(store.shown_passages(2).await.unwrap(), Some(vec![]));
        assert_eq!(store.shown_passages(9).await.unwrap(), None);
        // Opening again migrates nothing twice.
        store.close().await;
        let store = Store::open(&location, false).await.unwrap();
        assert_eq!(store.purge(2_500).await.unwrap(), 2);
        assert_eq!(rows(&store, "answers").await, 0);
        assert_eq!(rows(&store, "votes").await, 1);
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
