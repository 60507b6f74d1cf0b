#!/usr/bin/env python3
"""Vanilla BM25 on the same passages, for reference next to `careerbot eval`.

Usage: careerbot check --json > passages.json
       python3 tests/eval/bm25_baseline.py passages.json QUESTIONS.jsonl

Plain rank-bm25 (Okapi, default k1/b) over title + text, lowercase word tokens, no typo
correction, synonyms or stemming, and no refusal: like any plain search box it always
returns its best three, so off-topic questions count as answered. Scored like `careerbot
eval`: a hit satisfies a case when every regex matches its title + text (case-insensitive).
"""
import json
import re
import sys
from collections import defaultdict

from rank_bm25 import BM25Okapi


def tokens(text):
    return re.findall(r"[a-z0-9]+", text.lower())


def main():
    passages = json.load(open(sys.argv[1]))
    docs = [p["title"] + "\n" + p["text"] for p in passages]
    bm25 = BM25Okapi([tokens(d) for d in docs])
    cases = [json.loads(line) for line in open(sys.argv[2]) if line.strip()]
    top1 = recall3 = on_topic = 0
    per_kind = defaultdict(lambda: [0, 0])
    for case in cases:
        expect = [re.compile(x, re.I) for x in case["expect"]]
        if not expect:
            per_kind[case["kind"]][1] += 1  # never refuses
            continue
        on_topic += 1
        scores = bm25.get_scores(tokens(case["q"]))
        ranked = sorted(range(len(docs)), key=lambda i: -scores[i])[:3]
        ok = [all(x.search(docs[i]) for x in expect) for i in ranked]
        top1 += ok[0]
        recall3 += any(ok)
        per_kind[case["kind"]][0] += ok[0]
        per_kind[case["kind"]][1] += 1
    off = len(cases) - on_topic
    print(f"questions: {len(cases)}")
    print(f"top-1: {top1 / on_topic:.2f} ({top1}/{on_topic})")
    print(f"recall@3: {recall3 / on_topic:.2f} ({recall3}/{on_topic})")
    print(f"off-topic refused: 0/{off}")
    for kind in sorted(per_kind):
        hit, n = per_kind[kind]
        print(f"  {kind:<14} top-1 {hit}/{n}")


if __name__ == "__main__":
    main()
