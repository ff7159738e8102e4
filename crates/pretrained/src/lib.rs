//! Pretrained Fashion-MNIST models that ship with the repository, so that a notebook can
//! use a trained model at once instead of training it for half an hour, and so that the
//! transfer learning of notebook 08 has a base model without any download (Keras fetches
//! ImageNet weights for this; our users have no such download).
//!
//! | name | architecture | classes | file |
//! |---|---|---|---|
//! | `lecture_cnn` | [`LectureCnn`](cnnkit_nn::architectures::LectureCnn) (notebook 06) | all ten | `weights/lecture_cnn.safetensors` |
//! | `small_resnet` | [`SmallResNet`](cnnkit_nn::architectures::SmallResNet) (notebook 07) | all ten | `weights/small_resnet.safetensors` |
//! | `base_classes_0_4` | [`BaseClassifier`]: [`Base`] + `Dense<128, 5>` | T-shirt/top, trouser, pullover, dress, coat | `weights/base_classes_0_4.safetensors` |
//!
//! Each [`Entry`] states the SHA-256 of its file, the training recipe (epochs, seeds), the
//! command that made the file and the test accuracy measured with the shipped weights.
//! [`load`] checks the checksum and the architecture before it returns a model; every
//! failure is an error that names the file and says what to run, and nothing on disk is
//! changed by loading.
//!
//! ```no_run
//! use cnnkit_nn::prelude::*;
//! use cnnkit_pretrained as pretrained;
//! let model = pretrained::load::<architectures::LectureCnn>()?;
//! let fashion = cnnkit_data::FashionMnist::load()?;
//! let test = Dataset::try_from(&fashion.test)?;
//! println!("{:?}", evaluate(&model, &test)?);
//! # Ok::<(), cnnkit_nn::Error>(())
//! ```
//!
//! **Reproducing the files.** `cargo run --release -p cnnkit-pretrained --example pretrain --
//! <name>` trains an entry with its recipe and writes the file; on the machine that made
//! the shipped files (x86-64 with AVX2 and FMA, no AVX-512) it writes the same bytes, for
//! any thread count: every parallel sum in the kernels is split the same way whatever the
//! number of threads (`crates/nn/tests/transfer.rs` checks this on 1, 2 and 3 threads).
//! A machine with another instruction set (AVX-512, or no FMA) rounds some sums
//! differently, so its files differ in the last bits and its accuracy by a few images.
//! The weights are stored in half precision ([`cnnkit_nn::checkpoint::save_f16`]), which
//! halves the files; the accuracies below were measured with the rounded weights.
#![warn(missing_docs)]

mod recipe;
mod registry;

use std::path::{Path, PathBuf};

use dfdx::nn::modules::BuildOnDevice;
use dfdx::nn::tensor_collection::TensorCollection;
use dfdx::prelude::*;

use cnnkit_nn::{Error, Result};

pub use recipe::{datasets, train, write, Trained};
pub use registry::{entry, Base, BaseClassifier, BaseLower, BaseUpper, Entry, Pretrained, MODELS};

/// The folder the weights are read from: `$CNNKIT_PRETRAINED_DIR` when it is set, else
/// this crate's `weights/` folder in the repository.
pub fn weights_dir() -> PathBuf {
    match std::env::var_os("CNNKIT_PRETRAINED_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("weights"),
    }
}

/// The path of an entry's file in [`weights_dir`].
pub fn path(entry: &Entry) -> PathBuf {
    weights_dir().join(entry.file())
}

/// The shipped model of type `M`, its file verified by checksum and architecture.
///
/// # Errors
/// [`Error::Checkpoint`] naming the file when it is missing, damaged (its SHA-256 differs
/// from the one the repository recorded), or holds another architecture; the message says
/// how to restore it (`git checkout`) or rebuild it (the entry's command).
pub fn load<M: Pretrained>() -> Result<M::Built>
where
    M::Built: TensorCollection<f32, Cpu>,
{
    let entry = M::ENTRY;
    let path = path(entry);
    verify(entry, &path)?;
    load_file::<M>(&path)
}

/// Checks that the file of `entry` at `path` exists and has the recorded SHA-256.
///
/// # Errors
/// [`Error::Checkpoint`] saying what is wrong and what to run.
pub fn verify(entry: &Entry, path: &Path) -> Result<()> {
    let bytes = std::fs::read(path).map_err(|e| Error::Checkpoint {
        path: path.to_path_buf(),
        why: format!(
            "the pretrained model `{}` cannot be read ({}). Restore the repository's file with \
             `git checkout -- crates/pretrained/weights/{}`, or train it again with `{}` \
             (about {} minutes on 2 cores) (사전 훈련 모델 파일을 읽을 수 없습니다)",
            entry.name,
            cnnkit_data::explain_io(&e),
            entry.file(),
            entry.command(),
            entry.minutes
        ),
    })?;
    let digest = cnnkit_data::sha256_hex(&bytes);
    if digest != entry.sha256 {
        return Err(Error::Checkpoint {
            path: path.to_path_buf(),
            why: format!(
                "the file's SHA-256 is {digest}, but the repository recorded {} for the \
                 pretrained model `{}`: the file is damaged or was replaced. Restore it with \
                 `git checkout -- crates/pretrained/weights/{}` (or rebuild it with `{}` and \
                 record the new checksum in crates/pretrained/src/registry.rs) \
                 (파일이 손상되었거나 바뀌었습니다)",
                entry.sha256,
                entry.name,
                entry.file(),
                entry.command()
            ),
        });
    }
    Ok(())
}

/// Loads a weights file written by [`write`] (or [`cnnkit_nn::checkpoint::save_f16`]) into
/// a new model of type `M`, checking the architecture recorded in the file's metadata and
/// every tensor's name and shape, but not the checksum (for files you trained yourself).
///
/// # Errors
/// [`Error::Checkpoint`] when the file is unreadable or holds another architecture.
pub fn load_file<M: Pretrained>(path: impl AsRef<Path>) -> Result<M::Built>
where
    M::Built: TensorCollection<f32, Cpu>,
{
    let path = path.as_ref();
    let meta = cnnkit_nn::checkpoint::metadata(path)?;
    let want = M::ENTRY.architecture;
    match meta.get("architecture") {
        Some(found) if found == want => {}
        found => {
            return Err(Error::Checkpoint {
                path: path.to_path_buf(),
                why: format!(
                    "the file holds the architecture {}, but {want} was asked for; load it \
                     with the type it was trained with (다른 구조의 가중치입니다)",
                    found.map_or("(none recorded)".to_string(), |f| format!("`{f}`"))
                ),
            })
        }
    }
    let mut model = Cpu::seed_from_u64(0).build_module::<M, f32>();
    cnnkit_nn::checkpoint::load(&mut model, path)?;
    Ok(model)
}

/// Builds the untrained model of an entry (what [`train`] starts from).
pub(crate) fn build<M: BuildOnDevice<Cpu, f32>>(seed: u64) -> M::Built {
    Cpu::seed_from_u64(seed).build_module::<M, f32>()
}
