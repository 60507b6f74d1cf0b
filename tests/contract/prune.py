#!/usr/bin/env python3
"""Prunes Discord's OpenAPI description to what the bot's tests use.

Usage: python3 tests/contract/prune.py ../shared/discord-api-spec/openapi.json

Keeps the path items the bot calls (PATHS below; every method of each) and the closure of
everything they reference under `#/components`, and writes tests/contract/discord-openapi.json.
The output is Discord's text, only filtered: no schema is edited. Re-run it after updating the
source file, and add a path here when the bot starts calling a new route.
"""

import json
import sys
from pathlib import Path

PATHS = [
    "/gateway",
    "/gateway/bot",
    "/users/@me",
    "/oauth2/applications/@me",
    "/applications/{application_id}/commands",
    "/applications/{application_id}/commands/{command_id}",
    "/applications/{application_id}/guilds/{guild_id}/commands",
    "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}",
    "/interactions/{interaction_id}/{interaction_token}/callback",
    "/webhooks/{webhook_id}/{webhook_token}",
    "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
    "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
]


def refs(node):
    """Every `$ref` string inside a JSON value."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def main():
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/discord-api-spec/openapi.json")
    spec = json.loads(source.read_text())
    missing = [p for p in PATHS if p not in spec["paths"]]
    if missing:
        sys.exit(f"not in the spec: {missing}")
    out = {k: v for k, v in spec.items() if k not in ("paths", "components")}
    out["paths"] = {p: spec["paths"][p] for p in PATHS}
    components = {}
    todo = list(refs(out["paths"]))
    seen = set()
    while todo:
        ref = todo.pop()
        if ref in seen:
            continue
        seen.add(ref)
        if not ref.startswith("#/components/"):
            sys.exit(f"unexpected reference {ref}")
        _, _, kind, name = ref.split("/", 3)
        node = spec["components"][kind][name]
        components.setdefault(kind, {})[name] = node
        todo.extend(refs(node))
    out["components"] = {k: dict(sorted(v.items())) for k, v in sorted(components.items())}
    target = Path(__file__).with_name("discord-openapi.json")
    target.write_text(json.dumps(out, indent=1, sort_keys=False) + "\n")
    kept = sum(len(v) for v in components.values())
    print(f"wrote {target}: {len(PATHS)} paths, {kept} components (of {sum(len(v) for v in spec['components'].values())})")


if __name__ == "__main__":
    main()
