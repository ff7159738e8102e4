//! Saving and loading a model's weights as a `.safetensors` file: [`save`] in `f32`,
//! [`save_f16`] in half precision with metadata (the shipped pretrained models), [`load`]
//! for both.
//!
//! [`save`] writes to a temporary file beside the target and renames it into place only
//! once it is complete, so an interrupted save never leaves a broken checkpoint. [`load`]
//! reads the file's header first and compares every tensor's name and shape with the
//! model, so a file from another model is refused with a message that says which tensor
//! differs, before any weight is changed.
//!
//! Introduced in `notebooks/06_fashion_mnist.ipynb`.
//!
//! ```
//! use cnnkit_nn::prelude::*;
//! type Small = (Conv2D<1, 4, 3, 1, Same, Relu>, GlobalAvgPool2D, Dense<4, 2>);
//! type Other = (Conv2D<1, 8, 3, 1, Same, Relu>, GlobalAvgPool2D, Dense<8, 2>);
//! let dev = Cpu::seed_from_u64(0);
//! let model = dev.build_module::<Small, f32>();
//! let dir = std::env::temp_dir().join(format!("cnnkit-doc-{}", std::process::id()));
//! let path = dir.join("small.safetensors");
//! cnnkit_nn::checkpoint::save(&model, &path).unwrap();
//!
//! let mut copy = Cpu::seed_from_u64(1).build_module::<Small, f32>();
//! cnnkit_nn::checkpoint::load(&mut copy, &path).unwrap();
//! assert_eq!(copy.0.weight.as_vec(), model.0.weight.as_vec());
//!
//! let mut other = dev.build_module::<Other, f32>();
//! let err = cnnkit_nn::checkpoint::load(&mut other, &path).unwrap_err().to_string();
//! // Tensors are compared in name order: the first difference is the conv layer's bias.
//! assert!(err.contains("`0.bias` has shape [4] in the file but [8]"), "{err}");
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use dfdx::nn::tensor_collection::{TensorCollection, TensorOptions, ViewTensorName, ViewTensorRef};
use dfdx::nn::{LoadFromSafetensors, SaveToSafetensors};
use dfdx::prelude::*;

use cnnkit_data::cache::AtomicFile;

use crate::error::{Error, Result};
use crate::params::{self, ParamVisitor};

mod half;

pub use half::{metadata, save_f16};

/// Collects the name and shape of every tensor (and scalar) of a model.
#[derive(Default)]
struct Layout {
    entries: BTreeMap<String, Vec<usize>>,
}

impl ParamVisitor for Layout {
    type Viewer = (ViewTensorRef, ViewTensorName);

    fn tensor<S: Shape>(
        &mut self,
        _: TensorOptions<S, f32, Cpu>,
        (t, name): (&Tensor<S, f32, Cpu>, String),
    ) -> std::result::Result<(), CpuError> {
        self.entries.insert(name, t.shape().concrete().into());
        Ok(())
    }

    fn scalar<N: num_traits::NumCast>(
        &mut self,
        (_, name): (&N, String),
    ) -> std::result::Result<(), CpuError> {
        self.entries.insert(name, Vec::new());
        Ok(())
    }
}

fn layout<M: TensorCollection<f32, Cpu>>(model: &M) -> Result<BTreeMap<String, Vec<usize>>> {
    let mut v = Layout::default();
    params::visit_named(model, &mut v)?;
    Ok(v.entries)
}

