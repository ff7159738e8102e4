//! Training that survives a crash: with [`FitConfig::checkpoint_dir`] set, every `fit` of
//! this module saves its whole state after each epoch, and the same call made again (after
//! a panic, an interrupt or a restarted kernel) continues after the last saved epoch.
//!
//! **What is saved.** One file per training run, `fit-<key>.safetensors`: the model's
//! tensors (weights and batch normalization's moving statistics), the optimizer's moments
//! and step count, the [`History`] so far, and the number of epochs done. The random
//! generators need no saving: the shuffle generator is replayed (one shuffle per finished
//! epoch) and the device that draws dropout masks is seeded afresh at every epoch from the
//! run's seed and the epoch's number (see [`epoch_seed`]). A resumed run therefore gives
//! the same weights, to the bit, as one that was never interrupted (tested by killing a
//! training process, `tests/it/resume.rs`).
//!
//! **Which run a file belongs to.** The key is a SHA-256 digest of what decides the
//! result: the model's layer types and tensor shapes, its initial weights (so its seed),
//! the settings of [`FitConfig`] that change training (epochs, batch size, learning rate,
//! optimizer, seed, `max_batches`) and every training and validation image and label.
//! Change any of them and the call trains from the start under a new key.
//!
//! **Safety of the file.** It is written to a temporary file, read back and checked, then
//! renamed into place, so a crash while saving leaves the previous epoch's file whole. It
//! carries a digest of its contents; a damaged file is reported and training starts from
//! the beginning (the file is replaced at the end of the first epoch).

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use ::safetensors::tensor::{Dtype, SafeTensors, TensorView};
use dfdx::nn::tensor_collection::{
    TensorCollection, TensorOptions, ViewTensorMut, ViewTensorName, ViewTensorRef,
};
use dfdx::prelude::*;
use sha2::{Digest, Sha256};

use cnnkit_data::cache::AtomicFile;

use super::{EpochStats, FitConfig, History, Moments, OptimizerKind};
use crate::error::{Error, Result};
use crate::params::{self, ParamVisitor};

/// The `format` entry of a training checkpoint's metadata.
const FORMAT: &str = "cnnkit-fit-checkpoint-1";

/// The folder for training checkpoints when a notebook does not choose one:
/// `$CNNKIT_CHECKPOINTS` when set, else `$XDG_CACHE_HOME/cnnkit/fit`, else
/// `~/.cache/cnnkit/fit` (the system's temporary folder when there is no home).
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let dir = cnnkit_nn::train::default_checkpoint_dir();
/// assert!(dir.ends_with("fit") || std::env::var_os("CNNKIT_CHECKPOINTS").is_some());
/// let cfg = FitConfig { checkpoint_dir: Some(dir), ..FitConfig::default() };
/// # let _ = cfg;
/// ```
pub fn default_checkpoint_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CNNKIT_CHECKPOINTS").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    cache.join("cnnkit").join("fit")
}

/// The seed of the device that draws epoch `epoch`'s (from 0) random numbers (dropout
/// masks, random augmentation): the run's seed for the first epoch, as `fit` always did, and
/// a different, fixed value for each later one, so that an epoch's draws do not depend on
/// how many came before it in this process.
pub(super) fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    if epoch == 0 {
        seed
    } else {
        // SplitMix64's increment and finaliser: distinct, well-mixed seeds per epoch.
        let mut z = seed.wrapping_add((epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A SHA-256 digest fed with the parts of a training run, see the module's documentation.
pub(super) struct Fingerprint(Sha256);

impl Fingerprint {
    fn new() -> Self {
        let mut f = Fingerprint(Sha256::new());
        f.text(FORMAT);
        f
    }

    /// A text, prefixed with its length so that two texts cannot run into each other.
    pub fn text(&mut self, s: &str) {
        self.count(s.len());
        self.0.update(s.as_bytes());
    }

    /// A count or size.
    pub fn count(&mut self, n: usize) {
        self.0.update((n as u64).to_le_bytes());
    }

    /// Floating-point values, by their bits.
    pub fn floats(&mut self, values: impl IntoIterator<Item = f32>) {
        let mut buf = Vec::with_capacity(4096);
        for v in values {
            buf.extend_from_slice(&v.to_bits().to_le_bytes());
            if buf.len() >= 4096 {
                self.0.update(&buf);
                buf.clear();
            }
        }
        self.0.update(&buf);
    }

    /// Bytes (labels).
    pub fn bytes(&mut self, b: &[u8]) {
        self.count(b.len());
        self.0.update(b);
    }

    /// A data set's image shape, pixels and labels.
    pub fn dataset<const C: usize>(&mut self, d: &super::Dataset<C>) {
        d.images.shape().iter().for_each(|&n| self.count(n));
        self.floats(d.images.iter().copied());
        self.bytes(&d.labels);
    }

    /// An optional part (validation data), marked present or absent.
    pub fn optional<T>(&mut self, part: Option<&T>, feed: impl FnOnce(&mut Self, &T)) {
        self.count(part.is_some() as usize);
        if let Some(p) = part {
            feed(self, p);
        }
    }

    fn hex(self) -> String {
        hex(self.0)
    }
}

/// A finished SHA-256 digest as lowercase hex.
fn hex(digest: Sha256) -> String {
    digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The digest a checkpoint stores of its contents: every tensor's name and bytes, in name
/// order. [`Checkpoint::save`] writes it and [`Checkpoint::restore`] compares it.
fn contents_digest<'a>(tensors: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> String {
    let mut digest = Sha256::new();
    for (name, bytes) in tensors {
        digest.update(name.as_bytes());
        digest.update(bytes);
    }
    hex(digest)
}

/// A type's name without its crate and module paths: `(Conv2DModule<1, 4, 3, 1, Same,
/// Relu>, ...)` for the same model whether it was named in a test, an example or an evcxr
/// cell (whose code lives in a crate with a new name at every cell).
fn short_type_name<M>() -> String {
    let full = std::any::type_name::<M>();
    let mut out = String::with_capacity(full.len());
    let mut ident = String::new();
    let mut chars = full.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            ident.push(c);
        } else if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            ident.clear();
        } else {
            out.push_str(&ident);
            ident.clear();
            out.push(c);
        }
    }
    out.push_str(&ident);
    out
}

