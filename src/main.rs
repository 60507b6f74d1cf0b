//! `careerbot`: command-line glue over the library. Parses arguments, loads the knowledge
//! base, calls the engine or a renderer, prints. Errors get context here and nowhere else.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use careerbot::chart::ChartKind;
use careerbot::knowledge::KnowledgeBase;
use careerbot::render::{self, card_text};
use careerbot::search::{Engine, Hit, Retrieval, SemanticModel};
use careerbot::{eval, knowledge_dir};

#[derive(Parser)]
#[command(
    name = "careerbot",
    version,
    about = "Answers career questions from a knowledge base"
)]
struct Cli {
    /// Knowledge directory [default: ./knowledge, else the one shipped with the source]
    #[arg(long, global = true, env = "CAREERBOT_KNOWLEDGE", value_name = "DIR")]
    knowledge: Option<PathBuf>,
    /// Sentence-embedding model directory (config.json, tokenizer.json, model.safetensors)
    /// [default: the cache, fetched on first use]
    #[arg(long, global = true, env = "CAREERBOT_MODEL", value_name = "DIR")]
    model: Option<PathBuf>,
    /// Answer with the lexical engine only (no model)
    #[arg(long, global = true)]
    lexical_only: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Answer a question from the knowledge base
    Ask {
        /// Print one JSON object instead of text
        #[arg(long)]
        json: bool,
        /// How many passages to return at most (1 or more)
        #[arg(long, default_value_t = 3, value_parser = at_least_one)]
        top: usize,
        /// Show each candidate's lexical, semantic and fused scores, and why the question
        /// was answered or refused
        #[arg(long, conflicts_with = "json")]
        explain: bool,
        /// The question (several words are joined with spaces)
        #[arg(required = true, num_args = 1.., allow_hyphen_values = true)]
        question: Vec<String>,
    },
    /// List skill areas, or show one (fuzzy name: `mlop` works)
    Skills { area: Option<String> },
    /// Show the salary bands, or one band by level name or years of experience
    Salary {
        level: Option<String>,
        #[arg(long, conflicts_with = "level")]
        years: Option<u32>,
        /// Also draw the bands as a PNG bar chart into this file (the band asked for
        /// highlighted)
        #[arg(long, value_name = "FILE.png")]
        chart: Option<PathBuf>,
    },
    /// Show the roadmap phases and the sample career timeline, or one phase
    Timeline {
        phase: Option<String>,
        /// Also draw the phases and the sample timeline as a PNG chart into this file
        #[arg(long, value_name = "FILE.png")]
        chart: Option<PathBuf>,
    },
    /// Validate the knowledge base; list every passage with --json
    Check {
        #[arg(long)]
        json: bool,
    },
    /// Score retrieval on a JSONL question set
    Eval {
        file: PathBuf,
        /// Also list every question that missed
        #[arg(long, short)]
        verbose: bool,
        /// Score lexical-only, semantic-only and hybrid retrieval side by side
        #[arg(long, conflicts_with = "verbose")]
        compare: bool,
        /// Write every case's candidates and signals as JSON lines (for calibration)
        #[arg(long, value_name = "FILE", hide = true)]
        dump: Option<PathBuf>,
    },
    /// Print the model directory, fetching the model first if it is not there yet
    Model,
    /// Write a synthetic knowledge directory for scale tests (deterministic from --seed)
    Synth {
        /// Prose passages to generate
        #[arg(long, default_value_t = 1_000)]
        passages: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output directory: new, empty, or an earlier synth output (only the files synth
        /// wrote there are replaced)
        out: PathBuf,
    },
    /// What people asked and thought: counts, unanswered questions grouped by meaning, the
    /// passages voted not helpful, answer rate per day
    Report {
        /// Cover the last this many days
        #[arg(long, value_name = "DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=36_500))]
        since: u32,
        /// Print one JSON object instead of text
        #[arg(long)]
        json: bool,
        /// The bot's database: a SQLite path or postgres://… URL
        #[arg(long, value_name = "URL", env = "CAREERBOT_DATABASE_URL", default_value = careerbot::feedback::DEFAULT_DATABASE)]
        database: String,
        /// Also write the unanswered and not-helpful questions to FILE as eval cases whose
        /// `expect` the moderator fills in (then `careerbot eval FILE` guards the fix)
        #[arg(long, value_name = "FILE")]
        export_eval: Option<PathBuf>,
    },
    /// Run the Discord bot
    Serve {
        /// Configuration file (see config.example.toml)
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Shards this process runs, e.g. 0-1 (needs --total-shards)
        #[arg(long, value_name = "RANGE")]
        shards: Option<String>,
        /// Total shards across all processes
        #[arg(long, value_name = "N")]
        total_shards: Option<u32>,
    },
}

/// `print!` that hands back the error instead of panicking: a reader that went away
/// (`careerbot ask --json salary | head -c1`) ends the program quietly, not with a panic.
macro_rules! out {
    ($($arg:tt)*) => { write!(std::io::stdout().lock(), $($arg)*) };
}
/// `println!`, likewise.
macro_rules! outln {
    ($($arg:tt)*) => { writeln!(std::io::stdout().lock(), $($arg)*) };
}

fn main() -> ExitCode {
    // Before anything can start a thread.
    careerbot::embed::pin_thread_count();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `--top`: a count of passages, so 0 is a usage error rather than an empty answer.
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// Whether the output's reader closed the pipe: like other Unix tools, stop without a word.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn load(dir: &Option<PathBuf>) -> anyhow::Result<KnowledgeBase> {
    let dir = knowledge_dir(dir.as_deref());
    KnowledgeBase::load_dir(&dir)
        .map_err(anyhow::Error::new)
        .with_context(|| format!("loading knowledge from {}", dir.display()))
}

/// Draws chart `kind` into `file`.
fn write_chart(kb: &KnowledgeBase, kind: ChartKind, file: &Path) -> anyhow::Result<()> {
    let png = kind.draw(kb).context("drawing the chart")?;
    std::fs::write(file, png).with_context(|| format!("writing the chart to {}", file.display()))
}

/// The semantic model unless `--lexical-only`.
fn semantic_model(cli: &Cli) -> anyhow::Result<Option<Arc<SemanticModel>>> {
    if cli.lexical_only {
        return Ok(None);
    }
    let model = SemanticModel::load(cli.model.as_deref())
        .context("loading the sentence-embedding model")?;
    Ok(Some(Arc::new(model)))
}

fn engine(cli: &Cli) -> anyhow::Result<Engine> {
    let kb = load(&cli.knowledge)?;
    let model = semantic_model(cli)?;
    Engine::build_with(kb, model.as_ref()).context("building the search index")
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Ask {
            json,
            top,
            explain,
            ref question,
        } => {
            let engine = engine(&cli)?;
            let question = question.join(" ");
            if explain {
                let (answer, candidates) = engine.explain(&question, top);
                out!("{}", render::explain_text(&engine, &answer, &candidates))?;
            } else {
                let answer = engine.ask(&question, top);
                if json {
                    outln!("{}", serde_json::to_string(&answer)?)?;
                } else {
                    out!(
                        "{}",
                        card_text(&render::answer_card(&engine, &answer, &render::CLI))
                    )?;
                }
            }
        }
        Command::Model => {
            let model = SemanticModel::load(cli.model.as_deref())
                .context("loading the sentence-embedding model")?;
            outln!(
                "ok: model {} ({} dimensions, {})",
                model.embedder.id(),
                model.embedder.dims(),
                model.embedder.kernel().name()
            )?;
        }
        Command::Skills { area } => {
            let kb = load(&cli.knowledge)?;
            return print_card(render::skills_card(&kb, area.as_deref(), &render::CLI));
        }
        Command::Salary {
            level,
            years,
            chart,
        } => {
            let kb = load(&cli.knowledge)?;
            let card = render::salary_card(&kb, level.as_deref(), years);
            if let (Some(file), Ok(_)) = (&chart, &card) {
                let kind = ChartKind::salary(&kb, level.as_deref(), years)?;
                write_chart(&kb, kind, file)?;
            }
            return print_card(card);
        }
        Command::Timeline { phase, chart } => {
            let kb = load(&cli.knowledge)?;
            let card = render::timeline_card(&kb, phase.as_deref());
            if let (Some(file), Ok(_)) = (&chart, &card) {
                write_chart(&kb, ChartKind::timeline(&kb, phase.as_deref())?, file)?;
            }
            return print_card(card);
        }
        Command::Check { json } => {
            let kb = load(&cli.knowledge)?;
            for warning in &kb.warnings {
                eprintln!("warning: {warning}");
            }
            let problems = careerbot::bot::discord_problems(&kb);
            if !problems.is_empty() {
                let lines: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
                anyhow::bail!(
                    "the knowledge base breaks Discord's limits:\n{}",
                    lines.join("\n")
                );
            }
            if json {
                let hits: Vec<Hit> = kb
                    .passages
                    .iter()
                    .map(|p| Hit::from_passage(p, 0.0))
                    .collect();
                outln!("{}", serde_json::to_string(&hits)?)?;
            } else {
                outln!(
                    "ok: {} passages, {} skill areas, {} salary bands, {} phases, {} timeline steps, {} synonyms, {} asked questions, {} not-covered topics (content {})",
                    kb.passages.len(),
                    kb.skills.len(),
                    kb.salary.bands.len(),
                    kb.phases.phases.len(),
                    kb.timeline.steps.len(),
                    kb.synonyms.len(),
                    kb.passages.iter().map(|p| p.asked_as.len()).sum::<usize>(),
                    kb.not_covered.len(),
                    kb.content_hash
                )?;
            }
        }
        Command::Eval {
            ref file,
            verbose,
            compare,
            ref dump,
        } => return eval_command(&cli, file, verbose, compare, dump.as_deref()),
        Command::Synth {
            passages,
            seed,
            out,
        } => {
            let seed_dir = knowledge_dir(cli.knowledge.as_deref());
            let seed_kb = load(&cli.knowledge)?;
            let n =
                careerbot::synth::write_knowledge_dir(&seed_kb, &seed_dir, &out, passages, seed)
                    .with_context(|| format!("writing {}", out.display()))?;
            outln!("wrote {n} passages to {}", out.display())?;
        }
        Command::Report {
            since,
            json,
            ref database,
            ref export_eval,
        } => report_command(&cli, since, json, database, export_eval.as_deref())?,
        Command::Serve {
            config,
            shards,
            total_shards,
        } => {
            careerbot::bot::serve_from_cli(
                config.as_deref(),
                cli.knowledge.as_deref(),
                cli.model.as_deref(),
                cli.lexical_only,
                shards,
                total_shards,
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `careerbot report`: reads the bot's database; groups questions with the model's
/// embeddings (by shared words with `--lexical-only`, or when the model cannot be had).
fn report_command(
    cli: &Cli,
    since: u32,
    json: bool,
    database: &str,
    export: Option<&Path>,
) -> anyhow::Result<()> {
    use careerbot::feedback::{report, store::Location, ReportOptions, Store};
    let location = Location::parse(database)?;
    let model = match semantic_model(cli) {
        Ok(model) => model,
        Err(e) => {
            eprintln!("note: grouping questions by shared words ({e:#})");
            None
        }
    };
    let embed = report::model_embedder(model.as_deref());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let report = runtime.block_on(async {
        let store = Store::open(&location, false)
            .await
            .with_context(|| format!("opening {}", location.describe()))?;
        let built = report::build(&store, ReportOptions::last_days(since), Some(&embed)).await;
        store.close().await;
        built.with_context(|| format!("reading {}", location.describe()))
    })?;
    if let Some(file) = export {
        std::fs::write(file, report.eval_skeleton())
            .with_context(|| format!("writing {}", file.display()))?;
    }
    if json {
        outln!("{}", serde_json::to_string(&report)?)?;
    } else {
        out!("{}", report.to_text())?;
    }
    Ok(())
}

/// `careerbot eval`: scores a question set (or compares the three engines on it).
fn eval_command(
    cli: &Cli,
    file: &Path,
    verbose: bool,
    compare: bool,
    dump: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let cases = eval::parse_cases(&file.display().to_string(), &text).map_err(|errs| {
        let lines: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        anyhow::anyhow!("bad question set:\n{}", lines.join("\n"))
    })?;
    if compare {
        let kb = load(&cli.knowledge)?;
        let model =
            semantic_model(cli)?.context("--compare needs the model (drop --lexical-only)")?;
        let mut runs = Vec::new();
        for mode in [Retrieval::Lexical, Retrieval::Semantic, Retrieval::Hybrid] {
            let engine = Engine::build_hybrid(kb.clone(), &model)
                .context("building the search index")?
                .with_mode(mode);
            runs.push((mode.short_label(), eval::run(&engine, &cases)));
        }
        outln!("questions: {}", cases.len())?;
        out!("{}", eval::compare_table(&runs))?;
        return Ok(ExitCode::SUCCESS);
    }
    let engine = engine(cli)?;
    if let Some(path) = dump {
        let lines: Vec<String> = eval::dump(&engine, &cases)
            .iter()
            .map(|v| v.to_string())
            .collect();
        std::fs::write(path, lines.join("\n") + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let report = eval::run(&engine, &cases);
    outln!("engine: {}", engine.mode().label())?;
    if verbose {
        for c in report.cases.iter().filter(|c| !c.top1) {
            outln!(
                "miss (line {}, {}): {:?} -> {:?}",
                c.line,
                c.kind,
                c.question,
                c.got
            )?;
            let (answer, candidates) = engine.explain(&c.question, 3);
            if let Some(d) = &answer.decision {
                outln!("    {}", d.reason)?;
            }
            for (title, s) in candidates.iter().take(3) {
                outln!(
                    "    sem {:.3} lex {:.3} cov {:.2} fused {:.3}  {title}",
                    s.semantic.unwrap_or(f32::NAN),
                    s.lexical,
                    s.coverage,
                    s.fused
                )?;
            }
        }
    }
    out!("{}", report.summary())?;
    Ok(ExitCode::SUCCESS)
}

fn print_card(card: Result<render::Card, careerbot::lookup::NotFound>) -> anyhow::Result<ExitCode> {
    match card {
        Ok(card) => {
            out!("{}", card_text(&card))?;
            Ok(ExitCode::SUCCESS)
        }
        Err(not_found) => {
            eprintln!("{not_found}");
            Ok(ExitCode::FAILURE)
        }
    }
}
