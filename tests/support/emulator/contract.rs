//! What the bot sends is held to what Discord accepts, and what the emulator sends to what
//! serenity parses: tokens and the `Authorization` header, command registrations (names,
//! descriptions, options), dispatches and interactions (parsed with serenity's own types),
//! heartbeat sequences, and every REST exchange through [`check_exchange`], the one place a
//! schema validator hooks in.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use poise::serenity_prelude as serenity;
use serde_json::{json, Value};

use super::openapi;
use super::rest::Answer;
use super::State;

/// How long a dispatch counts as "in flight" for the heartbeat check: a heartbeat may carry an
/// older sequence than the last one sent if the bot had not read the newer dispatch yet. Generous,
/// because this machine's two cores are shared with builds and the bot may be slow to read.
const IN_FLIGHT: Duration = Duration::from_secs(5);

/// One REST request and the emulator's answer to it, as [`check_exchange`] sees it.
pub(super) struct Exchange<'a> {
    pub(super) method: &'a str,
    /// The full request path, e.g. `/api/v10/applications/1/commands`.
    pub(super) path: &'a str,
    /// The path below `/api/v{N}`, split on `/`: `["applications", "1", "commands"]`.
    pub(super) segments: &'a [&'a str],
    pub(super) request: &'a Value,
    pub(super) status: u16,
    /// The answer's JSON body (`Null` when there is none, e.g. 204).
    pub(super) answer: &'a Value,
    /// A failure injected by a test (`faults.rs`), not the route's own answer.
    pub(super) injected: bool,
}

/// Every REST exchange passes here after routing and before it is recorded and answered. Returns
/// what is wrong with it (empty when nothing is); the emulator lists those as problems.
pub(super) fn check_exchange(exchange: &Exchange<'_>, counts: &mut ContractCounts) -> Vec<String> {
    let mut wrong = Vec::new();
    let what = format!(
        "{} {} -> {}",
        exchange.method, exchange.path, exchange.status
    );
    // Discord's error bodies: `{code, message}`, and for a 429 `{message, retry_after, global}`.
    let required: &[&str] = match exchange.status {
        429 => &["message", "retry_after", "global"],
        400.. => &["code", "message"],
        _ => &[],
    };
    for key in required {
        if exchange.answer.get(key).is_none() {
            wrong.push(format!("{what}: an error answer without `{key}`"));
        }
    }
    // Every answer the emulator makes up must be one Discord's contract allows (injected
    // failures are the test's own statement, checked above for their shape only).
    if !exchange.injected {
        let body = (!exchange.answer.is_null()).then_some(exchange.answer);
        let verdict = openapi::Contract::get().check_response(
            exchange.method,
            exchange.path,
            exchange.status,
            body,
        );
        counts.answers += 1;
        if verdict != openapi::Verdict::Valid {
            counts.invalid_answers += 1;
        }
        if let openapi::Verdict::Invalid(violations) = verdict {
            for v in violations {
                wrong.push(format!(
                    "emulator bug: {what}: the answer breaks Discord's contract: {v}"
                ));
            }
        }
    }
    let is_commands = matches!(exchange.segments.last(), Some(&"commands"));
    if exchange.method == "PUT" && is_commands && exchange.status == 200 {
        if let Err(e) = serde_json::from_value::<Vec<serenity::Command>>(exchange.answer.clone()) {
            wrong.push(format!(
                "emulator bug: {what}: echoed commands do not parse in serenity: {e}"
            ));
        }
    }
    wrong
}

/// Discord accepts the gateway token with or without the `Bot ` prefix serenity adds.
pub(super) fn check_gateway_token(token: &Value, expected: &str) -> Result<(), String> {
    let Some(token) = token.as_str() else {
        return Err(format!("`token` is not a string: {token}"));
    };
    if token.strip_prefix("Bot ").unwrap_or(token) == expected {
        Ok(())
    } else {
        Err(format!("wrong token {:?}", redact(token)))
    }
}

/// The REST `Authorization` header must be `Bot <token>`. Routes authorised by a token in their
/// path (interaction callbacks, webhooks) and `GET /gateway` also work without it.
pub(super) fn check_authorization(
    header: Option<&str>,
    expected: &str,
    required: bool,
) -> Result<(), String> {
    match header {
        None if !required => Ok(()),
        None => Err("no Authorization header".to_string()),
        Some(h) if h.strip_prefix("Bot ") == Some(expected) => Ok(()),
        Some(h) => Err(format!(
            "Authorization {:?} is not `Bot <token>`",
            redact(h)
        )),
    }
}

