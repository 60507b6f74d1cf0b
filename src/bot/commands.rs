//! The slash commands: one function each. A command parses its options, calls the engine or
//! a lookup, renders a card with a pure function, and sends it. Checks are pure functions;
//! what a user did wrong comes back as a [`UserError`] and is shown only to them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use poise::serenity_prelude as serenity;

use super::config::Config;
use super::discord::{discord_status, embed_parts, embed_reply, text_reply};
use super::metrics::{Lookup, Metrics};
use super::reply::{defer, ephemeral, respond, send_card, send_card_with_chart};
use super::state::{AskLimiter, ReloadOutcome, Served};
use crate::chart::ChartKind;
use crate::knowledge::{band_line, Problem};
use crate::lookup::{self, NotFound};
use crate::render::{self, Card};
use crate::search;

/// How the lookups are invoked in Discord, for the cards that mention them.
pub const SLASH: render::Invocations = render::Invocations {
    lookups: "/skills, /salary, /timeline",
    skill_area: "/skills area:<name>",
};

/// Longest question `/ask` takes (Discord enforces it too, via `max_length`).
pub const MAX_QUESTION_CHARS: usize = 300;
/// Hits fetched per question: the best and two "see also".
const HITS: usize = 3;

/// Everything a command needs, shared by all of them.
pub struct Data {
    pub served: Arc<Served>,
    pub config: Config,
    pub limiter: AskLimiter,
    /// Guilds already cleared of commands an earlier registration left there.
    pub stale_check: super::registration::StaleCheck,
    pub metrics: Arc<Metrics>,
    /// Shards this process must have connected to be ready (`/readyz`).
    pub expected_shards: Arc<super::health::ExpectedShards>,
    /// Whether the shard count comes from Discord (learnt from READY).
    pub autosharded: bool,
    /// Answer and vote recording; `None` when the bot runs without a database.
    pub feedback: Option<super::feedback::Feedback>,
}

pub type Context<'a> = poise::Context<'a, Data, BotError>;

/// A mistake the user can fix, shown to them (ephemerally) as it reads.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UserError {
    #[error("Slow down a little: you can ask again in {} s.", .0.as_secs() + 1)]
    Cooldown(Duration),
    #[error("Only moderators can use this command.")]
    NotModerator,
    #[error("{0}")]
    NotFound(#[from] NotFound),
    #[error("Please keep questions under {MAX_QUESTION_CHARS} characters (yours has {0}).")]
    QuestionTooLong(usize),
    #[error("Please type a question, e.g. /ask how long does it take?")]
    EmptyQuestion,
    #[error("The feedback database is not reachable right now; answers still go out. Try /report again in a minute.")]
    NoDatabase,
}

