//! Synthetic knowledge bases for scale benchmarks: valid knowledge directories of any size,
//! deterministic from a seed, built from the shipped base's own words and structure.
//!
//! Why not random letters: retrieval cost depends on the vocabulary (how many distinct
//! terms, how long posting lists get) and on typo correction's candidate counts, so the
//! synthetic text must look like the real one. Words are drawn from the shipped text in its
//! natural frequencies, and new words are coined from pieces of real ones at a rate that
//! makes the vocabulary grow with size the way real text does (roughly with the square root
//! of the word count), so a 10,000-passage base has tens of thousands of distinct words.

use std::fmt::Write as _;
use std::path::Path;

use crate::knowledge::KnowledgeBase;

/// A small, fast, deterministic generator (SplitMix64); no dependency needed for this.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Words of the seed base, in running-text order (so frequent words stay frequent).
fn seed_words(seed: &KnowledgeBase) -> Vec<String> {
    let mut words = Vec::new();
    for p in &seed.passages {
        for text in [&p.title, &p.text] {
            words.extend(
                text.split(|c: char| !c.is_alphanumeric())
                    .filter(|w| w.len() > 1)
                    .map(str::to_lowercase),
            );
        }
    }
    if words.is_empty() {
        words.push("architect".into());
    }
    words
}

/// Text generator over the seed vocabulary with coined words.
struct Writer {
    rng: Rng,
    words: Vec<String>,
    coined: Vec<String>,
    emitted: usize,
}

impl Writer {
    fn word(&mut self) -> String {
        self.emitted += 1;
        // Heaps' law: coin a new word about every sqrt(emitted)*k words.
        let coin_every = ((self.emitted as f64).sqrt() * 0.6).max(4.0) as usize;
        if self.rng.below(coin_every) == 0 {
            let a = self.rng.pick(&self.words).clone();
            let b = self.rng.pick(&self.words).clone();
            let head: String = a.chars().take(2 + self.rng.below(4)).collect();
            let tail: String = b.chars().skip(b.chars().count() / 2).collect();
            let w = format!("{head}{tail}");
            self.coined.push(w.clone());
            return w;
        }
        if !self.coined.is_empty() && self.rng.below(5) == 0 {
            return self.rng.pick(&self.coined).clone();
        }
        self.rng.pick(&self.words).clone()
    }

    fn sentence(&mut self, n: usize) -> String {
        let mut s = String::new();
        for i in 0..n {
            let w = self.word();
            if i == 0 {
                let mut cs = w.chars();
                if let Some(f) = cs.next() {
                    s.extend(f.to_uppercase());
                    s.push_str(cs.as_str());
                }
            } else {
                s.push(' ');
                s.push_str(&w);
            }
        }
        s.push('.');
        s
    }
}

/// The file in a synth output directory that lists what synth wrote there, so a second run
/// replaces exactly those files and nothing a person put there.
pub const MARKER: &str = ".careerbot-synth";

