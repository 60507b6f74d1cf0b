//! File uploads as Discord takes them: a `multipart/form-data` body with the JSON in a
//! `payload_json` part and each file in a `files[n]` part, `n` matching the `id` of an entry
//! in the payload's `attachments`. An embed shows an upload with `attachment://<filename>`.
//! A body that is not multipart as RFC 7578 defines it is refused (400); an upload Discord
//! would accept but not show (an embed pointing at a file that was not sent, a file the
//! payload does not list) is answered normally and recorded as a problem, which fails the
//! test that sent it.

use serde_json::{json, Value};

/// One uploaded file, as received.
#[derive(Clone, Debug)]
pub struct Upload {
    /// The form field, e.g. `files[0]`.
    pub field: String,
    pub filename: String,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

/// Splits a multipart body into its `payload_json` and its files, or says why it is not one
/// Discord would read.
pub(super) fn parse(content_type: &str, body: &[u8]) -> Result<(Value, Vec<Upload>), String> {
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"'))
        .filter(|b| !b.is_empty())
        .ok_or("multipart body without a boundary")?;
    // A delimiter is CRLF, "--" and the boundary (RFC 2046); the first one may open the body
    // without the CRLF. Splitting on the bare "--boundary" would cut a file that happens to
    // contain it.
    let delimiter = format!("\r\n--{boundary}").into_bytes();
    let mut framed = b"\r\n".to_vec();
    framed.extend_from_slice(body);
    let mut payload = None;
    let mut uploads = Vec::new();
    let mut parts = split(&framed, &delimiter).into_iter();
    // Before the first delimiter: the preamble, ignored.
    parts.next();
    let mut closed = false;
    for part in parts {
        if part.starts_with(b"--") {
            closed = true; // the closing delimiter
            break;
        }
        let part = part
            .strip_prefix(b"\r\n")
            .ok_or("a multipart delimiter not followed by a line break")?;
        let Some(at) = find(part, b"\r\n\r\n") else {
            return Err("a multipart part without a blank line after its headers".into());
        };
        let headers = String::from_utf8_lossy(&part[..at]).into_owned();
        let content = &part[at + 4..];
        let name = quoted(&headers, "name").ok_or("a multipart part without a name")?;
        match quoted(&headers, "filename") {
            None if name == "payload_json" => {
                let parsed: Value = serde_json::from_slice(content)
                    .map_err(|e| format!("payload_json is not JSON: {e}"))?;
                payload = Some(parsed);
            }
            // Other plain fields (Discord reads some, e.g. `content`) carry nothing we check.
            None => {}
            Some(filename) => uploads.push(Upload {
                field: name,
                filename,
                content_type: header(&headers, "content-type"),
                bytes: content.to_vec(),
            }),
        }
    }
    if !closed {
        return Err("a multipart body without its closing delimiter".into());
    }
    Ok((payload.unwrap_or(Value::Null), uploads))
}

/// What Discord would accept but not show as meant, in a payload with these uploads.
pub(super) fn problems(payload: &Value, uploads: &[Upload]) -> Vec<String> {
    let mut problems = Vec::new();
    let message = message_of(payload);
    let listed: Vec<&Value> = message["attachments"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    for upload in uploads {
        // Discord also takes other file field names (`file`); only `files[n]` pair with
        // the payload's `attachments`.
        let Some(n) = file_index(&upload.field) else {
            continue;
        };
        if !listed.is_empty() && !listed.iter().any(|a| id_of(a) == Some(n)) {
            problems.push(format!(
                "{} is not in payload_json's attachments (ids {:?})",
                upload.field,
                listed.iter().filter_map(|a| id_of(a)).collect::<Vec<_>>()
            ));
        }
        if upload.bytes.is_empty() {
            problems.push(format!("{} ({}) is empty", upload.field, upload.filename));
        }
    }
    for embed in message["embeds"].as_array().into_iter().flatten() {
        for key in ["image", "thumbnail"] {
            let Some(url) = embed[key]["url"].as_str() else {
                continue;
            };
            if let Some(name) = url.strip_prefix("attachment://") {
                if !uploads.iter().any(|u| u.filename == name) {
                    problems.push(format!(
                        "embed {key} points at {url} but no upload is named {name:?}: Discord shows no picture"
                    ));
                }
            }
        }
    }
    problems
}

/// The payload the emulator routes: its `attachments` as the Attachment objects Discord
/// would store for these uploads (what a message read back shows).
pub(super) fn with_attachment_objects(payload: &Value, uploads: &[Upload]) -> Value {
    let mut routed = payload.clone();
    let objects: Vec<Value> = uploads
        .iter()
        .map(|u| {
            let id = super::next_snowflake();
            let url = format!(
                "https://cdn.discordapp.com/attachments/{}/{id}/{}",
                super::CHANNEL_ID,
                u.filename
            );
            let mut a = json!({
                "id": id.to_string(),
                "filename": u.filename,
                "size": u.bytes.len(),
                "url": url,
                "proxy_url": url.replace("cdn.discordapp.com", "media.discordapp.net"),
            });
            if let Some(ct) = &u.content_type {
                a["content_type"] = json!(ct);
            }
            a
        })
        .collect();
    let message = if routed.get("data").is_some_and(Value::is_object) {
        &mut routed["data"]
    } else {
        &mut routed
    };
    if let Some(map) = message.as_object_mut() {
        map.insert("attachments".into(), Value::Array(objects));
    }
    routed
}

/// The message in a payload: an interaction callback carries it in `data`; a webhook
/// message (followup, edit) is the payload itself.
fn message_of(payload: &Value) -> &Value {
    match payload.get("data") {
        Some(data) if data.is_object() => data,
        _ => payload,
    }
}

fn file_index(field: &str) -> Option<u64> {
    field
        .strip_prefix("files[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

fn id_of(attachment: &Value) -> Option<u64> {
    match &attachment["id"] {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// `key="value"` in a Content-Disposition header.
fn quoted(headers: &str, key: &str) -> Option<String> {
    let lower = headers.to_ascii_lowercase();
    let needle = format!("; {key}=\"");
    let start = lower.find(&needle)? + needle.len();
    let end = headers[start..].find('"')? + start;
    Some(headers[start..end].to_string())
}

/// A header's value, by case-insensitive name.
fn header(headers: &str, name: &str) -> Option<String> {
    headers.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `body` split at every occurrence of `delimiter`.
fn split<'a>(body: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(at) = find(rest, delimiter) {
        out.push(&rest[..at]);
        rest = &rest[at + delimiter.len()..];
    }
    out.push(rest);
    out
}
