//! Feedback in Discord: the "Helpful" / "Not helpful" buttons under every answer, what a click
//! records, and the moderators' `/report`.
//!
//! A button's `custom_id` carries everything its click needs (the answer's interaction id and
//! the passage it showed), so a click still counts after a restart, on another shard process,
//! or after the knowledge base was reloaded and the passage renamed. Each click gets a private
//! acknowledgement; the store keeps one vote per person per answer (the last click wins).

use std::time::Duration;

use poise::serenity_prelude as serenity;

use super::commands::{BotError, Context, Data};
use super::discord::{embed_parts, embed_reply, no_pings};
use super::reply::respond;
use super::state::Generation;
use crate::feedback::{self, store::db_id, Asked, Record, Report, ReportOptions, Vote, VoterKey};
use crate::render::Card;
use crate::search::Answer;

/// Prefix of every feedback button's `custom_id` (versioned, so a later format can still
/// read clicks on old messages).
const PREFIX: &str = "fb1";
/// Discord's limit on a `custom_id`.
const CUSTOM_ID_MAX: usize = 100;

/// What the bot needs to record feedback.
pub struct Feedback {
    pub recorder: feedback::Recorder,
    pub key: VoterKey,
    /// Guilds whose question text is not stored.
    pub no_text_guilds: Vec<u64>,
}

/// One click, as its `custom_id` tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Click {
    pub answer_id: u64,
    pub helpful: bool,
    /// The passage the answer showed first; `None` when its id was too long to carry.
    pub passage_id: Option<String>,
}

impl Click {
    /// `fb1:h:<answer id>:<passage id>` (`n` for not helpful); the passage id is left out
    /// when it would pass Discord's 100-character limit (the store then has it).
    pub fn custom_id(&self) -> String {
        let verdict = if self.helpful { 'h' } else { 'n' };
        let bare = format!("{PREFIX}:{verdict}:{}:", self.answer_id);
        match &self.passage_id {
            Some(p) if bare.len() + p.len() <= CUSTOM_ID_MAX => format!("{bare}{p}"),
            _ => bare,
        }
    }

    /// Reads a `custom_id`; `None` when it is not a feedback button of this bot.
    pub fn parse(custom_id: &str) -> Option<Click> {
        let mut parts = custom_id.splitn(4, ':');
        if parts.next()? != PREFIX {
            return None;
        }
        let helpful = match parts.next()? {
            "h" => true,
            "n" => false,
            _ => return None,
        };
        let answer_id = parts.next()?.parse().ok()?;
        let passage_id = parts.next().filter(|p| !p.is_empty()).map(str::to_string);
        Some(Click {
            answer_id,
            helpful,
            passage_id,
        })
    }
}

/// The row of buttons under an answer.
pub fn buttons(answer_id: u64, passage_id: &str) -> serenity::CreateActionRow {
    let click = |helpful| Click {
        answer_id,
        helpful,
        passage_id: Some(passage_id.to_string()),
    };
    serenity::CreateActionRow::Buttons(vec![
        serenity::CreateButton::new(click(true).custom_id())
            .label("Helpful")
            .style(serenity::ButtonStyle::Success),
        serenity::CreateButton::new(click(false).custom_id())
            .label("Not helpful")
            .style(serenity::ButtonStyle::Secondary),
    ])
}

/// What an `/ask` leaves in the store.
pub fn asked_record(
    interaction_id: u64,
    guild_id: Option<u64>,
    question: &str,
    answer: &Answer,
    content_hash: &str,
    keep_text: bool,
) -> Option<Record> {
    let shown = if answer.answered {
        &answer.hits[..]
    } else {
        &[]
    };
    Some(Record::Asked(Asked {
        id: db_id(interaction_id).ok()?,
        asked_at_ms: db_id(super::discord::snowflake_unix_ms(interaction_id)).ok()?,
        guild_id: db_id(guild_id.unwrap_or(0)).ok()?,
        question: keep_text.then(|| question.to_string()),
        answered: answer.answered,
        passage_ids: shown.iter().map(|h| h.id.clone()).collect(),
        top_title: shown.first().map(|h| h.title.clone()).unwrap_or_default(),
        content_hash: content_hash.to_string(),
        // What the question was about, like its text: kept out where the text is.
        not_covered: answer
            .nearest_topic
            .as_ref()
            .filter(|t| keep_text && t.refused)
            .map(|t| t.name.clone()),
    }))
}

/// Records an `/ask` (never waits on the database). The question's text is kept out for a
/// guild listed in `no_question_text_guilds`, and for a private ask: a user who chose that
/// only they see the answer did not mean their question for the moderators either.
pub fn record_ask(
    ctx: &Context<'_>,
    question: &str,
    answer: &Answer,
    generation: &Generation,
    private: bool,
) {
    let Some(fb) = &ctx.data().feedback else {
        return;
    };
    let guild = ctx.guild_id().map(|g| g.get());
    let keep_text = !private && !guild.is_some_and(|g| fb.no_text_guilds.contains(&g));
    if let Some(record) = asked_record(
        ctx.id(),
        guild,
        question,
        answer,
        generation.content_hash(),
        keep_text,
    ) {
        fb.recorder.record(record);
    }
}

