//! Slash-command registration, and clean-up of what an earlier registration left behind.
//!
//! Why clean up: Discord keeps global and per-guild commands separately. A bot switched from
//! `guild_ids = [...]` to global registration (or the other way, or with a guild dropped from
//! the list) would otherwise leave the old copies registered, and members would see every
//! command twice, one of them stale. So at start the bot registers where the config says,
//! and removes its own commands from everywhere else it can see: the global list in guild
//! mode, and every guild it is in that is not configured (all of them in global mode).
//! Guilds are learnt from each shard's READY, so every shard's guilds are covered; each
//! guild is checked once per process (one `GET`, plus one `PUT []` if anything was left).

use std::collections::HashSet;
use std::sync::Mutex;

use poise::serenity_prelude as serenity;

use super::commands::{BotError, Data};

/// Registers `commands` globally (no guild ids) or in each configured guild; in guild mode
/// also removes global commands left from an earlier global registration.
pub async fn register(
    ctx: &serenity::Context,
    commands: &[poise::Command<Data, BotError>],
    guild_ids: &[u64],
    metrics: &super::Metrics,
) -> Result<(), serenity::Error> {
    let counted = |e: serenity::Error| {
        metrics.discord_error(&e);
        e
    };
    if guild_ids.is_empty() {
        return poise::builtins::register_globally(ctx, commands)
            .await
            .map_err(counted);
    }
    for g in guild_ids {
        poise::builtins::register_in_guild(ctx, commands, serenity::GuildId::new(*g))
            .await
            .map_err(counted)?;
    }
    // Not fatal: stale commands are untidy, not broken.
    if let Err(e) = clear_global_commands(ctx).await {
        metrics.discord_error(&e);
        tracing::warn!(error = %e, "could not remove global commands left from an earlier global registration");
    }
    Ok(())
}

async fn clear_global_commands(ctx: &serenity::Context) -> Result<(), serenity::Error> {
    let global = serenity::Command::get_global_commands(ctx).await?;
    if !global.is_empty() {
        serenity::Command::set_global_commands(ctx, Vec::new()).await?;
        tracing::info!(
            removed = global.len(),
            "removed global commands left from an earlier global registration (commands are per guild now)"
        );
    }
    Ok(())
}

/// The guilds already checked for stale commands by this process.
#[derive(Debug, Default)]
pub struct StaleCheck {
    checked: Mutex<HashSet<u64>>,
}

impl StaleCheck {
    /// Guilds of `ready` not checked yet and not configured, marked as checked.
    fn take_unchecked(
        &self,
        ready: &serenity::Ready,
        configured: &[u64],
    ) -> Vec<serenity::GuildId> {
        // A poisoned lock only means a panic elsewhere mid-insert; the set is still usable.
        let mut checked = self.checked.lock().unwrap_or_else(|p| p.into_inner());
        ready
            .guilds
            .iter()
            .map(|g| g.id)
            .filter(|id| !configured.contains(&id.get()) && checked.insert(id.get()))
            .collect()
    }
}

/// On each shard's READY: removes this bot's commands from the shard's guilds where they
/// should not be. Failures are logged, never fatal: stale commands are untidy, not broken.
pub async fn clear_stale_guild_commands(
    ctx: &serenity::Context,
    ready: &serenity::Ready,
    data: &Data,
) {
    let guilds = data
        .stale_check
        .take_unchecked(ready, &data.config.guild_ids);
    for guild in guilds {
        let left = match guild.get_commands(ctx).await {
            Ok(left) => left,
            Err(e) => {
                data.metrics.discord_error(&e);
                tracing::warn!(guild = %guild, error = %e, "could not look for stale guild commands");
                continue;
            }
        };
        if left.is_empty() {
            continue;
        }
        match guild.set_commands(ctx, Vec::new()).await {
            Ok(_) => tracing::info!(
                guild = %guild,
                removed = left.len(),
                "removed guild commands left from an earlier guild_ids registration"
            ),
            Err(e) => {
                data.metrics.discord_error(&e);
                tracing::warn!(guild = %guild, error = %e, "could not remove stale guild commands")
            }
        }
    }
}