/// Makes `out` ready for a synthetic base: creates it, or empties what an earlier synth run
/// wrote (as listed in its [`MARKER`]). A non-empty directory without the marker is refused:
/// it may be a real knowledge base.
fn prepare_out(out: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(out)?;
    let marker = out.join(MARKER);
    if !marker.is_file() {
        if std::fs::read_dir(out)?.next().is_some() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!(
                    "{} is not empty and was not written by `careerbot synth`; nothing was changed: choose a new or empty directory",
                    out.display()
                ),
            ));
        }
        return Ok(());
    }
    for name in std::fs::read_to_string(&marker)?.lines() {
        // Only plain file names synth itself writes; never a path out of the directory.
        let plain = !name.is_empty() && !name.contains(['/', '\\']) && name != "..";
        if plain && (name.ends_with(".md") || name.ends_with(".toml")) {
            match std::fs::remove_file(out.join(name)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
    }
    Ok(())
}

/// Writes a valid knowledge directory of about `passages` prose passages into `out`, plus the
/// seed's tables and synonyms. `out` must be new, empty or an earlier synth output (whose
/// files are replaced); see [`prepare_out`]. Returns the number of prose passages written.
pub fn write_knowledge_dir(
    seed: &KnowledgeBase,
    seed_dir: &Path,
    out: &Path,
    passages: usize,
    rng_seed: u64,
) -> std::io::Result<usize> {
    prepare_out(out)?;
    let mut written_files: Vec<String> = Vec::new();
    for table in [
        "skills.toml",
        "salary.toml",
        "phases.toml",
        "timeline.toml",
        "synonyms.toml",
    ] {
        let src = seed_dir.join(table);
        if src.is_file() {
            std::fs::copy(src, out.join(table))?;
            written_files.push(table.to_string());
        }
    }
    let mut w = Writer {
        rng: Rng::new(rng_seed),
        words: seed_words(seed),
        coined: Vec::new(),
        emitted: 0,
    };
    const PER_FILE: usize = 10;
    let mut written = 0;
    let mut file_no = 0;
    while written < passages {
        let mut doc = String::new();
        let n = 3 + w.rng.below(3);
        let title = w.sentence(n);
        let _ = writeln!(
            doc,
            "+++\nid = \"synth-{file_no}\"\ntitle = \"{}\"\nkeywords = [\"{}\", \"{}\"]\n+++",
            title.trim_end_matches('.'),
            w.word(),
            w.word()
        );
        for _ in 0..PER_FILE.min(passages - written) {
            let n = 2 + w.rng.below(5);
            let heading = w.sentence(n);
            let _ = writeln!(doc, "\n## {}", heading.trim_end_matches('.'));
            let sentences = 3 + w.rng.below(6);
            for _ in 0..sentences {
                let n = 6 + w.rng.below(12);
                let s = w.sentence(n);
                doc.push_str(&s);
                doc.push(' ');
            }
            if w.rng.below(3) == 0 {
                doc.push('\n');
                for _ in 0..2 + w.rng.below(4) {
                    let n = 3 + w.rng.below(6);
                    let item = w.sentence(n);
                    let _ = write!(doc, "\n- {item}");
                }
            }
            doc.push('\n');
            written += 1;
        }
        let name = format!("synth-{file_no:05}.md");
        std::fs::write(out.join(&name), doc)?;
        written_files.push(name);
        file_no += 1;
    }
    std::fs::write(out.join(MARKER), written_files.join("\n") + "\n")?;
    Ok(written)
}

/// `n` synthetic names (for autocomplete at scale), deterministic from `rng_seed`.
pub fn names(seed: &KnowledgeBase, n: usize, rng_seed: u64) -> Vec<String> {
    let mut w = Writer {
        rng: Rng::new(rng_seed),
        words: seed_words(seed),
        coined: Vec::new(),
        emitted: 0,
    };
    (0..n)
        .map(|_| {
            let k = 2 + w.rng.below(3);
            w.sentence(k).trim_end_matches('.').to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::SourceFile;

    fn seed() -> KnowledgeBase {
        KnowledgeBase::from_files(&[SourceFile {
            path: "k/a.md".into(),
            bytes: b"+++\nid = \"a\"\ntitle = \"Role\"\n+++\n## Skills\nArchitects design scalable machine learning systems with pipelines.\n".to_vec(),
        }])
        .unwrap()
    }

    #[test]
    fn generated_dirs_are_valid_and_deterministic() {
        let base = std::env::temp_dir().join(format!("careerbot-synth-{}", std::process::id()));
        let (a, b) = (base.join("a"), base.join("b"));
        let seed_dir = base.join("seed");
        std::fs::create_dir_all(&seed_dir).unwrap();
        assert_eq!(
            write_knowledge_dir(&seed(), &seed_dir, &a, 35, 7).unwrap(),
            35
        );
        write_knowledge_dir(&seed(), &seed_dir, &b, 35, 7).unwrap();
        let kb = KnowledgeBase::load_dir(&a).unwrap();
        assert_eq!(kb.passages.len(), 35);
        // A second run into its own output replaces it, keeping what a person added.
        std::fs::write(a.join("mine.md"), "not synth's").unwrap();
        write_knowledge_dir(&seed(), &seed_dir, &a, 12, 7).unwrap();
        assert!(a.join("mine.md").is_file());
        assert!(!a.join("synth-00003.md").exists(), "old output removed");
        assert_eq!(
            kb.content_hash,
            KnowledgeBase::load_dir(&b).unwrap().content_hash
        );
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn a_directory_synth_did_not_write_is_refused_untouched() {
        let base =
            std::env::temp_dir().join(format!("careerbot-synth-real-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let real = base.join("knowledge");
        std::fs::create_dir_all(&real).unwrap();
        std::fs::write(real.join("role.md"), "a moderator's work").unwrap();
        std::fs::write(real.join("salary.toml"), "title = \"x\"").unwrap();
        let err = write_knowledge_dir(&seed(), &base, &real, 5, 1).unwrap_err();
        assert!(
            err.to_string().contains("not written by `careerbot synth`"),
            "{err}"
        );
        let mut left: Vec<_> = std::fs::read_dir(&real)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        left.sort();
        assert_eq!(left, ["role.md", "salary.toml"]);
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn names_are_deterministic() {
        assert_eq!(names(&seed(), 5, 1), names(&seed(), 5, 1));
        assert_ne!(names(&seed(), 5, 1), names(&seed(), 5, 2));
    }
}
