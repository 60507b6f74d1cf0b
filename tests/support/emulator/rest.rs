//! The REST side: one HTTP handler that checks the `Authorization` header, applies injected
//! failures (`faults.rs`), routes to the handlers below, passes every exchange through
//! `contract::check_exchange`, records it, and answers.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use poise::serenity_prelude as serenity;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::faults;
use super::multipart;
use super::recorder::{self, Recorded};
use super::{
    bot_user_json, contract, flags_of, next_snowflake, snowflake_field, user_json, Emulator,
    Shared, State, APP_OWNER_ID, CHANNEL_ID,
};

#[derive(Default)]
pub(super) struct InteractionRecord {
    token: String,
    /// Short human description of what was dispatched, for error messages.
    pub(super) summary: String,
    pub(super) callback: Option<Value>,
    /// Callbacks that were not accepted (injected failures or protocol errors), with the status.
    pub(super) rejected_callbacks: Vec<(u16, Value)>,
    /// PATCH @original / followup bodies, in arrival order.
    pub(super) after_callback: Vec<Value>,
    /// The message Discord would now show as the original response.
    pub(super) original: Option<Value>,
}

#[derive(Default)]
pub(super) struct RestState {
    /// (guild or None for global, name) -> command as echoed.
    commands: HashMap<(Option<u64>, String), Value>,
    pub(super) interactions: HashMap<u64, InteractionRecord>,
    token_to_interaction: HashMap<String, u64>,
    pub(super) injections: Vec<faults::Injection>,
}

/// The emulator's answer to one request.
pub(super) struct Answer {
    pub(super) status: u16,
    /// `Null`: no body.
    pub(super) body: Value,
    pub(super) headers: Vec<(&'static str, String)>,
    pub(super) injected: bool,
}

impl Answer {
    pub(super) fn json(status: u16, body: Value) -> Answer {
        Answer {
            status,
            body,
            headers: Vec::new(),
            injected: false,
        }
    }

    fn empty(status: u16) -> Answer {
        Answer::json(status, Value::Null)
    }

    pub(super) fn error(status: u16, code: u64, message: &str) -> Answer {
        Answer::json(status, json!({ "code": code, "message": message }))
    }
}

impl Emulator {
    /// The command id the emulator assigned to `name` (guild-specific registration first, then
    /// global), if the bot registered it.
    pub fn command_id(&self, name: &str, guild_id: Option<u64>) -> Option<u64> {
        let st = self.shared.lock();
        registered_command(&st, name, guild_id).and_then(|c| snowflake_field(&c["id"]))
    }

    /// Marks this emulator's traffic as breaking Discord's contract on purpose (a test that
    /// proves the check runs), so the suite's totals count it apart.
    pub fn expect_contract_violations(&self) {
        self.shared.lock().rec.contract.deliberate = true;
    }

    /// Names of the commands registered exactly there (`None`: globally), sorted; unlike
    /// [`Emulator::command_id`], a guild does not fall back to the global list.
    pub fn registered_names(&self, guild_id: Option<u64>) -> Vec<String> {
        let st = self.shared.lock();
        let mut names: Vec<String> = st
            .rest
            .commands
            .keys()
            .filter(|(g, _)| *g == guild_id)
            .map(|(_, name)| name.clone())
            .collect();
        names.sort();
        names
    }
}

pub(super) async fn serve(listener: TcpListener, shared: Arc<Shared>, stop: watch::Receiver<bool>) {
    super::accept_loop(listener, shared, stop, "REST", serve_connection).await;
}

/// Serves HTTP/1.1 on one connection (plain TCP, or the TLS tunnel of `tls.rs`) until it closes
/// or the emulator stops.
pub(super) async fn serve_connection<I>(io: I, shared: Arc<Shared>, mut stop: watch::Receiver<bool>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| {
        let shared = Arc::clone(&shared);
        async move { Ok::<_, Infallible>(handle(&shared, req).await) }
    });
    let conn = http1::Builder::new().serve_connection(TokioIo::new(io), service);
    tokio::select! {
        _ = conn => {}
        _ = stop.changed() => {}
    }
}

