//! What members see at a glance and what operators scrape, through the real bot on the local
//! emulator: `/salary` and `/timeline` upload their charts as Discord takes files (multipart,
//! `payload_json` + `files[n]`) and show them in the embed; `/metrics` counts exactly what was
//! driven through; `/readyz` is 503 until the gateway is connected.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use support::emulator::{interaction_id, slash_command, string_opt, Emulator, Recorded, Who};
use support::harness::{embed, title, Harness, MOD_ROLE, T};

/// The callback request that answered interaction `id`.
fn callback_of(requests: &[Recorded], id: u64) -> &Recorded {
    let route = format!("/interactions/{id}/");
    requests
        .iter()
        .find(|r| r.path.contains(&route) && r.path.ends_with("/callback") && r.status == 204)
        .unwrap_or_else(|| panic!("no accepted callback for interaction {id}"))
}

/// Width and height of a PNG, decoded in full (a truncated upload fails here).
fn decode_png(bytes: &[u8]) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("the upload is a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a sane size")];
    let frame = reader.next_frame(&mut pixels).expect("the PNG decodes");
    (frame.width, frame.height)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salary_and_timeline_upload_their_charts_into_the_embed() {
    let h = Harness::start("charts", |_| {}, |_| {}).await;
    let cases = [
        (
            "salary",
            json!([string_opt("level", "senior")]),
            "salary.png",
        ),
        ("timeline", json!([]), "timeline.png"),
    ];
    for (command, options, file) in cases {
        let payload = slash_command(h.emu.application_id(), command, options, &Who::member(7));
        let id = interaction_id(&payload);
        let reply = h.send(payload).await;
        assert!(!title(&reply).is_empty(), "{command}: {:?}", reply.callback);
        assert_eq!(
            embed(&reply)["image"]["url"],
            format!("attachment://{file}"),
            "{command}: the embed shows the upload"
        );
        let requests = h.emu.requests();
        let callback = callback_of(&requests, id);
        assert_eq!(callback.files.len(), 1, "{command}: one file uploaded");
        let upload = &callback.files[0];
        assert_eq!(upload.field, "files[0]");
        assert_eq!(upload.filename, file);
        let (w, h_px) = decode_png(&upload.bytes);
        assert!(w >= 800 && h_px >= 400, "{command}: {w}x{h_px}");
        assert_eq!(
            callback.body["data"]["attachments"][0]["filename"], file,
            "{command}: payload_json lists the file"
        );
    }
    h.stop().await;
}

/// The emulator's upload rules can fail: an embed pointing at a file that was not uploaded
/// (Discord takes it and shows no picture) is a problem, which fails the test that sent it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embed_pointing_at_a_missing_upload_is_a_problem() {
    let emu = Emulator::start().await;
    emu.expect_contract_violations();
    let boundary = "careerbot-test-boundary";
    let payload = json!({
        "type": 4,
        "data": {
            "embeds": [{ "title": "t", "image": { "url": "attachment://missing.png" } }],
            "attachments": [{ "id": 0, "filename": "other.png" }]
        }
    });
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"payload_json\"\r\nContent-Type: application/json\r\n\r\n{payload}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"other.png\"\r\nContent-Type: image/png\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(&[0x89, b'P', b'N', b'G', 0, 1, 2, 3]);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let url = format!("{}/api/v10/interactions/1/token/callback", emu.rest_url());
    let status = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .post(url)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("the emulator answers")
        .status();
    // Answered as the route answers (interaction 1 does not exist), not refused.
    assert_eq!(status.as_u16(), 404);
    let problems = emu.problems();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("attachment://missing.png") && p.contains("no upload")),
        "{problems:#?}"
    );
}

