//! What people asked and what they thought of the answers, kept so moderators can see what
//! to write next.
//!
//! The pipeline: the bot turns each `/ask` and each button click into a [`Record`]; the
//! [`Recorder`] queues it without ever making the answer wait ([`recorder`]); a background
//! writer puts it into the [`Store`] (SQLite or PostgreSQL, [`store`]); [`report`] reads it
//! back as counts, grouped unanswered questions and the passages people found unhelpful.
//!
//! Privacy is designed in, not bolted on:
//! - no raw user id is stored: a voter is an HMAC-SHA256 of the user id under a secret key
//!   ([`VoterKey`]), enough to count one vote per person per answer, not to say who;
//! - a guild can keep question text out of the store (`no_question_text_guilds`): its rows
//!   keep the counts and passage ids, with no text;
//! - everything older than `retention_days` (default 90) is deleted by a periodic purge.

pub mod recorder;
pub mod report;
pub mod store;

use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub use recorder::{Recorder, RecorderCounters};
pub use report::{Report, ReportOptions};
pub use store::{Store, StoreError};

/// Environment variable holding the key voters are hashed with.
pub const VOTER_KEY_ENV: &str = "CAREERBOT_VOTER_KEY";

/// Where feedback is stored when nothing is configured: a SQLite file in the working
/// directory.
pub const DEFAULT_DATABASE: &str = "careerbot.db";

/// Retention when nothing is configured, in days.
pub const DEFAULT_RETENTION_DAYS: u32 = 90;

/// One thing worth remembering.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Asked(Asked),
    Vote(Vote),
}

/// A question and what was shown for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Asked {
    /// The `/ask` interaction's id: unique, so a record written twice (a retry after a lost
    /// acknowledgement, two processes) is stored once.
    pub id: i64,
    /// Unix milliseconds.
    pub asked_at_ms: i64,
    /// 0 in direct messages.
    pub guild_id: i64,
    /// `None` where the guild keeps question text out of the store.
    pub question: Option<String>,
    pub answered: bool,
    /// Passage ids shown, best first (empty when refused).
    pub passage_ids: Vec<String>,
    /// Title of the first passage shown ("" when refused).
    pub top_title: String,
    /// Content hash of the knowledge generation that answered.
    pub content_hash: String,
    /// The not-covered topic it was refused for, by the name `not-covered.toml` gives it.
    pub not_covered: Option<String>,
}

/// One person's verdict on one answer; a later vote by the same person replaces it.
#[derive(Debug, Clone, PartialEq)]
pub struct Vote {
    /// The `/ask` interaction the answer belonged to.
    pub answer_id: i64,
    /// [`VoterKey::voter`] of the user who clicked.
    pub voter: String,
    pub helpful: bool,
    /// Unix milliseconds.
    pub voted_at_ms: i64,
    /// The click's interaction id: Discord's ids increase, so of two clicks by one person
    /// the larger id is the later one, whatever the hosts' clocks say.
    pub click_id: i64,
    /// The passage the answer showed first, when the button carried it.
    pub passage_id: Option<String>,
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The secret voters are hashed with.
#[derive(Clone)]
pub struct VoterKey(Vec<u8>);

impl std::fmt::Debug for VoterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VoterKey(..)")
    }
}

/// Why no voter key could be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{VOTER_KEY_ENV} must be at least 16 characters")]
    TooShort,
    #[error("{VOTER_KEY_ENV} is not set; with PostgreSQL every process must hash voters with the same secret, so set it (e.g. `openssl rand -hex 32`) in each process's environment")]
    MissingForPostgres,
    #[error("voter key file {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no randomness for a new voter key: {0}")]
    Random(String),
}

impl VoterKey {
    /// A key from its secret text.
    pub fn new(secret: &str) -> Result<VoterKey, KeyError> {
        if secret.len() < 16 {
            return Err(KeyError::TooShort);
        }
        Ok(VoterKey(secret.as_bytes().to_vec()))
    }

    /// The key from `secret` (the binary reads [`VOTER_KEY_ENV`]); without one, a SQLite
    /// store keeps a random key in a file beside the database (created once, owner-only),
    /// so votes stay de-duplicated across restarts. PostgreSQL deployments run several
    /// processes, which must share the key: there it must be given.
    pub fn given_or_beside(
        secret: Option<&str>,
        database: &store::Location,
    ) -> Result<VoterKey, KeyError> {
        if let Some(secret) = secret.filter(|s| !s.is_empty()) {
            return VoterKey::new(secret);
        }
        match database {
            store::Location::Postgres(_) => Err(KeyError::MissingForPostgres),
            store::Location::Sqlite(path) => VoterKey::from_file(&key_path_beside(path)),
        }
    }

    /// Reads the key file, creating it with 32 random bytes (hex) when missing.
    fn from_file(path: &Path) -> Result<VoterKey, KeyError> {
        let file_error = |source| KeyError::File {
            path: path.to_path_buf(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => return VoterKey::new(text.trim()),
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(file_error(e)),
            Err(_) => {}
        }
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes).map_err(|e| KeyError::Random(e.to_string()))?;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        // Written whole to a private temporary file, then linked into place: a process
        // starting alongside never reads a half-written key, and only one key ever wins.
        let temp = path.with_extension(format!("tmp{}", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let written = options
            .open(&temp)
            .and_then(|mut f| std::io::Write::write_all(&mut f, hex.as_bytes()));
        let linked = written.and_then(|()| std::fs::hard_link(&temp, path));
        let _ = std::fs::remove_file(&temp);
        match linked {
            Ok(()) => VoterKey::new(&hex),
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(path).map_err(file_error)?;
                VoterKey::new(text.trim())
            }
            Err(e) => Err(file_error(e)),
        }
    }

    /// The stored stand-in for a user's vote on one answer: HMAC-SHA256(key, answer id ‖
    /// user id), hex. The same user on the same answer always gets the same value (so a
    /// second click replaces the first); on another answer a different one, so one person's
    /// votes cannot be linked to each other; and without the key no value can be traced to a
    /// user by trying ids.
    pub fn voter(&self, answer_id: u64, user_id: u64) -> String {
        // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            return String::new();
        };
        mac.update(&answer_id.to_be_bytes());
        mac.update(&user_id.to_be_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// `careerbot.db` → `careerbot.db.key`.
fn key_path_beside(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".key");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voters_are_stable_keyed_and_not_the_id() {
        let key = VoterKey::new("0123456789abcdef-secret").unwrap();
        let other = VoterKey::new("another-secret-of-16+").unwrap();
        let user = 80_351_110_224_678_912;
        let v = key.voter(9, user);
        assert_eq!(v, key.voter(9, user));
        assert_ne!(v, key.voter(9, user + 1));
        assert_ne!(
            v,
            key.voter(10, user),
            "votes on two answers are not linkable"
        );
        assert_ne!(v, other.voter(9, user));
        assert_eq!(v.len(), 64);
        assert!(!v.contains("80351110224678912"));
        assert!(matches!(VoterKey::new("short"), Err(KeyError::TooShort)));
    }

    #[test]
    fn a_key_file_is_created_once_and_reused() {
        let dir = std::env::temp_dir().join(format!("careerbot-key-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("feedback.db.key");
        let first = VoterKey::from_file(&path).unwrap();
        let again = VoterKey::from_file(&path).unwrap();
        assert_eq!(first.voter(1, 2), again.voter(1, 2));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
