//! BERT's input layer, with its word-piece table kept in half precision.
//!
//! Why: the table (30,522 word pieces x 384 floats) is half of MiniLM's weights, 47 MB in
//! f32, yet a forward pass reads only the rows of the question's own word pieces. Kept as
//! f16 it is 23 MB, and the rows a pass needs are widened back to f32 before anything else
//! touches them, so every matrix multiply still runs in f32 at full speed. That saving is
//! what brings the serving process under its memory target (docs/PERFORMANCE.md); the
//! vectors it makes have a cosine above 0.9999 with the all-f32 model's (asserted in
//! `tests/semantic.rs` against candle's own `BertModel`).
//!
//! The input layer sums word, position and token-type embeddings and normalises them; the
//! transformer layers after it are [`super::layers`].

use std::collections::HashMap;

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{LayerNorm, VarBuilder};
use candle_transformers::models::bert::Config;

use super::layers::Layers;
use super::matmul::Kernel;
use super::EmbedError;

/// The table kept in half precision, by its name in the weights file (after any prefix).
pub const WORD_PIECES: &str = "embeddings.word_embeddings.weight";

/// BERT's input layer over a half-precision word-piece table, then the encoder.
pub struct Encoder {
    /// `[vocab, hidden]`, f16.
    word_pieces: Tensor,
    /// `[max positions, hidden]`, f32.
    positions: Tensor,
    /// `[hidden]`, f32: the embedding of token type 0, the only type a single text has.
    token_type: Tensor,
    layer_norm: LayerNorm,
    layers: Layers,
}

impl Encoder {
    /// Builds the model from the weights file's tensors (the word-piece table already f16),
    /// its multiplies on `kernel` where it can.
    pub fn load(
        mut tensors: HashMap<String, Tensor>,
        config: &Config,
        device: &Device,
        kernel: Kernel,
    ) -> Result<Encoder, EmbedError> {
        // Some checkpoints nest the model under `bert.`, as candle's loader also allows.
        let prefix = if tensors.contains_key(&format!("bert.{WORD_PIECES}")) {
            "bert."
        } else {
            ""
        };
        let mut take = |name: &str| {
            tensors
                .remove(&format!("{prefix}{name}"))
                .ok_or_else(|| candle_core::Error::Msg(format!("no tensor {prefix}{name}")))
        };
        let word_pieces = take(WORD_PIECES)?.to_dtype(DType::F16)?;
        let positions = take("embeddings.position_embeddings.weight")?;
        let token_type = take("embeddings.token_type_embeddings.weight")?.get(0)?;
        let layer_norm = LayerNorm::new(
            take("embeddings.LayerNorm.weight")?,
            take("embeddings.LayerNorm.bias")?,
            config.layer_norm_eps,
        );
        let vb = VarBuilder::from_tensors(tensors, DType::F32, device);
        let layers = Layers::load(vb.pp(format!("{prefix}encoder")), config, kernel)?;
        Ok(Encoder {
            word_pieces,
            positions,
            token_type,
            layer_norm,
            layers,
        })
    }

    /// The kernel the layers' matrix multiplies run on.
    pub fn kernel(&self) -> Kernel {
        self.layers.kernel()
    }

    /// Hidden states `[len, hidden]` for one packed sequence: word-piece ids `[len]` (u32),
    /// each one's position in its own text `[len]` (u32), and, when it packs several texts,
    /// the additive attention mask `[len, len]` (0 where a word piece may attend, the most
    /// negative float where not).
    pub fn forward(
        &self,
        ids: &Tensor,
        positions: &Tensor,
        blocked: Option<&Tensor>,
    ) -> Result<Tensor, EmbedError> {
        let words = self
            .word_pieces
            .index_select(ids, 0)?
            .to_dtype(DType::F32)?;
        let positions = self.positions.index_select(positions, 0)?;
        let summed = (words + positions)?.broadcast_add(&self.token_type)?;
        let input = self.layer_norm.forward(&summed)?;
        Ok(self.layers.forward(&input, blocked)?)
    }
}