/// The one path every request takes: read, answer, check the exchange, record, respond.
async fn handle(shared: &Shared, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let header = |name| {
        req.headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header(CONTENT_TYPE).unwrap_or_default();
    let authorization = header(AUTHORIZATION);
    let bytes = match req.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            shared.problem(format!("reading the body of {method} {path} failed: {e}"));
            Bytes::new()
        }
    };
    let (body, files, unreadable) = parse_body(&content_type, &bytes);
    let segments = api_segments(&path);

    let answer = {
        let mut st = shared.lock();
        let answer = match unreadable {
            Some(why) => {
                st.rec.problems.push(format!("{method} {path}: 400: {why}"));
                Answer::error(400, 50035, "Invalid Form Body")
            }
            None => {
                // What the message shows: the uploads as stored attachments.
                let routed = if files.is_empty() {
                    body.clone()
                } else {
                    let wrong = multipart::problems(&body, &files);
                    st.rec
                        .problems
                        .extend(wrong.into_iter().map(|w| format!("{method} {path}: {w}")));
                    multipart::with_attachment_objects(&body, &files)
                };
                answer(
                    &mut st,
                    shared,
                    &method,
                    &segments,
                    authorization.as_deref(),
                    &body,
                    &routed,
                )
            }
        };
        let exchange = contract::Exchange {
            method: &method,
            path: &path,
            segments: &segments,
            request: &body,
            status: answer.status,
            answer: &answer.body,
            injected: answer.injected,
        };
        let wrong = contract::check_exchange(&exchange, &mut st.rec.contract);
        st.rec.problems.extend(wrong);
        st.rec.requests.push(Recorded {
            method: method.clone(),
            path: path.clone(),
            body,
            files,
            status: answer.status,
            answer: answer.body.clone(),
            injected: answer.injected,
        });
        answer
    };
    shared.changed();
    respond(answer)
}

fn respond(answer: Answer) -> Response<Full<Bytes>> {
    let mut response = if answer.body.is_null() {
        Response::new(Full::new(Bytes::new()))
    } else {
        let mut r = Response::new(Full::new(Bytes::from(answer.body.to_string())));
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        r
    };
    for (name, value) in answer.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
    *response.status_mut() =
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
}

/// The path below any API version prefix (`/api/v10/...`, `/api/v9/...`, `/api/...`), split.
fn api_segments(path: &str) -> Vec<&str> {
    let rest = path.strip_prefix("/api").unwrap_or(path);
    let rest = match rest.strip_prefix("/v") {
        Some(after) => after.trim_start_matches(|c: char| c.is_ascii_digit()),
        None => rest,
    };
    rest.split('/').filter(|s| !s.is_empty()).collect()
}

fn answer(
    st: &mut State,
    shared: &Shared,
    method: &str,
    segs: &[&str],
    authorization: Option<&str>,
    body: &Value,
    routed: &Value,
) -> Answer {
    // Routes authorised by the token in their path (and the gateway URL) need no header.
    let required = !matches!(
        (method, segs),
        ("GET", ["gateway"]) | (_, ["interactions", ..]) | (_, ["webhooks", _, _, ..])
    );
    let checked = contract::check_authorization(authorization, &shared.settings.token, required);
    if let Err(e) = checked {
        st.rec
            .problems
            .push(format!("{method} /{}: 401: {e}", segs.join("/")));
        return Answer::error(401, 0, "401: Unauthorized");
    }
    // Discord checks the body against its schema before anything else happens to it.
    if let Some(refused) = contract::check_request(st, method, segs, body) {
        return refused;
    }
    if let Some(answer) = faults::injected(st, method, segs, body) {
        return answer;
    }
    route(st, shared, method, segs, routed)
}

