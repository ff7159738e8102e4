//! Trains the shipped pretrained models with their recipes and writes their files:
//!
//! ```text
//! cargo run --release -p cnnkit-pretrained --example pretrain -- <name>... [--out DIR] [--max-batches N]
//! ```
//!
//! `<name>` is `lecture_cnn`, `small_resnet`, `base_classes_0_4` or `all`. The files go to
//! `crates/pretrained/weights/` unless `--out` says otherwise. For each model it prints the
//! file's SHA-256, the minutes it took and the test accuracy of the written (half-precision)
//! weights on the model's classes: the figures that `crates/pretrained/src/registry.rs`
//! records. `--max-batches` shortens every epoch (to try the command quickly).

use std::path::PathBuf;
use std::time::Instant;

use cnnkit_nn::architectures::{LectureCnn, SmallResNet};
use cnnkit_nn::prelude::*;
use cnnkit_nn::train::Classifier;
use cnnkit_pretrained::{BaseClassifier, Pretrained};
use dfdx::nn::tensor_collection::TensorCollection;

fn run<M: Pretrained, const N: usize>(
    fashion: &cnnkit_data::FashionMnist,
    out: &std::path::Path,
    max_batches: Option<usize>,
) -> cnnkit_nn::Result<()>
where
    M::Built: Classifier<1, N> + TensorCollection<f32, Cpu>,
{
    let entry = M::ENTRY;
    println!(
        "== {} ({}, {} epochs)",
        entry.name, entry.architecture, entry.epochs
    );
    let start = Instant::now();
    let trained = cnnkit_pretrained::train::<M, N>(fashion, max_batches, true)?;
    let minutes = start.elapsed().as_secs_f64() / 60.0;
    let (path, sha) = cnnkit_pretrained::write::<M>(&trained.model, out)?;
    let shipped = cnnkit_pretrained::load_file::<M>(&path)?;
    let (_, test) = cnnkit_pretrained::datasets(entry, fashion)?;
    let full = evaluate(&trained.model, &test)?;
    let rounded = evaluate(&shipped, &test)?;
    let first = evaluate(&shipped, &test.slice(0..2000.min(test.len())))?;
    println!("file      {}", path.display());
    println!("sha256    {sha}");
    println!("minutes   {minutes:.1}");
    println!(
        "test accuracy {:.4} (f16 weights), {:.4} (f32), first 2,000 test images {:.4}, on {} images",
        rounded.accuracy,
        full.accuracy,
        first.accuracy,
        test.len()
    );
    Ok(())
}

fn main() -> cnnkit_nn::Result<()> {
    let mut names = Vec::new();
    let mut out = cnnkit_pretrained::weights_dir();
    let mut max_batches = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => out = PathBuf::from(args.next().expect("--out needs a folder")),
            "--max-batches" => {
                max_batches = Some(
                    args.next()
                        .and_then(|n| n.parse().ok())
                        .expect("--max-batches needs a number"),
                )
            }
            "all" => names.extend(cnnkit_pretrained::MODELS.iter().map(|e| e.name.to_string())),
            _ => names.push(a),
        }
    }
    if names.is_empty() {
        eprintln!("usage: pretrain <name>... | all [--out DIR] [--max-batches N]; names:");
        for e in cnnkit_pretrained::MODELS {
            eprintln!(
                "  {:<18} {} on classes {:?}, {} epochs",
                e.name, e.architecture, e.classes, e.epochs
            );
        }
        std::process::exit(2);
    }
    println!(
        "threads {}, instruction set {:?}",
        rayon::current_num_threads(),
        cnnkit_kernels::simd::instruction_set()
    );
    let fashion = cnnkit_data::FashionMnist::load()?;
    for name in &names {
        match name.as_str() {
            "lecture_cnn" => run::<LectureCnn, 10>(&fashion, &out, max_batches)?,
            "small_resnet" => run::<SmallResNet, 10>(&fashion, &out, max_batches)?,
            "base_classes_0_4" => run::<BaseClassifier, 5>(&fashion, &out, max_batches)?,
            other => {
                eprintln!("unknown model `{other}`; run without arguments for the list");
                std::process::exit(2);
            }
        }
    }
    Ok(())
}
