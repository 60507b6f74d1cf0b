//! Every rule of knowledge/README.md's checklist, one test each, through `careerbot check`
//! on a copy of the shipped base with one hand edit, the way a moderator meets them.
//! `readme_and_tests_list_the_same_rules` keeps the checklist and this file in step.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A private copy of the shipped knowledge base in a temporary directory.
struct Base {
    dir: PathBuf,
}

impl Base {
    fn shipped() -> Base {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "careerbot-rules-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let shipped = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("knowledge");
        for entry in std::fs::read_dir(shipped).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
            }
        }
        Base { dir }
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    fn write(&self, file: &str, text: &str) -> &Base {
        std::fs::write(self.path(file), text).unwrap();
        self
    }

    fn remove(&self, file: &str) -> &Base {
        std::fs::remove_file(self.path(file)).unwrap();
        self
    }

    /// `careerbot check` on this base.
    fn check(&self) -> Checked {
        let out = Command::new(env!("CARGO_BIN_EXE_careerbot"))
            .env_remove("CAREERBOT_KNOWLEDGE")
            .arg("--knowledge")
            .arg(&self.dir)
            .arg("check")
            .output()
            .unwrap();
        Checked {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            dir: self.dir.clone(),
        }
    }
}

impl Drop for Base {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Checked {
    ok: bool,
    stdout: String,
    stderr: String,
    dir: PathBuf,
}

impl Checked {
    /// The check failed with a problem at `file:line` whose message contains `says`.
    fn refuses(&self, file: &str, line: usize, says: &str) -> &Checked {
        assert!(!self.ok, "expected a refusal, got: {}", self.stdout);
        let at = format!("{}:{line}: ", self.dir.join(file).display());
        assert!(
            self.stderr
                .lines()
                .any(|l| l.contains(&at) && l.contains(says)),
            "expected `{at}...{says}...` in:\n{}",
            self.stderr
        );
        self
    }

