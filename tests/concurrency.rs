//! Many concurrent asks while reloads alternate between two valid bases and a broken one:
//! no ask fails, every answer comes wholly from one generation, the broken base is never
//! served. This is the property `/reload` and the directory watcher rely on.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use careerbot::bot::state::ReloadOutcome;
use careerbot::bot::Served;

const ASK_THREADS: usize = 8;
const ASKS_PER_THREAD: usize = 1_500;
const RELOADS: usize = 120;

fn base(marker: &str) -> String {
    format!(
        "+++\nid = \"{marker}\"\ntitle = \"Zebra facts ({marker})\"\n+++\n\
         ## Zebra stripes {marker}\nZebra stripes in the {marker} edition.\n\n\
         ## Zebra habitat {marker}\nZebras of the {marker} edition live on plains.\n\n\
         ## Zebra diet {marker}\nIn the {marker} edition zebras graze grass.\n"
    )
}

fn write(dir: &Path, text: &str) {
    // Write then rename, as editors do, so a reload never reads half a file.
    let tmp = dir.join("zebra.md.tmp");
    std::fs::write(&tmp, text).expect("write base");
    std::fs::rename(&tmp, dir.join("zebra.md")).expect("rename base");
}

/// Tells the askers to stop once reloading is over, even if the reloader panicked.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

#[test]
fn concurrent_asks_never_see_a_torn_or_broken_base() {
    let dir = std::env::temp_dir().join(format!("careerbot-concurrency-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    write(&dir, &base("alpha"));
    let served = Arc::new(Served::load(&dir).expect("alpha loads"));
    let hash_alpha = served.current().content_hash().to_string();

    let done = Arc::new(AtomicBool::new(false));
    let per_marker = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let askers: Vec<_> = (0..ASK_THREADS)
        .map(|t| {
            let served = Arc::clone(&served);
            let per_marker = Arc::clone(&per_marker);
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                let questions = ["zebra stripes", "where do zebras live", "zebra diet grass"];
                // Ask at least ASKS_PER_THREAD times, and for as long as reloads go on.
                let mut i = 0;
                while i < ASKS_PER_THREAD || !done.load(Ordering::Acquire) {
                    i += 1;
                    let generation = served.current();
                    let kb = generation.engine.knowledge();
                    let marker = if kb.passages[0].id == "alpha"
                        || kb.passages[0].id.starts_with("alpha/")
                    {
                        "alpha"
                    } else {
                        "beta"
                    };
                    let answer = generation
                        .engine
                        .ask(questions[(i + t) % questions.len()], 3);
                    assert!(
                        answer.answered,
                        "ask failed on generation {}: {answer:?}",
                        generation.number
                    );
                    for hit in &answer.hits {
                        assert!(
                            hit.id.starts_with(marker) && hit.text.contains(marker),
                            "torn read: generation {} ({marker}) answered with {hit:?}",
                            generation.number
                        );
                    }
                    per_marker[usize::from(marker == "beta")].fetch_add(1, Ordering::Relaxed);
                }
                i
            })
        })
        .collect();

    let reloader = {
        let served = Arc::clone(&served);
        let dir = dir.clone();
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let _signal_when_done = SetOnDrop(done);
            let mut ok = 0;
            let mut refused = 0;
            let mut hashes = std::collections::HashSet::new();
            for i in 0..RELOADS {
                let broken = i % 3 == 1;
                let text = match i % 3 {
                    0 => base("beta"),
                    1 => "this file lost its front matter\n## Zebra\ntext\n".to_string(),
                    _ => base("alpha"),
                };
                write(&dir, &text);
                let before = served.current().number;
                match served.reload() {
                    ReloadOutcome::Reloaded {
                        generation,
                        content_hash,
                        ..
                    } => {
                        assert!(!broken, "the broken base was accepted");
                        assert_eq!(generation, before + 1);
                        hashes.insert(content_hash);
                        ok += 1;
                    }
                    ReloadOutcome::Failed {
                        problems,
                        still_serving,
                    } => {
                        assert!(broken, "a valid base was refused: {problems:?}");
                        assert_eq!(still_serving, before);
                        assert!(problems.iter().all(|p| p.to_string().contains("zebra.md:")));
                        refused += 1;
                    }
                }
            }
            (ok, refused, hashes.len())
        })
    };

    let (ok, refused, distinct) = reloader.join().expect("the reloading thread panicked");
    let asked: usize = askers
        .into_iter()
        .map(|a| a.join().expect("an asking thread panicked"))
        .sum();
    let alpha = per_marker[0].load(Ordering::Relaxed);
    let beta = per_marker[1].load(Ordering::Relaxed);
    eprintln!(
        "asks: {} ({alpha} alpha, {beta} beta); reloads: {ok} ok, {refused} refused; {distinct} distinct contents",
        alpha + beta
    );
    assert_eq!(alpha + beta, asked, "every ask succeeded");
    assert!(asked >= 10_000, "{asked} asks");
    assert_eq!(ok + refused, RELOADS);
    assert_eq!(refused, RELOADS / 3);
    assert!(alpha > 0 && beta > 0, "both bases were served while asking");
    assert!(distinct <= 2, "only the two valid bases were ever served");
    assert_eq!(
        served.current().content_hash(),
        hash_alpha,
        "the last reload wrote alpha"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
