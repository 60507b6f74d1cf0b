//! Passage vectors kept across reloads and restarts, keyed by what was embedded.
//!
//! Embedding the shipped base takes seconds; a reload that changed one file should take
//! milliseconds. Each vector is stored under the SHA-256 of the model id and the exact text
//! embedded, so an edited passage misses (and is embedded again) while every other passage
//! hits, and vectors of another model are never mixed in. The cache lives in memory for the
//! process (shared by every generation and shard) and in one file per model on disk, written
//! to a temporary name and renamed, so a crash or a second process never leaves a torn file;
//! when two processes race, the last writer wins and the loser's vectors are simply embedded
//! again later. The file holds at most [`MAX_VECTORS`]; past that, the least recently used go.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{EmbedError, Embedder};

/// Vectors kept at most (about 90 MB on disk): a 10,000-passage base of short passages
/// (two or three vectors each) fits twice over.
pub const MAX_VECTORS: usize = 60_000;
const MAGIC: &[u8; 8] = b"CBVEC001";

type Key = [u8; 32];

struct Entry {
    vector: Vec<f32>,
    /// Bumped on every use; the smallest go first when the cache is full.
    used: u64,
}

/// Vectors by content, for one model.
pub struct VectorCache {
    /// `None`: memory only (nothing written).
    path: Option<PathBuf>,
    dims: usize,
    /// Vectors kept at most; past that the least recently used go.
    capacity: usize,
    state: Mutex<State>,
}

struct State {
    entries: HashMap<Key, Entry>,
    clock: u64,
}

impl std::fmt::Debug for VectorCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VectorCache")
            .field("path", &self.path)
            .finish()
    }
}

/// How an embedding pass went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: usize,
    pub embedded: usize,
}

impl VectorCache {
    /// A cache backed by `dir/vectors-<model id>.bin`, loaded now if it exists. A file that
    /// cannot be read is ignored (and replaced at the next write): it is only a cache.
    pub fn open(dir: &Path, embedder: &Embedder) -> VectorCache {
        let path = dir.join(format!("vectors-{}.bin", embedder.id()));
        let entries = std::fs::read(&path)
            .ok()
            .and_then(|bytes| decode(&bytes, embedder.dims()))
            .unwrap_or_default();
        // The file is written least recently used first, so record order is the clock.
        let clock = entries.len() as u64;
        VectorCache {
            path: Some(path),
            dims: embedder.dims(),
            capacity: MAX_VECTORS,
            state: Mutex::new(State { entries, clock }),
        }
    }

    /// A cache that never touches the disk, holding at most `capacity` vectors.
    pub fn in_memory(embedder: &Embedder, capacity: usize) -> VectorCache {
        VectorCache {
            path: None,
            dims: embedder.dims(),
            capacity,
            state: Mutex::new(State {
                entries: HashMap::new(),
                clock: 0,
            }),
        }
    }

    /// Vectors for `texts`, embedding only those not cached, then saving if any were new.
    pub fn embed(
        &self,
        embedder: &Embedder,
        texts: &[String],
    ) -> Result<(Vec<Vec<f32>>, CacheStats), EmbedError> {
        let keys: Vec<Key> = texts.iter().map(|t| key(embedder.id(), t)).collect();
        let mut out: Vec<Option<Vec<f32>>> = vec![None; texts.len()];
        {
            let mut state = self.lock();
            state.clock += 1;
            let now = state.clock;
            for (slot, k) in out.iter_mut().zip(&keys) {
                if let Some(e) = state.entries.get_mut(k) {
                    e.used = now;
                    *slot = Some(e.vector.clone());
                }
            }
        }
        let missing: Vec<usize> = (0..texts.len()).filter(|&i| out[i].is_none()).collect();
        let stats = CacheStats {
            hits: texts.len() - missing.len(),
            embedded: missing.len(),
        };
        if !missing.is_empty() {
            let batch: Vec<&str> = missing.iter().map(|&i| texts[i].as_str()).collect();
            let vectors = embedder.embed(&batch)?;
            let snapshot = {
                let mut state = self.lock();
                let now = state.clock;
                for (&i, v) in missing.iter().zip(vectors) {
                    state.entries.insert(
                        keys[i],
                        Entry {
                            vector: v.clone(),
                            used: now,
                        },
                    );
                    out[i] = Some(v);
                }
                evict(&mut state.entries, self.capacity);
                // Only a cache with a file needs the snapshot (it copies every vector).
                self.path.is_some().then(|| lru_order(&state.entries))
            };
            // Written outside the lock: other generations keep reading meanwhile.
            if let Some(Err(e)) = snapshot.map(|records| self.save(&records)) {
                tracing::warn!(error = %e, "could not write the embedding cache");
            }
        }
        Ok((
            out.into_iter().map(Option::unwrap_or_default).collect(),
            stats,
        ))
    }

