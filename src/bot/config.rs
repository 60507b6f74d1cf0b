//! Bot configuration: one TOML file, every key documented in `config.example.toml`.
//!
//! Unknown keys are errors that name the key and line, so a typo never silently falls back to
//! a default. The Discord token is deliberately *not* a config key: it comes from the
//! `DISCORD_TOKEN` environment variable, so it never lands in a committed file or a log.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// A secret that never shows in `{:?}` output (a config logged for debugging).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Who sees a reply when the user does not choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Everyone in the channel.
    #[default]
    Public,
    /// Only the user who asked (an ephemeral reply).
    Private,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Pretty,
    Json,
}

/// Per-user rate limit on `/ask`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CooldownConfig {
    /// Questions a user may ask in a burst.
    pub asks: u32,
    /// The window in seconds: `asks` per `per_seconds`, refilled evenly.
    pub per_seconds: u64,
}

impl Default for CooldownConfig {
    fn default() -> Self {
        CooldownConfig {
            asks: 5,
            per_seconds: 30,
        }
    }
}

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Register commands in these guilds (instant); empty: register globally.
    #[serde(default)]
    pub guild_ids: Vec<u64>,
    /// Roles allowed to run `/reload`. Empty: anyone with Manage Server.
    #[serde(default)]
    pub moderator_role_ids: Vec<u64>,
    /// Knowledge directory; default: `./knowledge` or the shipped one.
    #[serde(default)]
    pub knowledge_dir: Option<PathBuf>,
    #[serde(default)]
    pub default_visibility: Visibility,
    #[serde(default)]
    pub cooldown: CooldownConfig,
    #[serde(default)]
    pub log_format: LogFormat,
    /// Base URL for Discord's REST API (e.g. a twilight-http-proxy in front of several shard
    /// processes). Unset: Discord itself.
    #[serde(default)]
    pub http_proxy: Option<String>,
    /// Shards this process runs, e.g. "0-1" or "3"; needs `total_shards`. Unset: one
    /// process runs every shard Discord recommends (autosharded).
    #[serde(default)]
    pub shards: Option<String>,
    /// Total shards across all processes.
    #[serde(default)]
    pub total_shards: Option<u32>,
    /// Seconds between checks of the knowledge directory for changes (0: never; `/reload`
    /// only). Every process reloads by itself when the files change.
    #[serde(default = "default_watch_interval")]
    pub watch_interval_secs: u64,
    /// `/ask` defers (Discord shows "thinking...") when an answer takes longer than this many
    /// milliseconds, so the 3-second interaction deadline is never missed. 0: always defer.
    #[serde(default = "default_defer_after_ms")]
    pub defer_after_ms: u64,
    /// Semantic search (sentence embeddings beside BM25). `false`: lexical only, no model.
    #[serde(default = "default_semantic")]
    pub semantic: bool,
    /// Model directory (config.json, tokenizer.json, model.safetensors). Unset: the cache,
    /// fetched on first start (see the README).
    #[serde(default)]
    pub model_dir: Option<PathBuf>,
    /// Where operators scrape `/metrics` and probe `/healthz` and `/readyz`, e.g.
    /// "127.0.0.1:9185" (port 0: any free port). Unset: no listener (the default).
    #[serde(default, deserialize_with = "ip_and_port")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Record questions and feedback votes for the moderators' report (and show the
    /// feedback buttons). `false`: nothing is stored and no database is opened.
    #[serde(default = "default_record_feedback")]
    pub record_feedback: bool,
    /// Where answers and votes are recorded: a SQLite file (a path, or `sqlite:PATH`;
    /// created on first start) or `postgres://user@host/db` for deployments whose shards run
    /// as several processes. A relative path is relative to the config file.
    #[serde(default = "default_database_url")]
    pub database_url: String,
    /// Days answers and votes are kept; older rows are purged hourly.
    #[serde(default = "default_retention_days")]
    pub retention_days: u32,
    /// Records held while the database is slow or down; past this, new ones are dropped
    /// (counted in `careerbot_feedback_dropped_total`).
    #[serde(default = "default_record_queue")]
    pub record_queue: usize,
    /// Guilds whose questions are recorded without their text (counts and passage ids only).
    #[serde(default)]
    pub no_question_text_guilds: Vec<u64>,
    /// The secret voters are hashed with: from `CAREERBOT_VOTER_KEY` (set by `careerbot
    /// serve`), never from the file, like the token.
    #[serde(skip)]
    pub voter_key: Option<Secret>,
    /// Present only to give a clear error: the token belongs in `DISCORD_TOKEN`.
    #[serde(default)]
    token: Option<toml::Value>,
}

