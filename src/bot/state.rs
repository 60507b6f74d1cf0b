//! What the bot serves: the current knowledge generation behind an atomic pointer, reloads
//! that validate before they swap, and the per-user `/ask` rate limit.
//!
//! Why an `ArcSwap`: every interaction takes a snapshot (`current()`) and answers wholly
//! from it, while a reload builds the next generation off to the side and swaps it in with
//! one pointer store. A reader never sees half a base, and a failed reload changes nothing.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::chart::{ChartCache, ChartError, ChartKind, Drawn};
use crate::knowledge::{read_dir, DirFiles, KnowledgeBase, LoadError, Problem};
use crate::search::{Engine, SearchError, SemanticModel};

/// One loaded, indexed knowledge base.
#[derive(Debug)]
pub struct Generation {
    pub engine: Engine,
    /// 1 for the base loaded at start, +1 for each successful reload.
    pub number: u64,
    /// How long load + validate + index took.
    pub took: Duration,
    /// The charts drawn from this generation's tables, each drawn once.
    charts: ChartCache,
}

impl Generation {
    /// Content hash of the knowledge files this generation was built from.
    pub fn content_hash(&self) -> &str {
        &self.engine.knowledge().content_hash
    }

    /// Chart `kind` of this generation: from the cache, or drawn now (`fresh`).
    pub fn chart(&self, kind: ChartKind) -> Result<Drawn, ChartError> {
        self.charts.get(self.engine.knowledge(), kind)
    }
}

/// Why a knowledge base could not become a generation.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Invalid(#[from] LoadError),
    #[error(transparent)]
    Index(#[from] SearchError),
}

impl BuildError {
    /// Problems to show a moderator, as `path:line: message`.
    pub fn problems(&self, dir: &Path) -> Vec<Problem> {
        match self {
            BuildError::Invalid(e) => e.problems.clone(),
            BuildError::Index(e) => vec![Problem {
                path: dir.display().to_string(),
                line: 1,
                message: e.to_string(),
            }],
        }
    }
}

/// The outcome of a reload, for the moderator who asked.
#[derive(Debug, Clone, PartialEq)]
pub enum ReloadOutcome {
    Reloaded {
        generation: u64,
        passages: usize,
        took: Duration,
        content_hash: String,
        /// What the moderator should hear of though it is served (a missing table file).
        warnings: Vec<Problem>,
    },
    Failed {
        problems: Vec<Problem>,
        still_serving: u64,
    },
}

/// The served knowledge base and how to reload it.
pub struct Served {
    dir: PathBuf,
    /// The sentence-embedding model every generation uses (loaded once per process and
    /// shared by every shard); `None`: lexical only.
    model: Option<Arc<SemanticModel>>,
    current: ArcSwap<Generation>,
    /// Serializes reloads so generation numbers stay in order.
    reload_lock: std::sync::Mutex<()>,
}

impl std::fmt::Debug for Served {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Served")
            .field("dir", &self.dir)
            .field("generation", &self.current().number)
            .finish()
    }
}

/// Builds generation `number` from files already read (so its content hash is the hash of
/// exactly what was indexed).
fn build(
    read: DirFiles,
    model: Option<&Arc<SemanticModel>>,
    number: u64,
) -> Result<Generation, BuildError> {
    let started = Instant::now();
    let kb = KnowledgeBase::from_dir_files(read)?;
    let problems = super::discord::knowledge_problems(&kb);
    if !problems.is_empty() {
        return Err(BuildError::Invalid(LoadError { problems }));
    }
    let engine = Engine::build_with(kb, model)?;
    Ok(Generation {
        engine,
        number,
        took: started.elapsed(),
        charts: ChartCache::default(),
    })
}

impl Served {
    /// Loads generation 1 from `dir`, lexical only.
    pub fn load(dir: &Path) -> Result<Served, BuildError> {
        Served::load_with(dir, None)
    }

    /// Loads generation 1 from `dir`, hybrid when a model is given.
    pub fn load_with(dir: &Path, model: Option<Arc<SemanticModel>>) -> Result<Served, BuildError> {
        let first = build(read_dir(dir)?, model.as_ref(), 1)?;
        Ok(Served {
            dir: dir.to_path_buf(),
            model,
            current: ArcSwap::from_pointee(first),
            reload_lock: std::sync::Mutex::new(()),
        })
    }

