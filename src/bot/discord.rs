//! Discord rendering: cards as embeds within Discord's limits, and replies that never ping.
//!
//! Pure functions, unit-tested without a network: the limits are Discord's documented ones
//! (title 256, description 4096, field name 256, field value 1024, footer 2048, 25 fields,
//! 6000 characters per embed in total, 2000 for message content). Every cut happens on a
//! char boundary and ends in "…", so no reply is ever rejected with a 400.

use poise::serenity_prelude as serenity;

use crate::lookup::truncate_chars;
use crate::render::Card;

pub const TITLE_MAX: usize = 256;
pub const DESCRIPTION_MAX: usize = 4096;
pub const FIELD_NAME_MAX: usize = 256;
pub const FIELD_VALUE_MAX: usize = 1024;
pub const FOOTER_MAX: usize = 2048;
pub const FIELDS_MAX: usize = 25;
pub const EMBED_TOTAL_MAX: usize = 6000;
pub const CONTENT_MAX: usize = 2000;
/// Autocomplete: at most 25 choices, each name and value at most 100 characters.
pub const CHOICES_MAX: usize = 25;
pub const CHOICE_MAX_CHARS: usize = 100;

/// What a knowledge base must also satisfy to be served on Discord: every skill area name
/// fits an autocomplete choice (it is the `/skills` option's value). Checked by `/reload`
/// and `careerbot check` beside the knowledge layer's own validation.
pub fn knowledge_problems(kb: &crate::knowledge::KnowledgeBase) -> Vec<crate::knowledge::Problem> {
    kb.skills
        .iter()
        .filter(|a| a.name.chars().count() > CHOICE_MAX_CHARS)
        .map(|a| crate::knowledge::Problem {
            path: a.source.clone(),
            line: a.line,
            message: format!(
                "area name is longer than {CHOICE_MAX_CHARS} characters (Discord's limit for choices)"
            ),
        })
        .collect()
}
/// Our embed colour (a calm blue).
const COLOUR: u32 = 0x3b82f6;

/// An embed's text, already within every limit.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EmbedParts {
    pub title: String,
    pub description: String,
    pub fields: Vec<(String, String)>,
    pub footer: Option<String>,
}

impl EmbedParts {
    /// Characters Discord counts toward the 6000 total.
    pub fn total_chars(&self) -> usize {
        self.title.chars().count()
            + self.description.chars().count()
            + self
                .fields
                .iter()
                .map(|(n, v)| n.chars().count() + v.chars().count())
                .sum::<usize>()
            + self.footer.as_ref().map_or(0, |f| f.chars().count())
    }
}

/// Fits a card into an embed. The notice ("did you mean") leads the description; when the
/// body is long, `shorten` cuts it (the caller may highlight a window of the passage), and
/// the description is cut again if fields and footer leave less room than that.
pub fn embed_parts(card: &Card, shorten: impl Fn(&str, usize) -> String) -> EmbedParts {
    let title = truncate_chars(card.title.trim(), TITLE_MAX);
    let title = if title.is_empty() {
        "careerbot".to_string()
    } else {
        title
    };
    let fields: Vec<(String, String)> = card
        .fields
        .iter()
        .take(FIELDS_MAX)
        .map(|(n, v)| {
            let n = truncate_chars(n, FIELD_NAME_MAX);
            let v = truncate_chars(v, FIELD_VALUE_MAX);
            // Discord rejects empty field names and values.
            (
                if n.trim().is_empty() {
                    "\u{200b}".into()
                } else {
                    n
                },
                if v.trim().is_empty() {
                    "\u{200b}".into()
                } else {
                    v
                },
            )
        })
        .collect();
    let footer = card
        .footer
        .as_ref()
        .map(|f| truncate_chars(f, FOOTER_MAX))
        .filter(|f| !f.trim().is_empty());
    let mut parts = EmbedParts {
        title,
        description: String::new(),
        fields,
        footer,
    };
    // Drop trailing fields until the fixed parts leave room for some description.
    while parts.total_chars() > EMBED_TOTAL_MAX - 500 && !parts.fields.is_empty() {
        parts.fields.pop();
    }
    let room = (EMBED_TOTAL_MAX - parts.total_chars()).min(DESCRIPTION_MAX);
    let notice = card
        .notice
        .as_ref()
        .map(|n| format!("*{}*\n\n", truncate_chars(n, 300)))
        .unwrap_or_default();
    let body_room = room.saturating_sub(notice.chars().count());
    let body = if card.body.chars().count() <= body_room {
        card.body.clone()
    } else {
        let cut = shorten(&card.body, body_room);
        // The shortener is trusted for quality, not for limits.
        truncate_chars(&cut, body_room)
    };
    parts.description = truncate_chars(&format!("{notice}{body}"), room);
    if parts.description.trim().is_empty() {
        parts.description = "\u{200b}".into();
    }
    parts
}

/// The serenity embed for fitted parts.
pub fn create_embed(parts: &EmbedParts) -> serenity::CreateEmbed {
    let mut e = serenity::CreateEmbed::new()
        .title(parts.title.clone())
        .description(parts.description.clone())
        .colour(COLOUR);
    for (name, value) in &parts.fields {
        e = e.field(name.clone(), value.clone(), false);
    }
    if let Some(f) = &parts.footer {
        e = e.footer(serenity::CreateEmbedFooter::new(f.clone()));
    }
    e
}