/// Answers a button click: records the vote and acknowledges it privately. Clicks on
/// components this bot does not know get a private "no longer works".
pub async fn on_click(
    ctx: &serenity::Context,
    data: &Data,
    click: &serenity::ComponentInteraction,
) -> Result<(), serenity::Error> {
    let parsed = Click::parse(&click.data.custom_id);
    let text = match (&parsed, &data.feedback) {
        (Some(vote), Some(fb)) => {
            let click_id = click.id.get();
            let ids = (
                db_id(vote.answer_id),
                db_id(click_id),
                db_id(super::discord::snowflake_unix_ms(click_id)),
            );
            match ids {
                (Ok(answer_id), Ok(click_id), Ok(voted_at_ms)) => {
                    fb.recorder.record(Record::Vote(Vote {
                        answer_id,
                        voter: fb.key.voter(vote.answer_id, click.user.id.get()),
                        helpful: vote.helpful,
                        voted_at_ms,
                        click_id,
                        passage_id: vote.passage_id.clone(),
                    }))
                }
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                    tracing::warn!(error = %e, "feedback click not recorded")
                }
            }
            data.metrics
                .votes
                .with_label_values(&[if vote.helpful {
                    "helpful"
                } else {
                    "not_helpful"
                }])
                .inc();
            acknowledgement(vote.helpful, see_also(&click.message))
        }
        (Some(_), None) => "Thanks! (Feedback is not being recorded on this bot.)".to_string(),
        (None, _) => "This button no longer works; ask again with /ask.".to_string(),
    };
    let reply = serenity::CreateInteractionResponseMessage::new()
        .content(text)
        .ephemeral(true)
        .allowed_mentions(no_pings());
    click
        .create_response(
            &ctx.http,
            serenity::CreateInteractionResponse::Message(reply),
        )
        .await
}

/// The "See also" titles of the answer a button sits under (the next two hits).
fn see_also(message: &serenity::Message) -> Option<String> {
    message
        .embeds
        .first()?
        .fields
        .iter()
        .find(|f| f.name == "See also")
        .map(|f| f.value.clone())
}

/// The private reply to a click.
pub fn acknowledgement(helpful: bool, next: Option<String>) -> String {
    match (helpful, next) {
        (true, _) => "Thanks, glad it helped! Your vote is recorded (click again to change it).".into(),
        (false, Some(next)) => format!(
            "Thanks, noted: the moderators see this in their report. The next closest topics were: {next}. Asking with more detail may find them."
        ),
        (false, None) => "Thanks, noted: the moderators see this in their report. Asking with more detail may help.".into(),
    }
}

/// Longest a `/report` may wait for the database before saying it is unavailable.
const REPORT_TIMEOUT: Duration = Duration::from_secs(2);

/// What to write next: questions asked and refused, votes, per-day answer rate (moderators)
#[poise::command(
    slash_command,
    guild_only,
    default_member_permissions = "MANAGE_GUILD",
    check = "super::commands::moderator_check"
)]
pub async fn report(
    ctx: Context<'_>,
    #[description = "Cover the last this many days (default 30)"]
    #[min = 1]
    #[max = 3650]
    days: Option<u32>,
) -> Result<(), BotError> {
    super::reply::defer(&ctx, true).await?;
    let no_database = || BotError::User(super::commands::UserError::NoDatabase);
    let store = ctx
        .data()
        .feedback
        .as_ref()
        .and_then(|f| f.recorder.store())
        .ok_or_else(no_database)?;
    let mut options = ReportOptions::last_days(days.unwrap_or(30));
    // A moderator sees their own server's questions, never another's.
    options.guild_id = ctx.guild_id().and_then(|g| db_id(g.get()).ok());
    let fetched =
        tokio::time::timeout(REPORT_TIMEOUT, feedback::report::fetch(&store, options)).await;
    let rows = match fetched {
        Ok(Ok(rows)) => rows,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "/report: database error");
            return Err(no_database());
        }
        Err(_) => return Err(no_database()),
    };
    // Grouping embeds the questions: CPU work, off the async workers.
    let model = ctx.data().served.model();
    let report = tokio::task::spawn_blocking(move || {
        rows.report(Some(&feedback::report::model_embedder(model.as_deref())))
    })
    .await
    .map_err(|e| BotError::Internal(format!("report task: {e}")))?;
    let card = report_card(&report);
    let parts = embed_parts(&card, crate::lookup::truncate_chars);
    respond(&ctx, embed_reply(&parts, true)).await?;
    Ok(())
}

/// Text people typed, shown as typed: Discord markdown (links, emphasis, mentions'
/// formatting) escaped, so a question cannot dress itself up in a moderator's report.
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '*'
                | '_'
                | '~'
                | '`'
                | '|'
                | '>'
                | '['
                | ']'
                | '('
                | ')'
                | '#'
                | '-'
                | '<'
                | '@'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The report as a card: totals, then what to write next.
