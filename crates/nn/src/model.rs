//! Looking at a model before running it: a Keras-like [`summary`] with each layer's output
//! shape and parameter count, which also checks that the spatial sizes fit together.
//!
//! The compiler already checks channel and feature counts between layers (they are const
//! generics). Spatial sizes are known only at run time, so [`summary`] walks the layers
//! with a given input size and returns an [`Error::Shape`] naming the first layer that
//! does not fit. [`crate::train::fit`] calls it before training.
//!
//! Introduced in `notebooks/05_cnn_architecture.ipynb`.

use std::fmt;

use crate::error::Result;

pub use crate::layers::describe::{Describe, FeatureShape, LayerRow};

/// What [`summary`] returns: the rows of a Keras-like `model.summary()`.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// The input shape the layers were checked with.
    pub input: FeatureShape,
    /// One row per layer, in order.
    pub layers: Vec<LayerRow>,
}

impl Summary {
    /// All parameters, as Keras' "Total params".
    pub fn total_params(&self) -> usize {
        self.layers.iter().map(|l| l.params).sum()
    }

    /// Parameters that training updates (Keras' "Trainable params").
    pub fn trainable_params(&self) -> usize {
        self.total_params() - self.non_trainable_params()
    }

    /// Parameters that training leaves alone, such as batch normalization's moving mean
    /// and variance (Keras' "Non-trainable params").
    pub fn non_trainable_params(&self) -> usize {
        self.layers.iter().map(|l| l.non_trainable).sum()
    }

    /// The model's output shape.
    pub fn output(&self) -> FeatureShape {
        self.layers.last().map_or(self.input, |l| l.output)
    }
}

/// Formats an integer with thousands separators, as Keras' `summary()` prints parameter
/// counts: `1413834` → `1,413,834`.
///
/// ```
/// assert_eq!(cnnkit_nn::model::fmt_thousands(1_413_834), "1,413,834");
/// assert_eq!(cnnkit_nn::model::fmt_thousands(-5_000), "-5,000");
/// ```
pub fn fmt_thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The name column is 32 wide as in Keras, wider when a name needs it
        // (`batch_normalization_12 (BatchNormalization)`), so columns never run together.
        let labels: Vec<String> = self
            .layers
            .iter()
            .map(|l| format!("{} ({})", l.name, l.kind))
            .collect();
        let nw = labels
            .iter()
            .map(|s| s.chars().count() + 2)
            .fold(32, usize::max);
        let width = nw + 24 + 12 + 1;
        let line = |f: &mut fmt::Formatter<'_>, c: char| {
            writeln!(f, "{}", c.to_string().repeat(width.max(78)))
        };
        writeln!(f, "Model: \"sequential\"   input: {}", self.input)?;
        line(f, '_')?;
        writeln!(
            f,
            " {:<nw$}{:<24}{:>12}",
            "Layer (type)", "Output Shape", "Param #"
        )?;
        line(f, '=')?;
        for (i, (l, name)) in self.layers.iter().zip(&labels).enumerate() {
            writeln!(
                f,
                " {:<nw$}{:<24}{:>12}",
                name,
                l.output.to_string(),
                fmt_thousands(l.params as i64)
            )?;
            if i + 1 < self.layers.len() {
                line(f, '_')?;
            }
        }
        line(f, '=')?;
        writeln!(
            f,
            "Total params: {}",
            fmt_thousands(self.total_params() as i64)
        )?;
        writeln!(
            f,
            "Trainable params: {}",
            fmt_thousands(self.trainable_params() as i64)
        )?;
        write!(
            f,
            "Non-trainable params: {}",
            fmt_thousands(self.non_trainable_params() as i64)
        )
    }
}

/// Checks a model against an input shape and lists its layers, like Keras'
/// `model.summary()`.
///
/// # Errors
/// [`Error::Shape`] naming the first layer whose input does not fit (for example a
/// `Dense<2304, ..>` after a `Flatten` that produces 3136 features), with the expected and
/// actual shapes.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// type Model = (Conv2D<1, 8, 3, 1, Same, Relu>, MaxPool2D<2>, Flatten, Dense<{ 14 * 14 * 8 }, 10>);
/// let model = Cpu::default().build_module::<Model, f32>();
/// let s = summary(&model, [28, 28, 1]).unwrap();
/// assert_eq!(s.total_params(), 80 + 15_690);
/// println!("{s}");
/// // The same layers cannot take 32x32 images: the Dense layer says so.
/// let err = summary(&model, [32, 32, 1]).unwrap_err().to_string();
/// assert!(err.contains("dense (Dense)") && err.contains("1568") && err.contains("2048"), "{err}");
/// ```
pub fn summary<M: Describe>(model: &M, input: impl Into<FeatureShape>) -> Result<Summary> {
    let input = input.into();
    let mut layers = Vec::new();
    model.describe(input, &mut layers)?;
    check_gradient_flow(&layers)?;
    Ok(Summary { input, layers })
}

/// A layer that stops the gradient (a frozen block, data augmentation) must come before
/// every layer that trains: the ones before it would never learn.
pub(crate) fn check_gradient_flow(layers: &[LayerRow]) -> Result<()> {
    for (i, row) in layers.iter().enumerate().filter(|(_, r)| r.stops_gradient) {
        if let Some(trained) = layers[..i].iter().find(|r| r.params > r.non_trainable) {
            return Err(crate::error::Error::invalid(
                "model",
                format!(
                    "{} ({}) passes no gradient back, but the trainable layer {} ({}) comes \
                     before it and would never learn. Put frozen blocks and data augmentation \
                     at the start of the model, or freeze the layers before them too \
                     ({}보다 앞의 층은 학습되지 않습니다)",
                    row.name, row.kind, trained.name, trained.kind, row.name
                ),
            ));
        }
    }
    Ok(())
}

/// The lecture's Fashion-MNIST model, now in [`crate::architectures`].
pub use crate::architectures::LectureCnn;
