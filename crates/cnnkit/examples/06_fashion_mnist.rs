//! The lecture's full Fashion-MNIST run, as in `notebooks/06_fashion_mnist.ipynb`:
//! 55,000 training and 5,000 validation images, the lecture's CNN, Nadam, batch 32,
//! 10 epochs, then the test accuracy.
//!
//! ```text
//! cargo run --release -p cnnkit --example 06_fashion_mnist                 # full run
//! cargo run --release -p cnnkit --example 06_fashion_mnist -- --epochs 1
//! CNNKIT_QUICK=1 cargo run --release -p cnnkit --example 06_fashion_mnist  # 5,000 images, 2 epochs
//! cargo run --release -p cnnkit --example 06_fashion_mnist -- --save build/fashion_cnn.safetensors
//! cargo run --release -p cnnkit --example 06_fashion_mnist -- --seed 7   # another initialisation
//! ```
//!
//! `--seed N` (default 42, the notebook's) seeds both the initial weights and `fit`'s
//! shuffling and dropout, so that the spread of the test accuracy over seeds can be measured.

use std::time::Instant;

use cnnkit::model::LectureCnn;
use cnnkit::prelude::*;
use cnnkit::quick::quick_or;

fn main() -> cnnkit::Result<()> {
    let mut epochs = quick_or(10, 2);
    let mut save: Option<String> = None;
    let mut seed: Option<u64> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--epochs" => epochs = args.next().and_then(|v| v.parse().ok()).unwrap_or(epochs),
            "--save" => save = args.next(),
            "--seed" => match args.next().and_then(|v| v.parse().ok()) {
                Some(n) => seed = Some(n),
                None => {
                    eprintln!("--seed needs a whole number");
                    std::process::exit(2);
                }
            },
            other => {
                eprintln!("unknown argument {other}; use --epochs N, --seed N or --save PATH");
                std::process::exit(2);
            }
        }
    }
    let start = Instant::now();
    let fashion = FashionMnist::load()?;
    let (train_full, valid) = fashion.train.split_at(55_000);
    let train = train_full.take(quick_or(55_000, 5_000));
    let train = Dataset::try_from(&train)?;
    let valid = Dataset::try_from(&valid)?;
    let test = Dataset::try_from(&fashion.test)?;
    println!(
        "train {} / valid {} / test {} images, {epochs} epochs, {} threads",
        train.len(),
        valid.len(),
        test.len(),
        rayon::current_num_threads()
    );

    let dev = Cpu::seed_from_u64(seed.unwrap_or(42));
    let mut model = dev.build_module::<LectureCnn, f32>();
    println!("{}", summary(&model, [28, 28, 1])?);
    let history = fit(
        &mut model,
        &train,
        Some(&valid),
        &FitConfig {
            epochs,
            seed: seed.unwrap_or(FitConfig::default().seed),
            ..FitConfig::default()
        },
    )?;
    let test_result = evaluate(&model, &test)?;
    println!(
        "training {:.0}s ({:.1} images/s), test loss {:.4}, test accuracy {:.4}, total {:.0}s",
        history.seconds(),
        (train.len() * epochs) as f64 / history.seconds(),
        test_result.loss,
        test_result.accuracy,
        start.elapsed().as_secs_f64()
    );
    if let Some(path) = save {
        cnnkit::checkpoint::save(&model, &path)?;
        println!("weights saved to {path}");
    }
    Ok(())
}