/// `metrics_addr`: an IP address and port, with an error that says so (serde's own is
/// "invalid socket address syntax").
fn ip_and_port<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<std::net::SocketAddr>, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map(Some).map_err(|_| {
        serde::de::Error::custom(format!(
            "metrics_addr {text:?} must be an IP address and port, e.g. \"127.0.0.1:9185\" (host names such as localhost are not resolved)"
        ))
    })
}

fn default_record_feedback() -> bool {
    true
}

fn default_database_url() -> String {
    crate::feedback::DEFAULT_DATABASE.to_string()
}

fn default_retention_days() -> u32 {
    crate::feedback::DEFAULT_RETENTION_DAYS
}

fn default_record_queue() -> usize {
    10_000
}

fn default_watch_interval() -> u64 {
    5
}

/// Longest `defer_after_ms` accepted: the deferral itself must still reach Discord within
/// its 3-second deadline.
pub const MAX_DEFER_AFTER_MS: u64 = 2_000;

fn default_defer_after_ms() -> u64 {
    1_000
}

fn default_semantic() -> bool {
    true
}

/// Which shards this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharding {
    /// One process, as many shards as Discord recommends.
    Auto,
    /// Shards `first..=last` of `total`.
    Range { first: u32, last: u32, total: u32 },
}

/// Parses "0-1" / "3" with a total into a shard range, or says what is wrong.
pub fn parse_shards(spec: &str, total: u32) -> Result<Sharding, String> {
    let spec = spec.trim();
    let (a, b) = match spec.split_once('-') {
        Some((a, b)) => (a.trim(), b.trim()),
        None => (spec, spec),
    };
    let first: u32 = a
        .parse()
        .map_err(|_| format!("shards {spec:?} must look like \"0-1\" or \"3\""))?;
    let last: u32 = b
        .parse()
        .map_err(|_| format!("shards {spec:?} must look like \"0-1\" or \"3\""))?;
    if first > last {
        return Err(format!("shards {spec:?}: {first} is after {last}"));
    }
    if total == 0 || last >= total {
        return Err(format!(
            "shards {spec:?} do not fit in total_shards = {total} (shards are numbered 0..{})",
            total.saturating_sub(1)
        ));
    }
    Ok(Sharding::Range { first, last, total })
}

impl Default for Config {
    fn default() -> Self {
        Config {
            guild_ids: Vec::new(),
            moderator_role_ids: Vec::new(),
            knowledge_dir: None,
            default_visibility: Visibility::Public,
            cooldown: CooldownConfig::default(),
            log_format: LogFormat::Pretty,
            http_proxy: None,
            metrics_addr: None,
            shards: None,
            total_shards: None,
            watch_interval_secs: default_watch_interval(),
            defer_after_ms: default_defer_after_ms(),
            semantic: default_semantic(),
            model_dir: None,
            record_feedback: default_record_feedback(),
            database_url: default_database_url(),
            retention_days: default_retention_days(),
            record_queue: default_record_queue(),
            no_question_text_guilds: Vec::new(),
            voter_key: None,
            token: None,
        }
    }
}

/// A configuration file that cannot be used, with `path:line`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: String,
        line: usize,
        message: String,
    },
}