/// Enough of a wrong token to tell it apart in a message, not the whole secret-shaped string.
fn redact(token: &str) -> String {
    let shown: String = token.chars().take(12).collect();
    if shown.len() < token.len() {
        format!("{shown}...")
    } else {
        shown
    }
}

/// A heartbeat's `d` must be the last sequence sent on its connection (`delivered`, or the
/// `baseline` the connection was identified or resumed at); an older one only while the dispatch
/// after it is still in flight (sent less than [`IN_FLIGHT`] ago).
pub(super) fn check_heartbeat(
    claimed: u64,
    baseline: u64,
    delivered: &[(u64, Instant)],
    now: Instant,
) -> Result<(), String> {
    let last = delivered.last().map_or(baseline, |(seq, _)| *seq);
    if claimed == last {
        return Ok(());
    }
    let known = claimed == baseline || delivered.iter().any(|(seq, _)| *seq == claimed);
    let next_in_flight = delivered
        .iter()
        .find(|(seq, _)| *seq > claimed)
        .is_some_and(|(_, at)| now.duration_since(*at) < IN_FLIGHT);
    if claimed < last && known && next_in_flight {
        return Ok(());
    }
    Err(format!(
        "heartbeat carries seq {claimed}, but the last dispatch sent on this connection was seq {last}"
    ))
}

/// The checks Discord applies to a registration that a bot can realistically get wrong.
pub(super) fn validate_commands(commands: &[Value]) -> Result<(), String> {
    if commands.len() > 100 {
        return Err(format!("{} commands, at most 100 allowed", commands.len()));
    }
    let mut names = HashSet::new();
    for cmd in commands {
        let name = cmd["name"].as_str().ok_or("a command has no name")?;
        let kind = cmd["type"].as_u64().unwrap_or(1);
        if !names.insert((kind, name.to_string())) {
            return Err(format!("command name `{name}` registered twice"));
        }
        if kind == 1 {
            check_name(name, "command")?;
            check_description(&cmd["description"], name)?;
            check_options(&cmd["options"], name, 0)?;
        }
    }
    Ok(())
}

fn check_name(name: &str, what: &str) -> Result<(), String> {
    let len = name.chars().count();
    let ok_chars = name
        .chars()
        .all(|c| (c.is_alphanumeric() || c == '-' || c == '_') && !c.is_uppercase());
    if !(1..=32).contains(&len) || !ok_chars {
        return Err(format!(
            "{what} name `{name}` must be 1-32 lowercase letters, digits, `-` or `_`"
        ));
    }
    Ok(())
}

fn check_description(description: &Value, owner: &str) -> Result<(), String> {
    let len = description.as_str().map_or(0, |d| d.chars().count());
    if !(1..=100).contains(&len) {
        return Err(format!(
            "description of `{owner}` must be 1-100 characters, is {len}"
        ));
    }
    Ok(())
}

fn check_options(options: &Value, owner: &str, depth: usize) -> Result<(), String> {
    let Some(options) = options.as_array() else {
        return Ok(());
    };
    if options.len() > 25 {
        return Err(format!(
            "`{owner}` has {} options, at most 25 allowed",
            options.len()
        ));
    }
    let mut seen_optional = false;
    for opt in options {
        let name = opt["name"]
            .as_str()
            .ok_or_else(|| format!("an option of `{owner}` has no name"))?;
        check_name(name, "option")?;
        check_description(&opt["description"], name)?;
        let kind = opt["type"].as_u64().unwrap_or(0);
        if matches!(kind, 1 | 2) {
            if depth >= 2 {
                return Err(format!("`{name}`: subcommands nested too deep"));
            }
            check_options(&opt["options"], name, depth + 1)?;
            continue;
        }
        let required = opt["required"].as_bool().unwrap_or(false);
        if required && seen_optional {
            return Err(format!(
                "required option `{name}` of `{owner}` follows an optional one"
            ));
        }
        seen_optional |= !required;
        check_choices(opt, name)?;
    }
    Ok(())
}

fn check_choices(opt: &Value, name: &str) -> Result<(), String> {
    let choices = opt["choices"].as_array().map_or(0, Vec::len);
    if choices > 25 {
        return Err(format!(
            "option `{name}` has {choices} choices, at most 25 allowed"
        ));
    }
    if choices > 0 && opt["autocomplete"].as_bool().unwrap_or(false) {
        return Err(format!("option `{name}` has both choices and autocomplete"));
    }
    Ok(())
}

/// Refuses an interaction serenity could not parse (it would drop the dispatch silently).
pub(super) fn check_interaction(interaction: &Value) -> Result<(), String> {
    serde_json::from_value::<serenity::Interaction>(interaction.clone())
        .map(|_| ())
        .map_err(|e| {
            format!(
                "serenity cannot parse this interaction and would drop it silently: {e}\npayload: {interaction}"
            )
        })
}