    /// The sentence-embedding model, when semantic search is on.
    pub fn model(&self) -> Option<Arc<SemanticModel>> {
        self.model.clone()
    }

    /// The knowledge directory reloads read.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A snapshot of the generation being served; answer a whole request from it.
    pub fn current(&self) -> Arc<Generation> {
        self.current.load_full()
    }

    /// Loads, validates and indexes the directory again; swaps it in only if all of that
    /// succeeded. Blocking (file IO and indexing): call it from a blocking task.
    pub fn reload(&self) -> ReloadOutcome {
        match read_dir(&self.dir) {
            Ok(read) => self.reload_from(read),
            Err(e) => ReloadOutcome::Failed {
                problems: e.problems,
                still_serving: self.current().number,
            },
        }
    }

    /// [`Served::reload`] from files already read.
    fn reload_from(&self, read: DirFiles) -> ReloadOutcome {
        // A poisoned lock only means an earlier reload panicked; the data it guards is ().
        let _guard = self
            .reload_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let still_serving = self.current().number;
        match build(read, self.model.as_ref(), still_serving + 1) {
            Ok(next) => {
                let outcome = ReloadOutcome::Reloaded {
                    generation: next.number,
                    passages: next.engine.knowledge().passages.len(),
                    took: next.took,
                    content_hash: next.content_hash().to_string(),
                    warnings: next.engine.knowledge().warnings.clone(),
                };
                self.current.store(Arc::new(next));
                outcome
            }
            Err(e) => ReloadOutcome::Failed {
                problems: e.problems(&self.dir),
                still_serving,
            },
        }
    }
}

/// What one look at the knowledge directory found.
#[derive(Debug, Clone, PartialEq)]
pub enum DiskCheck {
    /// The files are the ones being served.
    Unchanged,
    /// The files changed and the new base is now served.
    Reloaded(ReloadOutcome),
    /// The files changed into a broken base (reported once per distinct content).
    Broken(ReloadOutcome),
    /// The same broken content as last time: nothing new to report.
    StillBroken,
}

impl Served {
    /// Reloads when the files on disk differ from the served generation (by content hash),
    /// with the same validation and swap as [`Served::reload`]. `last_broken` remembers the
    /// content of the last broken edit so it is reported once, not on every look. Blocking.
    pub fn check_disk(&self, last_broken: &mut Option<String>) -> DiskCheck {
        match read_dir(&self.dir) {
            Ok(read) => self.check_files(read, last_broken),
            Err(e) => {
                let key = e.to_string();
                if last_broken.as_deref() == Some(key.as_str()) {
                    return DiskCheck::StillBroken;
                }
                *last_broken = Some(key);
                DiskCheck::Broken(ReloadOutcome::Failed {
                    problems: e.problems,
                    still_serving: self.current().number,
                })
            }
        }
    }

    /// [`Served::check_disk`] on files already read. The files hashed are the files built:
    /// hashing one read and building from another could remember a good content as broken
    /// (if the files changed in between), and a later revert to it would never be picked up.
    pub fn check_files(&self, read: DirFiles, last_broken: &mut Option<String>) -> DiskCheck {
        let mut key = read.content_hash();
        for p in &read.problems {
            key.push_str(&format!("\n{p}"));
        }
        if read.problems.is_empty() && key == self.current().content_hash() {
            *last_broken = None;
            return DiskCheck::Unchanged;
        }
        if last_broken.as_deref() == Some(key.as_str()) {
            return DiskCheck::StillBroken;
        }
        match self.reload_from(read) {
            outcome @ ReloadOutcome::Reloaded { .. } => {
                *last_broken = None;
                DiskCheck::Reloaded(outcome)
            }
            outcome @ ReloadOutcome::Failed { .. } => {
                *last_broken = Some(key);
                DiskCheck::Broken(outcome)
            }
        }
    }
}