/// Anything a command can fail with: the user's mistake, or ours.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error(transparent)]
    User(#[from] UserError),
    #[error("discord: {0}")]
    Discord(#[from] serenity::Error),
    #[error("internal: {0}")]
    Internal(String),
}

/// Checks a question before it costs a cooldown token.
pub fn validate_question(question: &str) -> Result<&str, UserError> {
    let q = question.trim();
    let n = q.chars().count();
    if n == 0 {
        Err(UserError::EmptyQuestion)
    } else if n > MAX_QUESTION_CHARS {
        Err(UserError::QuestionTooLong(n))
    } else {
        Ok(q)
    }
}

/// Whether a member may run `/reload`: one of the configured moderator roles, or, when no
/// roles are configured, the Manage Server (or Administrator) permission.
pub fn is_moderator(
    roles: &[u64],
    permissions: Option<serenity::Permissions>,
    config: &Config,
) -> bool {
    if config.moderator_role_ids.is_empty() {
        permissions.is_some_and(|p| p.manage_guild() || p.administrator())
    } else {
        roles.iter().any(|r| config.moderator_role_ids.contains(r))
    }
}

/// Ask a question about becoming a Machine Learning Architect
#[poise::command(slash_command)]
pub async fn ask(
    ctx: Context<'_>,
    #[description = "Your question, e.g. how long does it take?"]
    #[max_length = 300]
    question: String,
    #[description = "Only you see the answer"] private: Option<bool>,
) -> Result<(), BotError> {
    let question = validate_question(&question)?;
    if let Err(wait) = ctx.data().limiter.check(ctx.author().id.get()) {
        ctx.data().metrics.cooldown_hits.inc();
        return Err(UserError::Cooldown(wait).into());
    }
    let generation = ctx.data().served.current();
    let started = Instant::now();
    let ephemeral = ephemeral(&ctx, private);
    // The engine runs off the async workers (embedding the question is CPU work). When it
    // has not answered within `defer_after`, the interaction is deferred so Discord's
    // 3-second deadline can never pass, and the answer follows as an edit.
    let mut work = {
        let generation = Arc::clone(&generation);
        let question = question.to_string();
        tokio::task::spawn_blocking(move || generation.engine.ask(&question, HITS))
    };
    // `defer_after_ms = 0` means "always defer".
    let defer_after = ctx.data().config.defer_after();
    let quick = if defer_after.is_zero() {
        None
    } else {
        tokio::time::timeout(defer_after, &mut work).await.ok()
    };
    let answer = match quick {
        Some(done) => done,
        None => {
            if let Err(e) = defer(&ctx, ephemeral).await {
                // The engine keeps running; its answer has nowhere to go.
                tracing::warn!(error = %e, "could not defer a slow /ask; dropping its answer");
                return Err(e.into());
            }
            work.await
        }
    }
    // A panic message could quote the question: say only that it failed.
    .map_err(|e| BotError::Internal(format!("the engine failed (panicked: {})", e.is_panic())))?;
    // What was asked is the user's business: only at debug level, never at info.
    tracing::debug!(question, "ask");
    ctx.data()
        .metrics
        .observe_ask(started.elapsed(), answer.answered);
    tracing::info!(
        latency_us = started.elapsed().as_micros() as u64,
        answered = answer.answered,
        generation = generation.number,
        hybrid = generation.engine.is_hybrid(),
        "ask"
    );
    super::feedback::record_ask(&ctx, question, &answer, &generation, ephemeral);
    let card = render::answer_card(&generation.engine, &answer, &SLASH);
    let engine = &generation.engine;
    let parts = embed_parts(&card, |text, room| {
        search::snippet(engine, text, &answer.terms, room)
    });
    let mut reply = embed_reply(&parts, ephemeral);
    if let (true, Some(best), Some(_)) =
        (answer.answered, answer.hits.first(), &ctx.data().feedback)
    {
        reply = reply.components(vec![super::feedback::buttons(ctx.id(), &best.id)]);
    }
    respond(&ctx, reply).await?;
    Ok(())
}

async fn autocomplete_area(
    ctx: Context<'_>,
    partial: &str,
) -> serenity::CreateAutocompleteResponse {
    let generation = ctx.data().served.current();
    let skills = &generation.engine.knowledge().skills;
    let labels: Vec<String> = skills.iter().map(|a| a.name.clone()).collect();
    ranked_choices(partial, &labels, |i| skills[i].name.clone())
}

async fn autocomplete_level(
    ctx: Context<'_>,
    partial: &str,
) -> serenity::CreateAutocompleteResponse {
    let generation = ctx.data().served.current();
    let bands = &generation.engine.knowledge().salary.bands;
    let labels: Vec<String> = bands.iter().map(band_line).collect();
    ranked_choices(partial, &labels, |i| bands[i].level.clone())
}

async fn autocomplete_phase(
    ctx: Context<'_>,
    partial: &str,
) -> serenity::CreateAutocompleteResponse {
    let generation = ctx.data().served.current();
    let phases = &generation.engine.knowledge().phases.phases;
    let labels: Vec<String> = phases
        .iter()
        .map(|p| format!("Phase {}: {} ({})", p.number, p.name, p.duration))
        .collect();
    ranked_choices(partial, &labels, |i| phases[i].number.to_string())
}

/// The choices for `partial`: `labels` ranked by [`lookup::autocomplete_indices`], each
/// sent with the value `value(i)` the command's option receives.
fn ranked_choices(
    partial: &str,
    labels: &[String],
    value: impl Fn(usize) -> String,
) -> serenity::CreateAutocompleteResponse {
    let choices = lookup::autocomplete_indices(
        partial,
        labels.iter().map(String::as_str),
        super::discord::CHOICES_MAX,
    )
    .into_iter()
    .map(|i| choice(&labels[i], &value(i)))
    .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}

/// An autocomplete choice within Discord's 100-character limits.
fn choice(label: &str, value: &str) -> serenity::AutocompleteChoice {
    serenity::AutocompleteChoice::new(
        lookup::truncate_chars(label, super::discord::CHOICE_MAX_CHARS),
        lookup::truncate_chars(value, super::discord::CHOICE_MAX_CHARS),
    )
}

/// The skill areas, or the items of one area
#[poise::command(slash_command)]
pub async fn skills(
    ctx: Context<'_>,
    #[description = "A skill area, e.g. MLOps"]
    #[autocomplete = "autocomplete_area"]
    area: Option<String>,
) -> Result<(), BotError> {
    ctx.data().metrics.lookup(Lookup::Skills);
    let generation = ctx.data().served.current();
    let card = render::skills_card(generation.engine.knowledge(), area.as_deref(), &SLASH)
        .map_err(UserError::from)?;
    send_card(ctx, &card, None).await
}

/// Salary bands in India, or the band for a level or years of experience
#[poise::command(slash_command)]
pub async fn salary(
    ctx: Context<'_>,
    #[description = "Experience level, e.g. senior"]
    #[autocomplete = "autocomplete_level"]
    level: Option<String>,
    #[description = "Years of experience"]
    #[min = 0]
    #[max = 60]
    years: Option<u32>,
) -> Result<(), BotError> {
    ctx.data().metrics.lookup(Lookup::Salary);
    let generation = ctx.data().served.current();
    let kb = generation.engine.knowledge();
    let card = render::salary_card(kb, level.as_deref(), years).map_err(UserError::from)?;
    let chart = ChartKind::salary(kb, level.as_deref(), years).map_err(UserError::from)?;
    send_card_with_chart(ctx, &card, &generation, chart).await
}

/// The roadmap phases and a sample career timeline, or one phase
#[poise::command(slash_command)]
pub async fn timeline(
    ctx: Context<'_>,
    #[description = "A phase number or name"]
    #[autocomplete = "autocomplete_phase"]
    phase: Option<String>,
) -> Result<(), BotError> {
    ctx.data().metrics.lookup(Lookup::Timeline);
    let generation = ctx.data().served.current();
    let kb = generation.engine.knowledge();
    let card = render::timeline_card(kb, phase.as_deref()).map_err(UserError::from)?;
    let chart = ChartKind::timeline(kb, phase.as_deref()).map_err(UserError::from)?;
    send_card_with_chart(ctx, &card, &generation, chart).await
}

/// Runtime half of the `/reload` permission: Discord hides the command from members without
/// Manage Server, and this refuses anyone who is not a configured moderator.
pub(super) async fn moderator_check(ctx: Context<'_>) -> Result<bool, BotError> {
    let member = ctx.author_member().await;
    let (roles, permissions) = match member.as_deref() {
        Some(m) => (
            m.roles.iter().map(|r| r.get()).collect::<Vec<u64>>(),
            m.permissions,
        ),
        None => (Vec::new(), None),
    };
    if is_moderator(&roles, permissions, &ctx.data().config) {
        Ok(true)
    } else {
        Err(UserError::NotModerator.into())
    }
}

/// Reload the knowledge base from disk (moderators)
#[poise::command(
    slash_command,
    guild_only,
    default_member_permissions = "MANAGE_GUILD",
    check = "moderator_check"
)]
pub async fn reload(ctx: Context<'_>) -> Result<(), BotError> {
    defer(&ctx, true).await?;
    let served = Arc::clone(&ctx.data().served);
    let outcome = tokio::task::spawn_blocking(move || served.reload())
        .await
        .map_err(|e| BotError::Internal(format!("reload task: {e}")))?;
    ctx.data()
        .metrics
        .reload(matches!(outcome, ReloadOutcome::Reloaded { .. }));
    match &outcome {
        ReloadOutcome::Reloaded {
            generation, took, ..
        } => {
            tracing::info!(generation, took_ms = took.as_millis() as u64, "reloaded");
        }
        ReloadOutcome::Failed {
            problems,
            still_serving,
        } => {
            tracing::warn!(problems = problems.len(), still_serving, "reload refused");
        }
    }
    respond(&ctx, text_reply(&reload_message(&outcome), true)).await?;
    Ok(())
}