/// Parses a `{t, d}` frame as serenity's gateway reader would and refuses what it would drop.
pub(super) fn check_dispatch(frame: &Value) -> Result<(), String> {
    let mut full = frame.clone();
    full["op"] = json!(0);
    full["s"] = json!(1);
    let t = frame["t"].as_str().unwrap_or_default();
    match serde_json::from_value::<serenity::GatewayEvent>(full) {
        Ok(serenity::GatewayEvent::Dispatch(_, serenity::Event::Unknown(_))) => {
            let precise = match t {
                "INTERACTION_CREATE" => {
                    serde_json::from_value::<serenity::Interaction>(frame["d"].clone()).err()
                }
                "READY" => serde_json::from_value::<serenity::Ready>(frame["d"].clone()).err(),
                "MESSAGE_CREATE" => {
                    serde_json::from_value::<serenity::Message>(frame["d"].clone()).err()
                }
                _ => None,
            };
            Err(match precise {
                Some(e) => format!("serenity would drop this {t} dispatch as an unknown event: {e}\npayload: {frame}"),
                None => format!("serenity would drop this {t} dispatch as an unknown event (unknown name, or a field is missing/mistyped)\npayload: {frame}"),
            })
        }
        Ok(_) => Ok(()),
        Err(e) => Err(format!(
            "serenity cannot parse this {t} dispatch: {e}\npayload: {frame}"
        )),
    }
}

/// Checks a request body against the operation's schema in Discord's contract. An invalid
/// body is answered as Discord does (400, code 50035 "Invalid Form Body" with the `errors`
/// tree), an unknown route with a 404; both are problems, so the test that caused them fails
/// unless it meant to.
pub(super) fn check_request(
    st: &mut State,
    method: &str,
    segments: &[&str],
    body: &Value,
) -> Option<Answer> {
    let path = format!("/{}", segments.join("/"));
    let payload = (!body.is_null()).then_some(body);
    let verdict = openapi::Contract::get().check_request(method, &path, payload);
    st.rec.contract.requests += 1;
    match verdict {
        openapi::Verdict::Valid => None,
        openapi::Verdict::UnknownRoute => {
            st.rec.contract.unknown_routes += 1;
            st.rec.problems.push(format!(
                "{method} {path}: not a route in Discord's contract (404)"
            ));
            Some(Answer::error(404, 0, "404: Not Found"))
        }
        openapi::Verdict::Invalid(violations) => {
            st.rec.contract.invalid_requests += 1;
            let listed: Vec<String> = violations.iter().map(|v| v.to_string()).collect();
            st.rec.problems.push(format!(
                "{method} {path}: 400 Invalid Form Body: Discord's contract refuses the request: {}",
                listed.join("; ")
            ));
            Some(Answer::json(
                400,
                json!({
                    "code": 50035,
                    "message": "Invalid Form Body",
                    "errors": openapi::discord_errors(&violations),
                }),
            ))
        }
    }
}

/// How much of one emulator's traffic was held to Discord's contract, and how much broke it.
/// Written to `target/tmp/contract-traffic.jsonl` when the emulator stops, so a run of the
/// whole suite can print its totals (`.ci/run` does).
#[derive(Debug, Default, Clone, serde::Serialize)]
pub(super) struct ContractCounts {
    /// Set by a test that breaks the contract on purpose, to prove the check runs; its
    /// counts are reported apart from the suite's.
    pub(super) deliberate: bool,
    pub(super) requests: usize,
    pub(super) invalid_requests: usize,
    pub(super) unknown_routes: usize,
    pub(super) answers: usize,
    pub(super) invalid_answers: usize,
}

impl ContractCounts {
    /// Appends these counts, with the test binary's name, to the suite's traffic record.
    pub(super) fn append_to_record(&self) {
        use std::io::Write as _;
        let path = concat!(env!("CARGO_TARGET_TMPDIR"), "/contract-traffic.jsonl");
        let binary = std::env::args().next().unwrap_or_default();
        let binary = binary.rsplit('/').next().unwrap_or_default().to_string();
        let mut line = json!({ "binary": binary });
        if let (Some(map), Ok(Value::Object(counts))) =
            (line.as_object_mut(), serde_json::to_value(self))
        {
            map.extend(counts);
        }
        // Best effort: the record is a report, never a reason for a test to fail. One write
        // of the whole line: emulators of parallel tests append at the same time, and
        // `writeln!` would write the line in pieces that interleave with theirs (seen: a
        // corrupted record), while one append of a short buffer lands whole.
        let record = format!("{line}\n");
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = file.write_all(record.as_bytes());
        }
    }
}
