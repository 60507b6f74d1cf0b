//! `cargo bench --bench chart`: how long drawing and encoding each chart takes (the first
//! `/salary` or `/timeline` of a generation pays this; later ones are served from the
//! generation's cache, timed alongside). Every call is timed; p50/p99 over all of them.
//! `--quick` (CI) runs a few rounds only. Results are recorded in docs/PERFORMANCE.md.

mod support;

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use support::report;

use careerbot::chart::{ChartCache, ChartKind};
use careerbot::knowledge::KnowledgeBase;

fn time(rounds: usize, mut f: impl FnMut()) -> Vec<Duration> {
    (0..rounds)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect()
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick" || a == "--test");
    let rounds = if quick { 3 } else { 300 };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("knowledge");
    let kb = KnowledgeBase::load_dir(&dir).expect("shipped knowledge base loads");
    let kinds = [
        ("salary chart, all bands", ChartKind::Salary { band: None }),
        (
            "salary chart, one band highlighted",
            ChartKind::Salary { band: Some(2) },
        ),
        ("timeline chart", ChartKind::Timeline { phase: None }),
        (
            "timeline chart, one phase highlighted",
            ChartKind::Timeline { phase: Some(1) },
        ),
    ];
    // Warm up: the font is registered on the first draw.
    for (_, kind) in kinds {
        black_box(kind.draw(&kb).expect("draws"));
    }
    let mut worst = Duration::ZERO;
    for (name, kind) in kinds {
        let (_, p99) = report(
            &format!("draw + encode: {name}"),
            time(rounds, || {
                black_box(kind.draw(&kb).expect("draws"));
            }),
        );
        worst = worst.max(p99);
        let png = kind.draw(&kb).expect("draws");
        println!("{:<44} {} bytes", format!("  PNG size: {name}"), png.len());
    }
    let cache = ChartCache::default();
    report(
        "cached (per-generation cache hit)",
        time(rounds * 10, || {
            black_box(
                cache
                    .get(&kb, ChartKind::Salary { band: None })
                    .expect("draws"),
            );
        }),
    );
    println!(
        "worst chart p99: {:.2} ms (target 20 ms)",
        worst.as_secs_f64() * 1e3
    );
}
