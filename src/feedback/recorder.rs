//! The bounded queue between the answer path and the database, and the background jobs that
//! empty it and purge old rows.
//!
//! [`Recorder::record`] never waits and never fails: an answer goes out whatever the
//! database is doing. A writer task takes records in batches and writes each batch in one
//! transaction; when the database is slow or down it retries the same batch with backoff
//! (writes are idempotent, see [`super::store`]) while new records wait in the queue. Past
//! the queue's capacity a record is dropped, counted (`careerbot_feedback_dropped_total`)
//! and logged; at most `capacity` records plus one batch are ever held in memory.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prometheus::{IntCounter, IntGauge};
use tokio::sync::{mpsc, Notify};

use super::store::Location;
use super::{Record, Store};

/// Records written per transaction at most.
const BATCH: usize = 256;
/// How long the writer waits after a first record for others to join its batch.
const LINGER: Duration = Duration::from_millis(50);
/// First and longest wait between attempts at a failing batch.
const FIRST_RETRY: Duration = Duration::from_millis(100);
const LONGEST_RETRY: Duration = Duration::from_secs(2);

/// Counters the recorder keeps (registered with the bot's metrics).
#[derive(Clone)]
pub struct RecorderCounters {
    pub written: IntCounter,
    pub dropped: IntCounter,
    pub write_failures: IntCounter,
    /// Records accepted but not yet written.
    pub unwritten: IntGauge,
}

impl RecorderCounters {
    /// Counters not exported anywhere (the CLI, benchmarks, tests).
    pub fn detached() -> RecorderCounters {
        // Static, valid metric names: construction cannot fail.
        let counter = |name: &str| IntCounter::new(name, name).expect("a valid metric name");
        RecorderCounters {
            written: counter("written"),
            dropped: counter("dropped"),
            write_failures: counter("write_failures"),
            unwritten: IntGauge::new("unwritten", "unwritten").expect("a valid metric name"),
        }
    }
}

/// The sending side: cheap to clone, shared by every shard of a process.
#[derive(Clone)]
pub struct Recorder {
    queue: mpsc::Sender<Record>,
    shared: Arc<Shared>,
}

struct Shared {
    counters: RecorderCounters,
    /// The database, once connected.
    store: std::sync::OnceLock<Store>,
    /// Accepted and not yet written (queued or in the batch being written).
    unwritten: AtomicUsize,
    written: Notify,
    /// Signalled once the store is connected.
    connected: Notify,
    /// Whether drops since the last successful write were logged already (one line per
    /// outage, not one per record).
    drop_logged: std::sync::atomic::AtomicBool,
}

impl Recorder {
    /// Starts the writer task on the current runtime; it runs until every `Recorder` clone
    /// is dropped and the queue is empty. Without an `opened` store (a database that was
    /// down at start) the writer connects to `location` first, retrying, while records queue.
    pub fn start(
        location: Location,
        opened: Option<Store>,
        capacity: usize,
        counters: RecorderCounters,
    ) -> Recorder {
        let (queue, rx) = mpsc::channel(capacity.max(1));
        let shared = Arc::new(Shared {
            counters,
            store: std::sync::OnceLock::new(),
            unwritten: AtomicUsize::new(0),
            written: Notify::new(),
            connected: Notify::new(),
            drop_logged: std::sync::atomic::AtomicBool::new(false),
        });
        if let Some(store) = &opened {
            let _ = shared.store.set(store.clone());
        }
        let writer = Arc::clone(&shared);
        tokio::spawn(async move {
            let store = match opened {
                Some(store) => store,
                None => {
                    let store = connect(&location).await;
                    let _ = writer.store.set(store.clone());
                    writer.connected.notify_waiters();
                    store
                }
            };
            write_batches(store, rx, writer).await;
        });
        Recorder { queue, shared }
    }

    /// The database, waiting until it is connected.
    pub async fn connected_store(&self) -> Store {
        loop {
            let connected = self.shared.connected.notified();
            if let Some(store) = self.store() {
                return store;
            }
            connected.await;
        }
    }

    /// Records dropped so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.shared.counters.dropped.get()
    }

    /// The database, once connected.
    pub fn store(&self) -> Option<Store> {
        self.shared.store.get().cloned()
    }

    /// Queues a record; never waits. A full queue drops it (counted and logged).
    pub fn record(&self, record: Record) {
        // Counted before it can be written, so the writer's decrement never comes first.
        self.shared.unwritten.fetch_add(1, Ordering::SeqCst);
        self.shared.counters.unwritten.inc();
        if let Err(e) = self.queue.try_send(record) {
            self.shared.unwritten.fetch_sub(1, Ordering::SeqCst);
            self.shared.counters.unwritten.dec();
            let why = match e {
                mpsc::error::TrySendError::Full(_) => "queue full (database slow or down)",
                mpsc::error::TrySendError::Closed(_) => "the writer stopped",
            };
            self.shared.drop_record(why);
        }
    }

    /// Records accepted but not yet in the database.
    pub fn unwritten(&self) -> usize {
        self.shared.unwritten.load(Ordering::SeqCst)
    }

    /// Waits until everything accepted so far is written, or `within` passes; returns how
    /// many records are still unwritten (a clean shutdown calls this).
    pub async fn flush(&self, within: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let written = self.shared.written.notified();
            let left = self.unwritten();
            if left == 0 {
                return 0;
            }
            if tokio::time::timeout_at(deadline, written).await.is_err() {
                return self.unwritten();
            }
        }
    }
}

