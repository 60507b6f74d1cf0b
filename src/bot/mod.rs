//! Discord bot (in progress).
use std::path::Path;

/// Runs the bot from the command line.
pub fn serve_from_cli(_config: Option<&Path>, _knowledge: Option<&Path>) -> anyhow::Result<()> {
    anyhow::bail!("the Discord bot is not built yet")
}