/// Reads the tensor names and shapes from a safetensors file's header.
fn file_layout(path: &Path) -> Result<BTreeMap<String, Vec<usize>>> {
    use std::io::Read;
    let bad = |why: String| Error::Checkpoint {
        path: path.to_path_buf(),
        why,
    };
    let mut f = std::fs::File::open(path).map_err(|e| Error::io("open", path, e))?;
    let mut len = [0u8; 8];
    f.read_exact(&mut len).map_err(|_| {
        bad("the file is shorter than a safetensors header; it is not a weights file".into())
    })?;
    let len = u64::from_le_bytes(len);
    let file_len = f.metadata().map_err(|e| Error::io("read", path, e))?.len();
    if len > file_len.saturating_sub(8) || len > 100 << 20 {
        return Err(bad(format!(
            "the header claims {len} bytes but the file has {file_len}; the file is truncated or not a safetensors file"
        )));
    }
    let mut header = vec![0u8; len as usize];
    f.read_exact(&mut header)
        .map_err(|e| Error::io("read", path, e))?;
    let json: serde_json::Value = serde_json::from_slice(&header).map_err(|e| {
        bad(format!(
            "the header is not valid JSON ({e}); the file is damaged"
        ))
    })?;
    let obj = json
        .as_object()
        .ok_or_else(|| bad("the header is not a JSON object".into()))?;
    let mut out = BTreeMap::new();
    for (name, info) in obj {
        if name == "__metadata__" {
            continue;
        }
        let shape = info
            .get("shape")
            .and_then(|s| s.as_array())
            .ok_or_else(|| bad(format!("tensor `{name}` has no shape in the header")))?
            .iter()
            .map(|d| d.as_u64().map(|d| d as usize))
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| bad(format!("tensor `{name}` has a malformed shape")))?;
        out.insert(name.clone(), shape);
    }
    Ok(out)
}

/// Saves every weight of `model` (and dropout rates) to `path`, atomically.
///
/// # Errors
/// [`cnnkit_data::Error::Io`] (inside [`Error::Data`]) when the folder cannot be written, [`Error::Checkpoint`] when the
/// serialisation fails.
pub fn save<M: TensorCollection<f32, Cpu>>(model: &M, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    check_writable(path)?;
    let file = AtomicFile::create(path)?;
    model
        .save_safetensors(file.path())
        .map_err(|e| Error::Checkpoint {
            path: path.to_path_buf(),
            why: format!("writing failed: {}", explain_safetensors(&e)),
        })?;
    // Read back what was written before it replaces anything.
    file_layout(file.path())?;
    file.commit()?;
    Ok(())
}

/// Loads weights saved by [`save`] into `model`, which must have the same layers.
///
/// # Errors
/// [`Error::Checkpoint`] naming the first tensor that is missing, extra, or of another
/// shape (the model is left unchanged), or when the file is damaged.
pub fn load<M: TensorCollection<f32, Cpu>>(model: &mut M, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    if !path.exists() {
        return Err(Error::Checkpoint {
            path: path.to_path_buf(),
            why: "no such file; save the model first with cnnkit_nn::checkpoint::save \
                  (파일이 없습니다: 먼저 checkpoint::save로 저장하십시오)"
                .into(),
        });
    }
    if path.is_dir() {
        return Err(Error::Checkpoint {
            path: path.to_path_buf(),
            why: "this is a folder, not a weights file; give the path of the `.safetensors` file \
                  (폴더입니다: 가중치 파일의 경로를 주십시오)"
                .into(),
        });
    }
    check_layout(model, path)?;
    if half::needs_conversion(path)? {
        return half::load_converting(model, path);
    }
    model.load_safetensors(path).map_err(|e| Error::Checkpoint {
        path: path.to_path_buf(),
        why: format!("reading the weights failed: {}", explain_load(&e)),
    })
}

/// Every weight tensor of `model` with its name (`0.weight`, `1.bias`, ...), in the model's
/// order, as plain values: what [`save`] writes. Scalars (dropout rates) are left out.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let model = Cpu::seed_from_u64(0).build_module::<Dense<3, 2>, f32>();
/// let w = cnnkit_nn::checkpoint::named_weights(&model).unwrap();
/// assert_eq!(w.iter().map(|(n, v)| (n.as_str(), v.len())).collect::<Vec<_>>(), [("weight", 6), ("bias", 2)]);
/// ```
///
/// # Errors
/// Only when dfdx fails to read a tensor.
pub fn named_weights<M: TensorCollection<f32, Cpu>>(model: &M) -> Result<Vec<(String, Vec<f32>)>> {
    #[derive(Default)]
    struct Collect(Vec<(String, Vec<f32>)>);
    impl ParamVisitor for Collect {
        type Viewer = (ViewTensorRef, ViewTensorName);
        fn tensor<S: Shape>(
            &mut self,
            _: TensorOptions<S, f32, Cpu>,
            (t, name): (&Tensor<S, f32, Cpu>, String),
        ) -> std::result::Result<(), CpuError> {
            self.0.push((name, t.as_vec()));
            Ok(())
        }
    }
    let mut c = Collect::default();
    params::visit_named(model, &mut c)?;
    Ok(c.0)
}