pub fn report_card(report: &Report) -> Card {
    let mut fields = Vec::new();
    let list = |items: &[feedback::report::QuestionCount]| {
        items
            .iter()
            .take(8)
            .map(|q| format!("{}× {}", q.count, plain(&q.question)))
            .collect::<Vec<_>>()
            .join("\n")
    };
    if !report.unanswered.is_empty() {
        fields.push((
            "Unanswered (write these next)".to_string(),
            list(&report.unanswered),
        ));
    }
    if !report.not_covered.is_empty() {
        let topics = report
            .not_covered
            .iter()
            .take(8)
            .map(|t| format!("{}× {}", t.count, plain(&t.topic)))
            .collect::<Vec<_>>()
            .join("\n");
        fields.push(("Refused as not covered".to_string(), topics));
    }
    if !report.not_helpful_passages.is_empty() {
        let passages = report
            .not_helpful_passages
            .iter()
            .take(8)
            .map(|p| {
                format!(
                    "{}× {}",
                    p.count,
                    if p.title.is_empty() { &p.id } else { &p.title }
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        fields.push(("Passages voted not helpful".to_string(), passages));
    }
    if !report.per_day.is_empty() {
        let days = report
            .per_day
            .iter()
            .rev()
            .take(7)
            .map(|d| format!("{}: {:.0}% of {}", d.day, d.answer_rate * 100.0, d.asked))
            .collect::<Vec<_>>()
            .join("\n");
        fields.push(("Answer rate, last days".to_string(), days));
    }
    Card {
        title: format!("Feedback, last {} days", report.since_days),
        notice: None,
        body: format!(
            "{} asked · {} answered · {} refused\n{} helpful · {} not helpful",
            report.asked, report.answered, report.refused, report.helpful, report.not_helpful
        ),
        fields,
        footer: Some("careerbot report --export-eval turns these into eval cases".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_ids_round_trip_within_discords_limit() {
        let click = Click {
            answer_id: 1_234_567_890_123_456_789,
            helpful: false,
            passage_id: Some("roadmap/how-long-the-ml-architect-roadmap-takes".into()),
        };
        assert_eq!(Click::parse(&click.custom_id()), Some(click.clone()));
        let long = Click {
            passage_id: Some("x".repeat(90)),
            ..click
        };
        let id = long.custom_id();
        assert!(id.len() <= CUSTOM_ID_MAX);
        assert_eq!(Click::parse(&id).and_then(|c| c.passage_id), None);
        for bad in [
            "",
            "fb1",
            "fb1:x:1:",
            "fb1:h:notanumber:a",
            "other:h:1:a",
            "fb1:h:-1:a",
        ] {
            assert_eq!(Click::parse(bad), None, "{bad}");
        }
    }

    /// A question refused for a not-covered topic: the topic is recorded with the text,
    /// and kept out with it (a private ask, a server that keeps text out).
    #[test]
    fn the_topic_is_kept_only_with_the_question_text() {
        let mut answer = crate::search::Answer {
            question: "how much tax on 30 LPA".into(),
            answered: false,
            hits: vec![],
            did_you_mean: None,
            decision: None,
            terms: vec![],
            suggestions: vec![],
            unstated: None,
            nearest_topic: Some(crate::search::NearTopic {
                name: "income tax".into(),
                similarity: 0.7,
                nearest_passage: 0.4,
                refused: true,
            }),
        };
        let topic = |answer: &crate::search::Answer, keep_text: bool| match asked_record(
            1 << 23,
            Some(5),
            "q",
            answer,
            "abc",
            keep_text,
        ) {
            Some(Record::Asked(a)) => a.not_covered,
            other => panic!("{other:?}"),
        };
        assert_eq!(topic(&answer, true).as_deref(), Some("income tax"));
        assert_eq!(topic(&answer, false), None);
        // Near a topic but refused (or answered) for another reason: no topic.
        answer.nearest_topic.as_mut().unwrap().refused = false;
        assert_eq!(topic(&answer, true), None);
    }

    #[test]
    fn the_report_card_fits_discord() {
        let card = report_card(&Report {
            since_days: 30,
            asked: 3,
            answered: 1,
            refused: 2,
            helpful: 1,
            not_helpful: 0,
            unanswered: vec![feedback::report::QuestionCount {
                question: "who won".into(),
                count: 2,
                wordings: vec!["who won".into()],
            }],
            unanswered_without_text: 0,
            not_covered: vec![feedback::report::TopicCount {
                topic: "income **tax**".into(),
                count: 1,
            }],
            not_helpful_questions: vec![],
            not_helpful_passages: vec![],
            per_day: vec![],
            grouping: "words",
        });
        assert!(card.body.contains("3 asked"));
        assert_eq!(card.fields[0].1, "2× who won");
        // A topic's name is shown as written: its markdown escaped.
        assert_eq!(
            card.fields[1],
            (
                "Refused as not covered".to_string(),
                "1× income \\*\\*tax\\*\\*".to_string()
            )
        );
    }
}