/// Every tensor of a model with its name, shape and whether the optimizer updates it.
#[derive(Default)]
struct Collect {
    tensors: Vec<(String, Vec<usize>, bool, Vec<f32>)>,
}

impl ParamVisitor for Collect {
    type Viewer = (ViewTensorRef, ViewTensorName);

    fn tensor<S: Shape>(
        &mut self,
        opts: TensorOptions<S, f32, Cpu>,
        (t, name): (&Tensor<S, f32, Cpu>, String),
    ) -> std::result::Result<(), CpuError> {
        self.tensors.push((
            name,
            t.shape().concrete().into(),
            opts.do_gradient_update,
            t.as_vec(),
        ));
        Ok(())
    }
}

fn collect<M: TensorCollection<f32, Cpu>>(model: &M) -> Result<Collect> {
    let mut c = Collect::default();
    params::visit_named(model, &mut c)?;
    Ok(c)
}

/// Writes saved values into a model's tensors by name.
struct Restore<'a>(&'a HashMap<String, Vec<f32>>);

impl ParamVisitor for Restore<'_> {
    type Viewer = (ViewTensorMut, ViewTensorName);

    fn tensor<S: Shape>(
        &mut self,
        _: TensorOptions<S, f32, Cpu>,
        (t, name): (&mut Tensor<S, f32, Cpu>, String),
    ) -> std::result::Result<(), CpuError> {
        // Presence and sizes were checked before any tensor was written.
        if let Some(v) = self.0.get(&name) {
            t.copy_from(v);
        }
        Ok(())
    }
}

/// The state of a run after some epochs, as saved in its checkpoint.
pub(super) struct Saved {
    /// Epochs done.
    pub epochs_done: usize,
    /// Their history.
    pub history: History,
    /// The optimizer's state.
    pub moments: Moments,
}

/// The checkpoint file of one training run.
pub(super) struct Checkpoint {
    path: PathBuf,
    key: String,
    optimizer: &'static str,
}