    /// Puts vectors computed elsewhere into the cache (memory only; the file is written at
    /// the next embedding that misses). The benchmark uses it to give a 10,000-passage base
    /// vectors without spending twenty minutes embedding it: what a search costs does not
    /// depend on the vectors' values. Vectors of the wrong length are refused.
    pub fn preload(
        &self,
        embedder: &Embedder,
        entries: impl IntoIterator<Item = (String, Vec<f32>)>,
    ) -> Result<(), EmbedError> {
        let mut state = self.lock();
        let now = state.clock;
        for (text, vector) in entries {
            if vector.len() != self.dims {
                return Err(EmbedError::Dimensions {
                    got: vector.len(),
                    want: self.dims,
                });
            }
            state
                .entries
                .insert(key(embedder.id(), &text), Entry { vector, used: now });
        }
        evict(&mut state.entries, self.capacity);
        Ok(())
    }

    /// Forgets every vector (memory only).
    pub fn clear(&self) {
        self.lock().entries.clear();
    }

    /// Number of vectors held.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves the map consistent (inserts are whole).
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes `records` (least recently used first) to a fresh temporary file, then renames
    /// it over the cache file. A failed write leaves the old file and removes the temporary.
    fn save(&self, records: &[(Key, Vec<f32>)]) -> std::io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = path.with_extension(format!("tmp-{}-{n}", std::process::id()));
        let written = (|| {
            let mut file = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
            file.write_all(MAGIC)?;
            file.write_all(&(self.dims as u32).to_le_bytes())?;
            for (k, vector) in records {
                file.write_all(k)?;
                for x in vector {
                    file.write_all(&x.to_le_bytes())?;
                }
            }
            file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }
}

/// The entries least recently used first (ties by key, so the order is deterministic).
fn lru_order(entries: &HashMap<Key, Entry>) -> Vec<(Key, Vec<f32>)> {
    let mut all: Vec<(&Key, &Entry)> = entries.iter().collect();
    all.sort_by(|a, b| a.1.used.cmp(&b.1.used).then(a.0.cmp(b.0)));
    all.into_iter()
        .map(|(k, e)| (*k, e.vector.clone()))
        .collect()
}

/// Drops the least recently used entries beyond `capacity`.
fn evict(entries: &mut HashMap<Key, Entry>, capacity: usize) {
    let Some(excess) = entries.len().checked_sub(capacity).filter(|&n| n > 0) else {
        return;
    };
    let mut by_use: Vec<(u64, Key)> = entries.iter().map(|(k, e)| (e.used, *k)).collect();
    by_use.sort_unstable();
    for (_, k) in by_use.into_iter().take(excess) {
        entries.remove(&k);
    }
}

fn key(model: &str, text: &str) -> Key {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    h.update(model.as_bytes());
    h.update([0]);
    h.update(text.as_bytes());
    h.finalize().into()
}

fn decode(bytes: &[u8], dims: usize) -> Option<HashMap<Key, Entry>> {
    let rest = bytes.strip_prefix(MAGIC.as_slice())?;
    let (d, mut rest) = rest.split_at_checked(4)?;
    if u32::from_le_bytes(d.try_into().ok()?) as usize != dims {
        return None;
    }
    let record = 32 + dims * 4;
    let mut entries = HashMap::with_capacity(rest.len() / record);
    while !rest.is_empty() {
        let (r, tail) = rest.split_at_checked(record)?;
        let mut k = [0u8; 32];
        k.copy_from_slice(&r[..32]);
        let vector = r[32..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let used = entries.len() as u64;
        entries.insert(k, Entry { vector, used });
        rest = tail;
    }
    Some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_other_dims_or_torn_files() {
        let mut entries = HashMap::new();
        entries.insert(
            key("m", "a"),
            Entry {
                vector: vec![0.5, -1.0],
                used: 3,
            },
        );
        let mut bytes = MAGIC.to_vec();
        bytes.extend(2u32.to_le_bytes());
        for (k, e) in &entries {
            bytes.extend(k);
            for x in &e.vector {
                bytes.extend(x.to_le_bytes());
            }
        }
        let back = decode(&bytes, 2).expect("decodes");
        assert_eq!(back[&key("m", "a")].vector, vec![0.5, -1.0]);
        assert!(decode(&bytes, 3).is_none(), "other dims");
        assert!(decode(&bytes[..bytes.len() - 1], 2).is_none(), "torn");
        assert!(decode(b"garbage", 2).is_none());
        assert_ne!(key("m", "a"), key("n", "a"), "model is part of the key");
    }

    /// `n` empty entries keyed by their number, entry `i` last used at `used(i)`.
    fn entries(n: usize, used: impl Fn(u64) -> u64) -> HashMap<Key, Entry> {
        (0..n as u64)
            .map(|i| {
                let entry = Entry {
                    vector: vec![],
                    used: used(i),
                };
                (key("m", &i.to_string()), entry)
            })
            .collect()
    }

    #[test]
    fn eviction_drops_exactly_the_excess_even_when_all_were_used_alike() {
        let mut entries = entries(MAX_VECTORS + 5, |_| 0);
        evict(&mut entries, MAX_VECTORS);
        assert_eq!(entries.len(), MAX_VECTORS);
    }

    #[test]
    fn eviction_keeps_the_most_recently_used() {
        let mut entries = entries(MAX_VECTORS + 10, |i| i);
        evict(&mut entries, MAX_VECTORS);
        assert_eq!(entries.len(), MAX_VECTORS);
        assert!(entries.contains_key(&key("m", &(MAX_VECTORS + 9).to_string())));
        assert!(!entries.contains_key(&key("m", "0")));
    }
}
