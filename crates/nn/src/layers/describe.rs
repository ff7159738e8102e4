//! How a layer describes itself for [`crate::model::summary`]: the [`Describe`] trait,
//! the [`FeatureShape`] that flows between layers and the [`LayerRow`] each layer adds,
//! with the implementations for the basic layers and for dfdx's modules. Each newer layer
//! implements [`Describe`] in its own file, next to its forward pass.
//!
//! The compiler checks channel and feature counts between layers (const generics); spatial
//! sizes are known only at run time, so describing a model walks its layers with an input
//! size and stops at the first layer that does not fit, naming it.

use std::fmt;

use dfdx::nn::modules::{Dropout, Linear, ReLU, Softmax};
use dfdx::prelude::*;

use super::{
    Activation, AvgPool2D, Conv2DModule, DenseModule, DepthwiseMaxPool2D, Flatten, GlobalAvgPool2D,
    MaxPool2D, PaddingMode,
};
use crate::arith::{self, axis_geometry};
use crate::error::{Error, Result};

/// The shape of one example flowing between layers (the batch dimension left out).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FeatureShape {
    /// A stack of feature maps, `(height, width, channels)`.
    Image {
        /// Height.
        h: usize,
        /// Width.
        w: usize,
        /// Channels (feature maps).
        c: usize,
    },
    /// A flat vector of features.
    Flat(usize),
}

impl FeatureShape {
    /// An image shape `(h, w, c)`, as Keras' `input_shape=[h, w, c]`.
    pub fn image(h: usize, w: usize, c: usize) -> Self {
        FeatureShape::Image { h, w, c }
    }

    /// Number of values per example.
    pub fn numel(&self) -> usize {
        match *self {
            FeatureShape::Image { h, w, c } => h * w * c,
            FeatureShape::Flat(n) => n,
        }
    }
}

impl From<[usize; 3]> for FeatureShape {
    fn from([h, w, c]: [usize; 3]) -> Self {
        FeatureShape::Image { h, w, c }
    }
}

impl fmt::Display for FeatureShape {
    /// Keras' notation with `None` for the batch: `(None, 28, 28, 64)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeatureShape::Image { h, w, c } => write!(f, "(None, {h}, {w}, {c})"),
            FeatureShape::Flat(n) => write!(f, "(None, {n})"),
        }
    }
}

/// One row of a [`Summary`].
#[derive(Clone, Debug, PartialEq)]
pub struct LayerRow {
    /// Keras-style instance name: `conv2d`, `conv2d_1`, `max_pool2d`, ...
    pub name: String,
    /// The layer type: `Conv2D`, `MaxPool2D`, `Dense`, ...
    pub kind: &'static str,
    /// Shape of the layer's output for one example.
    pub output: FeatureShape,
    /// All parameters of the layer (Keras' "Param #").
    pub params: usize,
    /// How many of them training does not update (batch normalization's moving
    /// statistics, frozen layers).
    pub non_trainable: usize,
    /// Settings worth showing: kernel, stride, padding, activation.
    pub config: String,
    /// True for a layer that passes no gradient back to the layers before it (a
    /// [`Frozen`](crate::layers::Frozen) block runs without a tape; data augmentation
    /// happens at the input). [`crate::model::summary`] refuses a model with a trainable
    /// layer before such a layer, which would silently never learn.
    pub stops_gradient: bool,
}

impl LayerRow {
    /// Bytes of the layer's output for one example, in `f32`.
    pub fn output_bytes(&self) -> usize {
        arith::f32_bytes(self.output.numel())
    }
}

/// A layer (or a tuple of layers) that can say what it does to a shape.
///
/// Implemented for this crate's layers, for dfdx's `ReLU`, `Dropout`, `Softmax` and
/// `Linear`, and for tuples of up to six of them (nest tuples for longer models).
pub trait Describe {
    /// Appends this layer's rows for `input` and returns its output shape, or an
    /// [`Error::Shape`] when `input` does not fit.
    fn describe(&self, input: FeatureShape, rows: &mut Vec<LayerRow>) -> Result<FeatureShape>;
}

/// Keras-style instance name for the next layer of `kind` (`conv2d`, `conv2d_1`, ...).
pub(crate) fn instance_name(rows: &[LayerRow], kind: &'static str, base: &str) -> String {
    let n = rows.iter().filter(|r| r.kind == kind).count();
    if n == 0 {
        base.to_string()
    } else {
        format!("{base}_{n}")
    }
}

pub(crate) fn push(
    rows: &mut Vec<LayerRow>,
    kind: &'static str,
    base: &str,
    output: FeatureShape,
    params: usize,
    config: String,
) -> FeatureShape {
    let name = instance_name(rows, kind, base);
    rows.push(LayerRow {
        name,
        kind,
        output,
        params,
        non_trainable: 0,
        config,
        stops_gradient: false,
    });
    output
}

