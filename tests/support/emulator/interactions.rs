//! Who acts, and the interaction payloads Discord would send for them: slash commands,
//! autocomplete, and button clicks on a message the bot sent.

use serde_json::{json, Value};

use super::{
    next_snowflake, snowflake_field, user_json, BOT_PERMISSIONS, CHANNEL_ID, DM_CHANNEL_ID,
    GUILD_ID, MANAGE_GUILD, MANAGE_MESSAGES, MEMBER_PERMISSIONS,
};

/// Who invokes an interaction.
#[derive(Clone, Debug)]
pub struct Who {
    pub user_id: u64,
    pub roles: Vec<u64>,
    /// Discord permission bitfield sent as `member.permissions` (e.g. [`MEMBER_PERMISSIONS`],
    /// `0`, or `MEMBER_PERMISSIONS | MANAGE_GUILD`). Ignored for DMs.
    pub permissions: u64,
    /// `None` = a DM with the bot (no `member`, no `guild_id`).
    pub guild_id: Option<u64>,
}

impl Who {
    /// An ordinary member of [`GUILD_ID`] without roles.
    pub fn member(user_id: u64) -> Who {
        Who {
            user_id,
            roles: Vec::new(),
            permissions: MEMBER_PERMISSIONS,
            guild_id: Some(GUILD_ID),
        }
    }

    /// A member of [`GUILD_ID`] with `role` and MANAGE_GUILD | MANAGE_MESSAGES on top of the
    /// ordinary member permissions.
    pub fn moderator(user_id: u64, role: u64) -> Who {
        Who {
            user_id,
            roles: vec![role],
            permissions: MEMBER_PERMISSIONS | MANAGE_GUILD | MANAGE_MESSAGES,
            guild_id: Some(GUILD_ID),
        }
    }

    /// A user talking to the bot in a DM.
    pub fn dm(user_id: u64) -> Who {
        Who {
            user_id,
            roles: Vec::new(),
            permissions: 0,
            guild_id: None,
        }
    }
}

/// A chat-input (slash) command interaction, type 2. `options` is an array of
/// `{"name", "type", "value"}` (see [`string_opt`]); `Null` means no options.
///
/// `data.id` is a placeholder; [`Emulator::dispatch_interaction`] replaces it with the id the
/// emulator gave that command name when the bot registered it.
pub fn slash_command(app_id: u64, name: &str, options: Value, who: &Who) -> Value {
    interaction_payload(2, app_id, name, options, who)
}

/// An autocomplete interaction, type 4. One option must carry `"focused": true` and a string
/// `value` (the partial input; see [`focused_opt`]). The bot answers with a type 8 callback whose
/// `data.choices` is the list of suggestions.
pub fn autocomplete(app_id: u64, name: &str, options: Value, who: &Who) -> Value {
    interaction_payload(4, app_id, name, options, who)
}

/// `{"name": name, "type": 3, "value": value}`.
pub fn string_opt(name: &str, value: &str) -> Value {
    json!({ "name": name, "type": 3, "value": value })
}

/// `{"name": name, "type": 4, "value": value}`.
pub fn integer_opt(name: &str, value: i64) -> Value {
    json!({ "name": name, "type": 4, "value": value })
}

/// The focused string option of an autocomplete interaction.
pub fn focused_opt(name: &str, partial: &str) -> Value {
    json!({ "name": name, "type": 3, "value": partial, "focused": true })
}

/// The interaction id of a payload made by [`slash_command`] / [`autocomplete`].
pub fn interaction_id(payload: &Value) -> u64 {
    snowflake_field(&payload["id"]).unwrap_or_else(|| {
        panic!("interaction payload has no snowflake `id` (string or integer): {payload}")
    })
}

fn interaction_payload(kind: u8, app_id: u64, name: &str, options: Value, who: &Who) -> Value {
    let options = if options.is_null() {
        json!([])
    } else {
        options
    };
    let data = json!({
        "id": next_snowflake().to_string(),
        "name": name,
        "type": 1,
        "options": options,
    });
    envelope(kind, app_id, data, who)
}

/// An interaction of `kind` with `data`, invoked by `who`: a fresh id and its token.
fn envelope(kind: u8, app_id: u64, data: Value, who: &Who) -> Value {
    let id = next_snowflake();
    let mut payload = json!({
        "id": id.to_string(),
        "application_id": app_id.to_string(),
        "type": kind,
        "token": format!("emu-interaction-token-{id}"),
        "version": 1,
        "locale": "en-US",
        "entitlements": [],
        "attachment_size_limit": 26_214_400,
        "app_permissions": BOT_PERMISSIONS.to_string(),
        "data": data,
    });
    add_who(&mut payload, who);
    payload
}

/// Who invoked an interaction, and where: a guild channel or a DM.
fn add_who(payload: &mut Value, who: &Who) {
    let user = user_json(who.user_id, &format!("user{}", who.user_id), false);
    match who.guild_id {
        Some(guild_id) => add_guild_context(payload, guild_id, who, user),
        None => {
            payload["channel_id"] = json!(DM_CHANNEL_ID.to_string());
            payload["channel"] = json!({ "id": DM_CHANNEL_ID.to_string(), "type": 1 });
            payload["user"] = user;
            payload["authorizing_integration_owners"] = json!({ "0": "0" });
            payload["context"] = json!(1);
        }
    }
}

/// The guild, channel and member of an interaction invoked in a guild text channel.
fn add_guild_context(payload: &mut Value, guild_id: u64, who: &Who, user: Value) {
    payload["guild_id"] = json!(guild_id.to_string());
    payload["guild_locale"] = json!("en-US");
    payload["channel_id"] = json!(CHANNEL_ID.to_string());
    payload["channel"] = json!({
        "id": CHANNEL_ID.to_string(),
        "type": 0,
        "name": "career-help",
        "guild_id": guild_id.to_string(),
        "permissions": who.permissions.to_string(),
    });
    payload["member"] = json!({
        "user": user,
        "nick": null,
        "avatar": null,
        "roles": who.roles.iter().map(u64::to_string).collect::<Vec<_>>(),
        "joined_at": "2024-01-01T00:00:00.000000+00:00",
        "premium_since": null,
        "deaf": false,
        "mute": false,
        "flags": 0,
        "pending": false,
        "permissions": who.permissions.to_string(),
    });
    payload["authorizing_integration_owners"] = json!({ "0": guild_id.to_string() });
    payload["context"] = json!(0);
}

/// A click on the button `custom_id` of `message` (a message the bot sent, as the emulator
/// returned it), type 3 (MESSAGE_COMPONENT). Discord only sends clicks on buttons a message
/// has: a `custom_id` that is not among the message's buttons is refused.
pub fn button_click(
    app_id: u64,
    message: &Value,
    custom_id: &str,
    who: &Who,
) -> Result<Value, String> {
    let buttons = button_ids(message);
    if !buttons.iter().any(|b| b == custom_id) {
        return Err(format!(
            "the message has no button {custom_id:?} (its buttons: {buttons:?}); Discord sends clicks only on buttons a message shows"
        ));
    }
    let data = json!({ "custom_id": custom_id, "component_type": 2 });
    let mut payload = envelope(3, app_id, data, who);
    payload["message"] = message.clone();
    Ok(payload)
}

/// The `custom_id`s of the buttons on `message`, in order.
pub fn button_ids(message: &Value) -> Vec<String> {
    message["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().into_iter().flatten())
        .filter(|c| c["type"] == 2)
        .filter_map(|c| c["custom_id"].as_str().map(str::to_string))
        .collect()
}
