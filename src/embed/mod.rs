//! Sentence embeddings: all-MiniLM-L6-v2 (a 6-layer BERT) run in pure Rust with candle.
//!
//! Why: the lexical engine only finds passages that share words with the question, and people
//! do not use the base's words ("how much do these folks earn"). A sentence-embedding model
//! maps both to vectors whose cosine says "same meaning" across wordings.
//!
//! The recipe is the model card's, stated once here: WordPiece tokens (at most
//! [`MAX_TOKENS`]), the BERT encoder, **mean pooling** over the text's own tokens, then **L2
//! normalisation**, so a dot product of two vectors is their cosine. The device is chosen in
//! one place ([`device`]): the CPU, since no machine this runs on has an accelerator to rely on.
//!
//! Getting the files onto a machine is [`fetch`]'s job; keeping vectors across reloads and
//! restarts is [`cache`]'s.

pub mod cache;
mod encoder;
pub mod fetch;
mod layers;
mod matmul;
mod weights;

use std::path::{Path, PathBuf};

pub use matmul::Kernel;

use candle_core::{Device, Tensor};
use candle_transformers::models::bert::Config;
use tokenizers::{Tokenizer, TruncationParams};

/// The model the shipped configuration uses.
pub const DEFAULT_MODEL: &str = "all-MiniLM-L6-v2";
/// Longest input in word pieces: the length the model was trained on. Longer passages are
/// also embedded in chunks (see `search::semantic`), so nothing is lost by cutting here,
/// and it halves the cost of a long input against the model card's 256.
pub const MAX_TOKENS: usize = 128;
/// Word pieces embedded in one forward pass. Texts share a pass packed end to end, as one
/// sequence in which each text attends only to itself (`Embedder::embed_packed`), not as a
/// padded batch. Why: a pass streams all of the model's weights through the matrix
/// multiplies (42 MB, more than this CPU's cache), and candle multiplies a batch text by
/// text, streaming them once per text; packed, a question and its variants cost one stream
/// (docs/PERFORMANCE.md). The budget bounds the attention scores, which grow with the
/// square of a pass's length (12 heads x length^2 floats, several copies per layer).
const PASS_TOKENS: usize = MAX_TOKENS;

/// The three files a model directory must hold.
pub const MODEL_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

/// Why a model could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("model directory {dir}: missing {file}")]
    MissingFile { dir: PathBuf, file: &'static str },
    #[error("{path}: {message}")]
    BadFile { path: PathBuf, message: String },
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("model: {0}")]
    Model(#[from] candle_core::Error),
    #[error("a vector of {got} dimensions where the model makes {want}")]
    Dimensions { got: usize, want: usize },
}

/// Fixes how many threads the model's matrix multiplies use, once for the process.
///
/// Why: unless `RAYON_NUM_THREADS` is set, candle works the count out again at every matrix
/// multiply, reading `/proc/cpuinfo` each time: a third of the time it takes to embed a short
/// question (see docs/PERFORMANCE.md). The count chosen is candle's own default (physical
/// cores), just computed once. A value the user set is left alone. The same count sizes
/// rayon's pool, which also runs our own kernels' threads (`matmul`).
///
/// Call it first thing in `main`, before any thread exists: it changes the environment.
pub fn pin_thread_count() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let threads = num_cpus::get_physical().max(1);
        // Sound: the caller guarantees no other thread is running yet.
        std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    }
}

/// The device every tensor lives on.
fn device() -> Device {
    Device::Cpu
}

/// A loaded sentence-embedding model. Loaded once per process and shared (`Arc`) by every
/// engine generation and every shard: the weights are the expensive part.
pub struct Embedder {
    model: encoder::Encoder,
    tokenizer: Tokenizer,
    device: Device,
    dims: usize,
    /// Held through each forward pass: one runs at a time. Each pass already uses every
    /// core (the matrix multiplies share their bands between rayon's threads), so running
    /// several at once gains no speed, and each would hold its own activations: 32
    /// questions in flight took the serving process from 130 to 190 MiB.
    forward: std::sync::Mutex<()>,
    /// Identifies the model in the vector cache: the safetensors' size and a hash of the
    /// config, so vectors from another model are never mixed in.
    id: String,
    dir: PathBuf,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("id", &self.id)
            .field("dims", &self.dims)
            .finish()
    }
}

