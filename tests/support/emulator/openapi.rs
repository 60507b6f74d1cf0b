//! Discord's published API contract: every REST request the bot sends and every answer the
//! emulator gives is validated against the operation's schema in Discord's own OpenAPI
//! description (`tests/contract/discord-openapi.json`, pruned; provenance beside it), with the
//! maintained `jsonschema` crate.
//!
//! Why: the emulator is our own reading of Discord. Checking both directions against the
//! spec means a request Discord would refuse fails here as it would in production (HTTP 400,
//! code 50035), and an answer Discord would never give cannot make a test pass.
//!
//! Two deliberate widenings, for requests only: where the spec says integer, a string of
//! digits is accepted too (serenity sends `default_member_permissions: "32"`; the spec's
//! README says Discord accepts int-parseable strings for integers); and an upload's
//! attachment id (a snowflake string in the spec) may be a non-negative integer (serenity
//! numbers uploads `"attachments": [{"id": 0}]`, exactly as the upload example in Discord's
//! developer documentation does, which the spec's provenance says wins where the two
//! disagree). Every other snowflake must still be a string.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::Validator;
use serde_json::{json, Value};

const SPEC_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/contract/discord-openapi.json"
);

/// Which side of an exchange a schema describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Side {
    Request,
    Response(u16),
}

/// The loaded contract; see the module docs.
pub struct Contract {
    spec: Value,
    /// Request-side copy of `#/components`, integers widened to digit strings.
    request_components: Value,
    cache: Mutex<HashMap<(String, String, Side), Arc<Validator>>>,
}

/// What the contract says of one exchange.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Valid,
    /// The route (or the method on it) is not in the contract at all.
    UnknownRoute,
    /// Schema violations.
    Invalid(Vec<Violation>),
}

/// One schema violation: where in the body (a JSON pointer, `""` for the whole body) and what.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub at: String,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.at.is_empty() {
            "(body)"
        } else {
            &self.at
        };
        write!(f, "{at}: {}", self.message)
    }
}

/// Discord's `errors` object for a 400 (code 50035): the violations nested by path, each
/// leaf holding `_errors: [{code, message}]`, as Discord shapes "Invalid Form Body".
pub fn discord_errors(violations: &[Violation]) -> Value {
    let mut root = json!({});
    for v in violations {
        let mut node = &mut root;
        for key in v.at.split('/').filter(|k| !k.is_empty()) {
            node = node
                .as_object_mut()
                .map(|m| m.entry(key.to_string()).or_insert_with(|| json!({})))
                .expect("the errors tree holds objects only");
        }
        if let Some(map) = node.as_object_mut() {
            let list = map.entry("_errors").or_insert_with(|| json!([]));
            if let Some(list) = list.as_array_mut() {
                // Discord's own leaves carry string codes ("BASE_TYPE_MAX_LENGTH"); its contract
                // says integer, and the contract is what this emulator answers to.
                list.push(json!({ "code": 50035, "message": v.message }));
            }
        }
    }
    root
}

impl Contract {
    /// The contract, loaded once per test binary.
    pub fn get() -> &'static Contract {
        static CONTRACT: OnceLock<Contract> = OnceLock::new();
        CONTRACT.get_or_init(|| {
            let text = std::fs::read_to_string(SPEC_PATH)
                .unwrap_or_else(|e| panic!("reading {SPEC_PATH}: {e}"));
            let spec: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {SPEC_PATH}: {e}"));
            let mut request_components = spec["components"].clone();
            widen_integers(&mut request_components);
            widen_upload_ids(&mut request_components);
            Contract {
                spec,
                request_components,
                cache: Mutex::new(HashMap::new()),
            }
        })
    }

    /// The spec's path template for a request path (`/api/v10/...`, query ignored), preferring
    /// literal segments (`messages/@original`) over parameters (`messages/{message_id}`).
    pub fn template(&self, path: &str) -> Option<String> {
        let path = path.split('?').next().unwrap_or(path);
        let rest = path.strip_prefix("/api").unwrap_or(path);
        let rest = match rest.strip_prefix("/v") {
            Some(after) => after.trim_start_matches(|c: char| c.is_ascii_digit()),
            None => rest,
        };
        let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        let paths = self.spec["paths"].as_object()?;
        paths
            .keys()
            .filter_map(|t| {
                let tsegs: Vec<&str> = t.split('/').filter(|s| !s.is_empty()).collect();
                if tsegs.len() != segs.len() {
                    return None;
                }
                let mut literal = 0;
                for (t, s) in tsegs.iter().zip(&segs) {
                    if t.starts_with('{') {
                        continue;
                    }
                    if t != s {
                        return None;
                    }
                    literal += 1;
                }
                Some((literal, t.clone()))
            })
            .max_by_key(|(literal, _)| *literal)
            .map(|(_, t)| t)
    }

    /// Checks a request body (`None`: no body) sent to `method path`.
    pub fn check_request(&self, method: &str, path: &str, body: Option<&Value>) -> Verdict {
        self.check(method, path, Side::Request, body)
    }

    /// Checks an answer `status` with `body` to `method path`.
    pub fn check_response(
        &self,
        method: &str,
        path: &str,
        status: u16,
        body: Option<&Value>,
    ) -> Verdict {
        self.check(method, path, Side::Response(status), body)
    }

    fn check(&self, method: &str, path: &str, side: Side, body: Option<&Value>) -> Verdict {
        let Some(template) = self.template(path) else {
            return Verdict::UnknownRoute;
        };
        let method = method.to_ascii_lowercase();
        let Some(operation) = self.spec["paths"][&template].get(&method) else {
            return Verdict::UnknownRoute;
        };
        let Some((schema, components)) = self.side_schema(operation, side) else {
            return match (side, body) {
                (Side::Response(_), Some(_)) => Verdict::Invalid(vec![Violation {
                    at: String::new(),
                    message: "the contract gives this answer no body".into(),
                }]),
                _ => Verdict::Valid,
            };
        };
        let Some(body) = body else {
            let required = operation["requestBody"]["required"].as_bool() == Some(true);
            return match side {
                Side::Request if !required => Verdict::Valid,
                _ => Verdict::Invalid(vec![Violation {
                    at: String::new(),
                    message: "a JSON body is required".into(),
                }]),
            };
        };
        let validator = {
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            cache
                .entry((method.clone(), template.clone(), side))
                .or_insert_with(|| Arc::new(compile(&schema, components)))
                .clone()
        };
        let found = violations(&validator, body);
        if found.is_empty() {
            Verdict::Valid
        } else {
            Verdict::Invalid(found)
        }
    }

    /// The schema of one side of an operation and the components its references resolve
    /// in; `None` when that side has no JSON body.
    fn side_schema(&self, operation: &Value, side: Side) -> Option<(Value, &Value)> {
        let (schema, components) = match side {
            Side::Request => (
                operation["requestBody"]["content"]["application/json"]["schema"].clone(),
                &self.request_components,
            ),
            Side::Response(status) => {
                let answers = &operation["responses"];
                let mut answer = answers
                    .get(status.to_string())
                    .or_else(|| answers.get(format!("{}XX", status / 100)))
                    .or_else(|| answers.get("default"))?;
                // A shared answer (`#/components/responses/ClientErrorResponse`).
                if let Some(name) = answer["$ref"]
                    .as_str()
                    .and_then(|r| r.strip_prefix("#/components/responses/"))
                {
                    answer = &self.spec["components"]["responses"][name];
                }
                (
                    answer["content"]["application/json"]["schema"].clone(),
                    &self.spec["components"],
                )
            }
        };
        (!schema.is_null()).then_some((schema, components))
    }
}

