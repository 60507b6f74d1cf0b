//! What the bot counts for its operators: one [`Metrics`] per bot, each with its own
//! prometheus registry (so two bots in one process, as in the tests, never mix counts), and
//! the Prometheus text the `/metrics` endpoint serves.
//!
//! Guilds are counted, never used as labels: a guild id identifies a community, and a label
//! per guild would make the series grow with the bot's reach. Questions are never labels.

use std::sync::Mutex;
use std::time::Duration;

use poise::serenity_prelude as serenity;
use prometheus::{
    Encoder as _, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use super::state::Served;

/// Buckets for latencies, in seconds: from a cached lookup (well under a millisecond) to a
/// deferred first answer (seconds).
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The bot's counters, gauges and histograms.
pub struct Metrics {
    registry: Registry,
    pub asked: IntCounter,
    pub answered: IntCounter,
    pub refused: IntCounter,
    pub guilds: IntGauge,
    lookups: IntCounterVec,
    reloads: IntCounterVec,
    generation: IntGaugeVec,
    /// The content hash currently used as the generation gauge's label.
    generation_label: Mutex<Option<String>>,
    passages: IntGauge,
    pub cooldown_hits: IntCounter,
    discord_errors: IntCounterVec,
    pub rate_limit_waits: IntCounter,
    pub ask_seconds: Histogram,
    pub callback_seconds: Histogram,
    pub charts_drawn: IntCounter,
    /// Feedback button clicks, by verdict.
    pub votes: IntCounterVec,
    /// The feedback recorder's own counters.
    pub feedback: crate::feedback::RecorderCounters,
}

/// A lookup command, as the `command` label of `careerbot_lookups_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    Skills,
    Salary,
    Timeline,
}

impl Lookup {
    fn label(self) -> &'static str {
        match self {
            Lookup::Skills => "skills",
            Lookup::Salary => "salary",
            Lookup::Timeline => "timeline",
        }
    }
}

fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    let c = IntCounter::new(name, help).expect("a valid metric name");
    registry
        .register(Box::new(c.clone()))
        .expect("each metric registered once");
    c
}

fn counter_vec(registry: &Registry, name: &str, help: &str, label: &str) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), &[label]).expect("a valid metric name");
    registry
        .register(Box::new(c.clone()))
        .expect("each metric registered once");
    c
}

fn gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    let g = IntGauge::new(name, help).expect("a valid metric name");
    registry
        .register(Box::new(g.clone()))
        .expect("each metric registered once");
    g
}

