"""Plots docs/scale.csv (written by `cargo bench --bench scale -- --csv docs/scale.csv`)
into docs/scale.png: how ask latency and reload time grow with the number of passages.
Needs matplotlib; not part of the build or the tests."""
import csv
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

here = pathlib.Path(__file__).parent
rows = list(csv.DictReader(open(here / "scale.csv")))
n = [int(r["passages"]) for r in rows]
col = lambda k: [float(r[k]) for r in rows]

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
left.plot(n, col("ask_p50_us"), "o-", label="ask p50")
left.plot(n, col("ask_p99_us"), "o--", label="ask p99")
left.plot(n, col("typo_p99_us"), "s--", label="ask p99, misspelled")
left.plot(n, col("parsed_p50_us"), "^-", label="tantivy parsed question p50")
left.plot(n, col("term_p50_us"), "v-", label="tantivy one-term query p50")
left.set_xscale("log")
left.set_yscale("log")
left.set_xlabel("passages")
left.set_ylabel("µs")
left.set_title("ask latency")
left.legend(fontsize=8)
right.plot(n, col("reload_ms"), "o-")
right.set_xscale("log")
right.set_yscale("log")
right.set_xlabel("passages")
right.set_ylabel("ms")
right.set_title("reload (load + validate + index + swap), p50")
fig.tight_layout()
fig.savefig(here / "scale.png", dpi=90)