fn route(st: &mut State, shared: &Shared, method: &str, segs: &[&str], body: &Value) -> Answer {
    let app = shared.app_id.to_string();
    match (method, segs) {
        ("GET", ["gateway"]) => Answer::json(200, json!({ "url": shared.ws_url })),
        ("GET", ["gateway", "bot"]) => Answer::json(
            200,
            json!({
                "url": shared.ws_url,
                "shards": st.gw.shard_count,
                "session_start_limit": {
                    "total": 1000, "remaining": 999, "reset_after": 86_400_000, "max_concurrency": 1,
                },
            }),
        ),
        ("GET", ["users", "@me"]) => Answer::json(200, bot_user_json(shared)),
        ("GET", ["oauth2", "applications", "@me"]) => Answer::json(
            200,
            json!({
                "id": app,
                "name": "careerbot-emulated",
                "icon": null,
                "description": "",
                "bot_public": true,
                "bot_require_code_grant": false,
                "owner": user_json(APP_OWNER_ID, "owner", false),
                "verify_key": "0000",
                "team": null,
                "flags": 0,
                // The rest of what Discord's contract requires of this answer.
                "type": null,
                "flags_new": "0",
                "redirect_uris": [],
                "interactions_endpoint_url": null,
                "role_connections_verification_url": null,
                "approximate_guild_count": 1,
                "approximate_user_install_count": 0,
                "approximate_user_authorization_count": 0,
                "explicit_content_filter": 0,
                "eligible_oauth2_scopes": [],
            }),
        ),
        (m, ["applications", a, "commands"]) if *a == app => {
            commands_route(st, shared, m, segs, None, body)
        }
        (m, ["applications", a, "guilds", g, "commands"]) if *a == app => match g.parse::<u64>() {
            Ok(g) => commands_route(st, shared, m, segs, Some(g), body),
            Err(_) => Answer::error(404, 10004, "Unknown Guild"),
        },
        ("POST", ["interactions", id, token, "callback"]) => {
            callback_route(st, shared, id, token, body)
        }
        ("POST", ["webhooks", a, token]) if *a == app => followup_route(st, shared, token, body),
        (m, ["webhooks", a, token, "messages", which]) if *a == app => {
            webhook_message_route(st, shared, m, token, which, body)
        }
        _ => Answer::error(404, 0, "Unknown"),
    }
}

fn commands_route(
    st: &mut State,
    shared: &Shared,
    method: &str,
    segs: &[&str],
    guild: Option<u64>,
    body: &Value,
) -> Answer {
    let path = format!("/api/v10/{}", segs.join("/"));
    let sent: Vec<Value> = match (method, body) {
        ("GET", _) => {
            let list = st.rest.commands.iter().filter(|((g, _), _)| *g == guild);
            return Answer::json(200, list.map(|(_, c)| c.clone()).collect());
        }
        ("PUT", Value::Array(list)) => list.clone(),
        ("POST", Value::Object(_)) => vec![body.clone()],
        ("PUT" | "POST", _) => {
            st.rec.problems.push(format!(
                "{method} {path}: body is not a command list/object: {body}"
            ));
            return Answer::error(400, 50035, "Invalid Form Body");
        }
        _ => return Answer::error(404, 0, "Unknown"),
    };
    if let Err(e) = contract::validate_commands(&sent) {
        st.rec.problems.push(format!(
            "{method} {path}: Discord would reject this registration: {e}"
        ));
        return Answer::error(400, 50035, &format!("Invalid Form Body: {e}"));
    }
    if method == "PUT" {
        st.rest.commands.retain(|(g, _), _| *g != guild);
    }
    let echoed: Vec<Value> = sent
        .iter()
        .map(|cmd| echo_command(st, shared, guild, cmd))
        .collect();
    st.rec.command_puts.push((path, Value::Array(sent)));
    if method == "PUT" {
        Answer::json(200, Value::Array(echoed))
    } else {
        Answer::json(201, echoed.into_iter().next().unwrap_or(Value::Null))
    }
}

fn echo_command(st: &mut State, shared: &Shared, guild: Option<u64>, cmd: &Value) -> Value {
    let name = cmd["name"].as_str().unwrap_or_default().to_string();
    let key = (guild, name);
    let id = st
        .rest
        .commands
        .get(&key)
        .and_then(|c| snowflake_field(&c["id"]))
        .unwrap_or_else(next_snowflake);
    let mut echoed = cmd.clone();
    if let Some(options) = echoed.get_mut("options").and_then(Value::as_array_mut) {
        options.iter_mut().for_each(as_discord_echoes_option);
    }
    if let Some(obj) = echoed.as_object_mut() {
        obj.insert("id".into(), json!(id.to_string()));
        obj.insert("application_id".into(), json!(shared.app_id.to_string()));
        obj.insert("version".into(), json!(next_snowflake().to_string()));
        obj.entry("type").or_insert(json!(1));
        obj.entry("description").or_insert(json!(""));
        obj.entry("default_member_permissions")
            .or_insert(Value::Null);
        obj.entry("nsfw").or_insert(json!(false));
        if let Some(g) = guild {
            obj.insert("guild_id".into(), json!(g.to_string()));
        }
    }
    st.rest.commands.insert(key, echoed.clone());
    echoed
}