/// [`push`] for a layer with `non_trainable` of its `params` not trained.
pub(crate) fn push_with_frozen(
    rows: &mut Vec<LayerRow>,
    kind: &'static str,
    base: &str,
    output: FeatureShape,
    (params, non_trainable): (usize, usize),
    config: String,
) -> FeatureShape {
    push(rows, kind, base, output, params, config);
    if let Some(last) = rows.last_mut() {
        last.non_trainable = non_trainable;
    }
    output
}

pub(crate) fn shape_error(
    rows: &[LayerRow],
    kind: &'static str,
    base: &str,
    expected: String,
    actual: FeatureShape,
) -> Error {
    Error::Shape {
        layer: format!("{} ({kind})", instance_name(rows, kind, base)),
        expected,
        actual: actual.to_string(),
    }
}

/// The `(h, w, c)` of an image input, or an error for `kind`.
pub(crate) fn image_input(
    rows: &[LayerRow],
    kind: &'static str,
    base: &str,
    input: FeatureShape,
    channels: Option<usize>,
) -> Result<(usize, usize, usize)> {
    match input {
        FeatureShape::Image { h, w, c } if channels.is_none_or(|want| want == c) => Ok((h, w, c)),
        _ => Err(shape_error(
            rows,
            kind,
            base,
            match channels {
                Some(c) => format!("images with {c} channels, (None, height, width, {c})"),
                None => "images, (None, height, width, channels)".into(),
            },
            input,
        )),
    }
}

/// Output size of a window op, with the layer named in the error.
pub(crate) fn spatial(
    rows: &[LayerRow],
    kind: &'static str,
    base: &str,
    (h, w): (usize, usize),
    k: usize,
    s: usize,
    padding: arith::Padding,
) -> Result<(usize, usize)> {
    let gh = axis_geometry(h, k, s, padding);
    let gw = axis_geometry(w, k, s, padding);
    match (gh, gw) {
        (Ok(gh), Ok(gw)) => Ok((gh.output, gw.output)),
        (Err(e), _) | (_, Err(e)) => Err(Error::Shape {
            layer: format!("{} ({kind})", instance_name(rows, kind, base)),
            expected: format!(
                "an input of at least {k}x{k} for a {k}x{k} window with padding=\"{padding}\""
            ),
            actual: format!("{h}x{w} ({e})"),
        }),
    }
}

impl<
        const IN: usize,
        const OUT: usize,
        const K: usize,
        const S: usize,
        P: PaddingMode,
        A: Activation,
    > Describe for Conv2DModule<IN, OUT, K, S, P, A, f32, Cpu>
{
    fn describe(&self, input: FeatureShape, rows: &mut Vec<LayerRow>) -> Result<FeatureShape> {
        conv_row(rows, input, (IN, OUT, K, S), P::PADDING, A::NAME, true)
    }
}

/// The row of a `Conv2D` (with or without bias) with `(in, out, kernel, stride)`, or the
/// error naming it when `input` does not fit.
pub(crate) fn conv_row(
    rows: &mut Vec<LayerRow>,
    input: FeatureShape,
    (in_c, out_c, k, s): (usize, usize, usize, usize),
    padding: arith::Padding,
    activation: &str,
    bias: bool,
) -> Result<FeatureShape> {
    let (kind, base) = ("Conv2D", "conv2d");
    let (h, w, _) = image_input(rows, kind, base, input, Some(in_c))?;
    let (oh, ow) = spatial(rows, kind, base, (h, w), k, s, padding)?;
    let config = format!(
        "{out_c} filters {k}x{k}, stride {s}, padding={padding}, activation={activation}{}",
        if bias { "" } else { ", use_bias=False" }
    );
    let params = arith::conv_params(k, k, in_c, out_c) - if bias { 0 } else { out_c };
    Ok(push(
        rows,
        kind,
        base,
        FeatureShape::image(oh, ow, out_c),
        params,
        config,
    ))
}

macro_rules! describe_pool {
    ($layer:ident, $kind:literal, $base:literal) => {
        impl<const P: usize, const S: usize, Pad: PaddingMode> Describe for $layer<P, S, Pad> {
            fn describe(
                &self,
                input: FeatureShape,
                rows: &mut Vec<LayerRow>,
            ) -> Result<FeatureShape> {
                let (h, w, c) = image_input(rows, $kind, $base, input, None)?;
                let (oh, ow) = spatial(rows, $kind, $base, (h, w), P, S, Pad::PADDING)?;
                let config = format!("pool {P}x{P}, stride {S}, padding={}", Pad::PADDING);
                Ok(push(
                    rows,
                    $kind,
                    $base,
                    FeatureShape::image(oh, ow, c),
                    0,
                    config,
                ))
            }
        }
    };
}

describe_pool!(MaxPool2D, "MaxPool2D", "max_pool2d");
describe_pool!(AvgPool2D, "AvgPool2D", "avg_pool2d");