/// Per-user rate limit for `/ask` (governor's keyed GCRA limiter: `asks` per window,
/// refilled evenly, so a user who waits a little gets a question back).
///
/// Memory: governor keeps a state per key until told to forget it. Every
/// [`AskLimiter::PURGE_EVERY`] checks the limiter forgets users whose allowance has fully
/// refilled (they are indistinguishable from someone who never asked), so it holds only
/// the users who asked within the last refill window, not everyone who ever asked.
pub struct AskLimiter<C: Clock = DefaultClock> {
    limiter: RateLimiter<u64, DefaultKeyedStateStore<u64>, C, NoOpMiddleware<C::Instant>>,
    clock: C,
    checks: AtomicU64,
}

impl<C: Clock> std::fmt::Debug for AskLimiter<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AskLimiter")
    }
}

impl AskLimiter {
    /// `burst` asks, one more every `period`.
    pub fn new(burst: u32, period: Duration) -> AskLimiter {
        AskLimiter::with_clock(burst, period, DefaultClock::default())
    }
}

impl<C: Clock + Clone> AskLimiter<C> {
    /// How often (in checks) users with a refilled allowance are forgotten: often enough
    /// to bound memory, rare enough that the O(users) sweep costs nothing per ask.
    pub const PURGE_EVERY: u64 = 1024;