impl Checkpoint {
    /// The checkpoint of the run that trains `model` (in its initial state) with `cfg` on
    /// the data that `data` feeds into the fingerprint.
    pub fn of<M: TensorCollection<f32, Cpu>>(
        dir: &Path,
        model: &M,
        cfg: &FitConfig,
        data: &dyn Fn(&mut Fingerprint),
    ) -> Result<Self> {
        let mut f = Fingerprint::new();
        f.text(&short_type_name::<M>());
        for (name, shape, trainable, values) in collect(model)?.tensors {
            f.text(&name);
            f.count(shape.len());
            shape.iter().for_each(|&d| f.count(d));
            f.count(trainable as usize);
            f.floats(values);
        }
        let optimizer = match cfg.optimizer {
            OptimizerKind::Nadam => "nadam",
            OptimizerKind::Adam => "adam",
        };
        f.count(cfg.epochs);
        f.count(cfg.batch_size);
        f.floats([cfg.lr]);
        f.text(optimizer);
        f.0.update(cfg.seed.to_le_bytes());
        f.count(cfg.max_batches.map_or(0, |m| m + 1));
        data(&mut f);
        let key = f.hex();
        Ok(Checkpoint {
            path: dir.join(format!("fit-{}.safetensors", &key[..16])),
            key,
            optimizer,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the saved state into `model` and returns the rest. `Ok(None)` when there is
    /// no checkpoint yet, or when the file is damaged or belongs to another run (then a
    /// warning on standard error says so and training starts from the beginning).
    pub fn restore<M: TensorCollection<f32, Cpu>>(&self, model: &mut M) -> Result<Option<Saved>> {
        if !self.path.exists() {
            return Ok(None);
        }
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) => return Err(Error::io("read", &self.path, e)),
        };
        match self.decode(model, &bytes) {
            Ok((saved, values)) => {
                params::visit_mut_named(model, &mut Restore(&values))?;
                Ok(Some(saved))
            }
            Err(why) => {
                eprintln!(
                    "warning: the training checkpoint {} cannot be used ({why}); training \
                     starts from the first epoch and replaces it. / 경고: 체크포인트를 쓸 수 \
                     없어 처음부터 학습합니다.",
                    self.path.display()
                );
                Ok(None)
            }
        }
    }

    /// Checks and decodes a checkpoint's bytes against `model`, without changing it.
    fn decode<M: TensorCollection<f32, Cpu>>(
        &self,
        model: &M,
        bytes: &[u8],
    ) -> std::result::Result<(Saved, HashMap<String, Vec<f32>>), String> {
        let (_, meta) = SafeTensors::read_metadata(bytes)
            .map_err(|e| format!("it is not a whole safetensors file: {e}"))?;
        let meta = meta.metadata().clone().unwrap_or_default();
        let get = |k: &str| {
            meta.get(k)
                .map(String::as_str)
                .ok_or_else(|| format!("its metadata lacks `{k}`"))
        };
        if get("format")? != FORMAT {
            return Err(format!("it is not a {FORMAT} file"));
        }
        if get("key")? != self.key {
            return Err("it belongs to another training run (its key differs)".into());
        }
        if get("optimizer")? != self.optimizer {
            return Err("it was saved by another optimizer".into());
        }
        let st = SafeTensors::deserialize(bytes).map_err(|e| format!("it is damaged: {e}"))?;
        let mut names: Vec<String> = st.names().into_iter().cloned().collect();
        names.sort();
        let mut views = Vec::with_capacity(names.len());
        for name in &names {
            let t = st.tensor(name).map_err(|e| format!("it is damaged: {e}"))?;
            if t.dtype() != Dtype::F32 {
                return Err(format!("tensor `{name}` is not F32"));
            }
            views.push((name.as_str(), t.data()));
        }
        if get("sha256")? != contents_digest(views.iter().copied()) {
            return Err("its contents do not match their digest: it is damaged".into());
        }
        let mut values: HashMap<String, Vec<f32>> = views
            .iter()
            .map(|&(name, data)| {
                let v = data
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                (name.to_string(), v)
            })
            .collect();
        let parse = |k: &str| -> std::result::Result<f64, String> {
            get(k)?
                .parse::<f64>()
                .map_err(|_| format!("`{k}` is not a number"))
        };
        let epochs_done = parse("epochs_done")? as usize;
        let t = parse("t")? as u32;
        let u_product = parse("u_product")?;
        let history = history_from_json(get("history")?)?;
        if history.epochs.len() != epochs_done {
            return Err("its history does not have one entry per epoch done".into());
        }
        // The model's tensors and the optimizer's moments, sizes checked before any write.
        let mut weights = HashMap::new();
        let mut tensors = Vec::new();
        for (name, shape, trainable, _) in collect(model).map_err(|e| e.to_string())?.tensors {
            let n: usize = shape.iter().product();
            let w = values
                .remove(&format!("weights/{name}"))
                .ok_or_else(|| format!("it lacks the tensor `{name}`"))?;
            if w.len() != n {
                return Err(format!("tensor `{name}` has another size"));
            }
            weights.insert(name.clone(), w);
            if trainable {
                let i = tensors.len();
                let m = values.remove(&format!("optimizer/{i}/m"));
                let v = values.remove(&format!("optimizer/{i}/v"));
                match (m, v) {
                    (Some(m), Some(v)) if m.len() == n && v.len() == n => tensors.push((m, v)),
                    (None, None) if t == 0 => {}
                    _ => return Err(format!("the optimizer's moments of `{name}` are missing")),
                }
            }
        }
        Ok((
            Saved {
                epochs_done,
                history,
                moments: Moments {
                    t,
                    u_product,
                    tensors,
                },
            },
            weights,
        ))
    }

    /// Saves the state after `history.epochs.len()` epochs, atomically.
    pub fn save<M: TensorCollection<f32, Cpu>>(
        &self,
        model: &M,
        moments: &Moments,
        history: &History,
    ) -> Result<()> {
        let mut data: BTreeMap<String, (Vec<usize>, Vec<u8>)> = BTreeMap::new();
        let le = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        for (name, shape, _, values) in collect(model)?.tensors {
            data.insert(format!("weights/{name}"), (shape, le(&values)));
        }
        for (i, (m, v)) in moments.tensors.iter().enumerate() {
            data.insert(format!("optimizer/{i}/m"), (vec![m.len()], le(m)));
            data.insert(format!("optimizer/{i}/v"), (vec![v.len()], le(v)));
        }
        let hex = contents_digest(data.iter().map(|(name, (_, b))| (name.as_str(), &b[..])));
        let meta: HashMap<String, String> = [
            ("format", FORMAT.to_string()),
            ("key", self.key.clone()),
            ("optimizer", self.optimizer.to_string()),
            ("epochs_done", history.epochs.len().to_string()),
            ("t", moments.t.to_string()),
            // `{:?}` prints the shortest text that reads back as the same f64.
            ("u_product", format!("{:?}", moments.u_product)),
            ("history", history_to_json(history)),
            ("sha256", hex),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let views: Vec<(String, TensorView<'_>)> = data
            .iter()
            .map(|(name, (shape, bytes))| {
                TensorView::new(Dtype::F32, shape.clone(), bytes)
                    .map(|v| (name.clone(), v))
                    .map_err(|e| self.error(format!("cannot describe `{name}`: {e}")))
            })
            .collect::<Result<_>>()?;
        let bytes = ::safetensors::serialize(views, &Some(meta))
            .map_err(|e| self.error(format!("serialising failed: {e}")))?;
        let mut file = AtomicFile::create(&self.path)?;
        file.file()
            .write_all(&bytes)
            .map_err(|e| Error::io("write", &self.path, e))?;
        // Read back before it replaces the previous epoch's file.
        let written = std::fs::read(file.path()).map_err(|e| Error::io("read", &self.path, e))?;
        if written != bytes {
            return Err(self.error("the written file does not read back".into()));
        }
        file.commit()?;
        Ok(())
    }

    fn error(&self, why: String) -> Error {
        Error::Checkpoint {
            path: self.path.clone(),
            why,
        }
    }
}

fn history_to_json(h: &History) -> String {
    use serde_json::{json, Value};
    let epochs: Vec<Value> = h
        .epochs
        .iter()
        .map(|e| {
            json!({
                "loss": e.loss, "accuracy": e.accuracy, "val_loss": e.val_loss,
                "val_accuracy": e.val_accuracy, "seconds": e.seconds,
            })
        })
        .collect();
    json!({ "epochs": epochs, "metrics": h.metrics }).to_string()
}

fn history_from_json(text: &str) -> std::result::Result<History, String> {
    let bad = || "its history is damaged".to_string();
    let v: serde_json::Value = serde_json::from_str(text).map_err(|_| bad())?;
    let f = |e: &serde_json::Value, k: &str| e.get(k).and_then(|x| x.as_f64());
    let mut history = History::default();
    for e in v["epochs"].as_array().ok_or_else(bad)? {
        history.epochs.push(EpochStats {
            loss: f(e, "loss").ok_or_else(bad)? as f32,
            accuracy: f(e, "accuracy").ok_or_else(bad)? as f32,
            val_loss: f(e, "val_loss").map(|x| x as f32),
            val_accuracy: f(e, "val_accuracy").map(|x| x as f32),
            seconds: f(e, "seconds").ok_or_else(bad)?,
        });
    }
    for (k, series) in v["metrics"].as_object().ok_or_else(bad)? {
        let values = series
            .as_array()
            .ok_or_else(bad)?
            .iter()
            .map(|x| x.as_f64().map(|x| x as f32).ok_or_else(bad))
            .collect::<std::result::Result<Vec<f32>, String>>()?;
        history.metrics.insert(k.clone(), values);
    }
    Ok(history)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_lose_their_paths() {
        assert_eq!(
            short_type_name::<(Vec<std::string::String>, crate::layers::Flatten)>(),
            "(Vec<String>, Flatten)"
        );
    }

    #[test]
    fn epoch_seeds_start_at_the_run_seed_and_differ() {
        assert_eq!(epoch_seed(42, 0), 42);
        let seeds: std::collections::BTreeSet<u64> = (0..100).map(|e| epoch_seed(42, e)).collect();
        assert_eq!(seeds.len(), 100);
    }

    #[test]
    fn history_survives_json_exactly() {
        let mut h = History::default();
        h.epochs.push(EpochStats {
            loss: 0.123_456_79,
            accuracy: 1.0 / 3.0,
            val_loss: Some(f32::MIN_POSITIVE),
            val_accuracy: None,
            seconds: 12.345_678_901_234,
        });
        h.metrics.insert("iou".into(), vec![0.1, 0.7]);
        assert_eq!(history_from_json(&history_to_json(&h)).unwrap(), h);
    }
}
