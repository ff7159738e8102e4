//! Weights stored in half precision (`F16`) with a text header of metadata: the format of
//! the pretrained models the repository ships, half the size of [`super::save`]'s `F32`.
//!
//! Rounding a trained model's weights to `f16` (11 significant bits, relative error at most
//! 2⁻¹¹) changes its test accuracy by a few images in ten thousand; the pretrained module
//! states the accuracy measured with the rounded weights.

use std::collections::BTreeMap;
use std::path::Path;

use ::safetensors::tensor::{Dtype as SDtype, SafeTensors};
use dfdx::nn::tensor_collection::{
    TensorCollection, TensorOptions, ViewTensorMut, ViewTensorName, ViewTensorRef,
};
use dfdx::prelude::*;

use cnnkit_data::cache::AtomicFile;

use super::{explain_safetensors, file_layout};
use crate::error::{Error, Result};
use crate::params::{self, ParamVisitor};

/// Collects every tensor as `f16` bytes and every scalar as an `f64`, with its name.
#[derive(Default)]
struct Packer {
    tensors: Vec<(String, SDtype, Vec<usize>, Vec<u8>)>,
}

impl ParamVisitor for Packer {
    type Viewer = (ViewTensorRef, ViewTensorName);

    fn tensor<S: Shape>(
        &mut self,
        _: TensorOptions<S, f32, Cpu>,
        (t, name): (&Tensor<S, f32, Cpu>, String),
    ) -> std::result::Result<(), CpuError> {
        let bytes = t
            .as_vec()
            .iter()
            .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
            .collect();
        self.tensors
            .push((name, SDtype::F16, t.shape().concrete().into(), bytes));
        Ok(())
    }

    fn scalar<N: num_traits::NumCast>(
        &mut self,
        (n, name): (&N, String),
    ) -> std::result::Result<(), CpuError> {
        let v = n.to_f64().unwrap_or(f64::NAN);
        self.tensors
            .push((name, SDtype::F64, Vec::new(), v.to_le_bytes().to_vec()));
        Ok(())
    }
}

/// Saves `model`'s weights rounded to `f16`, with `metadata` (text keys and values) in the
/// file's header, atomically (a temporary file, read back, then renamed).
///
/// [`super::load`] reads these files as it reads `F32` ones; [`metadata`] reads the header.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// use std::collections::BTreeMap;
/// let model = Cpu::seed_from_u64(0).build_module::<(Conv2D<1, 4, 3, 1, Same, Relu>, GlobalAvgPool2D, Dense<4, 2>), f32>();
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("small.safetensors");
/// let meta = BTreeMap::from([("architecture".to_string(), "small".to_string())]);
/// cnnkit_nn::checkpoint::save_f16(&model, &path, &meta).unwrap();
/// assert_eq!(cnnkit_nn::checkpoint::metadata(&path).unwrap()["architecture"], "small");
///
/// let mut copy = Cpu::seed_from_u64(1).build_module::<(Conv2D<1, 4, 3, 1, Same, Relu>, GlobalAvgPool2D, Dense<4, 2>), f32>();
/// cnnkit_nn::checkpoint::load(&mut copy, &path).unwrap();
/// for (a, b) in copy.0.weight.as_vec().iter().zip(model.0.weight.as_vec()) {
///     assert!((a - b).abs() <= b.abs() / 2048.0);
/// }
/// ```
///
/// # Errors
/// As [`super::save`].
pub fn save_f16<M: TensorCollection<f32, Cpu>>(
    model: &M,
    path: impl AsRef<Path>,
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    let path = path.as_ref();
    super::check_writable(path)?;
    let mut packer = Packer::default();
    params::visit_named(model, &mut packer)?;
    let mut file = AtomicFile::create(path)?;
    {
        use std::io::Write;
        let bytes = serialize(&packer.tensors, metadata);
        let mut out = std::io::BufWriter::new(file.file());
        out.write_all(&bytes)
            .and_then(|_| out.flush())
            .map_err(|e| Error::io("write", path, e))?;
    }
    // Read back: the whole file must parse as safetensors before it replaces anything.
    let written = std::fs::read(file.path()).map_err(|e| Error::io("read", path, e))?;
    SafeTensors::deserialize(&written).map_err(|e| Error::Checkpoint {
        path: path.to_path_buf(),
        why: format!(
            "the written file does not read back: {}",
            explain_safetensors(&e)
        ),
    })?;
    file_layout(file.path())?;
    file.commit()?;
    Ok(())
}

/// The text metadata in a safetensors file's header (empty when it has none).
///
/// # Errors
/// [`Error::Checkpoint`] when the file is missing or not a safetensors file.
pub fn metadata(path: impl AsRef<Path>) -> Result<BTreeMap<String, String>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    let (_, meta) = SafeTensors::read_metadata(&bytes).map_err(|e| Error::Checkpoint {
        path: path.to_path_buf(),
        why: explain_safetensors(&e),
    })?;
    Ok(meta
        .metadata()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect())
}

/// Copies every tensor of the file into the model, converting `F16` (or `F32`) to `f32`.
struct Unpacker<'a> {
    file: &'a SafeTensors<'a>,
    error: Option<String>,
}