impl Embedder {
    /// Loads config, tokenizer and weights from one directory, for the fastest kernel this
    /// CPU runs.
    pub fn load(dir: &Path) -> Result<Embedder, EmbedError> {
        Embedder::load_with_kernel(dir, Kernel::detect())
    }

    /// Like [`Embedder::load`], with the matrix multiplies on `kernel` where this CPU runs
    /// it (else candle's): for comparing them.
    pub fn load_with_kernel(dir: &Path, kernel: Kernel) -> Result<Embedder, EmbedError> {
        for file in MODEL_FILES {
            if !dir.join(file).is_file() {
                return Err(EmbedError::MissingFile {
                    dir: dir.to_path_buf(),
                    file,
                });
            }
        }
        let config_path = dir.join("config.json");
        let config_text = read(&config_path)?;
        let config: Config =
            serde_json::from_slice(&config_text).map_err(|e| EmbedError::BadFile {
                path: config_path.clone(),
                message: e.to_string(),
            })?;
        let dims: usize = serde_json::from_slice::<serde_json::Value>(&config_text)
            .ok()
            .and_then(|v| v.get("hidden_size")?.as_u64())
            .unwrap_or(384) as usize;

        let tokenizer_path = dir.join("tokenizer.json");
        let mut tokenizer =
            Tokenizer::from_file(&tokenizer_path).map_err(|e| EmbedError::BadFile {
                path: tokenizer_path.clone(),
                message: e.to_string(),
            })?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        // Texts share a pass packed end to end, never padded.
        tokenizer.with_padding(None);

        let weights_path = dir.join("model.safetensors");
        let id = model_id(&config_text, &read(&tokenizer_path)?, &weights_path)?;
        let device = device();
        let tensors = weights::load(&weights_path, &device, |name| {
            name.ends_with(encoder::WORD_PIECES)
        })?;
        let model = encoder::Encoder::load(tensors, &config, &device, kernel)?;
        Ok(Embedder {
            model,
            tokenizer,
            device,
            dims,
            forward: std::sync::Mutex::new(()),
            id,
            dir: dir.to_path_buf(),
        })
    }

    /// The kernel the model's matrix multiplies run on (docs/PERFORMANCE.md compares them).
    pub fn kernel(&self) -> Kernel {
        self.model.kernel()
    }

    /// The directory the model was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Vector length.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// Identifies the model (for cache keys).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether `word` (or its stem without a plain English ending: "moles" -> "mole") is a
    /// whole word of the model's vocabulary: then it is a real word, not a typo.
    pub fn knows_word(&self, word: &str) -> bool {
        let word = word.to_lowercase();
        let known = |w: &str| w.len() >= 2 && self.tokenizer.token_to_id(w).is_some();
        known(&word)
            || ["s", "es", "ed", "ing"]
                .iter()
                .any(|end| word.strip_suffix(end).is_some_and(known))
    }

    /// Whether `word` is, exactly, a whole word of the model's vocabulary (no ending taken
    /// off, unlike [`Embedder::knows_word`]: "wats" is not a word because "wat" is one).
    pub fn is_whole_word(&self, word: &str) -> bool {
        self.tokenizer.token_to_id(&word.to_lowercase()).is_some()
    }

