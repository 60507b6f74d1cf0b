//! The Discord bot: poise commands over the engine, served with serenity.
//!
//! [`Bot::new`] wires a [`Served`] knowledge base, a [`Config`] and a token into a serenity
//! client; [`serve_from_cli`] adds what a process needs around it (config file, logging,
//! signals). Tests build a `Bot` directly and point `http_proxy` at a local emulator.

pub mod commands;
pub mod config;
pub mod discord;
pub mod feedback;
pub mod health;
pub mod metrics;
pub mod registration;
pub mod reply;
pub mod state;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use poise::serenity_prelude as serenity;

pub use commands::{BotError, Data, UserError};
pub use config::Config;
pub use discord::knowledge_problems as discord_problems;
pub use metrics::Metrics;
pub use state::Served;

/// A configured, not yet started bot.
pub struct Bot {
    client: serenity::Client,
    sharding: config::Sharding,
    metrics: Arc<Metrics>,
    /// The operators' port, when `metrics_addr` is set: its bound address, and the task
    /// serving it (stopped when the bot is dropped or stops).
    operators: Option<(std::net::SocketAddr, AbortOnDrop)>,
    recorder: Option<crate::feedback::Recorder>,
    /// The retention purge (stopped with the bot).
    _purge: Option<AbortOnDrop>,
}

/// Aborts a background task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Bot {
    /// Builds the client. With `config.http_proxy` set, every REST call goes to that base
    /// URL (and the environment's HTTP(S)_PROXY is ignored, so the setting means exactly
    /// what it says).
    pub async fn new(config: Config, token: &str, served: Arc<Served>) -> Result<Bot, BotError> {
        let mut http = serenity::HttpBuilder::new(token);
        if let Some(proxy) = &config.http_proxy {
            let client = reqwest::Client::builder()
                .no_proxy()
                .use_rustls_tls()
                .build()
                .map_err(|e| BotError::Internal(format!("http client: {e}")))?;
            // serenity's own rate limiter bypasses the proxy; a shared proxy in front of
            // Discord (twilight-http-proxy) does the rate limiting instead.
            http = http
                .client(client)
                .proxy(proxy.clone())
                .ratelimiter_disabled(true);
        }
        let http = http.build();
        let sharding = config.sharding().map_err(BotError::Internal)?;
        let limiter = state::AskLimiter::new(config.cooldown.asks, config.cooldown_period());
        let guild_ids = config.guild_ids.clone();
        let metrics_addr = config.metrics_addr;
        let metrics = Arc::new(Metrics::new());
        let expected_shards = Arc::new(health::ExpectedShards::new(match sharding {
            config::Sharding::Range { first, last, .. } => last - first + 1,
            // Learnt from READY: an autosharded process runs every shard of the total.
            config::Sharding::Auto => 0,
        }));

        let (feedback, purge) = if config.record_feedback {
            let (feedback, purge) = open_feedback(&config, &metrics).await?;
            (Some(feedback), Some(purge))
        } else {
            tracing::info!("record_feedback = false: no questions or votes are stored");
            (None, None)
        };
        let recorder = feedback.as_ref().map(|f| f.recorder.clone());
        let data = Data {
            served: Arc::clone(&served),
            config,
            limiter,
            stale_check: registration::StaleCheck::default(),
            metrics: Arc::clone(&metrics),
            expected_shards: Arc::clone(&expected_shards),
            autosharded: sharding == config::Sharding::Auto,
            feedback,
        };
        let framework = poise::Framework::builder()
            .options(poise::FrameworkOptions {
                commands: commands::all(),
                on_error: |error| Box::pin(commands::on_error(error)),
                allowed_mentions: Some(discord::no_pings()),
                event_handler: |framework, event| {
                    Box::pin(async move {
                        let data = framework.user_data;
                        match event {
                            serenity::FullEvent::Ready { data_about_bot } => {
                                if let (true, Some(shard)) =
                                    (data.autosharded, data_about_bot.shard)
                                {
                                    data.expected_shards.set(shard.total);
                                }
                                registration::clear_stale_guild_commands(
                                    framework.serenity_context,
                                    data_about_bot,
                                    framework.user_data,
                                )
                                .await;
                            }
                            // serenity waits out Discord's rate limits itself (a 429 never
                            // reaches a command): count each wait.
                            serenity::FullEvent::Ratelimit { .. } => {
                                data.metrics.rate_limit_waits.inc();
                            }
                            // Button clicks: poise dispatches only commands.
                            serenity::FullEvent::InteractionCreate {
                                interaction: serenity::Interaction::Component(click),
                            } => {
                                if let Err(e) =
                                    feedback::on_click(framework.serenity_context, data, click).await
                                {
                                    data.metrics.discord_error(&e);
                                    tracing::warn!(error = %e, status = ?discord::discord_status(&e), "could not acknowledge a feedback click");
                                }
                            }
                            _ => {}
                        }
                        Ok(())
                    })
                },
                ..Default::default()
            })
            // Owners are not used (moderators are configured); skip the extra REST call.
            // Must be set on the builder: `build()` overwrites the option's field.
            .initialize_owners(false)
            .setup(move |ctx, ready, framework| {
                Box::pin(async move {
                    registration::register(
                        ctx,
                        &framework.options().commands,
                        &guild_ids,
                        &data.metrics,
                    )
                    .await?;
                    tracing::info!(user = %ready.user.name, guilds = guild_ids.len(), "ready, commands registered");
                    Ok(data)
                })
            })
            .build();
        let client = serenity::ClientBuilder::new_with_http(http, serenity::GatewayIntents::GUILDS)
            .framework(framework)
            .await?;
        let operators = match metrics_addr {
            None => None,
            Some(addr) => {
                let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
                    BotError::Internal(format!("metrics_addr {addr}: cannot listen: {e}"))
                })?;
                let bound = listener
                    .local_addr()
                    .map_err(|e| BotError::Internal(format!("metrics_addr {addr}: {e}")))?;
                let probe = Arc::new(health::Probe {
                    served,
                    metrics: Arc::clone(&metrics),
                    shards: Arc::clone(&client.shard_manager),
                    expected: expected_shards,
                    cache: Arc::clone(&client.cache),
                });
                tracing::info!(addr = %bound, "serving /metrics, /healthz and /readyz");
                let task = tokio::spawn(health::serve(listener, probe));
                Some((bound, AbortOnDrop(task)))
            }
        };
        Ok(Bot {
            client,
            sharding,
            metrics,
            operators,
            recorder,
            _purge: purge,
        })
    }

    /// The feedback recorder (a shutdown flushes it); `None` with `record_feedback = false`.
    pub fn recorder(&self) -> Option<crate::feedback::Recorder> {
        self.recorder.clone()
    }

    /// The counters this bot keeps (also fed by [`watch_knowledge`]).
    pub fn metrics(&self) -> Arc<Metrics> {
        Arc::clone(&self.metrics)
    }

    /// Where `/metrics`, `/healthz` and `/readyz` are served (the bound address, so a
    /// configured port 0 shows the port chosen).
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.operators.as_ref().map(|(addr, _)| *addr)
    }

    /// Stops every shard; `start` then returns.
    pub fn shard_manager(&self) -> Arc<serenity::ShardManager> {
        Arc::clone(&self.client.shard_manager)
    }

    /// Connects and serves until the shards stop: every recommended shard, or the
    /// configured range.
    pub async fn start(mut self) -> Result<(), BotError> {
        match self.sharding {
            config::Sharding::Auto => self.client.start_autosharded().await?,
            config::Sharding::Range { first, last, total } => {
                // serenity's range end is inclusive.
                self.client.start_shard_range(first..last, total).await?
            }
        }
        Ok(())
    }
}