/// Allowed mentions that allow nothing: no @everyone, no roles, no users, no reply ping,
/// whatever a knowledge file or a question contains.
/// Discord's epoch (2015-01-01) in Unix milliseconds: a snowflake's top 42 bits count from it.
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// When Discord created the object with snowflake `id`, in Unix milliseconds.
pub fn snowflake_unix_ms(id: u64) -> u64 {
    (id >> 22) + DISCORD_EPOCH_MS
}

pub fn no_pings() -> serenity::CreateAllowedMentions {
    serenity::CreateAllowedMentions::new()
        .empty_users()
        .empty_roles()
        .everyone(false)
        .replied_user(false)
}

/// A reply carrying one embed.
pub fn embed_reply(parts: &EmbedParts, ephemeral: bool) -> poise::CreateReply {
    poise::CreateReply::default()
        .embed(create_embed(parts))
        .ephemeral(ephemeral)
        .allowed_mentions(no_pings())
}

/// A reply carrying one embed with a picture: the PNG is uploaded as an attachment named
/// `file_name` and shown inside the embed (`attachment://file_name`).
pub fn embed_reply_with_image(
    parts: &EmbedParts,
    ephemeral: bool,
    file_name: &str,
    png: &[u8],
) -> poise::CreateReply {
    let embed = create_embed(parts).image(format!("attachment://{file_name}"));
    poise::CreateReply::default()
        .embed(embed)
        .attachment(serenity::CreateAttachment::bytes(png.to_vec(), file_name))
        .ephemeral(ephemeral)
        .allowed_mentions(no_pings())
}

/// The HTTP status Discord answered a failed request with, logged as its own `status` field so
/// logs can be searched (and tests can assert) by it rather than by text.
pub fn discord_status(error: &serenity::Error) -> Option<u16> {
    match error {
        serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(response)) => {
            Some(response.status_code.as_u16())
        }
        _ => None,
    }
}

/// The attachment name a chart is uploaded as (and its embed points at).
pub fn chart_file_name(kind: crate::chart::ChartKind) -> &'static str {
    match kind {
        crate::chart::ChartKind::Salary { .. } => "salary.png",
        crate::chart::ChartKind::Timeline { .. } => "timeline.png",
    }
}

/// A plain-text reply, cut to Discord's content limit.
pub fn text_reply(text: &str, ephemeral: bool) -> poise::CreateReply {
    poise::CreateReply::default()
        .content(truncate_chars(text, CONTENT_MAX))
        .ephemeral(ephemeral)
        .allowed_mentions(no_pings())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_names_must_fit_an_autocomplete_choice() {
        let long = "x".repeat(CHOICE_MAX_CHARS + 1);
        let text = format!(
            "[[area]]\nid = \"ok\"\nname = \"MLOps\"\nitems = [\"a\"]\n\n[[area]]\nid = \"long\"\nname = \"{long}\"\nitems = [\"b\"]\n"
        );
        let files = [crate::knowledge::SourceFile {
            path: "k/skills.toml".into(),
            bytes: text.into_bytes(),
        }];
        let kb = crate::knowledge::KnowledgeBase::from_files(&files)
            .expect("valid for the knowledge layer");
        let problems: Vec<String> = knowledge_problems(&kb)
            .iter()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("k/skills.toml:6: area name is longer than 100"),
            "{problems:?}"
        );
    }

    fn naive_cut(s: &str, n: usize) -> String {
        truncate_chars(s, n)
    }

    #[test]
    fn long_passages_fit_every_limit() {
        let card = Card {
            title: "T".repeat(400),
            notice: Some("Did you mean: \"x\"?".into()),
            body: "é".repeat(5000),
            fields: vec![
                ("See also".into(), "ü".repeat(2000)),
                (String::new(), String::new()),
            ],
            footer: Some("f".repeat(3000)),
        };
        let p = embed_parts(&card, naive_cut);
        assert!(p.title.chars().count() <= TITLE_MAX);
        assert!(p.description.chars().count() <= DESCRIPTION_MAX);
        assert!(p.fields.iter().all(|(n, v)| {
            !n.is_empty()
                && n.chars().count() <= FIELD_NAME_MAX
                && !v.is_empty()
                && v.chars().count() <= FIELD_VALUE_MAX
        }));
        assert!(p.footer.as_ref().unwrap().chars().count() <= FOOTER_MAX);
        assert!(p.total_chars() <= EMBED_TOTAL_MAX, "{}", p.total_chars());
        assert!(p.description.ends_with('…'));
        assert!(p.description.starts_with("*Did you mean"));
    }

    #[test]
    fn short_cards_pass_through() {
        let card = Card {
            title: "Salary".into(),
            body: "₹10-18 LPA".into(),
            ..Card::default()
        };
        let p = embed_parts(&card, |_, _| panic!("no shortening needed"));
        assert_eq!(p.description, "₹10-18 LPA");
        assert_eq!(p.footer, None);
    }

    #[test]
    fn allowed_mentions_allow_nothing() {
        let json = serde_json::to_value(no_pings()).unwrap();
        assert_eq!(json["parse"], serde_json::json!([]));
        assert_eq!(json["users"], serde_json::json!([]));
        assert_eq!(json["roles"], serde_json::json!([]));
        assert_eq!(json["replied_user"], false);
    }
}