/// Attempts at something that fails while the database is down: the wait before the next
/// try (doubling up to [`LONGEST_RETRY`]) and whether this failure is worth a log line (the
/// first of an outage, then about every half minute).
struct Retry {
    wait: Duration,
    failures: u32,
}

impl Retry {
    fn new() -> Retry {
        Retry {
            wait: FIRST_RETRY,
            failures: 0,
        }
    }

    /// Counts a failure; true when it should be logged.
    fn failed(&mut self) -> bool {
        self.failures += 1;
        self.failures == 1 || self.failures.is_multiple_of(15)
    }

    async fn pause(&mut self) {
        tokio::time::sleep(self.wait).await;
        self.wait = (self.wait * 2).min(LONGEST_RETRY);
    }
}

impl Shared {
    /// Counts a lost record; logs the first of each outage (every drop is counted).
    fn drop_record(&self, why: &str) {
        self.counters.dropped.inc();
        if !self.drop_logged.swap(true, Ordering::SeqCst) {
            tracing::warn!(
                dropped_total = self.counters.dropped.get(),
                "feedback record dropped: {why}; further drops are counted in careerbot_feedback_dropped_total until a write succeeds"
            );
        }
    }
}

/// Opens the store, retrying until it can.
async fn connect(location: &Location) -> Store {
    let mut retry = Retry::new();
    loop {
        match Store::open(location, true).await {
            Ok(store) => {
                tracing::info!(database = %location.describe(), "feedback database connected");
                return store;
            }
            Err(e) => {
                if retry.failed() {
                    tracing::warn!(error = %e, database = %location.describe(), attempt = retry.failures, "feedback database unavailable; answers go out, records wait");
                }
                retry.pause().await;
            }
        }
    }
}

/// The writer: batches from the queue, each retried until the database takes it.
async fn write_batches(store: Store, mut rx: mpsc::Receiver<Record>, shared: Arc<Shared>) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        // Let a busy moment's records gather into one transaction: one commit for many
        // answers costs the database (and the CPU the answers need) far less than one each.
        tokio::time::sleep(LINGER).await;
        let room = BATCH - batch.len().min(BATCH);
        if room > 0 && !rx.is_empty() {
            rx.recv_many(&mut batch, room).await;
        }
        let mut retry = Retry::new();
        let mut refused = 0;
        loop {
            match store.write(&batch).await {
                Ok(()) => break,
                Err(e) if e.is_transient() => {
                    shared.counters.write_failures.inc();
                    if retry.failed() {
                        tracing::warn!(error = %e, records = batch.len(), queued = rx.len(), attempt = retry.failures, "feedback not written yet; retrying");
                    }
                    retry.pause().await;
                }
                Err(e) => {
                    // Not the database's state but something in the batch: write the records
                    // one by one and drop only those refused, so one bad record cannot stop
                    // recording for good.
                    shared.counters.write_failures.inc();
                    tracing::warn!(error = %e, records = batch.len(), "feedback batch refused; writing its records one by one");
                    refused = write_one_by_one(&store, &batch, &shared).await;
                    break;
                }
            }
        }
        if retry.failures > 0 {
            tracing::info!(
                attempts = retry.failures + 1,
                "feedback database back: queued records written"
            );
        }
        shared.drop_logged.store(false, Ordering::SeqCst);
        let n = batch.len();
        batch.clear();
        shared.counters.written.inc_by((n - refused) as u64);
        shared.counters.unwritten.sub(n as i64);
        shared.unwritten.fetch_sub(n, Ordering::SeqCst);
        shared.written.notify_waiters();
    }
}

/// Writes each record of a refused batch alone; those refused again are dropped (counted).
/// Returns how many were dropped.
async fn write_one_by_one(store: &Store, batch: &[Record], shared: &Shared) -> usize {
    let mut refused = 0;
    for record in batch {
        let mut retry = Retry::new();
        loop {
            match store.write(std::slice::from_ref(record)).await {
                Ok(()) => break,
                Err(e) if e.is_transient() => retry.pause().await,
                Err(e) => {
                    tracing::warn!(error = %e, "feedback record refused by the database; dropped");
                    shared.drop_record("refused by the database");
                    refused += 1;
                    break;
                }
            }
        }
    }
    refused
}

/// Deletes rows older than `retention` now and then every `every`, forever (skipping ticks
/// while the recorder has no database yet).
pub async fn purge_periodically(recorder: Recorder, retention: Duration, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let store = recorder.connected_store().await;
    loop {
        tick.tick().await;
        let cutoff = super::now_ms() - i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
        match store.purge(cutoff).await {
            Ok(0) => tracing::debug!("feedback purge: nothing past retention"),
            Ok(rows) => tracing::info!(rows, "feedback purge: rows past retention deleted"),
            Err(e) => {
                tracing::warn!(error = %e, "feedback purge failed; next try at the next tick")
            }
        }
    }
}