/// An option as Discord echoes it: serenity sends every field (`max_length: null`,
/// `channel_types: []`), Discord answers with the ones that are set, which is also what its
/// contract allows (a `null` length is not an integer).
fn as_discord_echoes_option(option: &mut Value) {
    let Some(map) = option.as_object_mut() else {
        return;
    };
    map.retain(|key, value| {
        let empty_list = matches!(key.as_str(), "channel_types" | "choices" | "options")
            && value.as_array().is_some_and(Vec::is_empty);
        !value.is_null() && !empty_list
    });
    if let Some(nested) = map.get_mut("options").and_then(Value::as_array_mut) {
        nested.iter_mut().for_each(as_discord_echoes_option);
    }
}

fn callback_route(st: &mut State, shared: &Shared, id: &str, token: &str, body: &Value) -> Answer {
    let id = id.parse::<u64>().unwrap_or(0);
    let Some(rec) = st.rest.interactions.get_mut(&id) else {
        return Answer::error(404, 10062, "Unknown interaction");
    };
    let refusal = if rec.token != token {
        Some(Answer::error(401, 50027, "Invalid Webhook Token"))
    } else if rec.callback.is_some() {
        Some(Answer::error(
            400,
            40060,
            "Interaction has already been acknowledged.",
        ))
    } else if !matches!(
        body["type"].as_u64(),
        Some(1 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 12)
    ) {
        Some(Answer::error(
            400,
            50035,
            "Invalid Form Body: unknown interaction callback type",
        ))
    } else {
        None
    };
    if let Some(refusal) = refusal {
        rec.rejected_callbacks.push((refusal.status, body.clone()));
        return refusal;
    }
    rec.callback = Some(body.clone());
    rec.original = match body["type"].as_u64() {
        Some(4 | 7) => Some(message_json(shared, &body["data"], None)),
        // "The application is thinking..." placeholder (flag 128 = LOADING).
        Some(5) => {
            let flags = flags_of(&body["data"]) | 128;
            let thinking = json!({ "content": "", "flags": flags });
            Some(message_json(shared, &thinking, None))
        }
        // Component updates: the message the component sits on (unknown here; a blank stand-in).
        Some(6) => Some(message_json(shared, &json!({}), None)),
        _ => None,
    };
    Answer::empty(204)
}

fn followup_route(st: &mut State, shared: &Shared, token: &str, body: &Value) -> Answer {
    match interaction_by_token(st, token) {
        Some(rec) if rec.callback.is_some() => {
            rec.after_callback.push(body.clone());
            Answer::json(200, message_json(shared, body, None))
        }
        _ => Answer::error(404, 10015, "Unknown Webhook"),
    }
}

fn webhook_message_route(
    st: &mut State,
    shared: &Shared,
    method: &str,
    token: &str,
    which: &str,
    body: &Value,
) -> Answer {
    let Some(rec) = interaction_by_token(st, token) else {
        return Answer::error(404, 10015, "Unknown Webhook");
    };
    let original = which == "@original";
    match (method, original) {
        ("GET", true) => match &rec.original {
            Some(message) => Answer::json(200, message.clone()),
            None => Answer::error(404, 10008, "Unknown Message"),
        },
        ("PATCH", true) => {
            let Some(mut merged) = rec.original.clone() else {
                return Answer::error(404, 10008, "Unknown Message");
            };
            rec.after_callback.push(body.clone());
            if let (Some(dst), Some(src)) = (merged.as_object_mut(), body.as_object()) {
                for (k, v) in src {
                    dst.insert(k.clone(), v.clone());
                }
            }
            // The edit ends the "thinking..." state.
            merged["flags"] = json!(flags_of(&merged) & !128);
            let message = message_json(shared, &merged, snowflake_field(&merged["id"]));
            rec.original = Some(message.clone());
            Answer::json(200, message)
        }
        ("DELETE", _) => Answer::empty(204),
        ("PATCH", false) => {
            rec.after_callback.push(body.clone());
            Answer::json(200, message_json(shared, body, which.parse().ok()))
        }
        ("GET", false) => Answer::json(200, message_json(shared, &json!({}), which.parse().ok())),
        _ => Answer::error(404, 0, "Unknown"),
    }
}