    /// [`AskLimiter::new`] on a given clock (tests use governor's fake clock).
    pub fn with_clock(burst: u32, period: Duration, clock: C) -> AskLimiter<C> {
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period.max(Duration::from_millis(1)))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        AskLimiter {
            limiter: RateLimiter::new(quota, DefaultKeyedStateStore::default(), clock.clone()),
            clock,
            checks: AtomicU64::new(0),
        }
    }

    /// `Ok` if `user` may ask now (and counts the ask); else how long until they may.
    pub fn check(&self, user: u64) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % Self::PURGE_EVERY == Self::PURGE_EVERY - 1
        {
            self.forget_idle();
        }
        match self.limiter.check_key(&user) {
            Ok(()) => Ok(()),
            Err(not_until) => Err(not_until.wait_time_from(self.clock.now())),
        }
    }

    /// Forgets every user whose allowance has fully refilled; returns how many remain.
    pub fn forget_idle(&self) -> usize {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
        self.limiter.len()
    }

    /// How many users the limiter holds state for.
    pub fn remembered(&self) -> usize {
        self.limiter.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_allows_a_burst_then_says_when() {
        let l = AskLimiter::new(2, Duration::from_secs(10));
        assert!(l.check(1).is_ok());
        assert!(l.check(1).is_ok());
        let wait = l.check(1).unwrap_err();
        assert!(
            wait > Duration::from_secs(8) && wait <= Duration::from_secs(10),
            "{wait:?}"
        );
        assert!(l.check(2).is_ok(), "other users are not affected");
    }

    /// Every distinct user used to stay in memory for good; now the limiter forgets users
    /// whose allowance has refilled, on its own, as asks keep coming.
    #[test]
    fn limiter_forgets_users_who_went_quiet() {
        let clock = governor::clock::FakeRelativeClock::default();
        let l = AskLimiter::with_clock(2, Duration::from_secs(10), clock.clone());
        for user in 0..5_000 {
            assert!(l.check(user).is_ok());
        }
        assert_eq!(l.remembered(), 5_000, "everyone asked within the window");
        // Long enough for every allowance to refill (2 asks x 10 s).
        clock.advance(Duration::from_secs(25));
        let before = l.remembered();
        let next_purge = AskLimiter::<governor::clock::FakeRelativeClock>::PURGE_EVERY
            - 5_000 % AskLimiter::<governor::clock::FakeRelativeClock>::PURGE_EVERY;
        for _ in 0..next_purge {
            let _ = l.check(1);
        }
        assert_eq!(before, 5_000);
        assert!(l.remembered() <= 1, "left: {}", l.remembered());
        // A user who was forgotten starts afresh, as if they had never asked.
        assert!(l.check(42).is_ok() && l.check(42).is_ok());
    }

    fn write_base(dir: &Path, section: &str) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(
            dir.join("a.md"),
            format!(
                "+++\nid = \"a\"\ntitle = \"A\"\n+++\n## {section}\nSome text about {section}.\n"
            ),
        )
        .unwrap();
    }

    /// A fresh one-section base ("Kubernetes") in a temporary directory, served.
    fn served_base(test: &str) -> (PathBuf, Served) {
        let dir = std::env::temp_dir().join(format!("careerbot-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        write_base(&dir, "Kubernetes");
        let served = Served::load(&dir).unwrap();
        (dir, served)
    }

    #[test]
    fn failed_reload_keeps_serving_the_old_generation() {
        let dir = std::env::temp_dir().join(format!("careerbot-state-{}", std::process::id()));
        write_base(&dir, "Kubernetes");
        let served = Served::load(&dir).unwrap();
        assert_eq!(served.current().number, 1);

        std::fs::write(dir.join("b.md"), "no front matter").unwrap();
        match served.reload() {
            ReloadOutcome::Failed {
                problems,
                still_serving,
            } => {
                assert_eq!(still_serving, 1);
                assert!(problems[0].to_string().contains("b.md:1:"), "{problems:?}");
            }
            other => panic!("expected failure, got {other:?}"),
        }
        assert_eq!(served.current().number, 1);
        assert!(served.current().engine.ask("kubernetes", 1).answered);

        std::fs::remove_file(dir.join("b.md")).unwrap();
        write_base(&dir, "Terraform");
        match served.reload() {
            ReloadOutcome::Reloaded {
                generation,
                passages,
                ..
            } => {
                assert_eq!((generation, passages), (2, 1));
            }
            other => panic!("expected success, got {other:?}"),
        }
        assert!(served.current().engine.ask("terraform", 1).answered);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn disk_checks_reload_changes_and_report_broken_edits_once() {
        let (dir, served) = served_base("watch");
        let mut last_broken = None;
        assert_eq!(served.check_disk(&mut last_broken), DiskCheck::Unchanged);

        write_base(&dir, "Terraform");
        assert!(matches!(
            served.check_disk(&mut last_broken),
            DiskCheck::Reloaded(_)
        ));
        assert_eq!(served.current().number, 2);
        assert_eq!(served.check_disk(&mut last_broken), DiskCheck::Unchanged);

        std::fs::write(dir.join("b.md"), "broken").unwrap();
        assert!(matches!(
            served.check_disk(&mut last_broken),
            DiskCheck::Broken(_)
        ));
        assert_eq!(served.check_disk(&mut last_broken), DiskCheck::StillBroken);
        assert_eq!(served.check_disk(&mut last_broken), DiskCheck::StillBroken);
        assert_eq!(served.current().number, 2, "a broken edit is never served");

        std::fs::write(dir.join("b.md"), "still broken, differently").unwrap();
        assert!(matches!(
            served.check_disk(&mut last_broken),
            DiskCheck::Broken(_)
        ));

        std::fs::remove_file(dir.join("b.md")).unwrap();
        assert_eq!(served.check_disk(&mut last_broken), DiskCheck::Unchanged);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Issue: the watcher hashed the files, then the reload read them again. A save landing
    /// in between made it remember the good content as broken, so reverting to it was never
    /// picked up. Now the content hashed is the content built.
    #[test]
    fn the_watcher_builds_exactly_what_it_hashed() {
        let (dir, served) = served_base("race");
        write_base(&dir, "Terraform");
        let good = read_dir(&dir).unwrap();
        let good_hash = good.content_hash();
        // A broken save lands after the look but before the build.
        std::fs::write(dir.join("b.md"), "broken").unwrap();
        let mut last_broken = None;
        match served.check_files(good, &mut last_broken) {
            DiskCheck::Reloaded(ReloadOutcome::Reloaded { content_hash, .. }) => {
                assert_eq!(content_hash, good_hash)
            }
            other => panic!("the good content read must be served, got {other:?}"),
        }
        assert_eq!(last_broken, None, "nothing good is remembered as broken");
        assert!(served.current().engine.ask("terraform", 1).answered);
        // The broken save is seen on the next look, and reverting it is picked up.
        assert!(matches!(
            served.check_disk(&mut last_broken),
            DiskCheck::Broken(_)
        ));
        std::fs::remove_file(dir.join("b.md")).unwrap();
        assert_eq!(served.check_disk(&mut last_broken), DiskCheck::Unchanged);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
