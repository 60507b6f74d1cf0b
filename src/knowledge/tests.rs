//! Unit tests of the knowledge layer: parsing, validation, ids and hashing.
use super::*;

fn files(list: &[(&str, &str)]) -> Vec<SourceFile> {
    list.iter()
        .map(|(p, t)| SourceFile {
            path: p.to_string(),
            bytes: t.as_bytes().to_vec(),
        })
        .collect()
}

/// `questions.toml` gives passages their questions; its mistakes name their lines.
#[test]
fn asked_questions_attach_to_their_passages() {
    let md = "+++\nid = \"role\"\ntitle = \"The role\"\n+++\n## What it is\nDesigns systems.\n";
    let good = "[[asked]]\npassage = \"role/what-it-is\"\nquestions = [\"what do they do all day\", \" what do they do all day \"]\n";
    let kb = KnowledgeBase::from_files(&files(&[("k/role.md", md), ("k/questions.toml", good)]))
        .unwrap();
    assert_eq!(kb.passages[0].asked_as, ["what do they do all day"]);
    assert!(kb.warnings.iter().all(|w| !w.message.contains("questions")));

    let long = "x".repeat(tables::MAX_ASKED_CHARS + 1);
    let problems = |questions: &str| -> Vec<(usize, String)> {
        KnowledgeBase::from_files(&files(&[
            ("k/role.md", md),
            ("k/questions.toml", questions),
        ]))
        .unwrap_err()
        .problems
        .into_iter()
        .map(|p| (p.line, p.message))
        .collect()
    };
    let bad = format!(
        "[[asked]]\npassage = \"role/what-it-is\"\nquestions = [\"\"]\n\n[[asked]]\npassage = \"role\"\nquestions = [\"{long}\"]\n"
    );
    let lines = problems(&bad);
    assert!(
        lines.iter().any(|(l, m)| *l == 1 && m.contains("empty")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|(l, m)| *l == 5 && m.contains("over")),
        "{lines:?}"
    );
    // A section that is gone leaves its questions unused, with a warning at their line.
    let kb = KnowledgeBase::from_files(&files(&[
        ("k/role.md", md),
        (
            "k/questions.toml",
            "\n[[asked]]\npassage = \"role/nope\"\nquestions = [\"q\"]\n",
        ),
    ]))
    .unwrap();
    assert!(
        kb.warnings
            .iter()
            .any(|w| w.line == 2 && w.message.contains("\"role/nope\"")),
        "{:?}",
        kb.warnings
    );
}

#[test]
fn markdown_sections_become_passages() {
    let md = "+++\nid = \"role\"\ntitle = \"The role\"\nkeywords = [\"architect\"]\n+++\nIntro text.\n\n## What it is\n<!-- keywords: job, position -->\nDesigns systems.\n\n## Versus engineers\nDifferent.\n";
    let ps = parse_markdown("k/role.md", md).unwrap();
    assert_eq!(ps.len(), 3);
    assert_eq!(ps[0].id, "role");
    assert_eq!(ps[0].title, "The role");
    assert_eq!(ps[1].id, "role/what-it-is");
    assert_eq!(ps[1].text, "Designs systems.");
    assert_eq!(ps[1].line, 8);
    assert!(ps[1].keywords.contains(&"job".to_string()));
    assert!(ps[1].keywords.contains(&"architect".to_string()));
    assert!(!ps[2].keywords.contains(&"job".to_string()));
}

#[test]
fn markdown_problems_name_their_lines() {
    let md = "+++\nid = \"x\"\ntitle = \"T\"\nbogus = 1\n+++\n## A\ntext\n";
    let err = parse_markdown("k/x.md", md).unwrap_err();
    assert_eq!(err.len(), 1);
    assert_eq!(err[0].line, 4, "{:?}", err);
    assert!(err[0].message.contains("bogus"), "{:?}", err);

    let md = "+++\nid = \"x\"\n+++\n## A\n\n## B\ntext\n# Top\n";
    let err = parse_markdown("k/x.md", md).unwrap_err();
    let shown: Vec<String> = err.iter().map(|p| p.to_string()).collect();
    assert!(
        shown
            .iter()
            .any(|s| s.starts_with("k/x.md:1:") && s.contains("title")),
        "{shown:?}"
    );
    assert!(
        shown
            .iter()
            .any(|s| s.starts_with("k/x.md:4:") && s.contains("empty")),
        "{shown:?}"
    );
    assert!(
        shown.iter().any(|s| s.starts_with("k/x.md:8:")),
        "{shown:?}"
    );
}

#[test]
fn markdown_without_front_matter_or_unclosed() {
    let err = parse_markdown("a.md", "\n\nhello").unwrap_err();
    assert_eq!(err[0].line, 3);
    let err = parse_markdown("a.md", "+++\nid = \"a\"\n").unwrap_err();
    assert!(err[0].message.contains("not closed"));
    let err = parse_markdown("a.md", "+++\nid = \"a\ntitle = 3\n+++\n## x\ny").unwrap_err();
    assert_eq!(err[0].line, 2, "{err:?}");
}

