//! Feedback end to end, through the local Discord emulator and a real database: buttons under
//! answers, votes that count once per person, refused questions grouped in the report, votes
//! that keep the passage they were about across a reload; the same suite on a SQLite file and
//! on a PostgreSQL server the test starts itself; two `careerbot serve` processes writing to
//! one PostgreSQL under load; and PostgreSQL stopped and started again mid-run.
//!
//! Counts are exact. Nothing sleeps to let something happen: the bot's recorder is flushed
//! (it says when its queue reached the database), or the processes are stopped cleanly (they
//! flush on SIGTERM) before the database is read.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use careerbot::bot::config::Secret;
use careerbot::bot::Config;
use serde_json::{json, Value};
use sqlx::Row as _;
use support::emulator::{
    button_ids, interaction_id, slash_command, string_opt, Emulator, Reply, Who,
};
use support::harness::{description, Harness, MOD_ROLE, T};
use support::postgres::Postgres;
use support::serve::{guild_on_shard, knowledge_copy, spawn_careerbot, who, work_dir, Processes};

/// How long queued records may take to reach a database that is up.
const FLUSH: Duration = Duration::from_secs(20);
const VOTER_KEY: &str = "feedback-test-voter-key-0123456789";

/// `careerbot report --json --database <url> [extra...]`, parsed.
fn report(database: &str, extra: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_careerbot"))
        .args(["report", "--json", "--database", database])
        .args(extra)
        .env_remove("CAREERBOT_DATABASE_URL")
        .output()
        .expect("run careerbot report");
    assert!(
        out.status.success(),
        "careerbot report failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "report is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// The report's headline counts: asked, answered, refused, helpful, not helpful.
fn counts(report: &Value) -> [u64; 5] {
    ["asked", "answered", "refused", "helpful", "not_helpful"].map(|k| {
        report[k]
            .as_u64()
            .unwrap_or_else(|| panic!("no {k} in {report}"))
    })
}

async fn bot(test: &str, database: Option<&str>) -> Harness {
    let database = database.map(str::to_string);
    bot_with(test, move |c: &mut Config| {
        if let Some(url) = database {
            c.database_url = url;
            c.voter_key = Some(Secret(VOTER_KEY.to_string()));
        }
    })
    .await
}

/// The hybrid bot, as `careerbot serve` runs it, with `tweak` applied to its config.
async fn bot_with(test: &str, tweak: impl FnOnce(&mut Config)) -> Harness {
    let model = tokio::task::spawn_blocking(support::harness::model)
        .await
        .expect("model task");
    Harness::start_with(test, Some(model), tweak, |_| {}).await
}

/// An `/ask` and the bot's reply to it.
struct Answer {
    id: u64,
    reply: Reply,
}

impl Answer {
    fn buttons(&self) -> Vec<String> {
        button_ids(self.reply.message())
    }
}

/// A fresh PostgreSQL server for test `name` (initdb and start run off the async workers).
async fn postgres(name: &'static str) -> Postgres {
    tokio::task::spawn_blocking(move || Postgres::start(name))
        .await
        .expect("start PostgreSQL")
}

async fn ask_as(h: &Harness, question: &str, user: u64) -> Answer {
    let payload = slash_command(
        h.emu.application_id(),
        "ask",
        json!([string_opt("question", question)]),
        &Who::member(user),
    );
    Answer {
        id: interaction_id(&payload),
        reply: h.send(payload).await,
    }
}

/// Clicks button `index` (0: Helpful, 1: Not helpful) under `answer` as `who`, on the message
/// as the emulator shows it.
async fn click(emu: &Emulator, answer: &Answer, index: usize, who: &Who) -> Reply {
    let payload = emu
        .click_on(answer.id, &answer.buttons()[index], who)
        .unwrap_or_else(|e| panic!("{e}"));
    let id = interaction_id(&payload);
    emu.dispatch_interaction(payload)
        .await
        .unwrap_or_else(|e| panic!("dispatch click: {e}"));
    emu.wait_reply(id, T)
        .await
        .unwrap_or_else(|e| panic!("no reply to the click: {e}\n{}", emu.diagnostics()))
}

/// The passage id a feedback button carries (`fb1:<verdict>:<answer>:<passage>`).
fn shown_passage(answer: &Answer) -> String {
    answer.buttons()[0]
        .splitn(4, ':')
        .nth(3)
        .unwrap_or_default()
        .to_string()
}

async fn flushed(h: &Harness) {
    let recorder = h.recorder.as_ref().expect("feedback is recorded");
    let left = recorder.flush(FLUSH).await;
    assert_eq!(left, 0, "feedback records still unwritten after {FLUSH:?}");
}

/// Renames the `## ` heading whose slug ends `passage_id`, so the passage gets a new id.
fn rename_heading(dir: &Path, passage_id: &str) {
    let (file, slug) = passage_id.split_once('/').expect("file/slug passage id");
    let path = dir.join(format!("{file}.md"));
    let text = std::fs::read_to_string(&path).expect("read the passage's file");
    let slugify = |s: &str| {
        s.to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join("-")
    };
    let mut renamed = false;
    let edited: Vec<String> = text
        .lines()
        .map(|line| match line.strip_prefix("## ") {
            Some(heading) if !renamed && slugify(heading) == slug => {
                renamed = true;
                // Still a question, as FAQ headings must be.
                format!("## {}, in short?", heading.trim_end_matches('?'))
            }
            _ => line.to_string(),
        })
        .collect();
    assert!(renamed, "no heading for {passage_id} in {}", path.display());
    std::fs::write(&path, edited.join("\n") + "\n").expect("write the edit");
}

/// One suite for both databases: the test list of the issue, on `database` (`None`: the
/// harness's SQLite file).
async fn feedback_suite(test: &str, database: Option<&str>) {
    let h = bot(test, database).await;
    let url = database
        .map(str::to_string)
        .unwrap_or_else(|| h.database.to_string_lossy().into_owned());

    // An empty database: zeros and empty lists, exit 0.
    let empty = report(&url, &[]);
    assert_eq!(counts(&empty), [0; 5], "{empty}");
    for list in ["unanswered", "not_covered", "not_helpful_passages"] {
        assert_eq!(empty[list], json!([]), "{empty}");
    }

    // An answer carries the two buttons; not helpful, then helpful: one vote, the second.
    let member = Who::member(7);
    let answer = ask_as(&h, "how long does it take to become an ML architect?", 7).await;
    let ids = answer.buttons();
    assert_eq!(ids.len(), 2, "{}", answer.reply.message());
    assert!(
        ids[0].starts_with(&format!("fb1:h:{}:", answer.id)),
        "{ids:?}"
    );
    assert!(
        ids[0].starts_with("fb1:h:") && ids[1].starts_with("fb1:n:"),
        "{ids:?}"
    );
    let first = click(&h.emu, &answer, 1, &member).await;
    assert!(
        first.is_ephemeral() && first.content().contains("noted"),
        "{}",
        first.message()
    );
    let second = click(&h.emu, &answer, 0, &member).await;
    assert!(
        second.is_ephemeral() && second.content().contains("glad"),
        "{}",
        second.message()
    );

    // Two wordings of one question the base cannot answer: refused, no buttons.
    for q in [
        "who won the cricket world cup in 2011?",
        "Who won the 2011 cricket world cup",
        "what is the best pizza topping?",
    ] {
        let refused = ask_as(&h, q, 8).await;
        assert!(refused.buttons().is_empty(), "{}", refused.reply.message());
        assert!(!description(&refused.reply).is_empty());
    }

    // A topic the base lists as not covered: refused by its name, and reported apart.
    let tax = ask_as(&h, "how much income tax will I pay on a 30 LPA salary?", 8).await;
    assert!(tax.buttons().is_empty(), "{}", tax.reply.message());
    assert!(
        description(&tax.reply).contains("doesn't cover income tax"),
        "{}",
        tax.reply.message()
    );

    // A passage renamed by a reload after it was shown: the vote keeps the id it showed.
    let role = ask_as(&h, "What does an ML Architect actually do?", 9).await;
    let shown = shown_passage(&role);
    rename_heading(&h.dir, &shown);
    let reload = h
        .slash("reload", Value::Null, &Who::moderator(1, MOD_ROLE))
        .await;
    assert!(reload.content().contains("eloaded"), "{}", reload.content());
    let current = h.served.current();
    assert!(
        !current
            .engine
            .knowledge()
            .passages
            .iter()
            .any(|p| p.id == shown),
        "{shown} still exists after the rename"
    );
    click(&h.emu, &role, 1, &Who::member(9)).await;
    flushed(&h).await;

    let r = report(&url, &[]);
    assert_eq!(counts(&r), [6, 2, 4, 1, 1], "{r}");
    assert_eq!(
        r["not_covered"],
        json!([{"topic": "income tax on your salary", "count": 1}]),
        "{r}"
    );
    // The two wordings are one group; the unrelated question is its own.
    assert_eq!(r["unanswered"][0]["count"], 2, "grouped: {r}");
    assert_eq!(
        r["unanswered"][0]["wordings"].as_array().map(Vec::len),
        Some(2),
        "{r}"
    );
    assert_eq!(r["unanswered"][1]["count"], 1, "{r}");
    assert_eq!(r["unanswered"].as_array().map(Vec::len), Some(2), "{r}");
    assert_eq!(r["not_helpful_passages"][0]["id"], shown, "{r}");
    assert_eq!(r["not_helpful_passages"][0]["count"], 1, "{r}");
    assert_eq!(r["grouping"], "embeddings", "{r}");
    // Summed over the days, so a run across midnight (UTC) counts the same.
    let per_day = r["per_day"].as_array().expect("per_day");
    let total = |key: &str| per_day.iter().filter_map(|d| d[key].as_u64()).sum::<u64>();
    assert_eq!((total("asked"), total("answered")), (6, 2), "{r}");

    // The rows themselves: one vote for the first answer, the later one, by a hashed voter.
    let votes = database_rows(
        &url,
        "SELECT voter, CASE WHEN helpful THEN 1 ELSE 0 END, passage_id FROM votes WHERE answer_id = $1",
        i64::try_from(answer.id).expect("snowflake fits"),
    )
    .await;
    assert_eq!(votes.len(), 1, "one vote per person per answer");
    let (voter, helpful, passage) = &votes[0];
    assert_eq!(passage.as_deref(), Some(shown_passage(&answer).as_str()));
    assert!(*helpful, "the second click (Helpful) counts");
    assert!(
        voter.len() == 64 && voter.chars().all(|c| c.is_ascii_hexdigit()),
        "a keyed hash, not the user id: {voter}"
    );
    let renamed = database_rows(
        &url,
        "SELECT voter, CASE WHEN helpful THEN 1 ELSE 0 END, passage_id FROM votes WHERE answer_id = $1",
        i64::try_from(role.id).expect("snowflake fits"),
    )
    .await;
    assert_eq!(renamed.len(), 1);
    assert_eq!(
        renamed[0].2.as_deref(),
        Some(shown.as_str()),
        "the id it showed"
    );

    // From report to regression test: the skeleton refuses to run until filled in.
    let skeleton =
        std::env::temp_dir().join(format!("careerbot-{test}-{}.jsonl", std::process::id()));
    report(&url, &["--export-eval", &skeleton.to_string_lossy()]);
    let lines: Vec<Value> = std::fs::read_to_string(&skeleton)
        .expect("skeleton written")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(
        lines.len(),
        3,
        "the two unanswered groups and the not-helpful answer: {lines:?}"
    );
    assert!(lines.iter().all(|l| l["expect"] == json!(["TODO"])));
    let eval = Command::new(env!("CARGO_BIN_EXE_careerbot"))
        .args(["--lexical-only", "eval"])
        .arg(&skeleton)
        .output()
        .expect("run careerbot eval");
    assert!(!eval.status.success());
    assert!(
        String::from_utf8_lossy(&eval.stderr).contains("fill in"),
        "{}",
        String::from_utf8_lossy(&eval.stderr)
    );
    let _ = std::fs::remove_file(&skeleton);
    h.stop().await;
}

/// `(voter, helpful, passage_id)` rows of `sql` with `$1 = answer_id`, read with sqlx directly.
async fn database_rows(
    url: &str,
    sql: &str,
    answer_id: i64,
) -> Vec<(String, bool, Option<String>)> {
    sqlx::any::install_default_drivers();
    let url = if url.starts_with("postgres") {
        url.to_string()
    } else {
        format!("sqlite://{url}")
    };
    let pool = sqlx::AnyPool::connect(&url).await.expect("connect");
    let rows = sqlx::query(sql)
        .bind(answer_id)
        .fetch_all(&pool)
        .await
        .expect("query");
    let out = rows
        .iter()
        .map(|r| {
            let helpful: i32 = r.get(1);
            (r.get(0), helpful == 1, r.get(2))
        })
        .collect();
    pool.close().await;
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_on_sqlite() {
    feedback_suite("feedback-sqlite", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_on_postgres() {
    let pg = postgres("suite").await;
    feedback_suite("feedback-postgres", Some(&pg.url())).await;
}

/// A restart between an answer and the click on its button: the new process records it
/// (everything it needs is in the button). A guild that keeps question text out, and a
/// private ask, are recorded without their words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buttons_work_after_a_restart_and_kept_out_text_stays_out() {
    const QUIET_GUILD: u64 = 1_100_000_000_000_000_777;
    let db = std::env::temp_dir().join(format!("careerbot-restart-{}.db", std::process::id()));
    for f in [db.clone(), db.with_extension("db.key")] {
        let _ = std::fs::remove_file(f);
    }
    let url = db.to_string_lossy().into_owned();
    let tweak = |c: &mut Config| {
        c.database_url = db.to_string_lossy().into_owned();
        c.no_question_text_guilds = vec![QUIET_GUILD];
    };
    let first = bot_with("restart-before", tweak).await;
    let answer = ask_as(
        &first,
        "how long does it take to become an ML architect?",
        7,
    )
    .await;
    flushed(&first).await;
    let emu = first.stop_keeping_emulator().await;

    let second = Harness::start_on(emu, "restart-after", None, tweak, |_| {}).await;
    let ack = click(&second.emu, &answer, 0, &Who::member(7)).await;
    assert!(ack.content().contains("glad"), "{}", ack.message());
    let mut quiet = Who::member(8);
    quiet.guild_id = Some(QUIET_GUILD);
    second
        .slash(
            "ask",
            json!([string_opt("question", "who won the cricket world cup?")]),
            &quiet,
        )
        .await;
    let private = json!([
        string_opt("question", "what is the best pizza topping?"),
        support::harness::bool_opt("private", true)
    ]);
    let reply = second.slash("ask", private, &Who::member(9)).await;
    assert!(reply.is_ephemeral());
    flushed(&second).await;

    let r = report(&url, &[]);
    assert_eq!(counts(&r), [3, 1, 2, 1, 0], "{r}");
    assert_eq!(r["unanswered"], json!([]), "no text to show: {r}");
    assert_eq!(r["unanswered_without_text"], 2, "{r}");
    second.stop().await;
    for f in [db.clone(), db.with_extension("db.key")] {
        let _ = std::fs::remove_file(f);
    }
}

/// With the database down and a queue of 2, asks past the bound are dropped, counted, and
/// never delay an answer; what was queued lands once the server is back: exactly the asks
/// that were not dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_drops_counts_and_answers_anyway() {
    let pg = postgres("full-queue").await;
    let url = pg.url();
    let h = bot_with("full-queue", |c: &mut Config| {
        c.database_url = url.clone();
        c.voter_key = Some(Secret(VOTER_KEY.to_string()));
        c.record_queue = 2;
    })
    .await;
    tokio::task::block_in_place(|| pg.stop());
    let asks = 6;
    for i in 0..asks {
        let reply = ask_as(&h, "what skills does an ML architect need?", 40 + i).await;
        assert!(
            !description(&reply.reply).is_empty(),
            "answered while the database is down"
        );
    }
    let recorder = h.recorder.clone().expect("feedback is recorded");
    let dropped = recorder.dropped();
    assert!(dropped >= 1, "a queue of 2 cannot hold {asks} records");
    eprintln!("queue of 2, database down: {dropped} of {asks} records dropped");
    tokio::task::block_in_place(|| pg.start_again());
    flushed(&h).await;
    let r = report(&url, &[]);
    assert_eq!(r["asked"].as_u64(), Some(asks - dropped), "{r}");
    h.stop().await;
}

/// PostgreSQL stops mid-run and comes back: every answer still goes out at once, the records
/// made meanwhile wait in the queue and land exactly once when the server is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_loses_no_answer_and_no_record() {
    let pg = postgres("outage").await;
    let url = pg.url();
    let h = bot("feedback-outage", Some(&url)).await;
    let before = ask_as(&h, "what skills does an ML architect need?", 20).await;
    click(&h.emu, &before, 0, &Who::member(20)).await;
    flushed(&h).await;

    tokio::task::block_in_place(|| pg.stop());
    let questions = [
        "how much does a senior ML architect earn in India?",
        "which cloud certifications help?",
        "what mistakes should I avoid?",
        "what is the capital of Peru?",
    ];
    let mut answered = 0;
    for (i, q) in questions.iter().enumerate() {
        let user = 30 + i as u64;
        let reply = ask_as(&h, q, user).await;
        assert!(
            !description(&reply.reply).is_empty(),
            "{q}: answered during the outage"
        );
        if !reply.buttons().is_empty() {
            answered += 1;
            click(&h.emu, &reply, 1, &Who::member(user)).await;
        }
    }
    assert_eq!(answered, 3, "three of the four are in the base");
    assert!(
        h.recorder.as_ref().map_or(0, |r| r.unwritten()) >= questions.len(),
        "records wait while the server is down"
    );

    tokio::task::block_in_place(|| pg.start_again());
    flushed(&h).await;
    let r = report(&url, &[]);
    assert_eq!(counts(&r), [5, 4, 1, 1, 3], "{r}");
    h.stop().await;
    drop(pg);
}

/// Two `careerbot serve` processes (shard 0 and shard 1 of 2) record into one PostgreSQL
/// under load: every question and every vote is counted exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_count_every_question_and_vote_once() {
    let pg = postgres("two-processes").await;
    let work = work_dir("feedback-procs");
    let dir = knowledge_copy(&work);
    let emu = Emulator::start().await;
    let mut procs = Processes::new();
    let env = [("CAREERBOT_VOTER_KEY", VOTER_KEY.to_string())];
    for shard in 0..2 {
        let config = format!(
            "http_proxy = \"{}\"\ndatabase_url = \"{}\"\nsemantic = false\nwatch_interval_secs = 0\nlog_format = \"json\"\nshards = \"{shard}\"\ntotal_shards = 2\n[cooldown]\nasks = 1000\nper_seconds = 1\n",
            emu.rest_url(),
            pg.url()
        );
        procs.children.push(spawn_careerbot(
            &dir,
            &work,
            &format!("shard-{shard}"),
            &config,
            &env,
        ));
    }
    emu.wait_identifies(2, T)
        .await
        .unwrap_or_else(|e| panic!("both shards identify: {e}\nlogs: {:#?}", procs.logs()));
    for _ in 0..2 {
        emu.wait_commands(T)
            .await
            .expect("each process registers its commands");
    }
    let guilds = [guild_on_shard(0, 2), guild_on_shard(1, 2)];
    let questions = [
        "how long does it take?",
        "what does an ML architect earn?",
        "what skills does an ML architect need?",
        "do I need a degree?",
        "what is the best pizza topping?",
    ];
    // 40 questions at once, 20 on each shard.
    let mut pending = Vec::new();
    for i in 0..40u64 {
        let q = questions[i as usize % questions.len()];
        let asker = who(100 + i, guilds[i as usize % 2]);
        let payload = slash_command(
            emu.application_id(),
            "ask",
            json!([string_opt("question", q)]),
            &asker,
        );
        pending.push((interaction_id(&payload), asker));
        emu.dispatch_interaction(payload)
            .await
            .unwrap_or_else(|e| panic!("dispatch: {e}"));
    }
    let mut answered = Vec::new();
    for (id, asker) in &pending {
        let reply = emu
            .wait_reply(*id, T)
            .await
            .unwrap_or_else(|e| panic!("no reply to {id}: {e}\nlogs: {:#?}", procs.logs()));
        if !button_ids(reply.message()).is_empty() {
            answered.push((Answer { id: *id, reply }, asker.clone()));
        }
    }
    // On every answer: the asker clicks Not helpful then Helpful (one vote, helpful), and a
    // second member of the same guild clicks Not helpful.
    let mut clicks = Vec::new();
    for (reply, asker) in &answered {
        let other = who(asker.user_id + 1_000, asker.guild_id.unwrap_or_default());
        for (index, clicker) in [(1, asker), (0, asker), (1, &other)] {
            let payload = emu
                .click_on(reply.id, &reply.buttons()[index], clicker)
                .unwrap_or_else(|e| panic!("{e}"));
            clicks.push(interaction_id(&payload));
            emu.dispatch_interaction(payload)
                .await
                .unwrap_or_else(|e| panic!("dispatch click: {e}"));
            // The two clicks by one person are in order, as a person makes them.
            emu.wait_reply(*clicks.last().unwrap_or(&0), T)
                .await
                .unwrap_or_else(|e| panic!("no reply to a click: {e}"));
        }
    }
    // A clean stop flushes each process's queue.
    procs.terminate();
    let a = answered.len() as u64;
    assert_eq!(a, 32, "four of the five questions are answered");
    let r = report(&pg.url(), &["--lexical-only"]);
    assert_eq!(counts(&r), [40, a, 40 - a, a, a], "{r}");
    assert_eq!(r["unanswered"][0]["count"], 40 - a, "{r}");
    let problems = emu.problems();
    assert!(problems.is_empty(), "emulator problems: {problems:#?}");
    drop(procs);
    let _ = std::fs::remove_dir_all(&work);
}