impl Unpacker<'_> {
    fn values(&mut self, name: &str) -> Option<Vec<f64>> {
        let view = match self.file.tensor(name) {
            Ok(v) => v,
            Err(e) => {
                self.error = Some(explain_safetensors(&e));
                return None;
            }
        };
        let data = view.data();
        Some(match view.dtype() {
            SDtype::F16 => data
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f64())
                .collect(),
            SDtype::F32 => data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64)
                .collect(),
            SDtype::F64 => data
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
                .collect(),
            other => {
                self.error = Some(format!(
                    "tensor `{name}` is stored as {other:?}; only F16, F32 and F64 can be read"
                ));
                return None;
            }
        })
    }
}

impl ParamVisitor for Unpacker<'_> {
    type Viewer = (ViewTensorMut, ViewTensorName);

    fn tensor<S: Shape>(
        &mut self,
        _: TensorOptions<S, f32, Cpu>,
        (t, name): (&mut Tensor<S, f32, Cpu>, String),
    ) -> std::result::Result<(), CpuError> {
        if self.error.is_some() {
            return Ok(());
        }
        if let Some(v) = self.values(&name) {
            let v: Vec<f32> = v.into_iter().map(|x| x as f32).collect();
            if v.len() == t.shape().num_elements() {
                t.copy_from(&v);
            } else {
                self.error = Some(format!("tensor `{name}` holds {} values", v.len()));
            }
        }
        Ok(())
    }

    fn scalar<N: num_traits::NumCast>(
        &mut self,
        (n, name): (&mut N, String),
    ) -> std::result::Result<(), CpuError> {
        if self.error.is_none()
            && let Some(v) = self.values(&name)
        {
            match v.first().and_then(|x| N::from(*x)) {
                Some(x) => *n = x,
                None => self.error = Some(format!("scalar `{name}` is empty")),
            }
        }
        Ok(())
    }
}

/// True when any tensor of the file is not `F32` (dfdx's loader reads only `F32`).
///
/// # Errors
/// When a tensor is of a type that cannot become `f32` (integers, `BF16`, ...).
pub(super) fn needs_conversion(path: &Path) -> Result<bool> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    let (_, meta) = SafeTensors::read_metadata(&bytes).map_err(|e| Error::Checkpoint {
        path: path.to_path_buf(),
        why: explain_safetensors(&e),
    })?;
    let mut convert = false;
    for (name, info) in meta.tensors() {
        match info.dtype {
            SDtype::F32 => {}
            SDtype::F16 | SDtype::F64 => convert = true,
            other => {
                return Err(Error::Checkpoint {
                    path: path.to_path_buf(),
                    why: format!(
                        "tensor `{name}` is stored as {other:?}; only F16, F32 and F64 weights can be read"
                    ),
                })
            }
        }
    }
    Ok(convert)
}

/// Loads a file with `F16` tensors into `model`, converting to `f32`. The caller checked
/// the names, shapes ([`check_layout`]) and types ([`needs_conversion`]) first, so nothing
/// is changed unless every tensor can be read.
pub(super) fn load_converting<M: TensorCollection<f32, Cpu>>(
    model: &mut M,
    path: &Path,
) -> Result<()> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| Error::Checkpoint {
        path: path.to_path_buf(),
        why: explain_safetensors(&e),
    })?;
    let mut unpacker = Unpacker {
        file: &file,
        error: None,
    };
    params::visit_mut_named(model, &mut unpacker)?;
    match unpacker.error {
        Some(why) => Err(Error::Checkpoint {
            path: path.to_path_buf(),
            why: format!("reading the weights failed: {why}"),
        }),
        None => Ok(()),
    }
}

/// The safetensors bytes of `tensors` with `metadata`: an 8-byte little-endian header
/// length, the JSON header (keys in sorted order, padded with spaces to a multiple of 8
/// bytes), then the tensors' bytes in the given order. The `safetensors` crate's writer
/// puts the metadata in hash-map order, which changes from run to run; sorted keys make
/// two runs of the same training write the same file.
fn serialize(
    tensors: &[(String, SDtype, Vec<usize>, Vec<u8>)],
    metadata: &BTreeMap<String, String>,
) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    if !metadata.is_empty() {
        header.insert("__metadata__".into(), serde_json::json!(metadata));
    }
    let mut offset = 0;
    for (name, dtype, shape, data) in tensors {
        header.insert(
            name.clone(),
            serde_json::json!({
                "dtype": format!("{dtype:?}"),
                "shape": shape,
                "data_offsets": [offset, offset + data.len()],
            }),
        );
        offset += data.len();
    }
    // serde_json keeps the keys sorted (or, with its `preserve_order` feature, in the order
    // inserted here, which is fixed too).
    let mut json = serde_json::to_vec(&serde_json::Value::Object(header)).unwrap_or_default();
    while !json.len().is_multiple_of(8) {
        json.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + json.len() + offset);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    for (_, _, _, data) in tensors {
        out.extend_from_slice(data);
    }
    out
}