fn histogram(registry: &Registry, name: &str, help: &str) -> Histogram {
    let opts = HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec());
    let h = Histogram::with_opts(opts).expect("a valid metric name");
    registry
        .register(Box::new(h.clone()))
        .expect("each metric registered once");
    h
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A fresh set, all zero. The names and helps are constants: registering cannot fail.
    pub fn new() -> Metrics {
        let r = Registry::new();
        let generation = IntGaugeVec::new(
            Opts::new(
                "careerbot_knowledge_generation",
                "The served knowledge generation (1 at start, +1 per reload), labelled with its content hash",
            ),
            &["content_hash"],
        )
        .expect("a valid metric name");
        r.register(Box::new(generation.clone()))
            .expect("each metric registered once");
        Metrics {
            asked: counter(
                &r,
                "careerbot_questions_asked_total",
                "/ask questions that reached the engine",
            ),
            answered: counter(
                &r,
                "careerbot_questions_answered_total",
                "/ask questions answered from the base",
            ),
            refused: counter(
                &r,
                "careerbot_questions_refused_total",
                "/ask questions the base has no answer for",
            ),
            guilds: gauge(
                &r,
                "careerbot_guilds",
                "Servers this process's shards are in",
            ),
            lookups: counter_vec(
                &r,
                "careerbot_lookups_total",
                "Lookup commands run",
                "command",
            ),
            reloads: counter_vec(
                &r,
                "careerbot_reloads_total",
                "Knowledge reloads (/reload and the file watcher)",
                "outcome",
            ),
            generation,
            generation_label: Mutex::new(None),
            passages: gauge(
                &r,
                "careerbot_knowledge_passages",
                "Passages in the served knowledge base",
            ),
            cooldown_hits: counter(
                &r,
                "careerbot_cooldown_hits_total",
                "/ask refused by the per-user cooldown",
            ),
            discord_errors: counter_vec(
                &r,
                "careerbot_discord_http_errors_total",
                "Discord REST calls that failed, by HTTP status",
                "status",
            ),
            rate_limit_waits: counter(
                &r,
                "careerbot_discord_rate_limit_waits_total",
                "Waits serenity's rate limiter made for Discord's limits (429s and pre-emptive waits)",
            ),
            ask_seconds: histogram(
                &r,
                "careerbot_ask_seconds",
                "Time to answer an /ask, engine included",
            ),
            callback_seconds: histogram(
                &r,
                "careerbot_interaction_callback_seconds",
                "From a command starting to Discord accepting its first response",
            ),
            charts_drawn: counter(
                &r,
                "careerbot_charts_drawn_total",
                "Chart PNGs drawn (the rest come from the per-generation cache)",
            ),
            votes: counter_vec(
                &r,
                "careerbot_feedback_votes_total",
                "Feedback button clicks, by verdict (a changed vote counts each click)",
                "verdict",
            ),
            feedback: crate::feedback::RecorderCounters {
                written: counter(
                    &r,
                    "careerbot_feedback_written_total",
                    "Feedback records (questions and votes) written to the database",
                ),
                dropped: counter(
                    &r,
                    "careerbot_feedback_dropped_total",
                    "Feedback records dropped because the queue was full (database slow or down)",
                ),
                write_failures: counter(
                    &r,
                    "careerbot_feedback_write_failures_total",
                    "Failed attempts to write a batch of feedback records (each is retried)",
                ),
                unwritten: gauge(
                    &r,
                    "careerbot_feedback_queued",
                    "Feedback records accepted and not yet written",
                ),
            },
            registry: r,
        }
    }

    pub fn lookup(&self, which: Lookup) {
        self.lookups.with_label_values(&[which.label()]).inc();
    }

    /// Counts a reload, successful or refused.
    pub fn reload(&self, succeeded: bool) {
        let outcome = if succeeded { "succeeded" } else { "failed" };
        self.reloads.with_label_values(&[outcome]).inc();
    }

    /// Counts a failed Discord REST call by the status Discord answered with (`other` when
    /// the call failed before an answer: a timeout, a refused connection). Errors that are not
    /// REST calls (a payload serenity could not build or read) are not Discord's and are not
    /// counted here.
    pub fn discord_error(&self, error: &serenity::Error) {
        if !matches!(error, serenity::Error::Http(_)) {
            return;
        }
        let status = super::discord::discord_status(error)
            .map_or_else(|| "other".to_string(), |s| s.to_string());
        self.discord_errors.with_label_values(&[&status]).inc();
    }

    pub fn observe_ask(&self, took: Duration, answered: bool) {
        self.asked.inc();
        if answered {
            self.answered.inc();
        } else {
            self.refused.inc();
        }
        self.ask_seconds.observe(took.as_secs_f64());
    }

    /// Sets the gauges that describe the served base; the old generation's series is removed
    /// so exactly one `careerbot_knowledge_generation` series exists.
    pub fn observe_served(&self, served: &Served) {
        let generation = served.current();
        let hash = generation.content_hash().to_string();
        let mut label = self
            .generation_label
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if label.as_deref() != Some(hash.as_str()) {
            if let Some(old) = label.take() {
                let _ = self.generation.remove_label_values(&[&old]);
            }
            *label = Some(hash.clone());
        }
        self.generation
            .with_label_values(&[&hash])
            .set(generation.number as i64);
        self.passages
            .set(generation.engine.knowledge().passages.len() as i64);
    }

    /// Sets the guild gauge from serenity's cache.
    pub fn observe_guilds(&self, cache: &serenity::Cache) {
        // Available and not-yet-available (READY lists every guild as unavailable at first).
        self.guilds.set(cache.guilds().len() as i64);
    }

    /// Everything, in Prometheus' text format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for well-formed metrics.
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %e, "encoding metrics");
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_render_as_prometheus_text() {
        let m = Metrics::new();
        m.observe_ask(Duration::from_millis(3), true);
        m.observe_ask(Duration::from_millis(4), false);
        m.lookup(Lookup::Salary);
        m.reload(false);
        m.discord_errors.with_label_values(&["429"]).inc();
        let text = m.render();
        for line in [
            "careerbot_questions_asked_total 2",
            "careerbot_questions_answered_total 1",
            "careerbot_questions_refused_total 1",
            "careerbot_lookups_total{command=\"salary\"} 1",
            "careerbot_reloads_total{outcome=\"failed\"} 1",
            "careerbot_discord_http_errors_total{status=\"429\"} 1",
            "careerbot_ask_seconds_count 2",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from:\n{text}"
            );
        }
    }
}