/// Refuses a target that is a folder or a read-only file, before anything is written.
fn check_writable(path: &Path) -> Result<()> {
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.is_dir() {
            return Err(Error::Checkpoint {
                path: path.to_path_buf(),
                why: "this is a folder; give a file name such as `model.safetensors` \
                      (폴더입니다: 파일 이름을 주십시오)"
                    .into(),
            });
        }
        // Replacing goes through a rename, which a read-only file does not stop: check.
        if meta.permissions().readonly() {
            return Err(Error::Checkpoint {
                path: path.to_path_buf(),
                why: "the file is read-only, so it was left as it is; save under another name \
                      or make it writable first (chmod u+w) (읽기 전용 파일이라 덮어쓰지 않았습니다)"
                    .into(),
            });
        }
    }
    Ok(())
}

/// Compares every tensor's name and shape in the file with the model's.
fn check_layout<M: TensorCollection<f32, Cpu>>(model: &M, path: &Path) -> Result<()> {
    let expected = layout(model)?;
    let found = file_layout(path)?;
    let mismatch = |why: String| Error::Checkpoint {
        path: path.to_path_buf(),
        why: format!(
            "{why}; the file was saved from a different model (compare the layers with summary()) \
             (다른 모델에서 저장한 파일입니다: 층 구성이 같은지 summary()로 비교하십시오)"
        ),
    };
    for (name, shape) in &expected {
        match found.get(name) {
            None => {
                return Err(mismatch(format!(
                    "the model has a tensor `{name}` {shape:?} that the file lacks"
                )))
            }
            Some(s) if s != shape => {
                return Err(mismatch(format!(
                    "tensor `{name}` has shape {s:?} in the file but {shape:?} in the model"
                )))
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = found.keys().find(|k| !expected.contains_key(*k)) {
        return Err(mismatch(format!(
            "the file has a tensor `{extra}` that the model lacks"
        )));
    }
    Ok(())
}

/// What a safetensors error means, for a person.
fn explain_safetensors(e: &::safetensors::SafeTensorError) -> String {
    use ::safetensors::SafeTensorError as E;
    match e {
        E::IoError(io) => cnnkit_data::explain_io(io),
        E::HeaderTooSmall | E::MetadataIncompleteBuffer | E::InvalidOffset(_) => {
            "the file is shorter than its header says: it is truncated (an interrupted copy or \
             download); save or copy it again"
                .into()
        }
        E::InvalidHeader
        | E::InvalidHeaderStart
        | E::InvalidHeaderDeserialization
        | E::InvalidHeaderLength
        | E::HeaderTooLarge
        | E::JsonError(_) => {
            "this is not a safetensors weights file, or its header is damaged".into()
        }
        E::TensorNotFound(name) => format!("the file has no tensor `{name}`"),
        other => format!(
            "the file's tensors do not match their description ({other:?}); the file is damaged"
        ),
    }
}

/// What an error of dfdx's `load_safetensors` means, for a person.
fn explain_load(e: &dfdx::tensor::safetensors::Error) -> String {
    use dfdx::tensor::safetensors::Error as E;
    match e {
        E::SafeTensorError(e) => explain_safetensors(e),
        E::IoError(io) => cnnkit_data::explain_io(io),
        E::MismatchedDimension((file, model)) => {
            format!("a tensor has shape {file:?} in the file but {model:?} in the model")
        }
    }
}