impl Config {
    /// Parses a configuration from TOML text; `path` is used in errors.
    pub fn from_toml(path: &str, text: &str) -> Result<Config, ConfigError> {
        let invalid = |line: usize, message: String| ConfigError::Invalid {
            path: path.to_string(),
            line,
            message,
        };
        let config: Config = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| {
                text[..s.start.min(text.len())].matches('\n').count() + 1
            });
            let message = e
                .message()
                .lines()
                .next()
                .unwrap_or("invalid TOML")
                .to_string();
            invalid(line, message)
        })?;
        if config.token.is_some() {
            let line = text
                .lines()
                .position(|l| l.trim_start().starts_with("token"))
                .map_or(1, |i| i + 1);
            return Err(invalid(
                line,
                "the token is never read from a file: set the DISCORD_TOKEN environment variable"
                    .into(),
            ));
        }
        if config.cooldown.asks == 0 || config.cooldown.per_seconds == 0 {
            return Err(invalid(
                1,
                "cooldown.asks and cooldown.per_seconds must both be at least 1".into(),
            ));
        }
        if let Err(message) = config.sharding() {
            let line = text
                .lines()
                .position(|l| {
                    l.trim_start().starts_with("shards")
                        || l.trim_start().starts_with("total_shards")
                })
                .map_or(1, |i| i + 1);
            return Err(invalid(line, message));
        }
        if config.defer_after_ms > MAX_DEFER_AFTER_MS {
            let line = text
                .lines()
                .position(|l| l.trim_start().starts_with("defer_after_ms"))
                .map_or(1, |i| i + 1);
            return Err(invalid(
                line,
                format!(
                    "defer_after_ms must be at most {MAX_DEFER_AFTER_MS}: Discord drops an interaction not acknowledged within 3 seconds"
                ),
            ));
        }
        let line_of = |key: &str| {
            text.lines()
                .position(|l| l.trim_start().starts_with(key))
                .map_or(1, |i| i + 1)
        };
        if let Err(e) = crate::feedback::store::Location::parse(&config.database_url) {
            return Err(invalid(line_of("database_url"), e.to_string()));
        }
        if config.retention_days == 0 {
            return Err(invalid(
                line_of("retention_days"),
                "retention_days must be at least 1".into(),
            ));
        }
        if config.record_queue == 0 {
            return Err(invalid(
                line_of("record_queue"),
                "record_queue must be at least 1".into(),
            ));
        }
        if let Some(url) = &config.http_proxy {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(invalid(
                    1,
                    format!("http_proxy {url:?} must start with http:// or https://"),
                ));
            }
        }
        Ok(config)
    }

    /// Reads and parses a configuration file. Relative paths in it (`knowledge_dir`,
    /// `model_dir`, a SQLite `database_url`) are relative to the file's folder, not to wherever the bot was started:
    /// the config means the same thing from any working directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: display.clone(),
            source,
        })?;
        let mut config = Config::from_toml(&display, &text)?;
        let folder = path.parent().unwrap_or(Path::new(""));
        for dir in [&mut config.knowledge_dir, &mut config.model_dir]
            .into_iter()
            .flatten()
        {
            if dir.is_relative() {
                *dir = folder.join(&*dir);
            }
        }
        if let Ok(crate::feedback::store::Location::Sqlite(file)) =
            crate::feedback::store::Location::parse(&config.database_url)
        {
            if file.is_relative() {
                config.database_url = folder.join(file).to_string_lossy().into_owned();
            }
        }
        Ok(config)
    }

    /// The shards this process runs.
    pub fn sharding(&self) -> Result<Sharding, String> {
        match (&self.shards, self.total_shards) {
            (None, None) => Ok(Sharding::Auto),
            (Some(spec), Some(total)) => parse_shards(spec, total),
            (Some(_), None) => {
                Err("shards needs total_shards (the count across all processes)".into())
            }
            (None, Some(total)) => parse_shards(&format!("0-{}", total.saturating_sub(1)), total),
        }
    }

    /// How often to look for changed knowledge files; `None` when watching is off.
    pub fn watch_interval(&self) -> Option<Duration> {
        (self.watch_interval_secs > 0).then(|| Duration::from_secs(self.watch_interval_secs))
    }

    /// How long `/ask` waits for the engine before deferring.
    pub fn defer_after(&self) -> Duration {
        Duration::from_millis(self.defer_after_ms)
    }

    /// How long feedback is kept.
    pub fn retention(&self) -> Duration {
        Duration::from_secs(u64::from(self.retention_days) * 86_400)
    }

    /// The refill period of one `/ask` token.
    pub fn cooldown_period(&self) -> Duration {
        let window = Duration::from_secs(self.cooldown.per_seconds);
        window / self.cooldown.asks.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defer_after_ms_must_leave_time_for_the_deferral() {
        let err = Config::from_toml("c.toml", "watch_interval_secs = 5\ndefer_after_ms = 2500\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("c.toml:2: defer_after_ms must be at most 2000"),
            "{err}"
        );
        let ok = Config::from_toml("c.toml", "defer_after_ms = 0\nsemantic = false\n").unwrap();
        assert_eq!(ok.defer_after(), Duration::ZERO);
        assert!(!ok.semantic);
        assert!(
            Config::default().semantic,
            "semantic search is on by default"
        );
    }

    #[test]
    fn the_example_config_parses() {
        let text = include_str!("../../config.example.toml");
        let c = Config::from_toml("config.example.toml", text).unwrap();
        assert_eq!(
            c.cooldown,
            CooldownConfig {
                asks: 5,
                per_seconds: 30
            }
        );
        assert_eq!(c.cooldown_period(), Duration::from_secs(6));
    }

    #[test]
    fn empty_config_is_all_defaults() {
        assert_eq!(Config::from_toml("c.toml", "").unwrap(), Config::default());
    }

    #[test]
    fn full_config_from_literal() {
        let c = Config::from_toml(
            "c.toml",
            r#"
guild_ids = [1, 2]
moderator_role_ids = [99]
knowledge_dir = "kb"
default_visibility = "private"
log_format = "json"
http_proxy = "http://127.0.0.1:3000"
metrics_addr = "127.0.0.1:9185"
database_url = "postgres://careerbot@db.internal/careerbot"
retention_days = 30
record_queue = 500
no_question_text_guilds = [7]
[cooldown]
asks = 2
per_seconds = 10
"#,
        )
        .unwrap();
        assert_eq!(c.database_url, "postgres://careerbot@db.internal/careerbot");
        assert_eq!(c.retention(), Duration::from_secs(30 * 86_400));
        assert_eq!(
            (c.record_queue, &c.no_question_text_guilds[..]),
            (500, &[7][..])
        );
        assert_eq!(c.guild_ids, [1, 2]);
        assert_eq!(c.default_visibility, Visibility::Private);
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.knowledge_dir.as_deref(), Some(Path::new("kb")));
        assert_eq!(c.cooldown_period(), Duration::from_secs(5));
        assert_eq!(c.metrics_addr, Some(([127, 0, 0, 1], 9185).into()));
    }

    /// A relative `knowledge_dir` is read from the config file's folder, whatever the
    /// working directory is.
    #[test]
    fn relative_paths_are_relative_to_the_config_file() {
        let folder = std::env::temp_dir().join(format!("careerbot-config-{}", std::process::id()));
        std::fs::create_dir_all(&folder).unwrap();
        let path = folder.join("careerbot.toml");
        std::fs::write(
            &path,
            "knowledge_dir = \"kb\"\nmodel_dir = \"/opt/model\"\ndatabase_url = \"sqlite:data/f.db\"\n",
        )
        .unwrap();
        let c = Config::load(&path).unwrap();
        let _ = std::fs::remove_dir_all(&folder);
        assert_eq!(c.knowledge_dir, Some(folder.join("kb")));
        assert_eq!(
            c.database_url,
            folder.join("data/f.db").to_string_lossy().into_owned()
        );
        assert_eq!(
            c.model_dir.as_deref(),
            Some(Path::new("/opt/model")),
            "absolute stays"
        );
    }

    #[test]
    fn unknown_keys_name_key_and_line() {
        let err = Config::from_toml("c.toml", "guild_ids = []\nguild_idz = [1]\n").unwrap_err();
        let shown = err.to_string();
        assert!(shown.starts_with("c.toml:2:"), "{shown}");
        assert!(shown.contains("guild_idz"), "{shown}");
        let err = Config::from_toml("c.toml", "[cooldown]\nasks = 1\nper_second = 3\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("per_second"), "{err}");
    }

    #[test]
    fn token_in_file_is_refused() {
        let err = Config::from_toml("c.toml", "\ntoken = \"abc\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("c.toml:2:") && err.contains("DISCORD_TOKEN"),
            "{err}"
        );
        assert!(!err.contains("abc"), "the token is never echoed: {err}");
    }

    #[test]
    fn shard_ranges() {
        assert_eq!(Config::default().sharding(), Ok(Sharding::Auto));
        let c = Config::from_toml("c", "shards = \"0-1\"\ntotal_shards = 4").unwrap();
        assert_eq!(
            c.sharding(),
            Ok(Sharding::Range {
                first: 0,
                last: 1,
                total: 4
            })
        );
        assert_eq!(
            parse_shards("3", 4),
            Ok(Sharding::Range {
                first: 3,
                last: 3,
                total: 4
            })
        );
        let err = Config::from_toml("c", "total_shards = 2\nshards = \"1-2\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("c:1:") && err.contains("do not fit"),
            "{err}"
        );
        assert!(Config::from_toml("c", "shards = \"0\"")
            .unwrap_err()
            .to_string()
            .contains("total_shards"));
        assert!(parse_shards("2-1", 4).is_err());
        assert!(parse_shards("x", 4).is_err());
    }

    #[test]
    fn bad_values_are_explained() {
        assert!(Config::from_toml("c", "default_visibility = \"secret\"").is_err());
        assert!(Config::from_toml("c", "http_proxy = \"127.0.0.1\"").is_err());
        assert!(Config::from_toml("c", "[cooldown]\nasks = 0\nper_seconds = 1").is_err());
        let bad_addr = Config::from_toml("c", "metrics_addr = \"localhost\"").unwrap_err();
        assert!(bad_addr.to_string().contains("metrics_addr"), "{bad_addr}");
        let bad_db = Config::from_toml("c", "semantic = true\ndatabase_url = \"mysql://x\"")
            .unwrap_err()
            .to_string();
        assert!(bad_db.starts_with("c:2: database_url"), "{bad_db}");
        let bad_days = Config::from_toml("c", "retention_days = 0").unwrap_err();
        assert!(
            bad_days.to_string().starts_with("c:1: retention_days"),
            "{bad_days}"
        );
    }
}
