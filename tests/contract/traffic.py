#!/usr/bin/env python3
"""Totals of the REST traffic the emulator held to Discord's contract during `cargo test`.

Each emulator appends one line to target/tmp/contract-traffic.jsonl when it stops. Prints the
suite's totals (and, apart, the tests that break the contract on purpose) and exits 1 if any
request or answer of the suite broke the contract, or if nothing was checked at all.
"""

import json
import sys
from pathlib import Path

path = Path(sys.argv[1] if len(sys.argv) > 1 else "target/tmp/contract-traffic.jsonl")
keys = ["requests", "invalid_requests", "unknown_routes", "answers", "invalid_answers"]
suite = dict.fromkeys(keys, 0)
deliberate = dict.fromkeys(keys, 0)
emulators = 0
for line in path.read_text().splitlines():
    record = json.loads(line)
    totals = deliberate if record.get("deliberate") else suite
    emulators += 0 if record.get("deliberate") else 1
    for k in keys:
        totals[k] += record.get(k, 0)
print(
    f"Discord contract, whole suite ({emulators} emulators): "
    f"{suite['requests']} requests, {suite['invalid_requests']} invalid, "
    f"{suite['unknown_routes']} to unknown routes; "
    f"{suite['answers']} answers, {suite['invalid_answers']} invalid"
)
print(
    f"  on purpose (tests proving the check runs): {deliberate['invalid_requests']} invalid "
    f"requests, {deliberate['unknown_routes']} unknown routes"
)
broken = suite["invalid_requests"] + suite["unknown_routes"] + suite["invalid_answers"]
if broken or suite["requests"] == 0 or suite["answers"] == 0:
    sys.exit("the suite's traffic broke Discord's contract (or none was checked)")
