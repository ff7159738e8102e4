//! How the shipped models were trained: the data of each entry, the training run and the
//! file it writes. `examples/pretrain.rs` runs these; so can a test, with fewer batches.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cnnkit_data::FashionMnist;
use cnnkit_nn::prelude::*;
use cnnkit_nn::train::Classifier;
use dfdx::nn::tensor_collection::TensorCollection;

use crate::registry::{Entry, Pretrained};

/// What [`train`] returns.
#[derive(Debug)]
pub struct Trained<M> {
    /// The trained model (full `f32` weights).
    pub model: M,
    /// Its training history.
    pub history: History,
}

/// The training images of an entry (its classes among the first 55,000 training images,
/// relabelled `0..`) and its test images (its classes in the test set).
///
/// # Errors
/// When the entry's classes are not Fashion-MNIST classes.
pub fn datasets(entry: &Entry, fashion: &FashionMnist) -> Result<(Dataset<1>, Dataset<1>)> {
    let (train, _valid) = fashion.train.split_at(55_000);
    let train = Dataset::try_from(&train)?.select_classes(entry.classes)?;
    let test = Dataset::try_from(&fashion.test)?.select_classes(entry.classes)?;
    Ok((train, test))
}

/// Trains `M` with its entry's recipe: Nadam, learning rate 0.001, batch 32, the entry's
/// epochs and seeds, no validation (as the lecture's `fit` minus the validation data,
/// which does not change the weights). `max_batches` shortens every epoch (for tests).
///
/// # Errors
/// As [`fit`].
pub fn train<M: Pretrained, const N: usize>(
    fashion: &FashionMnist,
    max_batches: Option<usize>,
    verbose: bool,
) -> Result<Trained<M::Built>>
where
    M::Built: Classifier<1, N>,
{
    let entry = M::ENTRY;
    let (train, _) = datasets(entry, fashion)?;
    let mut model = crate::build::<M>(entry.model_seed);
    let cfg = FitConfig {
        epochs: entry.epochs,
        batch_size: 32,
        lr: 0.001,
        optimizer: OptimizerKind::Nadam,
        seed: entry.fit_seed,
        verbose,
        max_batches,
        checkpoint_dir: None,
    };
    let history = fit(&mut model, &train, None, &cfg)?;
    Ok(Trained { model, history })
}

/// Writes `model` as the file of `M`'s entry into `dir` (half precision, with the recipe
/// in the metadata; atomically) and returns the path and the file's SHA-256.
///
/// The metadata holds nothing that changes from run to run (no date, no machine), so two
/// runs of the recipe write the same bytes.
///
/// # Errors
/// When the folder cannot be written.
pub fn write<M: Pretrained>(model: &M::Built, dir: &Path) -> Result<(PathBuf, String)>
where
    M::Built: TensorCollection<f32, Cpu>,
{
    let entry = M::ENTRY;
    std::fs::create_dir_all(dir).map_err(|e| cnnkit_data::Error::io("create", dir, e))?;
    let path = dir.join(entry.file());
    let classes: Vec<String> = entry.classes.iter().map(|c| c.to_string()).collect();
    let metadata = BTreeMap::from([
        ("name".to_string(), entry.name.to_string()),
        ("architecture".to_string(), entry.architecture.to_string()),
        ("classes".to_string(), classes.join(",")),
        ("epochs".to_string(), entry.epochs.to_string()),
        ("model_seed".to_string(), entry.model_seed.to_string()),
        ("fit_seed".to_string(), entry.fit_seed.to_string()),
        ("command".to_string(), entry.command()),
        (
            "recipe".to_string(),
            "Nadam lr 0.001, batch 32, first 55,000 Fashion-MNIST training images of the classes"
                .to_string(),
        ),
    ]);
    cnnkit_nn::checkpoint::save_f16(model, &path, &metadata)?;
    let bytes = std::fs::read(&path).map_err(|e| cnnkit_data::Error::io("read", &path, e))?;
    Ok((path, cnnkit_data::sha256_hex(&bytes)))
}