/// How often rows past retention are purged.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// Opens the feedback database and starts its writer and purge. A SQLite file that cannot be
/// opened is a configuration error; a PostgreSQL server that is down is not (answers go out,
/// records queue, the writer keeps connecting).
async fn open_feedback(
    config: &Config,
    metrics: &Metrics,
) -> Result<(feedback::Feedback, AbortOnDrop), BotError> {
    use crate::feedback::{store::Location, Recorder, Store, VoterKey};
    let location =
        Location::parse(&config.database_url).map_err(|e| BotError::Internal(e.to_string()))?;
    let key = VoterKey::given_or_beside(config.voter_key.as_ref().map(|s| s.0.as_str()), &location)
        .map_err(|e| BotError::Internal(format!("feedback: {e}")))?;
    let opened = match Store::open(&location, true).await {
        Ok(store) => Some(store),
        // A server that is down or restarting: answer anyway. A wrong password or a missing
        // database is a configuration error, said at start.
        Err(e) if e.is_transient() && matches!(location, Location::Postgres(_)) => {
            tracing::warn!(error = %e, database = %location.describe(), "feedback database unavailable at start; answering anyway, records wait");
            None
        }
        Err(e) => {
            return Err(BotError::Internal(format!(
                "feedback database ({}): {e}",
                location.describe()
            )))
        }
    };
    if opened.is_some() {
        tracing::info!(database = %location.describe(), retention_days = config.retention_days, "feedback database ready");
    }
    let recorder = Recorder::start(
        location,
        opened,
        config.record_queue,
        metrics.feedback.clone(),
    );
    let purge = tokio::spawn(crate::feedback::recorder::purge_periodically(
        recorder.clone(),
        config.retention(),
        PURGE_EVERY,
    ));
    let feedback = feedback::Feedback {
        recorder,
        key,
        no_text_guilds: config.no_question_text_guilds.clone(),
    };
    Ok((feedback, AbortOnDrop(purge)))
}

