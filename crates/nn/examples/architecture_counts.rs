//! Prints the parameter counts (total, trainable, non-trainable), the output shape and the
//! build time of every model in `cnnkit_nn::architectures`, at its published input size:
//! the figures `docs/architectures.md` compares with Keras.
//!
//! `cargo run --release -p cnnkit-nn --example architecture_counts`

use std::time::Instant;

use cnnkit_nn::architectures::*;
use cnnkit_nn::model::Describe;
use cnnkit_nn::prelude::*;

fn show<M: dfdx::nn::BuildOnDevice<Cpu, f32>>(name: &str, input: [usize; 3])
where
    M::Built: Describe,
{
    let start = Instant::now();
    let model = Cpu::seed_from_u64(0).build_module::<M, f32>();
    let built = start.elapsed().as_secs_f64();
    let s = summary(&model, input).expect("every architecture fits its published input size");
    println!(
        "{name:<14} {:>12} {:>12} {:>10}  output {}  built in {built:.2} s",
        s.total_params(),
        s.trainable_params(),
        s.non_trainable_params(),
        s.output()
    );
}

fn main() {
    println!(
        "{:<14} {:>12} {:>12} {:>10}",
        "model", "total", "trainable", "non-train."
    );
    show::<LeNet5>("LeNet5", [32, 32, 1]);
    show::<AlexNet>("AlexNet", [227, 227, 3]);
    show::<Vgg16>("Vgg16", [224, 224, 3]);
    show::<GoogLeNet>("GoogLeNet", [224, 224, 3]);
    show::<ResNet34>("ResNet34", [224, 224, 3]);
    show::<Xception>("Xception", [299, 299, 3]);
    show::<SeResNetBlock>("SeResNetBlock", [56, 56, 256]);
    show::<LectureCnn>("LectureCnn", [28, 28, 1]);
    show::<SmallResNet>("SmallResNet", [28, 28, 1]);
}