impl Describe for GlobalAvgPool2D {
    fn describe(&self, input: FeatureShape, rows: &mut Vec<LayerRow>) -> Result<FeatureShape> {
        let (kind, base) = ("GlobalAvgPool2D", "global_avg_pool2d");
        let (_, _, c) = image_input(rows, kind, base, input, None)?;
        Ok(push(
            rows,
            kind,
            base,
            FeatureShape::Flat(c),
            0,
            "mean of each feature map".into(),
        ))
    }
}

impl<const CO: usize> Describe for DepthwiseMaxPool2D<CO> {
    fn describe(&self, input: FeatureShape, rows: &mut Vec<LayerRow>) -> Result<FeatureShape> {
        let (kind, base) = ("DepthwiseMaxPool2D", "depthwise_max_pool2d");
        let (h, w, c) = image_input(rows, kind, base, input, None)?;
        if CO == 0 || c % CO != 0 {
            return Err(shape_error(
                rows,
                kind,
                base,
                format!("a channel count that is a multiple of {CO}"),
                input,
            ));
        }
        let config = format!("max over groups of {} feature maps", c / CO);
        Ok(push(
            rows,
            kind,
            base,
            FeatureShape::image(h, w, CO),
            0,
            config,
        ))
    }
}

impl Describe for Flatten {
    fn describe(&self, input: FeatureShape, rows: &mut Vec<LayerRow>) -> Result<FeatureShape> {
        let (h, w, c) = image_input(rows, "Flatten", "flatten", input, None)?;
        Ok(push(
            rows,
            "Flatten",
            "flatten",
            FeatureShape::Flat(h * w * c),
            0,
            String::new(),
        ))
    }
}

/// The feature count of a flat input for a dense layer, or an error naming it.
pub(crate) fn flat_input(
    rows: &[LayerRow],
    kind: &'static str,
    base: &str,
    input: FeatureShape,
    want: usize,
) -> Result<()> {
    match input {
        FeatureShape::Flat(n) if n == want => Ok(()),
        FeatureShape::Flat(n) => Err(Error::Shape {
            layer: format!("{} ({kind})", instance_name(rows, kind, base)),
            expected: format!("(None, {want})"),
            actual: format!("(None, {n}); write Dense<{n}, ...> or change the layers before it"),
        }),
        FeatureShape::Image { .. } => Err(Error::Shape {
            layer: format!("{} ({kind})", instance_name(rows, kind, base)),
            expected: format!("(None, {want}), a flat vector"),
            actual: format!("{input}; put a Flatten (or GlobalAvgPool2D) layer before it"),
        }),
    }
}

impl<const I: usize, const O: usize, A: Activation> Describe for DenseModule<I, O, A, f32, Cpu> {
    fn describe(&self, input: FeatureShape, rows: &mut Vec<LayerRow>) -> Result<FeatureShape> {
        flat_input(rows, "Dense", "dense", input, I)?;
        let config = format!("{O} units, activation={}", A::NAME);
        Ok(push(
            rows,
            "Dense",
            "dense",
            FeatureShape::Flat(O),
            arith::dense_params(I, O),
            config,
        ))
    }
}

impl<const I: usize, const O: usize> Describe for Linear<I, O, f32, Cpu> {
    fn describe(&self, input: FeatureShape, rows: &mut Vec<LayerRow>) -> Result<FeatureShape> {
        flat_input(rows, "Linear", "linear", input, I)?;
        Ok(push(
            rows,
            "Linear",
            "linear",
            FeatureShape::Flat(O),
            arith::dense_params(I, O),
            format!("{O} units"),
        ))
    }
}

impl Describe for ReLU {
    fn describe(&self, input: FeatureShape, rows: &mut Vec<LayerRow>) -> Result<FeatureShape> {
        Ok(push(rows, "ReLU", "re_lu", input, 0, String::new()))
    }
}

impl Describe for Softmax {
    fn describe(&self, input: FeatureShape, rows: &mut Vec<LayerRow>) -> Result<FeatureShape> {
        Ok(push(rows, "Softmax", "softmax", input, 0, String::new()))
    }
}

impl Describe for Dropout {
    fn describe(&self, input: FeatureShape, rows: &mut Vec<LayerRow>) -> Result<FeatureShape> {
        Ok(push(
            rows,
            "Dropout",
            "dropout",
            input,
            0,
            format!("rate {}", self.p),
        ))
    }
}

macro_rules! describe_tuple {
    ($($m:ident $i:tt),+) => {
        impl<$($m: Describe),+> Describe for ($($m,)+) {
            fn describe(&self, input: FeatureShape, rows: &mut Vec<LayerRow>) -> Result<FeatureShape> {
                let x = input;
                $(let x = self.$i.describe(x, rows)?;)+
                Ok(x)
            }
        }
    };
}

describe_tuple!(A 0);
describe_tuple!(A 0, B 1);
describe_tuple!(A 0, B 1, C 2);
describe_tuple!(A 0, B 1, C 2, D 3);
describe_tuple!(A 0, B 1, C 2, D 3, E 4);
describe_tuple!(A 0, B 1, C 2, D 3, E 4, F 5);