/// What a moderator reads after `/reload`, within Discord's 2000-character limit.
pub fn reload_message(outcome: &ReloadOutcome) -> String {
    match outcome {
        ReloadOutcome::Reloaded {
            generation,
            passages,
            took,
            content_hash,
            warnings,
        } => {
            let head = format!(
                "Reloaded: now serving generation {generation} ({passages} passages, content {content_hash}), built in {} ms.",
                took.as_millis()
            );
            if warnings.is_empty() {
                head
            } else {
                let n = warnings.len();
                let head = format!("{head}\n{n} warning{}:\n", if n == 1 { "" } else { "s" });
                problem_block(head, warnings)
            }
        }
        ReloadOutcome::Failed {
            problems,
            still_serving,
        } => {
            let head = format!(
                "Reload refused: the knowledge base has {} problem{}. Still serving generation {still_serving}.\n",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
            problem_block(head, problems)
        }
    }
}

/// `head`, then `problems` one per line in a code block, cut to fit one message.
fn problem_block(head: String, problems: &[Problem]) -> String {
    let head = format!("{head}```\n");
    let tail = "```";
    let mut body = String::new();
    let budget = super::discord::CONTENT_MAX - head.chars().count() - tail.len() - 40;
    for (i, p) in problems.iter().enumerate() {
        // Backticks in a message would end the code block early.
        let line = format!("{p}\n").replace("```", "'''");
        if body.chars().count() + line.chars().count() > budget {
            body.push_str(&format!("… and {} more\n", problems.len() - i));
            break;
        }
        body.push_str(&line);
    }
    format!("{head}{body}{tail}")
}

/// What each command does
#[poise::command(slash_command)]
pub async fn help(ctx: Context<'_>) -> Result<(), BotError> {
    let generation = ctx.data().served.current();
    let card = help_card(
        generation.number,
        generation.content_hash(),
        generation.engine.is_hybrid(),
    );
    let parts = embed_parts(&card, crate::lookup::truncate_chars);
    respond(&ctx, embed_reply(&parts, true)).await?;
    Ok(())
}

/// The `/help` card.
pub fn help_card(generation: u64, content_hash: &str, semantic: bool) -> Card {
    let search = if semantic {
        "Semantic search is on: ask in your own words."
    } else {
        "Semantic search is off (lexical only): use the words the knowledge base uses."
    };
    Card {
        title: "careerbot help".into(),
        body: [
            "**/ask** `question` - answers from the knowledge base, with the section it came from. Add `private: True` to see the answer alone.",
            "**/skills** `[area]` - the skill areas, or the items of one (e.g. MLOps).",
            "**/salary** `[level] [years]` - salary bands in India, or the band for a level or your years of experience.",
            "**/timeline** `[phase]` - the roadmap phases and a sample career timeline, or one phase.",
            "**/reload** - moderators: reload the knowledge files after editing them.",
            "**/report** `[days]` - moderators: what was asked and refused, and which answers people voted not helpful.",
            "Under each answer, **Helpful** / **Not helpful** tell the moderators how it went (votes are stored without your Discord id; click again to change yours).",
            "**/help** - this message.",
            "",
            search,
        ]
        .join("\n"),
        footer: Some(format!("Serving knowledge generation {generation} (content {content_hash})")),
        ..Card::default()
    }
}

/// All commands, in the order `/help` lists them.
pub fn all() -> Vec<poise::Command<Data, BotError>> {
    vec![
        ask(),
        skills(),
        salary(),
        timeline(),
        reload(),
        super::feedback::report(),
        help(),
    ]
}

/// Turns every framework error into a reply the user can act on, or a logged apology.
pub async fn on_error(error: poise::FrameworkError<'_, Data, BotError>) {
    use poise::FrameworkError as F;
    let (ctx, message) = match error {
        F::Command {
            error: BotError::User(user),
            ctx,
            ..
        } => (ctx, user.to_string()),
        F::Command { error, ctx, .. } => {
            let status = match &error {
                BotError::Discord(e) => {
                    ctx.data().metrics.discord_error(e);
                    discord_status(e)
                }
                _ => None,
            };
            tracing::error!(command = %ctx.command().qualified_name, %error, status, "command failed");
            (ctx, APOLOGY.to_string())
        }
        F::CommandCheckFailed { error, ctx, .. } => match error {
            Some(BotError::User(user)) => (ctx, user.to_string()),
            Some(error) => {
                tracing::error!(%error, "check failed");
                (ctx, APOLOGY.to_string())
            }
            None => (ctx, UserError::NotModerator.to_string()),
        },
        F::CommandPanic { payload, ctx, .. } => {
            tracing::error!(command = %ctx.command().qualified_name, payload = payload.as_deref().unwrap_or("?"), "command panicked");
            (ctx, APOLOGY.to_string())
        }
        F::ArgumentParse { ctx, input, .. } => (
            ctx,
            format!(
                "I couldn't read that option{}. Try /help for examples.",
                input.map(|i| format!(" ({i:?})")).unwrap_or_default()
            ),
        ),
        F::CooldownHit {
            remaining_cooldown,
            ctx,
            ..
        } => (ctx, UserError::Cooldown(remaining_cooldown).to_string()),
        F::MissingUserPermissions { ctx, .. } | F::NotAnOwner { ctx, .. } => {
            (ctx, UserError::NotModerator.to_string())
        }
        F::GuildOnly { ctx, .. } => (
            ctx,
            "That command works in a server, not in DMs.".to_string(),
        ),
        other => {
            tracing::error!(error = %other, "framework error");
            match other.ctx() {
                Some(ctx) => (ctx, APOLOGY.to_string()),
                None => return,
            }
        }
    };
    if let Err(e) = respond(&ctx, text_reply(&message, true)).await {
        let status = discord_status(&e);
        ctx.data().metrics.discord_error(&e);
        tracing::warn!(error = %e, status, "could not send the error reply");
    }
}

/// What a user sees when something went wrong on our side.
pub const APOLOGY: &str = "Sorry, something went wrong on my side. Please try again in a moment.";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::Problem;

    #[test]
    fn questions_are_validated_before_cooldown() {
        assert_eq!(validate_question("  hi  "), Ok("hi"));
        assert_eq!(validate_question("   "), Err(UserError::EmptyQuestion));
        assert_eq!(
            validate_question(&"x".repeat(301)),
            Err(UserError::QuestionTooLong(301))
        );
    }

    #[test]
    fn moderators_by_role_or_permission() {
        let mut config = Config::default();
        let manage = Some(serenity::Permissions::MANAGE_GUILD);
        assert!(is_moderator(&[], manage, &config));
        assert!(!is_moderator(
            &[5],
            Some(serenity::Permissions::SEND_MESSAGES),
            &config
        ));
        config.moderator_role_ids = vec![42];
        assert!(is_moderator(&[1, 42], None, &config));
        assert!(
            !is_moderator(&[1], manage, &config),
            "roles, when configured, are required"
        );
    }

    #[test]
    fn cooldown_message_says_when() {
        let m = UserError::Cooldown(Duration::from_millis(5_200)).to_string();
        assert!(m.contains("6 s"), "{m}");
    }

    #[test]
    fn reload_failure_lists_problems_within_limits() {
        let problems: Vec<Problem> = (0..200)
            .map(|i| Problem {
                path: "knowledge/role.md".into(),
                line: i + 1,
                message: "section ```x``` is empty".into(),
            })
            .collect();
        let m = reload_message(&ReloadOutcome::Failed {
            problems,
            still_serving: 4,
        });
        assert!(m.chars().count() <= super::super::discord::CONTENT_MAX);
        assert!(m.contains("Still serving generation 4"));
        assert!(m.contains("knowledge/role.md:1: section"));
        assert!(m.contains("more"));
        assert_eq!(m.matches("```").count(), 2);
    }

    #[test]
    fn help_mentions_every_command() {
        let card = help_card(3, "abc", true);
        for c in all() {
            assert!(card.body.contains(&format!("/{}", c.name)), "{}", c.name);
        }
        assert!(card.body.contains("Semantic search is on"));
        assert!(help_card(3, "abc", false)
            .body
            .contains("Semantic search is off"));
        assert!(card.footer.unwrap().contains("generation 3"));
    }
}
