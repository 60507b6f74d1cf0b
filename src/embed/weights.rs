//! Reading `model.safetensors` one tensor at a time.
//!
//! Why: reading the whole file and then building tensors from its bytes holds both at once,
//! twice the model's 90 MB, and that was the serving process's peak memory. Read tensor by
//! tensor straight into the vectors the tensors keep, the peak is the weights and a 64 KiB
//! buffer.
//!
//! The format: an 8-byte little-endian header length, a JSON header naming each tensor's
//! dtype, shape and byte range, then the data. `F32` and `I64` tensors are read (the pinned
//! model has both: its weights, and position ids candle does not use); other dtypes are
//! refused with the tensor's name. The caller may ask for some F32 tensors to be kept as F16
//! (`encoder` keeps its word-piece table that way): they are narrowed as they are read, so
//! the wide copy never exists whole.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use candle_core::{Device, Tensor};
use serde::Deserialize;

use super::EmbedError;

/// The header says no more than this (the pinned model's is 20 KB).
const MAX_HEADER: u64 = 16 << 20;

#[derive(Deserialize)]
struct Entry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [u64; 2],
}

/// Every tensor in the file, by name; the F32 tensors whose name `keep_half` accepts as F16.
pub fn load(
    path: &Path,
    device: &Device,
    keep_half: impl Fn(&str) -> bool,
) -> Result<HashMap<String, Tensor>, EmbedError> {
    let bad = |message: String| EmbedError::BadFile {
        path: path.to_path_buf(),
        message,
    };
    let io = |e: std::io::Error| bad(e.to_string());
    let mut file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    let mut len = [0u8; 8];
    file.read_exact(&mut len).map_err(io)?;
    let header_len = u64::from_le_bytes(len);
    if header_len > MAX_HEADER || 8 + header_len > size {
        return Err(bad(format!(
            "header of {header_len} bytes: not a safetensors file"
        )));
    }
    let mut header = vec![0u8; header_len as usize];
    file.read_exact(&mut header).map_err(io)?;
    let entries: HashMap<String, serde_json::Value> =
        serde_json::from_slice(&header).map_err(|e| bad(format!("header: {e}")))?;
    let data_start = 8 + header_len;
    let mut tensors = HashMap::new();
    for (name, value) in entries {
        if name == "__metadata__" {
            continue;
        }
        let entry: Entry =
            serde_json::from_value(value).map_err(|e| bad(format!("tensor {name}: {e}")))?;
        let width = match entry.dtype.as_str() {
            "F32" => 4,
            "I64" => 8,
            other => {
                return Err(bad(format!(
                    "tensor {name} is {other}; only F32 (and I64) tensors are supported"
                )))
            }
        };
        let [begin, end] = entry.data_offsets;
        let elements: usize = entry.shape.iter().product();
        let fits = begin <= end && data_start + end <= size;
        if !fits || (end - begin) != width * elements as u64 {
            return Err(bad(format!(
                "tensor {name}: bytes {begin}..{end} do not hold shape {:?} in a {size}-byte file",
                entry.shape
            )));
        }
        file.seek(SeekFrom::Start(data_start + begin)).map_err(io)?;
        let tensor = if width == 4 && keep_half(&name) {
            let values = read_values(&mut file, elements, |b| {
                half::f16::from_f32(f32::from_le_bytes(b))
            })
            .map_err(io)?;
            Tensor::from_vec(values, entry.shape, device)?
        } else if width == 4 {
            let values = read_values(&mut file, elements, f32::from_le_bytes).map_err(io)?;
            Tensor::from_vec(values, entry.shape, device)?
        } else {
            let values = read_values(&mut file, elements, i64::from_le_bytes).map_err(io)?;
            Tensor::from_vec(values, entry.shape, device)?
        };
        tensors.insert(name, tensor);
    }
    Ok(tensors)
}

/// `count` little-endian values of `N` bytes from `reader`, through a small buffer.
fn read_values<T, const N: usize>(
    reader: &mut impl Read,
    count: usize,
    decode: fn([u8; N]) -> T,
) -> std::io::Result<Vec<T>> {
    let mut values = Vec::with_capacity(count);
    let mut buffer = vec![0u8; 64 << 10];
    let per_buffer = buffer.len() / N;
    while values.len() < count {
        let want = (count - values.len()).min(per_buffer) * N;
        reader.read_exact(&mut buffer[..want])?;
        values.extend(buffer[..want].chunks_exact(N).map(|b| {
            let mut bytes = [0u8; N];
            bytes.copy_from_slice(b);
            decode(bytes)
        }));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_with(header: &str, data: &[u8]) -> std::path::PathBuf {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "careerbot-weights-{}-{n}.safetensors",
            std::process::id()
        ));
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend(header.as_bytes());
        bytes.extend(data);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn reads_tensors_and_refuses_what_does_not_add_up() {
        let data: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let ok = file_with(
            r#"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}}"#,
            &data,
        );
        let t = load(&ok, &Device::Cpu, |name| name == "b").unwrap();
        assert_eq!(t["a"].to_vec2::<f32>().unwrap(), [[1.0, 2.0], [3.0, 4.0]]);
        assert_eq!(t["b"].dtype(), candle_core::DType::F16);
        let b = t["b"].to_dtype(candle_core::DType::F32).unwrap();
        assert_eq!(b.to_vec1::<f32>().unwrap(), [5.0, 6.0]);

        for (header, why) in [
            (
                r#"{"a":{"dtype":"F32","shape":[3,3],"data_offsets":[0,36]}}"#,
                "past the end",
            ),
            (
                r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}}"#,
                "shape",
            ),
            (
                r#"{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#,
                "F16",
            ),
            (
                r#"{"a":{"dtype":"I64","shape":[4],"data_offsets":[0,16]}}"#,
                "I64 of the wrong size",
            ),
            (r#"not json"#, "header"),
        ] {
            let path = file_with(header, &data);
            let err = load(&path, &Device::Cpu, |_| true).unwrap_err().to_string();
            assert!(err.contains(path.to_str().unwrap()), "{why}: {err}");
            let _ = std::fs::remove_file(path);
        }
        let _ = std::fs::remove_file(ok);
    }
}
