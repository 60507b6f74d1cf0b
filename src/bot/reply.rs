//! How commands answer: public or private, a card as an embed, a card with its chart
//! attached, a deferral; and the interaction-to-callback latency each first response is
//! timed for.

use std::sync::Arc;
use std::time::Duration;

use poise::serenity_prelude as serenity;

use super::commands::{BotError, Context};
use super::config::Visibility;
use super::discord::{embed_parts, embed_reply, embed_reply_with_image};
use super::state::Generation;
use crate::chart::ChartKind;
use crate::render::Card;

/// Longest a chart may take to draw before the card goes out without it: the first response
/// must reach Discord within 3 seconds, and the text is the answer.
const CHART_DEADLINE: Duration = Duration::from_secs(1);

/// Whether the reply is private: the user's choice, else the configured default.
pub fn ephemeral(ctx: &Context<'_>, private: Option<bool>) -> bool {
    private.unwrap_or(ctx.data().config.default_visibility == Visibility::Private)
}

/// Whether this invocation has yet to send its first response (the interaction callback).
fn awaiting_callback(ctx: &Context<'_>) -> bool {
    match ctx {
        poise::Context::Application(app) => !app
            .has_sent_initial_response
            .load(std::sync::atomic::Ordering::SeqCst),
        poise::Context::Prefix(_) => false,
    }
}

/// Observes the time from Discord creating the interaction (its id is a timestamp) to Discord
/// accepting the first response: what the 3-second deadline measures, gateway delivery and
/// failed checks included. A host clock behind Discord's would make it negative: counted as
/// zero.
fn callback_sent(ctx: &Context<'_>) {
    let created_ms = super::discord::snowflake_unix_ms(ctx.id());
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let took = Duration::from_millis(now_ms.saturating_sub(created_ms));
    ctx.data()
        .metrics
        .callback_seconds
        .observe(took.as_secs_f64());
}

/// Sends `reply`, timing it when it is the interaction's first response.
pub async fn respond(ctx: &Context<'_>, reply: poise::CreateReply) -> Result<(), serenity::Error> {
    let first = awaiting_callback(ctx);
    ctx.send(reply).await?;
    if first {
        callback_sent(ctx);
    }
    Ok(())
}

/// Defers (Discord shows "thinking..."), timed as the first response.
pub async fn defer(ctx: &Context<'_>, ephemeral: bool) -> Result<(), serenity::Error> {
    let first = awaiting_callback(ctx);
    if ephemeral {
        ctx.defer_ephemeral().await?;
    } else {
        ctx.defer().await?;
    }
    if first {
        callback_sent(ctx);
    }
    Ok(())
}

/// Sends a card as an embed.
pub async fn send_card(
    ctx: Context<'_>,
    card: &Card,
    private: Option<bool>,
) -> Result<(), BotError> {
    let parts = embed_parts(card, crate::lookup::truncate_chars);
    respond(&ctx, embed_reply(&parts, ephemeral(&ctx, private))).await?;
    Ok(())
}

/// Sends a card with chart `kind` of `generation` attached and shown in the embed. A chart
/// that cannot be drawn, or not within [`CHART_DEADLINE`], is logged and the card goes out
/// without it.
pub async fn send_card_with_chart(
    ctx: Context<'_>,
    card: &Card,
    generation: &Arc<Generation>,
    kind: ChartKind,
) -> Result<(), BotError> {
    let parts = embed_parts(card, crate::lookup::truncate_chars);
    let private = ephemeral(&ctx, None);
    let drawing = {
        let generation = Arc::clone(generation);
        tokio::task::spawn_blocking(move || generation.chart(kind))
    };
    let reply = match tokio::time::timeout(CHART_DEADLINE, drawing).await {
        Ok(Ok(Ok(chart))) => {
            if chart.fresh {
                ctx.data().metrics.charts_drawn.inc();
            }
            let name = super::discord::chart_file_name(kind);
            embed_reply_with_image(&parts, private, name, &chart.png)
        }
        Ok(Ok(Err(e))) => {
            tracing::warn!(error = %e, "chart not drawn; sending the card alone");
            embed_reply(&parts, private)
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "chart task failed; sending the card alone");
            embed_reply(&parts, private)
        }
        Err(_) => {
            // The drawing finishes in the background and is cached for the next request.
            tracing::warn!(
                ?kind,
                "chart not drawn within {CHART_DEADLINE:?}; sending the card alone"
            );
            embed_reply(&parts, private)
        }
    };
    respond(&ctx, reply).await?;
    Ok(())
}