    /// Unit-length vectors for `texts`, in order.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        let mut out = Vec::with_capacity(texts.len());
        let mut pass: Vec<&[u32]> = Vec::new();
        let mut pieces = 0;
        for encoding in &encodings {
            let ids = encoding.get_ids();
            if !pass.is_empty() && pieces + ids.len() > PASS_TOKENS {
                out.extend(self.embed_packed(&pass)?);
                pass.clear();
                pieces = 0;
            }
            pieces += ids.len();
            pass.push(ids);
        }
        out.extend(self.embed_packed(&pass)?);
        Ok(out)
    }

    /// One forward pass over texts packed end to end (see [`PASS_TOKENS`] for why): each
    /// text's positions start again at 0 and its word pieces attend only to each other, so
    /// every text's vector is what it would be alone.
    fn embed_packed(&self, pass: &[&[u32]]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if pass.is_empty() {
            return Ok(Vec::new());
        }
        let total: usize = pass.iter().map(|ids| ids.len()).sum();
        let ids = Tensor::new(pass.concat(), &self.device)?;
        let positions: Vec<u32> = pass.iter().flat_map(|ids| 0..ids.len() as u32).collect();
        let positions = Tensor::new(positions, &self.device)?;
        // Across texts, the most negative float is added to the attention scores (as BERT
        // does for padding), so a word piece gives no weight to another text's.
        // One text attends to all of itself: no mask.
        let blocked = if pass.len() > 1 {
            let mut blocked = vec![f32::MIN; total * total];
            let mut start = 0;
            for ids in pass {
                let end = start + ids.len();
                for row in start..end {
                    blocked[row * total + start..row * total + end].fill(0.0);
                }
                start = end;
            }
            Some(Tensor::from_vec(blocked, (total, total), &self.device)?)
        } else {
            None
        };
        // A panic in another pass leaves nothing half-done behind this lock: take it anyway.
        let turn = self.forward.lock().unwrap_or_else(|p| p.into_inner());
        let hidden = self.model.forward(&ids, &positions, blocked.as_ref())?;
        drop(turn);
        let rows = hidden.to_vec2::<f32>()?;
        // Mean pooling over each text's own word pieces, then L2 normalisation.
        let mut rows = rows.into_iter();
        Ok(pass
            .iter()
            .map(|ids| {
                let mut mean = vec![0.0f32; self.dims];
                for row in rows.by_ref().take(ids.len()) {
                    mean.iter_mut().zip(row).for_each(|(m, x)| *m += x);
                }
                let norm = mean.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
                mean.iter_mut().for_each(|m| *m /= norm);
                mean
            })
            .collect())
    }
}

fn read(path: &Path) -> Result<Vec<u8>, EmbedError> {
    std::fs::read(path).map_err(|e| EmbedError::BadFile {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Identifies a model by its files, for the vector cache: config and tokenizer whole, the
/// weights by size and their first and last MiB (a fine-tune of the same shape changes
/// those; hashing all 90 MB would cost a third of a second at every start).
fn model_id(config: &[u8], tokenizer: &[u8], weights: &Path) -> Result<String, EmbedError> {
    use sha2::Digest as _;
    use std::io::{Read as _, Seek as _};
    const EDGE: u64 = 1 << 20;
    let edges = (|| {
        let mut file = std::fs::File::open(weights)?;
        let size = file.metadata()?.len();
        let mut head = Vec::new();
        (&mut file).take(EDGE).read_to_end(&mut head)?;
        file.seek(std::io::SeekFrom::Start(size.saturating_sub(EDGE)))?;
        let mut tail = Vec::new();
        file.read_to_end(&mut tail)?;
        Ok::<_, std::io::Error>((head, tail, size))
    })()
    .map_err(|e| EmbedError::BadFile {
        path: weights.to_path_buf(),
        message: e.to_string(),
    })?;
    let (head, tail, size) = edges;
    let mut h = sha2::Sha256::new();
    for part in [
        config,
        tokenizer,
        &head,
        &tail,
        &size.to_le_bytes(),
        // Inputs are cut at this length, so it shapes every vector too.
        &(MAX_TOKENS as u64).to_le_bytes(),
        // So does the word-piece table's precision (`encoder`).
        b"word pieces f16",
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    Ok(hex(&h.finalize())[..24].to_string())
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex(&sha2::Sha256::digest(bytes))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Dot product of two unit vectors: their cosine similarity.
///
/// Summed in eight lanes: a single running sum is a chain the compiler may not reorder
/// (float addition is not associative), so it stays scalar; eight independent sums become
/// vector instructions. This is the inner loop of every search.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 8;
    let mut sums = [0.0f32; LANES];
    let (a_rows, b_rows) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = a_rows
        .remainder()
        .iter()
        .zip(b_rows.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a_rows.zip(b_rows) {
        for i in 0..LANES {
            sums[i] += x[i] * y[i];
        }
    }
    sums.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    #[test]
    fn cosine_is_the_dot_product_at_any_length() {
        for n in [0, 1, 7, 8, 9, 384] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((super::cosine(&a, &b) - plain).abs() < 1e-4, "n = {n}");
        }
    }
}