/// Compiles `schema`, whose references are `#/components/...`, against a root that has them.
fn compile(schema: &Value, components: &Value) -> Validator {
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": components,
        "allOf": [schema],
    });
    jsonschema::options()
        .should_validate_formats(false)
        .build(&root)
        .unwrap_or_else(|e| panic!("the contract's schema does not compile: {e}"))
}

fn violations(validator: &Validator, body: &Value) -> Vec<Violation> {
    validator
        .iter_errors(body)
        .flat_map(|e| leaves(&e))
        .collect()
}

/// The violations behind one error. A union (`anyOf`/`oneOf`) fails as a whole ("not valid
/// under any of the schemas"); instead, say what is wrong with the body as the member it got
/// furthest into: the member whose violations lie deepest in the body (a wrong `type` tag
/// fails at `/type`, the right member at `/data/embeds/0/title`), then the fewest.
fn leaves(error: &jsonschema::ValidationError<'_>) -> Vec<Violation> {
    use jsonschema::error::ValidationErrorKind as Kind;
    let members = match error.kind() {
        Kind::AnyOf { context } | Kind::OneOfNotValid { context } => context,
        _ => {
            return vec![Violation {
                at: error.instance_path().to_string(),
                message: error.to_string(),
            }]
        }
    };
    let depth = |v: &Violation| v.at.matches('/').count();
    members
        .iter()
        .map(|member| member.iter().flat_map(|e| leaves(e)).collect::<Vec<_>>())
        .filter(|found| !found.is_empty())
        .max_by_key(|found| {
            let deepest = found.iter().map(depth).max().unwrap_or(0);
            (deepest, std::cmp::Reverse(found.len()))
        })
        .unwrap_or_else(|| {
            vec![Violation {
                at: error.instance_path().to_string(),
                message: error.to_string(),
            }]
        })
}

/// An upload's attachment id may also be a non-negative integer (`files[n]`'s `n`).
fn widen_upload_ids(components: &mut Value) {
    let id = &mut components["schemas"]["MessageAttachmentRequest"]["properties"]["id"];
    assert!(
        !id.is_null(),
        "the contract lost MessageAttachmentRequest.id: re-check the widening"
    );
    let original = id.take();
    *id = json!({ "anyOf": [original, { "type": "integer", "minimum": 0 }] });
}

/// Where a schema says integer, also accept a string of digits (requests only).
fn widen_integers(node: &mut Value) {
    match node {
        Value::Object(map) => {
            for value in map.values_mut() {
                widen_integers(value);
            }
            let integer = match map.get("type") {
                Some(Value::String(t)) => t == "integer",
                Some(Value::Array(ts)) => ts.iter().any(|t| t == "integer"),
                _ => false,
            };
            if integer {
                let original = Value::Object(std::mem::take(map));
                map.insert(
                    "anyOf".into(),
                    json!([original, { "type": "string", "pattern": "^-?[0-9]+$" }]),
                );
            }
        }
        Value::Array(items) => items.iter_mut().for_each(widen_integers),
        _ => {}
    }
}
