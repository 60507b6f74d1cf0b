//! Real `careerbot serve` child processes for the multi-process tests: spawned with a config
//! file and a log file each, killed on drop (also when a test fails), their JSON logs read
//! back while they run.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::emulator::{Who, FAKE_TOKEN, GUILD_ID};

/// How long a wait on a child's log may take before it fails the test.
const T: Duration = Duration::from_secs(15);

/// A guild id that Discord routes to `shard` of `total` (`(id >> 22) % total`).
pub fn guild_on_shard(shard: u64, total: u64) -> u64 {
    let mut g = GUILD_ID;
    while (g >> 22) % total != shard {
        g += 1 << 22;
    }
    g
}

pub fn who(user: u64, guild: u64) -> Who {
    let mut w = Who::member(user);
    w.guild_id = Some(guild);
    w
}

/// Child processes, killed on drop (also when a test fails), with their logs.
pub struct Processes {
    pub children: Vec<(Child, PathBuf)>,
}

/// A fresh working directory for test `name` (config files, logs, databases).
pub fn work_dir(name: &str) -> PathBuf {
    let work = std::env::temp_dir().join(format!("careerbot-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("work dir");
    work
}

impl Processes {
    pub fn new() -> Processes {
        Processes {
            children: Vec::new(),
        }
    }

    pub fn logs(&self) -> Vec<String> {
        self.children
            .iter()
            .map(|(_, log)| std::fs::read_to_string(log).unwrap_or_default())
            .collect()
    }

    /// Process `i`'s log so far, one JSON object per line (a line that is not JSON, such as a
    /// panic message, becomes `{"raw": line}` so it still shows in failures).
    pub fn entries(&self, i: usize) -> Vec<Value> {
        std::fs::read_to_string(&self.children[i].1)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|_| json!({ "raw": l })))
            .collect()
    }

    /// Waits until `found` accepts process `i`'s log. The log is a file another process writes,
    /// so it is re-read every 20 ms; the deadline only ever fails the test.
    pub async fn wait_log<R>(
        &self,
        i: usize,
        what: &str,
        found: impl Fn(&[Value]) -> Option<R>,
    ) -> R {
        let deadline = Instant::now() + T;
        loop {
            if let Some(v) = found(&self.entries(i)) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {T:?} waiting for {what} in the log of process {i}:\n{}",
                self.logs()[i]
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for (child, _) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `careerbot serve` with `config` and extra environment, logging to `work/{name}.log`.
pub fn spawn_careerbot(
    dir: &Path,
    work: &Path,
    name: &str,
    config: &str,
    env: &[(&str, String)],
) -> (Child, PathBuf) {
    let config_path = work.join(format!("{name}.toml"));
    // Each process records feedback in its own file under `work` unless the test chose a
    // database (never a careerbot.db in the working directory).
    let config = if config.contains("database_url") {
        config.to_string()
    } else {
        let db = work.join(format!("{name}.db"));
        format!("database_url = {:?}\n{config}", db.to_string_lossy())
    };
    std::fs::write(&config_path, config).expect("write config");
    let log = work.join(format!("{name}.log"));
    let log_file = std::fs::File::create(&log).expect("log file");
    let mut command = Command::new(env!("CARGO_BIN_EXE_careerbot"));
    command
        .arg("--knowledge")
        .arg(dir)
        .arg("serve")
        .arg("--config")
        .arg(&config_path)
        .env("DISCORD_TOKEN", FAKE_TOKEN)
        // Debug for careerbot: the watcher logs each look at the files, which the test waits on.
        .env("RUST_LOG", "careerbot=debug,warn");
    for var in [
        "CAREERBOT_KNOWLEDGE",
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
    ] {
        command.env_remove(var);
    }
    command.envs(env.iter().map(|(k, v)| (k, v)));
    let child = command
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().expect("log handle"))
        .stderr(log_file)
        .spawn()
        .expect("spawn careerbot serve");
    (child, log)
}

pub fn knowledge_copy(work: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge");
    let dir = work.join("knowledge");
    std::fs::create_dir_all(&dir).expect("knowledge dir");
    for entry in std::fs::read_dir(&src).expect("read shipped knowledge") {
        let path = entry.expect("dir entry").path();
        if let Some(name) = path.file_name().filter(|_| path.is_file()) {
            std::fs::copy(&path, dir.join(name)).expect("copy knowledge file");
        }
    }
    dir
}

impl Processes {
    /// Sends SIGTERM to every child (a clean shutdown, as an orchestrator stops a process)
    /// and waits for each to exit with status 0; one that has not exited within the timeout
    /// fails the test (and is killed on drop).
    pub fn terminate(&mut self) {
        for (child, _) in &mut self.children {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
        }
        let deadline = Instant::now() + T;
        for i in 0..self.children.len() {
            loop {
                match self.children[i].0.try_wait() {
                    Ok(Some(status)) => {
                        assert!(
                            status.success(),
                            "process {i} exited with {status}:\n{}",
                            self.logs()[i]
                        );
                        break;
                    }
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(20))
                    }
                    other => panic!(
                        "process {i} did not stop within {T:?} of SIGTERM ({other:?}):\n{}",
                        self.logs()[i]
                    ),
                }
            }
        }
    }
}