async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .get(format!("http://{addr}{path}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

/// Waits until `/readyz` answers 200. Readiness is serenity's shard state, updated when it
/// has processed READY, a moment after the emulator sent it; nothing announces that change
/// outside the bot, so the probe is asked again until it says so (or the deadline passes).
async fn wait_until_ready(addr: SocketAddr) -> String {
    let deadline = Instant::now() + T;
    loop {
        let (status, body) = get(addr, "/readyz").await;
        if status == 200 {
            return body;
        }
        assert!(Instant::now() < deadline, "/readyz still {status}: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The value of the sample `name` (with its labels, exactly as exposed), or a failure that
/// shows the whole scrape.
fn sample(scrape: &str, name: &str) -> f64 {
    scrape
        .lines()
        .find_map(|line| {
            let (key, value) = line.rsplit_once(' ')?;
            (key == name).then(|| value.parse().ok()).flatten()
        })
        .unwrap_or_else(|| panic!("{name} not in the scrape:\n{scrape}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_exactly_what_happened_and_readyz_follows_the_gateway() {
    let emu = Emulator::start().await;
    emu.set_ready_guilds(vec![11, 12, 13]);
    let unstarted = Harness::build_on(
        emu,
        "metrics",
        None,
        |c| {
            c.metrics_addr = Some(([127, 0, 0, 1], 0).into());
            // Two shards in this process: serenity boots the second 5 s after the first, so
            // there is a moment when one is connected and the process is not ready.
            c.shards = Some("0-1".into());
            c.total_shards = Some(2);
            // Three questions an hour: the fourth is a cooldown hit.
            c.cooldown.asks = 3;
            c.cooldown.per_seconds = 3_600;
        },
        |_| {},
    )
    .await;
    let addr = unstarted.bot.metrics_addr().expect("metrics_addr is set");
    assert_eq!(get(addr, "/healthz").await.0, 200);
    let (status, why) = get(addr, "/readyz").await;
    assert_eq!(status, 503, "not ready before the gateway connects: {why}");
    assert!(why.contains("0 of 2 shards connected"), "{why}");
    assert_eq!(get(addr, "/nothing").await.0, 404);

    // Shard 0 is connected (READY sent, commands registered); shard 1 has not identified yet.
    let h = unstarted.start().await;
    assert_eq!(
        h.emu.identify_count(),
        1,
        "the second shard identified within 5 s of the first: serenity's boot spacing changed?"
    );
    let (status, why) = get(addr, "/readyz").await;
    assert_eq!(status, 503, "one of two shards up is not ready: {why}");
    assert!(why.contains("1 of 2 shards connected"), "{why}");
    h.emu
        .wait_identifies(2, Duration::from_secs(20))
        .await
        .unwrap_or_else(|e| panic!("the second shard: {e}"));
    let ready = wait_until_ready(addr).await;
    assert!(ready.contains("2 of 2 shards connected"), "{ready}");

    let member = Who::member(7);
    let ask = |q: &str| json!([string_opt("question", q)]);
    let answered = [
        "how long does it take to become an ml architect",
        "what does an ml architect do",
    ];
    for q in answered {
        h.slash("ask", ask(q), &member).await;
    }
    h.slash("ask", ask("best pizza topping in naples"), &member)
        .await;
    let cooldown = h.slash("ask", ask("what is mlops"), &member).await;
    assert!(
        cooldown.content().starts_with("Slow down"),
        "{}",
        cooldown.content()
    );

    let other = Who::member(8);
    h.slash("skills", json!([string_opt("area", "mlops")]), &other)
        .await;
    h.slash("salary", json!([string_opt("level", "senior")]), &other)
        .await;
    h.slash("salary", json!([string_opt("level", "senior")]), &other)
        .await;
    h.slash("timeline", json!([]), &other).await;

    // A callback Discord fails with 500: counted by status; the apology still goes out.
    h.emu.fail_next_callbacks(500, 1);
    let apology = h.slash("help", Value::Null, &other).await;
    assert!(apology.is_ephemeral());

    let moderator = Who::moderator(12, MOD_ROLE);
    let reloaded = h.slash("reload", Value::Null, &moderator).await;
    assert!(
        reloaded.content().contains("generation 2"),
        "{}",
        reloaded.content()
    );
    std::fs::write(h.dir.join("salary.toml"), "[[band]\n").expect("break salary.toml");
    let refused_reload = h.slash("reload", Value::Null, &moderator).await;
    assert!(!refused_reload.content().contains("generation 3"));

    let (status, scrape) = get(addr, "/metrics").await;
    assert_eq!(status, 200);
    let hash = h.served.current().content_hash().to_string();
    let expected = [
        ("careerbot_questions_asked_total", 3.0),
        ("careerbot_questions_answered_total", 2.0),
        ("careerbot_questions_refused_total", 1.0),
        ("careerbot_cooldown_hits_total", 1.0),
        ("careerbot_lookups_total{command=\"skills\"}", 1.0),
        ("careerbot_lookups_total{command=\"salary\"}", 2.0),
        ("careerbot_lookups_total{command=\"timeline\"}", 1.0),
        // The second /salary senior came from the generation's cache.
        ("careerbot_charts_drawn_total", 2.0),
        ("careerbot_reloads_total{outcome=\"succeeded\"}", 1.0),
        ("careerbot_reloads_total{outcome=\"failed\"}", 1.0),
        ("careerbot_discord_http_errors_total{status=\"500\"}", 1.0),
        ("careerbot_ask_seconds_count", 3.0),
        // Every command's first response: 4 asks (one refused by the cooldown), skills,
        // 2 salary, timeline, help's apology (its first callback failed), 2 reloads.
        ("careerbot_interaction_callback_seconds_count", 11.0),
        ("careerbot_guilds", 3.0),
        (
            &format!("careerbot_knowledge_generation{{content_hash=\"{hash}\"}}"),
            2.0,
        ),
    ];
    let mut wrong = Vec::new();
    for (name, want) in expected {
        let got = sample(&scrape, name);
        if got != want {
            wrong.push(format!("{name}: {got}, expected {want}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}\n{scrape}");
    assert_eq!(
        scrape.matches("careerbot_knowledge_generation{").count(),
        1,
        "one generation series at a time:\n{scrape}"
    );
    assert!(
        !scrape.contains("guild_id") && !scrape.contains("pizza"),
        "no guild ids or questions in labels:\n{scrape}"
    );
    h.stop().await;
}