    /// The check passed; returns the number of passages it reported.
    fn passes(&self) -> usize {
        assert!(self.ok, "expected ok, got:\n{}", self.stderr);
        let words: Vec<&str> = self.stdout.split_whitespace().collect();
        words[1]
            .parse()
            .unwrap_or_else(|_| panic!("{}", self.stdout))
    }
}

fn shipped_passages() -> usize {
    Base::shipped().check().passes()
}

const HEAD: &str = "+++\nid = \"extra\"\ntitle = \"Extra notes\"\n+++\n";

#[test]
fn r1_front_matter_first_and_a_byte_order_mark_is_fine() {
    Base::shipped()
        .write("extra.md", "Some words.\n## A\ntext\n")
        .check()
        .refuses("extra.md", 1, "expected front matter");
    let base = Base::shipped();
    let role = std::fs::read(base.path("role.md")).unwrap();
    let mut with_bom = "\u{feff}".as_bytes().to_vec();
    with_bom.extend(role);
    std::fs::write(base.path("role.md"), with_bom).unwrap();
    assert_eq!(base.check().passes(), shipped_passages());
}

#[test]
fn r2_id_and_title_required_and_no_unknown_settings() {
    Base::shipped()
        .write("extra.md", "+++\nid = \"extra\"\n+++\n## A\ntext\n")
        .check()
        .refuses("extra.md", 1, "no `title`");
    Base::shipped()
        .write(
            "extra.md",
            "+++\nid = \"extra\"\ntitle = \"T\"\nauthor = \"me\"\n+++\n## A\ntext\n",
        )
        .check()
        .refuses("extra.md", 4, "author");
}

#[test]
fn r3_ids_use_lowercase_digits_hyphen_underscore() {
    Base::shipped()
        .write(
            "extra.md",
            "+++\ntitle = \"T\"\nid = \"Extra Notes\"\n+++\n## A\ntext\n",
        )
        .check()
        .refuses("extra.md", 3, "must be lowercase");
    let base = Base::shipped();
    base.write(
        "extra.md",
        "+++\nid = \"extra_notes-2\"\ntitle = \"T\"\n+++\n## A\ntext\n",
    );
    assert_eq!(base.check().passes(), shipped_passages() + 1);
    Base::shipped()
        .write(
            "salary.toml",
            "title = \"Pay\"\n[[band]]\nid = \"Entry\"\nlevel = \"Entry\"\nmin_lpa = 1\n",
        )
        .check()
        .refuses("salary.toml", 2, "must be lowercase");
}

#[test]
fn r4_ids_are_unique_across_files_and_tables() {
    // Same id, different headings: no passage id collides, the document id does.
    Base::shipped()
        .write(
            "a-notes.md",
            "+++\nid = \"notes\"\ntitle = \"A\"\n+++\n## One\ntext\n",
        )
        .write(
            "b-notes.md",
            "+++\ntitle = \"B\"\nid = \"notes\"\n+++\n## Two\ntext\n",
        )
        .check()
        .refuses("b-notes.md", 3, "already used by");
    Base::shipped()
        .write(
            "pay.md",
            "+++\nid = \"salary\"\ntitle = \"Pay\"\n+++\n## More\ntext\n",
        )
        .check()
        .refuses("pay.md", 2, "taken by the table file salary.toml");
}

#[test]
fn r5_kind_is_guide_or_faq_and_faq_headings_are_questions() {
    Base::shipped()
        .write(
            "extra.md",
            "+++\nid = \"extra\"\ntitle = \"T\"\nkind = \"blog\"\n+++\n## A\ntext\n",
        )
        .check()
        .refuses("extra.md", 4, "\"blog\"");
    Base::shipped()
        .write(
            "extra.md",
            "+++\nid = \"extra\"\ntitle = \"T\"\nkind = \"faq\"\n+++\n## Is it hard?\nYes.\n## Statement\nNo.\n",
        )
        .check()
        .refuses("extra.md", 8, "should be a question");
}

#[test]
fn r6_only_double_hash_headings_with_a_space() {
    let text = format!("{HEAD}## Real\ntext\n### Sub\nmore\n##NoSpace\nmore\n# Top\n");
    let checked = Base::shipped().write("extra.md", &text).check();
    checked
        .refuses("extra.md", 7, "`###` subheadings are not supported")
        .refuses("extra.md", 9, "needs a space after `##`")
        .refuses("extra.md", 11, "single `#`");
}

#[test]
fn r7_a_section_needs_visible_text() {
    let zero_width = format!("{HEAD}## Real\ntext\n## Hollow\n\u{200b}\n");
    Base::shipped()
        .write("extra.md", &zero_width)
        .check()
        .refuses("extra.md", 7, "section \"Hollow\" is empty");
    let comment_only = format!("{HEAD}## Real\ntext\n## Later\n<!-- TODO: write this -->\n");
    Base::shipped()
        .write("extra.md", &comment_only)
        .check()
        .refuses("extra.md", 7, "section \"Later\" is empty");
    // A comment inside text is a note for moderators: never served.
    let noted = format!("{HEAD}## Real\nShown text. <!-- private note -->\n");
    let base = Base::shipped();
    base.write("extra.md", &noted);
    let out = Command::new(env!("CARGO_BIN_EXE_careerbot"))
        .args(["--knowledge"])
        .arg(&base.dir)
        .args(["check", "--json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Shown text."), "{stdout}");
    assert!(!stdout.contains("private note"), "{stdout}");
}

#[test]
fn r8_code_blocks_and_comments_are_closed() {
    // The fence swallowed every later section of the file, and check said ok.
    let fence = format!("{HEAD}## Setup\nRun this:\n```python\nprint(1)\n## Next\ntext\n");
    Base::shipped()
        .write("extra.md", &fence)
        .check()
        .refuses("extra.md", 7, "never closed");
    let comment = format!("{HEAD}## Setup\nFirst line.\n<!-- unfinished note\n## Next\ntext\n");
    Base::shipped()
        .write("extra.md", &comment)
        .check()
        .refuses("extra.md", 7, "never closed");
    // A closed fence keeps a `## ` line inside it as code, not a section.
    let closed = format!("{HEAD}## Setup\nRun:\n~~~\n## not a heading\n~~~\n");
    let base = Base::shipped();
    base.write("extra.md", &closed);
    assert_eq!(base.check().passes(), shipped_passages() + 1);
}

#[test]
fn r9_table_files_by_exact_name_and_missing_ones_warned() {
    let base = Base::shipped();
    std::fs::rename(base.path("salary.toml"), base.path("salary.TOML")).unwrap();
    base.check().refuses(
        "salary.TOML",
        1,
        "rename \"salary.TOML\" to \"salary.toml\"",
    );

    let base = Base::shipped();
    base.remove("skills.toml");
    std::fs::create_dir(base.path("skills.toml")).unwrap();
    base.check().refuses("skills.toml", 1, "is a directory");

    let base = Base::shipped();
    base.write("extra.toml", "x = 1\n");
    base.check().refuses("extra.toml", 1, "unknown table file");
    // The optional files too: a capitalised name is a rename, not an unknown file.
    let base = Base::shipped();
    std::fs::rename(base.path("not-covered.toml"), base.path("Not-Covered.toml")).unwrap();
    base.check()
        .refuses("Not-Covered.toml", 1, "rename \"Not-Covered.toml\" to");

    // Absent: still served (a base may have no salaries), never silently.
    let base = Base::shipped();
    base.remove("salary.toml");
    let checked = base.check();
    checked.passes();
    let warning = format!(
        "warning: {}:1: salary.toml is missing",
        base.path("salary.toml").display()
    );
    assert!(checked.stderr.contains(&warning), "{}", checked.stderr);
    assert!(
        !Base::shipped().check().stderr.contains("warning"),
        "the shipped base has every table"
    );
}

#[test]
fn r10_required_settings_present_and_not_blank() {
    Base::shipped()
        .write(
            "salary.toml",
            "title = \"Pay\"\n[[band]]\nid = \"entry\"\nlevel = \"Entry\"\nmax_lpa = 5\n",
        )
        .check()
        .refuses("salary.toml", 2, "min_lpa");
    Base::shipped()
        .write(
            "timeline.toml",
            "title = \"T\"\n[[step]]\nyears = \"1-2\"\nrole = \" \"\nwork = \"w\"\n",
        )
        .check()
        .refuses("timeline.toml", 2, "step role is empty");
    Base::shipped()
        .write(
            "phases.toml",
            "title = \"P\"\n[[phase]]\nnumber = 0\nname = \"A\"\nduration = \"1\"\nfocus = \"f\"\nmilestones = \"m\"\ncolour = \"red\"\n",
        )
        .check()
        .refuses("phases.toml", 8, "colour");
}

#[test]
fn r11_row_ids_and_phase_numbers_unique() {
    Base::shipped()
        .write(
            "salary.toml",
            "title = \"Pay\"\n[[band]]\nid = \"a\"\nlevel = \"A\"\nmin_lpa = 1\n[[band]]\nid = \"a\"\nlevel = \"B\"\nmin_lpa = 2\n",
        )
        .check()
        .refuses("salary.toml", 6, "duplicate id \"a\"");
    let phase = "[[phase]]\nnumber = 1\nname = \"A\"\nduration = \"1\"\nfocus = \"f\"\nmilestones = \"m\"\n";
    Base::shipped()
        .write("phases.toml", &format!("title = \"P\"\n{phase}{phase}"))
        .check()
        .refuses("phases.toml", 8, "phase number 1 is used twice");
}

#[test]
fn r12_skill_areas_have_items_and_short_names() {
    let long = "x".repeat(101);
    Base::shipped()
        .write(
            "skills.toml",
            &format!("[[area]]\nid = \"a\"\nname = \"{long}\"\nitems = [\"one\"]\n"),
        )
        .check()
        .refuses("skills.toml", 1, "longer than 100 characters");
    Base::shipped()
        .write(
            "skills.toml",
            "[[area]]\nid = \"a\"\nname = \"A\"\nitems = [\"one\"]\n[[area]]\nid = \"b\"\nname = \"B\"\nitems = []\n",
        )
        .check()
        .refuses("skills.toml", 5, "has no items");
}

#[test]
fn r13_salary_figures_sane_and_years_never_in_two_bands() {
    let band = |id: &str, extra: &str| {
        format!("[[band]]\nid = \"{id}\"\nlevel = \"{id}\"\nmin_lpa = 10\n{extra}")
    };
    let salary = |bands: &[String]| format!("title = \"Pay\"\n{}", bands.concat());
    Base::shipped()
        .write("salary.toml", &salary(&[band("a", "max_lpa = inf\n")]))
        .check()
        .refuses(
            "salary.toml",
            2,
            "max_lpa inf must be a number of lakhs from 0 to 10000",
        );
    Base::shipped()
        .write(
            "salary.toml",
            &salary(&[band("a", "").replace("min_lpa = 10", "min_lpa = 1e300")]),
        )
        .check()
        .refuses("salary.toml", 2, "must be a number of lakhs");
    Base::shipped()
        .write("salary.toml", &salary(&[band("a", "max_lpa = 5\n")]))
        .check()
        .refuses("salary.toml", 2, "greater than max_lpa 5");
    Base::shipped()
        .write(
            "salary.toml",
            &salary(&[band("a", "years_min = 5\nyears_max = 2\n")]),
        )
        .check()
        .refuses("salary.toml", 2, "years_min 5 is greater than years_max 2");
    // Only `years_max` starts at 0 years, so it overlaps 0-2; reported at its own band.
    Base::shipped()
        .write(
            "salary.toml",
            &salary(&[
                band("a", "years_min = 0\nyears_max = 2\n"),
                band("b", "years_max = 4\n"),
            ]),
        )
        .check()
        .refuses(
            "salary.toml",
            8,
            "overlaps the years of experience of band \"a\" (line 2)",
        );
}

#[test]
fn r14_files_are_utf8_and_bounded() {
    let base = Base::shipped();
    std::fs::write(
        base.path("extra.md"),
        b"+++\nid = \"x\"\ntitle = \"Caf\xe9\"\n+++\n",
    )
    .unwrap();
    base.check().refuses("extra.md", 3, "not valid UTF-8");

    let huge = format!("{HEAD}## Big\n{}\n", "word ".repeat(220_000));
    Base::shipped().write("extra.md", &huge).check().refuses(
        "extra.md",
        1,
        "may be at most 1024 KiB",
    );

    let base = Base::shipped();
    let chunk = format!("{HEAD}## Big\n{}\n", "word ".repeat(190_000));
    for i in 0..40 {
        base.write(&format!("z{i:02}.md"), &chunk);
    }
    let checked = base.check();
    assert!(!checked.ok);
    assert!(
        checked.stderr.contains("more than 32 MiB"),
        "{}",
        checked.stderr
    );
}

#[test]
fn r15_asked_questions_name_a_section_and_are_short() {
    let asked = |passage: &str, question: &str| {
        format!("[[asked]]\npassage = \"{passage}\"\nquestions = [\"{question}\"]\n")
    };
    // A section that is gone (removed, renamed) leaves its questions unused: a warning.
    let base = Base::shipped();
    base.write(
        "questions.toml",
        &asked("role/no-such-section", "what is it"),
    );
    let checked = base.check();
    checked.passes();
    let warning = format!(
        "warning: {}:1: no passage has the id \"role/no-such-section\"",
        base.path("questions.toml").display()
    );
    assert!(checked.stderr.contains(&warning), "{}", checked.stderr);
    Base::shipped()
        .write(
            "questions.toml",
            &asked("faq/what-does-an-ml-architect-actually-do", " "),
        )
        .check()
        .refuses("questions.toml", 1, "a question is empty");
    Base::shipped()
        .write(
            "questions.toml",
            &asked(
                "faq/what-does-an-ml-architect-actually-do",
                &"why ".repeat(51),
            ),
        )
        .check()
        .refuses("questions.toml", 1, "over 200 characters");
    Base::shipped()
        .write(
            "questions.toml",
            "[[asked]]\npassage = \"faq/what-does-an-ml-architect-actually-do\"\nquestions = []\n",
        )
        .check()
        .refuses("questions.toml", 1, "is given no questions");
    // Optional: a base without it is served with no warning about it.
    let base = Base::shipped();
    base.remove("questions.toml");
    let checked = base.check();
    checked.passes();
    assert!(!checked.stderr.contains("questions"), "{}", checked.stderr);
}

#[test]
fn r16_not_covered_topics_have_a_name_and_questions() {
    let topic = |name: &str, question: &str| {
        format!("[[topic]]\nname = \"{name}\"\nquestions = [\"{question}\"]\n")
    };
    Base::shipped()
        .write("not-covered.toml", &topic(" ", "how much tax do I pay?"))
        .check()
        .refuses("not-covered.toml", 1, "name is empty");
    Base::shipped()
        .write(
            "not-covered.toml",
            &topic("\u{200b}", "how much tax do I pay?"),
        )
        .check()
        .refuses("not-covered.toml", 1, "name is empty");
    // Shown inside a sentence on Discord: a line break would start a list or a heading.
    Base::shipped()
        .write(
            "not-covered.toml",
            &topic("tax\\n- **free course**", "how much tax do I pay?"),
        )
        .check()
        .refuses("not-covered.toml", 1, "one line of plain text");
    Base::shipped()
        .write(
            "not-covered.toml",
            &topic("income\\u2028tax", "how much tax do I pay?"),
        )
        .check()
        .refuses("not-covered.toml", 1, "one line of plain text");
    Base::shipped()
        .write(
            "not-covered.toml",
            &topic(&"income tax ".repeat(8), "how much tax do I pay?"),
        )
        .check()
        .refuses("not-covered.toml", 1, "over 80 characters");
    Base::shipped()
        .write(
            "not-covered.toml",
            &format!(
                "{}\n{}",
                topic("income tax", "how much tax do I pay?"),
                topic("Income Tax", "old or new regime?")
            ),
        )
        .check()
        .refuses("not-covered.toml", 5, "already listed at line 1");
    Base::shipped()
        .write("not-covered.toml", &topic("income tax", " "))
        .check()
        .refuses("not-covered.toml", 1, "a question is empty");
    Base::shipped()
        .write(
            "not-covered.toml",
            "[[topic]]\nname = \"income tax\"\nquestions = []\n",
        )
        .check()
        .refuses("not-covered.toml", 1, "is given no questions");
    Base::shipped()
        .write(
            "not-covered.toml",
            "[[topic]]\nname = \"income tax\"\nquestion = [\"how much tax?\"]\n",
        )
        .check()
        .refuses("not-covered.toml", 3, "unknown field `question`");
    // A question the base's owners also say a section answers: one file or the other.
    let base = Base::shipped();
    base.write(
        "not-covered.toml",
        &topic(
            "system design",
            "What  system design topics should an ML architect study?",
        ),
    );
    let asked = std::fs::read_to_string(base.path("questions.toml")).unwrap();
    assert!(asked.contains("\"what system design topics should an ML architect study?\""));
    base.check()
        .refuses("not-covered.toml", 1, "is also a question passage");
    // Optional: a base without it is served with no warning about it.
    let base = Base::shipped();
    base.remove("not-covered.toml");
    let checked = base.check();
    checked.passes();
    assert!(
        !checked.stderr.contains("not-covered"),
        "{}",
        checked.stderr
    );
}

/// The checklist in knowledge/README.md and the tests above name the same rules.
#[test]
fn readme_and_tests_list_the_same_rules() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge/README.md"))
            .unwrap();
    let listed: Vec<String> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("- **R"))
        .filter_map(|l| l.split("**").next())
        .map(str::to_string)
        .collect();
    let source = include_str!("knowledge_rules.rs");
    let tested: Vec<String> = source
        .lines()
        .filter_map(|l| l.trim().strip_prefix("fn r"))
        .filter_map(|l| l.split('_').next())
        .filter(|n| n.chars().all(|c| c.is_ascii_digit()))
        .map(str::to_string)
        .collect();
    assert!(!listed.is_empty());
    assert_eq!(listed, tested, "README rules vs tests");
}
