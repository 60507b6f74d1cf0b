//! A real PostgreSQL server for the tests that need one: `initdb` into a temporary directory,
//! started by `pg_ctl` on a free loopback port, as the `postgres` user when the tests run as
//! root (the server refuses to run as root). Debian's `postgresql` package provides it;
//! `.ci/run` installs it when missing. A server that cannot be started fails the test with
//! the reason: it is never skipped.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    /// The OS user the server runs as (when the tests run as root).
    run_as: Option<String>,
}

/// The newest installed server's programs (`/usr/lib/postgresql/<version>/bin`), or
/// `CAREERBOT_PG_BIN`.
fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CAREERBOT_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): `apt-get install postgresql`, or set CAREERBOT_PG_BIN"
        ),
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

impl Postgres {
    /// Creates and starts a server for test `name`.
    pub fn start(name: &str) -> Postgres {
        let root = std::env::temp_dir().join(format!("careerbot-pg-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("create the server's directory");
        let run_as = running_as_root().then(|| "postgres".to_string());
        if let Some(user) = &run_as {
            let chowned = Command::new("chown")
                .arg(format!("{user}:"))
                .arg(&root)
                .status();
            assert!(
                chowned.is_ok_and(|s| s.success()),
                "cannot hand {} to the `{user}` user (running as root, PostgreSQL needs a non-root user; Debian's postgresql package creates it)",
                root.display()
            );
        }
        let server = Postgres {
            bin: bin_dir(),
            data: root.join("data"),
            port: free_port(),
            run_as,
        };
        let data = server.data.to_string_lossy().into_owned();
        server.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "careerbot",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-locale",
            ],
        );
        server.start_again();
        server
    }

    /// `postgres://careerbot@127.0.0.1:<port>/postgres`
    pub fn url(&self) -> String {
        format!("postgres://careerbot@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the (stopped) server and waits until it accepts connections.
    pub fn start_again(&self) {
        let data = self.data.to_string_lossy().into_owned();
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            self.port, data
        );
        let log = self.data.join("server.log").to_string_lossy().into_owned();
        self.run(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-o", &options, "-w", "-t", "60", "start",
            ],
        );
    }

    /// Stops the server (fast shutdown: connected clients are cut off) and waits for it.
    pub fn stop(&self) {
        let data = self.data.to_string_lossy().into_owned();
        self.run("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]);
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.arg("-u").arg(user).arg("--").arg(path);
                c
            }
            None => Command::new(path),
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let output = self
            .command(program)
            .args(args)
            .current_dir(self.data.parent().unwrap_or(Path::new("/")))
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        if !output.status.success() {
            let log = std::fs::read_to_string(self.data.join("server.log")).unwrap_or_default();
            panic!(
                "{program} {args:?} failed ({}):\n{}\n{}\nserver log:\n{log}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.data.to_string_lossy().into_owned();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .output();
        if let Some(root) = self.data.parent() {
            let _ = std::fs::remove_dir_all(root);
        }
    }
}