/// Looks at the knowledge directory every `every` and reloads when its files changed, so
/// every process converges on the same content without being told. A broken edit is logged
/// (each problem as `path:line: message`) once per distinct content, never served.
pub async fn watch_knowledge(served: Arc<Served>, every: Duration, metrics: Arc<Metrics>) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    tick.tick().await; // the first tick is immediate; generation 1 was just loaded
    let mut last_broken: Option<String> = None;
    loop {
        tick.tick().await;
        let s = Arc::clone(&served);
        let mut remembered = last_broken.take();
        let checked = tokio::task::spawn_blocking(move || {
            let check = s.check_disk(&mut remembered);
            (check, remembered)
        })
        .await;
        let (check, remembered) = match checked {
            Ok(pair) => pair,
            Err(e) => {
                tracing::error!(error = %e, "knowledge check failed");
                continue;
            }
        };
        last_broken = remembered;
        match check {
            state::DiskCheck::Reloaded(state::ReloadOutcome::Reloaded {
                generation,
                passages,
                took,
                content_hash,
                warnings,
            }) => {
                metrics.reload(true);
                tracing::info!(generation, passages, took_ms = took.as_millis() as u64, content = %content_hash, "knowledge files changed: reloaded");
                for w in warnings {
                    tracing::warn!("{w}");
                }
            }
            state::DiskCheck::Broken(state::ReloadOutcome::Failed {
                problems,
                still_serving,
            }) => {
                metrics.reload(false);
                tracing::warn!(
                    problems = problems.len(),
                    still_serving,
                    "knowledge files changed but are broken; not serving them"
                );
                for p in problems {
                    tracing::warn!("{p}");
                }
            }
            // Every other look (unchanged, still broken) is one debug line, so a log shows the
            // watcher ran after an edit (the shard test waits for it rather than sleeping).
            other => tracing::debug!(?other, "knowledge check"),
        }
    }
}

/// Sets up logging: `RUST_LOG` picks the level (default `info`), `log_format` the shape.
fn init_tracing(format: config::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        config::LogFormat::Pretty => builder.try_init(),
        config::LogFormat::Json => builder.json().try_init(),
    };
}

/// `careerbot serve`: config, logging, knowledge, token, then serve until SIGINT/SIGTERM.
pub fn serve_from_cli(
    config_path: Option<&Path>,
    knowledge: Option<&Path>,
    model: Option<&Path>,
    lexical_only: bool,
    shards: Option<String>,
    total_shards: Option<u32>,
) -> anyhow::Result<()> {
    let mut config = match config_path {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    if shards.is_some() {
        config.shards = shards;
    }
    if total_shards.is_some() {
        config.total_shards = total_shards;
    }
    config.voter_key = std::env::var(crate::feedback::VOTER_KEY_ENV)
        .ok()
        .map(config::Secret);
    config.sharding().map_err(anyhow::Error::msg)?;
    init_tracing(config.log_format);
    let dir: PathBuf = match (knowledge, &config.knowledge_dir) {
        (Some(d), _) => d.to_path_buf(),
        (None, Some(d)) => d.clone(),
        (None, None) => crate::knowledge_dir(None),
    };
    let token = std::env::var("DISCORD_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty())
        .context("DISCORD_TOKEN is not set: create a bot in the Discord developer portal and export its token")?;
    // The model is loaded (fetched on a first start) before the gateway connects, so no
    // interaction ever waits for it.
    let model = if lexical_only || !config.semantic {
        tracing::info!("semantic search off: lexical only");
        None
    } else {
        let explicit = model
            .map(Path::to_path_buf)
            .or_else(|| config.model_dir.clone());
        let loaded = crate::search::SemanticModel::load(explicit.as_deref())
            .context("loading the sentence-embedding model (or set semantic = false)")?;
        Some(Arc::new(loaded))
    };
    let served = Served::load_with(&dir, model)
        .with_context(|| format!("loading knowledge from {}", dir.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let generation = served.current();
        tracing::info!(dir = %dir.display(), generation = generation.number, content = generation.content_hash(), passages = generation.engine.knowledge().passages.len(), "knowledge loaded");
        for w in &generation.engine.knowledge().warnings {
            tracing::warn!("{w}");
        }
        drop(generation);
        let served = Arc::new(served);
        let watch = config.watch_interval();
        let bot = Bot::new(config, &token, Arc::clone(&served)).await?;
        if let Some(every) = watch {
            tokio::spawn(watch_knowledge(served, every, bot.metrics()));
        }
        let shards = bot.shard_manager();
        let recorder = bot.recorder();
        tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("shutting down");
            shards.shutdown_all().await;
        });
        bot.start().await?;
        let unwritten = match &recorder {
            Some(recorder) => recorder.flush(FLUSH_AT_EXIT).await,
            None => 0,
        };
        if unwritten > 0 {
            tracing::warn!(unwritten, "feedback records not written before exit (database unavailable)");
        }
        anyhow::Ok(())
    })
}

/// How long a stopping process waits for queued feedback to reach the database.
const FLUSH_AT_EXIT: Duration = Duration::from_secs(5);

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