fn interaction_by_token<'a>(st: &'a mut State, token: &str) -> Option<&'a mut InteractionRecord> {
    let id = *st.rest.token_to_interaction.get(token)?;
    st.rest.interactions.get_mut(&id)
}

fn registered_command<'a>(st: &'a State, name: &str, guild: Option<u64>) -> Option<&'a Value> {
    let commands = &st.rest.commands;
    guild
        .and_then(|g| commands.get(&(Some(g), name.to_string())))
        .or_else(|| commands.get(&(None, name.to_string())))
}

/// Prepares an interaction for dispatch: the registered command's id goes into `data.id`, the
/// payload must parse in serenity, and the interaction is remembered so its callback is
/// accepted. Returns the payload to send and a one-line summary of it.
pub(super) fn register_interaction(
    shared: &Shared,
    mut interaction: Value,
) -> Result<(Value, String), String> {
    let id = snowflake_field(&interaction["id"])
        .ok_or_else(|| format!("interaction payload has no snowflake `id`: {interaction}"))?;
    let token = interaction["token"]
        .as_str()
        .ok_or_else(|| format!("interaction payload has no string `token`: {interaction}"))?
        .to_string();
    let mut st = shared.lock();
    let name = interaction["data"]["name"].as_str().unwrap_or_default();
    let guild_id = snowflake_field(&interaction["guild_id"]);
    if let Some(cmd) = registered_command(&st, name, guild_id).cloned() {
        interaction["data"]["id"] = cmd["id"].clone();
        if let Some(g) = cmd.get("guild_id") {
            interaction["data"]["guild_id"] = g.clone();
        }
    }
    contract::check_interaction(&interaction)?;
    let summary = recorder::summarize_interaction(&interaction);
    let record = InteractionRecord {
        token: token.clone(),
        summary: summary.clone(),
        ..InteractionRecord::default()
    };
    st.rest.interactions.insert(id, record);
    st.rest.token_to_interaction.insert(token, id);
    Ok((interaction, summary))
}

/// The JSON body (for multipart: `payload_json`), the uploaded files, and why the body could
/// not be read, if it could not.
fn parse_body(content_type: &str, bytes: &[u8]) -> (Value, Vec<multipart::Upload>, Option<String>) {
    if bytes.is_empty() {
        return (Value::Null, Vec::new(), None);
    }
    if content_type.starts_with("multipart/form-data") {
        return match multipart::parse(content_type, bytes) {
            Ok((payload, files)) => (payload, files, None),
            Err(why) => (Value::Null, Vec::new(), Some(why)),
        };
    }
    let body = serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()));
    (body, Vec::new(), None)
}

/// A Message object for what the bot sent (`content`, `embeds`, `flags`, `components` echoed when
/// serenity can parse them back).
fn message_json(shared: &Shared, sent: &Value, id: Option<u64>) -> Value {
    let mut message = json!({
        "id": id.unwrap_or_else(next_snowflake).to_string(),
        "channel_id": CHANNEL_ID.to_string(),
        "author": user_json(shared.bot_user_id, "careerbot-emulated", true),
        "content": sent["content"].as_str().unwrap_or_default(),
        "timestamp": serenity::Timestamp::now().to_string(),
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": false,
        "type": 20,
        "flags": flags_of(sent),
        "application_id": shared.app_id.to_string(),
        "webhook_id": shared.app_id.to_string(),
        "components": [],
    });
    for key in ["embeds", "components", "attachments"] {
        if let Some(v @ Value::Array(_)) = sent.get(key) {
            let mut v = v.clone();
            if key == "components" {
                number_components(&mut v, &mut 0);
            }
            let mut candidate = message.clone();
            candidate[key] = v.clone();
            if serde_json::from_value::<serenity::Message>(candidate).is_ok() {
                message[key] = v;
            }
        }
    }
    message
}

/// Gives every component without an `id` the next number, depth first from 1, as Discord
/// does (its Message answers always carry component ids).
fn number_components(components: &mut Value, next: &mut u64) {
    for c in components.as_array_mut().into_iter().flatten() {
        *next += 1;
        if c.get("id").is_none_or(Value::is_null) {
            c["id"] = json!(*next);
        }
        if let Some(children) = c.get_mut("components") {
            number_components(children, next);
        }
    }
}