#[test]
fn faq_headings_must_be_questions() {
    let md = "+++\nid = \"faq\"\ntitle = \"FAQ\"\nkind = \"faq\"\n+++\n## Is it hard?\nYes.\n## Statement\nNo.\n";
    let err = parse_markdown("faq.md", md).unwrap_err();
    assert_eq!(err.len(), 1);
    assert_eq!(err[0].line, 8);
}

const SALARY: &str = r#"title = "Pay"
note = "Averages."
[[band]]
id = "entry"
level = "Entry level"
years_min = 0
years_max = 2
min_lpa = 10
max_lpa = 18
[[band]]
id = "top"
level = "Top"
min_lpa = 70
"#;

#[test]
fn salary_parses_and_labels() {
    let t = parse_salary("salary.toml", SALARY).unwrap();
    assert_eq!(t.bands[0].range_label(), "₹10-18 LPA");
    assert_eq!(t.bands[1].range_label(), "₹70 LPA and above");
    assert!(t.bands[0].covers_years(2));
    assert!(!t.bands[0].covers_years(3));
    assert!(!t.bands[1].covers_years(30));
}

#[test]
fn salary_min_above_max_is_reported_at_the_band() {
    let bad = SALARY.replace("max_lpa = 18", "max_lpa = 8");
    let err = parse_salary("salary.toml", &bad).unwrap_err();
    assert_eq!(err.len(), 1);
    assert_eq!(err[0].line, 3, "{err:?}");
    assert!(err[0].message.contains("greater than max_lpa"));
}

#[test]
fn unknown_keys_in_tables_name_key_and_line() {
    let bad = SALARY.replace("min_lpa = 70", "min_lpa = 70\nmaximum = 90");
    let err = parse_salary("salary.toml", &bad).unwrap_err();
    assert!(err[0].message.contains("maximum"), "{err:?}");
    assert_eq!(err[0].line, 14, "{err:?}");
}

#[test]
fn whole_base_reports_every_problem_at_once() {
    let fs = files(&[
        (
            "k/a.md",
            "+++\nid = \"a\"\ntitle = \"A\"\n+++\n## One\ntext\n",
        ),
        (
            "k/b.md",
            "+++\nid = \"a\"\ntitle = \"B\"\n+++\nintro\n## One\nmore\n",
        ),
        (
            "k/salary.toml",
            "title = \"x\"\n[[band]]\nid=\"e\"\nlevel=\"E\"\nmin_lpa = 5\nmax_lpa = 1\n",
        ),
        ("k/extra.toml", "x = 1"),
        ("k/bin.md", "\u{0}ok"),
    ]);
    let mut fs = fs;
    fs.push(SourceFile {
        path: "k/latin1.md".into(),
        bytes: b"+++\nid = \"l\"\n\xff\n".to_vec(),
    });
    let err = KnowledgeBase::from_files(&fs).unwrap_err();
    let shown: Vec<String> = err.problems.iter().map(|p| p.to_string()).collect();
    assert!(
        shown
            .iter()
            .any(|s| s.starts_with("k/b.md:2:") && s.contains("already used by k/a.md:2")),
        "{shown:?}"
    );
    assert!(
        shown.iter().any(|s| s.starts_with("k/salary.toml:2:")),
        "{shown:?}"
    );
    assert!(
        shown.iter().any(|s| s.starts_with("k/extra.toml:1:")),
        "{shown:?}"
    );
    assert!(
        shown.iter().any(|s| s.starts_with("k/bin.md:1:")),
        "{shown:?}"
    );
    assert!(
        shown
            .iter()
            .any(|s| s.starts_with("k/latin1.md:3:") && s.contains("UTF-8")),
        "{shown:?}"
    );
}

#[test]
fn tables_become_passages_and_hash_is_stable() {
    let fs = files(&[
        ("k/salary.toml", SALARY),
        (
            "k/skills.toml",
            "[[area]]\nid = \"mlops\"\nname = \"MLOps & DevOps\"\naliases = [\"mlops\"]\nitems = [\"CI/CD\"]\n",
        ),
    ]);
    let kb = KnowledgeBase::from_files(&fs).unwrap();
    let ids: Vec<&str> = kb.passages.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        ["salary", "salary/entry", "salary/top", "skills/mlops"]
    );
    assert!(kb
        .passage("salary/entry")
        .unwrap()
        .text
        .contains("₹10-18 LPA"));
    let again = KnowledgeBase::from_files(&fs).unwrap();
    assert_eq!(kb.content_hash, again.content_hash);
    let mut changed = fs.clone();
    changed[0].bytes.push(b'\n');
    assert_ne!(
        KnowledgeBase::from_files(&changed).unwrap().content_hash,
        kb.content_hash
    );
}

#[test]
fn slugs_are_ascii() {
    assert_eq!(
        slugify("Skill area: MLOps & DevOps"),
        "skill-area-mlops-devops"
    );
    assert_eq!(slugify("4+"), "4plus");
    assert_eq!(slugify("???"), "section");
}
