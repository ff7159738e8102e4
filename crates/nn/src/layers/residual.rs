//! Skip connections: [`Residual`] adds a shortcut path to a main path. The residual units
//! of ResNet ([`ResidualUnit`], [`ResidualUnitDown`]) are [`FusedResidual`]s, which compute
//! the same and train as one op; [`MainPath`] is their main path and [`ConvBnRelu`] a
//! ResNet's first layers, each trained as one op too.

use dfdx::nn::modules::{BuildOnDevice, Module, ModuleMut, ModuleVisitor};
use dfdx::nn::tensor_collection::TensorCollection;
use dfdx::prelude::*;
use dfdx::tensor::{Merge, WithEmptyTape};

use super::describe::{push, Describe, FeatureShape, LayerRow};
use super::{
    forward_error, Activation, BatchNorm, BatchNormModule, Block, BlockName, Conv2DNoBias,
    Conv2DNoBiasModule, Identity, PaddingMode, Relu, Same,
};
use crate::error::Error;
use crate::ops;

/// `main(x) + shortcut(x)`: a skip connection (Keras `layers.Add()([main, shortcut])`),
/// and with `A = Relu` the activation after it, `relu(main(x) + shortcut(x))`, computed in
/// the same pass ([`ops::add_relu`]), as a residual unit ends.
///
/// Both paths get the same input, and their output types must be equal: a shortcut with
/// 64 channels beside a main path with 128 does not compile. The run-time sizes (height
/// and width) are checked by [`crate::model::summary`] before training, and by the
/// addition itself. With the default shortcut [`Identity`] it is `x + main(x)`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// // x + relu(conv(x)), a skip around one convolution.
/// type Block = Residual<Conv2D<8, 8, 3, 1, Same, Relu>>;
/// let dev = Cpu::seed_from_u64(0);
/// let block = dev.build_module::<Block, f32>();
/// let x: Images<8> = dev.ones_like(&(1, 5, 5, Const::<8>));
/// let y = block.forward(x.clone());
/// let conv = block.main.forward(x.clone());
/// let expected: Vec<f32> = conv.as_vec().iter().map(|v| v + 1.0).collect();
/// assert_eq!(y.as_vec(), expected);
/// ```
///
/// A shortcut whose channel count differs from the main path's is rejected by the
/// compiler:
///
/// ```compile_fail
/// use cnnkit_nn::prelude::*;
/// type Bad = Residual<Conv2D<8, 16, 3, 1, Same>, Conv2D<8, 8, 1, 1, Same>>;
/// let dev = Cpu::default();
/// let block = dev.build_module::<Bad, f32>();
/// let x: Images<8> = dev.ones_like(&(1, 5, 5, Const::<8>));
/// let _ = block.forward(x);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Residual<Main, Shortcut = Identity, A = Identity> {
    /// The main path.
    pub main: Main,
    /// The shortcut path ([`Identity`] for a plain skip).
    pub shortcut: Shortcut,
    /// The activation after the addition ([`Identity`] for none; no parameters).
    pub activation: A,
}

impl<D: Device<E>, E: Dtype, F: BuildOnDevice<D, E>, R: BuildOnDevice<D, E>, A: Activation>
    BuildOnDevice<D, E> for Residual<F, R, A>
{
    type Built = Residual<F::Built, R::Built, A>;
}

impl<E: Dtype, D: Device<E>, F, R, A> TensorCollection<E, D> for Residual<F, R, A>
where
    F: TensorCollection<E, D>,
    R: TensorCollection<E, D>,
    A: Activation,
{
    type To<E2: Dtype, D2: Device<E2>> = Residual<F::To<E2, D2>, R::To<E2, D2>, A>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("main", |s| &s.main, |s| &mut s.main),
                Self::module("shortcut", |s| &s.shortcut, |s| &mut s.shortcut),
            ),
            |(main, shortcut)| Residual {
                main,
                shortcut,
                activation: A::default(),
            },
        )
    }
}

/// The addition and the activation after it: [`ops::add_relu`] for a ReLU, else
/// [`ops::add`] and the activation.
fn add_then<A: Activation, Y: Shape, T: Tape<f32, Cpu> + Merge<T>>(
    main: Tensor<Y, f32, Cpu, T>,
    shortcut: Tensor<Y, f32, Cpu, T>,
) -> Result<Tensor<Y, f32, Cpu, T>, CpuError> {
    if A::RELU {
        ops::add_relu(main, shortcut).map_err(|e| forward_error("Residual", e))
    } else {
        A::apply(ops::add(main, shortcut).map_err(|e| forward_error("Residual", e))?)
    }
}

impl<S, T, Y, F, R, A> Module<Tensor<S, f32, Cpu, T>> for Residual<F, R, A>
where
    S: Shape,
    T: Tape<f32, Cpu> + Merge<T>,
    Y: Shape,
    F: Module<Tensor<S, f32, Cpu, T>, Output = Tensor<Y, f32, Cpu, T>, Error = CpuError>,
    R: Module<Tensor<S, f32, Cpu, T>, Output = Tensor<Y, f32, Cpu, T>, Error = CpuError>,
    A: Activation,
{
    type Output = Tensor<Y, f32, Cpu, T>;
    type Error = CpuError;

    fn try_forward(&self, x: Tensor<S, f32, Cpu, T>) -> Result<Self::Output, CpuError> {
        let main = self.main.try_forward(x.with_empty_tape())?;
        let shortcut = self.shortcut.try_forward(x)?;
        add_then::<A, _, _>(main, shortcut)
    }
}

impl<S, T, Y, F, R, A> ModuleMut<Tensor<S, f32, Cpu, T>> for Residual<F, R, A>
where
    S: Shape,
    T: Tape<f32, Cpu> + Merge<T>,
    Y: Shape,
    F: ModuleMut<Tensor<S, f32, Cpu, T>, Output = Tensor<Y, f32, Cpu, T>, Error = CpuError>,
    R: ModuleMut<Tensor<S, f32, Cpu, T>, Output = Tensor<Y, f32, Cpu, T>, Error = CpuError>,
    A: Activation,
{
    type Output = Tensor<Y, f32, Cpu, T>;
    type Error = CpuError;

    fn try_forward_mut(&mut self, x: Tensor<S, f32, Cpu, T>) -> Result<Self::Output, CpuError> {
        let main = self.main.try_forward_mut(x.with_empty_tape())?;
        let shortcut = self.shortcut.try_forward_mut(x)?;
        add_then::<A, _, _>(main, shortcut)
    }
}

impl<F: Describe, R: Describe, A: Activation + Describe> Describe for Residual<F, R, A> {
    fn describe(
        &self,
        input: FeatureShape,
        rows: &mut Vec<LayerRow>,
    ) -> crate::Result<FeatureShape> {
        describe_skip::<A>(&self.main, &self.shortcut, input, rows)
    }
}

/// The summary rows of a skip connection: the main path's, the shortcut's, the addition
/// and the activation after it.
fn describe_skip<A: Activation + Describe>(
    main: &impl Describe,
    shortcut: &impl Describe,
    input: FeatureShape,
    rows: &mut Vec<LayerRow>,
) -> crate::Result<FeatureShape> {
    let main = main.describe(input, rows)?;
    let shortcut = shortcut.describe(input, rows)?;
    if main != shortcut {
        return Err(Error::Shape {
            layer: "add (Add)".into(),
            expected: format!("a shortcut of the main path's shape {main}"),
            actual: format!(
                "{shortcut}; give the shortcut a 1x1 convolution with the main path's stride and filters"
            ),
        });
    }
    let sum = push(rows, "Add", "add", main, 0, "main + shortcut".into());
    A::default().describe(sum, rows)
}

/// `relu(main(x) + shortcut(x))` as [`Residual<Main, Shortcut, Relu>`] computes it, for
/// the book's residual units: with a [`ResidualMain`] path and an [`Identity`] or
/// 1x1-convolution-and-BN shortcut it trains as one op
/// ([`ops::residual_unit_training`]), so that the addition reads no copies of its inputs
/// and its gradient needs no buffer of its own. Inference is [`Residual`]'s (the main
/// path folds its batch normalizations); parameter names and summary rows are
/// `Residual`'s too, so checkpoints and summaries do not see the difference.
///
/// [`ResidualUnit`] and [`ResidualUnitDown`] are written with it. Only those two forms
/// train (`forward_mut`); for any other skip connection, use [`Residual`].
#[derive(Clone, Debug, Default)]
pub struct FusedResidual<Main, Shortcut = Identity> {
    /// The main path.
    pub main: Main,
    /// The shortcut path.
    pub shortcut: Shortcut,
}

impl<D: Device<E>, E: Dtype, F: BuildOnDevice<D, E>, R: BuildOnDevice<D, E>> BuildOnDevice<D, E>
    for FusedResidual<F, R>
{
    type Built = FusedResidual<F::Built, R::Built>;
}

impl<E: Dtype, D: Device<E>, F, R> TensorCollection<E, D> for FusedResidual<F, R>
where
    F: TensorCollection<E, D>,
    R: TensorCollection<E, D>,
{
    type To<E2: Dtype, D2: Device<E2>> = FusedResidual<F::To<E2, D2>, R::To<E2, D2>>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("main", |s| &s.main, |s| &mut s.main),
                Self::module("shortcut", |s| &s.shortcut, |s| &mut s.shortcut),
            ),
            |(main, shortcut)| FusedResidual { main, shortcut },
        )
    }
}

impl<S, T, Y, F, R> Module<Tensor<S, f32, Cpu, T>> for FusedResidual<F, R>
where
    S: Shape,
    T: Tape<f32, Cpu> + Merge<T>,
    Y: Shape,
    F: Module<Tensor<S, f32, Cpu, T>, Output = Tensor<Y, f32, Cpu, T>, Error = CpuError>,
    R: Module<Tensor<S, f32, Cpu, T>, Output = Tensor<Y, f32, Cpu, T>, Error = CpuError>,
{
    type Output = Tensor<Y, f32, Cpu, T>;
    type Error = CpuError;

    fn try_forward(&self, x: Tensor<S, f32, Cpu, T>) -> Result<Self::Output, CpuError> {
        let main = self.main.try_forward(x.with_empty_tape())?;
        let shortcut = self.shortcut.try_forward(x)?;
        add_then::<Relu, _, _>(main, shortcut)
    }
}

/// Training with an identity shortcut: [`ResidualUnit`].
impl<B, H, W, T, P1, P2, const C: usize, const K1: usize, const K2: usize>
    ModuleMut<Tensor<(B, H, W, Const<C>), f32, Cpu, T>>
    for FusedResidual<ConvBnPath<C, C, C, K1, K2, 1, 1, P1, P2>, Identity>
where
    B: Dim,
    H: Dim,
    W: Dim,
    T: Tape<f32, Cpu>,
    P1: PaddingMode,
    P2: PaddingMode,
{
    type Output = Tensor<(B, usize, usize, Const<C>), f32, Cpu, T>;
    type Error = CpuError;

    fn try_forward_mut(
        &mut self,
        x: Tensor<(B, H, W, Const<C>), f32, Cpu, T>,
    ) -> Result<Self::Output, CpuError> {
        let (first, second) = self.main.stages();
        let (y, stats) = ops::residual_unit_training(x, first, second, ops::Shortcut::Identity)
            .map_err(|e| forward_error("ResidualUnit", e))?;
        self.main.update_moving(&stats);
        Ok(y)
    }
}

/// Training with a 1x1 convolution and batch normalization on the shortcut:
/// [`ResidualUnitDown`].
impl<
        B,
        H,
        W,
        T,
        P1,
        P2,
        PS,
        const IN: usize,
        const M: usize,
        const OUT: usize,
        const K1: usize,
        const K2: usize,
        const S1: usize,
        const S2: usize,
        const SS: usize,
    > ModuleMut<Tensor<(B, H, W, Const<IN>), f32, Cpu, T>>
    for FusedResidual<
        ConvBnPath<IN, M, OUT, K1, K2, S1, S2, P1, P2>,
        (
            Conv2DNoBiasModule<IN, OUT, 1, SS, PS, Identity, f32, Cpu>,
            BatchNormModule<OUT, f32, Cpu>,
        ),
    >
where
    B: Dim,
    H: Dim,
    W: Dim,
    T: Tape<f32, Cpu>,
    P1: PaddingMode,
    P2: PaddingMode,
    PS: PaddingMode,
{
    type Output = Tensor<(B, usize, usize, Const<OUT>), f32, Cpu, T>;
    type Error = CpuError;

    fn try_forward_mut(
        &mut self,
        x: Tensor<(B, H, W, Const<IN>), f32, Cpu, T>,
    ) -> Result<Self::Output, CpuError> {
        const {
            assert!(
                SS > 0,
                "ResidualUnitDown: the shortcut's stride must be at least 1"
            );
        }
        let (first, second) = self.main.stages();
        let shortcut =
            ops::Shortcut::Projection(conv_batch_norm(&self.shortcut.0, &self.shortcut.1));
        let (y, stats) = ops::residual_unit_training(x, first, second, shortcut)
            .map_err(|e| forward_error("ResidualUnit", e))?;
        self.main.update_moving(&stats);
        if let Some(s) = &stats.shortcut {
            self.shortcut.1.update_moving(s);
        }
        Ok(y)
    }
}

impl<F: Describe, R: Describe> Describe for FusedResidual<F, R> {
    fn describe(
        &self,
        input: FeatureShape,
        rows: &mut Vec<LayerRow>,
    ) -> crate::Result<FeatureShape> {
        describe_skip::<Relu>(&self.main, &self.shortcut, input, rows)
    }
}

/// Name of [`ResidualUnit`] and [`ResidualUnitDown`] in a summary.
#[derive(Clone, Copy, Debug, Default)]
pub struct ResidualUnitName;

impl BlockName for ResidualUnitName {
    const KIND: &'static str = "ResidualUnit";
    const BASE: &'static str = "residual_unit";
}

/// The main path of a residual unit, `conv1`, `bn1`, ReLU, `conv2`, `bn2`, as one module,
/// so that training runs it as one op ([`crate::ops::residual_main_training`]) and
/// inference folds each batch normalization into its convolution. Both are implemented for
/// two [`Conv2DNoBias`] layers without an activation, each followed by a [`BatchNorm`], as
/// in [`ResidualMain`]; for other layers, write the path as a tuple. Its parameters are named `0`, `1`, `3` and `4`, as those of the tuple
/// `(conv1, bn1, Relu, conv2, bn2)` it computes, and its summary rows are that tuple's:
/// checkpoints and summaries do not see the fusion. Written as [`ResidualMain`].
#[derive(Clone, Debug, Default)]
pub struct MainPath<C1, B1, C2, B2> {
    /// The first convolution (the unit's stride).
    pub conv1: C1,
    /// Batch normalization after `conv1`; the ReLU follows it.
    pub bn1: B1,
    /// The second convolution (stride 1).
    pub conv2: C2,
    /// Batch normalization after `conv2`.
    pub bn2: B2,
}

/// The main path of a residual unit: 3x3 convolution (stride `S`), BN, ReLU, 3x3
/// convolution, BN; convolutions without bias.
pub type ResidualMain<const IN: usize, const OUT: usize, const S: usize> = MainPath<
    Conv2DNoBias<IN, OUT, 3, S, Same>,
    BatchNorm<OUT>,
    Conv2DNoBias<OUT, OUT, 3, 1, Same>,
    BatchNorm<OUT>,
>;

impl<D: Device<E>, E: Dtype, C1, B1, C2, B2> BuildOnDevice<D, E> for MainPath<C1, B1, C2, B2>
where
    C1: BuildOnDevice<D, E>,
    B1: BuildOnDevice<D, E>,
    C2: BuildOnDevice<D, E>,
    B2: BuildOnDevice<D, E>,
{
    type Built = MainPath<C1::Built, B1::Built, C2::Built, B2::Built>;
}

impl<E: Dtype, D: Device<E>, C1, B1, C2, B2> TensorCollection<E, D> for MainPath<C1, B1, C2, B2>
where
    C1: TensorCollection<E, D>,
    B1: TensorCollection<E, D>,
    C2: TensorCollection<E, D>,
    B2: TensorCollection<E, D>,
{
    type To<E2: Dtype, D2: Device<E2>> =
        MainPath<C1::To<E2, D2>, B1::To<E2, D2>, C2::To<E2, D2>, B2::To<E2, D2>>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        // The names of the tuple (conv1, bn1, Relu, conv2, bn2): "2" is the ReLU's.
        visitor.visit_fields(
            (
                Self::module("0", |s| &s.conv1, |s| &mut s.conv1),
                Self::module("1", |s| &s.bn1, |s| &mut s.bn1),
                Self::module("3", |s| &s.conv2, |s| &mut s.conv2),
                Self::module("4", |s| &s.bn2, |s| &mut s.bn2),
            ),
            |(conv1, bn1, conv2, bn2)| MainPath {
                conv1,
                bn1,
                conv2,
                bn2,
            },
        )
    }
}

/// Inference. Without a tape (`predict`, `evaluate`) each batch normalization is folded
/// into the convolution before it ([`Conv2DNoBiasModule`]'s folded pass: scaled filters,
/// the shift as bias, the ReLU in the same kernel), so the path is two convolutions and no
/// other pass over memory. With a tape (gradients of a model in inference mode, as in
/// fine-tuning with frozen statistics) the four layers run one by one, so that the
/// gradients reach their parameters.
impl<B, H, W, T, P1, P2, const IN: usize, const M: usize, const OUT: usize, const S1: usize>
    Module<Tensor<(B, H, W, Const<IN>), f32, Cpu, T>>
    for MainPath<
        Conv2DNoBiasModule<IN, M, 3, S1, P1, Identity, f32, Cpu>,
        BatchNormModule<M, f32, Cpu>,
        Conv2DNoBiasModule<M, OUT, 3, 1, P2, Identity, f32, Cpu>,
        BatchNormModule<OUT, f32, Cpu>,
    >
where
    B: Dim,
    H: Dim,
    W: Dim,
    T: Tape<f32, Cpu>,
    P1: PaddingMode,
    P2: PaddingMode,
{
    type Output = Tensor<(B, usize, usize, Const<OUT>), f32, Cpu, T>;
    type Error = CpuError;

    fn try_forward(
        &self,
        x: Tensor<(B, H, W, Const<IN>), f32, Cpu, T>,
    ) -> Result<Self::Output, CpuError> {
        if !T::OWNS_TAPE {
            let y = self.conv1.forward_folding(x, &self.bn1, true)?;
            return self.conv2.forward_folding(y, &self.bn2, false);
        }
        let y = self.conv1.try_forward(x)?;
        let y = self.bn1.forward_inference(y, true)?;
        self.bn2.try_forward(self.conv2.try_forward(y)?)
    }
}

/// A main path of two convolutions without bias, each followed by a batch normalization.
type ConvBnPath<
    const IN: usize,
    const M: usize,
    const OUT: usize,
    const K1: usize,
    const K2: usize,
    const S1: usize,
    const S2: usize,
    P1,
    P2,
> = MainPath<
    Conv2DNoBiasModule<IN, M, K1, S1, P1, Identity, f32, Cpu>,
    BatchNormModule<M, f32, Cpu>,
    Conv2DNoBiasModule<M, OUT, K2, S2, P2, Identity, f32, Cpu>,
    BatchNormModule<OUT, f32, Cpu>,
>;

impl<
        P1: PaddingMode,
        P2: PaddingMode,
        const IN: usize,
        const M: usize,
        const OUT: usize,
        const K1: usize,
        const K2: usize,
        const S1: usize,
        const S2: usize,
    > ConvBnPath<IN, M, OUT, K1, K2, S1, S2, P1, P2>
{
    /// The two stages' parameters, for the fused training ops.
    fn stages(
        &self,
    ) -> (
        ops::ConvBatchNorm<'_, IN, M, K1>,
        ops::ConvBatchNorm<'_, M, OUT, K2>,
    ) {
        const {
            assert!(
                S1 > 0 && S2 > 0,
                "ResidualMain: a stride must be at least 1"
            );
        }
        (
            conv_batch_norm(&self.conv1, &self.bn1),
            conv_batch_norm(&self.conv2, &self.bn2),
        )
    }

    /// Folds a training step's batch statistics into the moving averages, as
    /// [`BatchNormModule`]'s own training pass does.
    fn update_moving(&mut self, stats: &ops::UnitStatistics) {
        self.bn1.update_moving(&stats.first);
        self.bn2.update_moving(&stats.second);
    }
}

/// A convolution without bias and the batch normalization after it, as a fused op's stage.
fn conv_batch_norm<'a, const IN: usize, const OUT: usize, const K: usize, const S: usize, P>(
    conv: &'a Conv2DNoBiasModule<IN, OUT, K, S, P, Identity, f32, Cpu>,
    bn: &'a BatchNormModule<OUT, f32, Cpu>,
) -> ops::ConvBatchNorm<'a, IN, OUT, K>
where
    P: PaddingMode,
{
    ops::ConvBatchNorm {
        weight: &conv.weight,
        stride: S,
        padding: P::PADDING,
        gamma: &bn.gamma,
        beta: &bn.beta,
        epsilon: bn.epsilon,
    }
}

/// Training: the four layers as one op ([`ops::residual_main_training`]), which keeps
/// the intermediate feature maps itself instead of copying each into the next layer and
/// records one backward step; then each batch normalization's statistics go into its
/// moving averages.
impl<
        B,
        H,
        W,
        T,
        P1,
        P2,
        const IN: usize,
        const M: usize,
        const OUT: usize,
        const K1: usize,
        const K2: usize,
        const S1: usize,
        const S2: usize,
    > ModuleMut<Tensor<(B, H, W, Const<IN>), f32, Cpu, T>>
    for ConvBnPath<IN, M, OUT, K1, K2, S1, S2, P1, P2>
where
    B: Dim,
    H: Dim,
    W: Dim,
    T: Tape<f32, Cpu>,
    P1: PaddingMode,
    P2: PaddingMode,
{
    type Output = Tensor<(B, usize, usize, Const<OUT>), f32, Cpu, T>;
    type Error = CpuError;

    fn try_forward_mut(
        &mut self,
        x: Tensor<(B, H, W, Const<IN>), f32, Cpu, T>,
    ) -> Result<Self::Output, CpuError> {
        let (first, second) = self.stages();
        let (y, stats) = ops::residual_main_training(x, first, second)
            .map_err(|e| forward_error("ResidualUnit", e))?;
        self.update_moving(&stats);
        Ok(y)
    }
}

impl<C1: Describe, B1: Describe, C2: Describe, B2: Describe> Describe for MainPath<C1, B1, C2, B2> {
    fn describe(
        &self,
        input: FeatureShape,
        rows: &mut Vec<LayerRow>,
    ) -> crate::Result<FeatureShape> {
        let y = self.conv1.describe(input, rows)?;
        let y = self.bn1.describe(y, rows)?;
        let y = Relu.describe(y, rows)?;
        let y = self.conv2.describe(y, rows)?;
        self.bn2.describe(y, rows)
    }
}

/// A convolution without bias, batch normalization and a ReLU, the first layers of a
/// ResNet (Keras `Conv2D(..., use_bias=False)`, `BatchNormalization()`,
/// `Activation("relu")`), as one layer: training runs them as one op
/// ([`ops::conv_batch_norm_training`]), and inference folds the batch normalization into
/// the convolution. Its parameters are named `0` and `1` and its summary rows are those of
/// the tuple `(conv, bn, Relu)` it computes, so checkpoints and summaries do not see the
/// fusion.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// use cnnkit_nn::layers::ConvBnRelu;
/// type Stem = ConvBnRelu<Conv2DNoBias<1, 32, 3, 1, Same>, BatchNorm<32>>;
/// let dev = Cpu::seed_from_u64(0);
/// let mut stem = dev.build_module::<Stem, f32>();
/// let x: Images<1> = dev.sample_normal_like(&(4, 28, 28, Const::<1>));
/// let plain = (stem.conv.clone(), stem.bn.clone(), Relu).forward_mut(x.leaky_trace());
/// let fused = stem.forward_mut(x.leaky_trace());
/// assert_eq!(fused.as_vec(), plain.as_vec());
/// assert_eq!(summary(&stem, [28, 28, 1]).unwrap().total_params(), 9 * 32 + 4 * 32);
/// ```
#[derive(Clone, Debug, Default)]
pub struct ConvBnRelu<C, B> {
    /// The convolution (without bias).
    pub conv: C,
    /// The batch normalization after it; the ReLU follows.
    pub bn: B,
}

impl<D: Device<E>, E: Dtype, C: BuildOnDevice<D, E>, B: BuildOnDevice<D, E>> BuildOnDevice<D, E>
    for ConvBnRelu<C, B>
{
    type Built = ConvBnRelu<C::Built, B::Built>;
}

impl<E: Dtype, D: Device<E>, C, B> TensorCollection<E, D> for ConvBnRelu<C, B>
where
    C: TensorCollection<E, D>,
    B: TensorCollection<E, D>,
{
    type To<E2: Dtype, D2: Device<E2>> = ConvBnRelu<C::To<E2, D2>, B::To<E2, D2>>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        // The names of the tuple (conv, bn, Relu).
        visitor.visit_fields(
            (
                Self::module("0", |s| &s.conv, |s| &mut s.conv),
                Self::module("1", |s| &s.bn, |s| &mut s.bn),
            ),
            |(conv, bn)| ConvBnRelu { conv, bn },
        )
    }
}

/// Inference: folded without a tape, layer by layer with one (see [`MainPath`]).
impl<B, H, W, T, P, const IN: usize, const OUT: usize, const K: usize, const S: usize>
    Module<Tensor<(B, H, W, Const<IN>), f32, Cpu, T>>
    for ConvBnRelu<
        Conv2DNoBiasModule<IN, OUT, K, S, P, Identity, f32, Cpu>,
        BatchNormModule<OUT, f32, Cpu>,
    >
where
    B: Dim,
    H: Dim,
    W: Dim,
    T: Tape<f32, Cpu>,
    P: PaddingMode,
{
    type Output = Tensor<(B, usize, usize, Const<OUT>), f32, Cpu, T>;
    type Error = CpuError;

    fn try_forward(
        &self,
        x: Tensor<(B, H, W, Const<IN>), f32, Cpu, T>,
    ) -> Result<Self::Output, CpuError> {
        if !T::OWNS_TAPE {
            return self.conv.forward_folding(x, &self.bn, true);
        }
        self.bn.forward_inference(self.conv.try_forward(x)?, true)
    }
}

impl<B, H, W, T, P, const IN: usize, const OUT: usize, const K: usize, const S: usize>
    ModuleMut<Tensor<(B, H, W, Const<IN>), f32, Cpu, T>>
    for ConvBnRelu<
        Conv2DNoBiasModule<IN, OUT, K, S, P, Identity, f32, Cpu>,
        BatchNormModule<OUT, f32, Cpu>,
    >
where
    B: Dim,
    H: Dim,
    W: Dim,
    T: Tape<f32, Cpu>,
    P: PaddingMode,
{
    type Output = Tensor<(B, usize, usize, Const<OUT>), f32, Cpu, T>;
    type Error = CpuError;

    fn try_forward_mut(
        &mut self,
        x: Tensor<(B, H, W, Const<IN>), f32, Cpu, T>,
    ) -> Result<Self::Output, CpuError> {
        const {
            assert!(S > 0, "ConvBnRelu: the stride must be at least 1");
        }
        let stage = conv_batch_norm(&self.conv, &self.bn);
        let (y, stats) = ops::conv_batch_norm_training(x, stage, true)
            .map_err(|e| forward_error("Conv2D+BatchNormalization", e))?;
        self.bn.update_moving(&stats);
        Ok(y)
    }
}

impl<C: Describe, B: Describe> Describe for ConvBnRelu<C, B> {
    fn describe(
        &self,
        input: FeatureShape,
        rows: &mut Vec<LayerRow>,
    ) -> crate::Result<FeatureShape> {
        let y = self.conv.describe(input, rows)?;
        let y = self.bn.describe(y, rows)?;
        Relu.describe(y, rows)
    }
}

/// The book's `ResidualUnit(filters, strides=1)` (HOML chapter 14): `relu(main(x) + x)`
/// with the [`ResidualMain`] path, for units that keep the size and the channel count.
///
/// ```python
/// class ResidualUnit(keras.layers.Layer):
///     def __init__(self, filters, strides=1, activation="relu", **kwargs):
///         super().__init__(**kwargs)
///         self.activation = keras.activations.get(activation)
///         self.main_layers = [
///             DefaultConv2D(filters, strides=strides),
///             keras.layers.BatchNormalization(),
///             self.activation,
///             DefaultConv2D(filters),
///             keras.layers.BatchNormalization()]
///         self.skip_layers = []
///         if strides > 1:
///             self.skip_layers = [
///                 DefaultConv2D(filters, kernel_size=1, strides=strides),
///                 keras.layers.BatchNormalization()]
/// ```
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let dev = Cpu::seed_from_u64(0);
/// let unit = dev.build_module::<ResidualUnit<64>, f32>();
/// let s = summary(&unit, [56, 56, 64]).unwrap();
/// // Two 3x3x64x64 kernels and two batch normalizations of 64 channels.
/// assert_eq!(s.total_params(), 2 * 3 * 3 * 64 * 64 + 2 * 4 * 64);
/// assert_eq!(s.non_trainable_params(), 2 * 2 * 64);
/// ```
pub type ResidualUnit<const C: usize> =
    Block<ResidualUnitName, (FusedResidual<ResidualMain<C, C, 1>, Identity>,)>;

/// The book's `ResidualUnit(filters, strides=2)`: the main path halves the size and
/// changes the channel count, so the shortcut is a 1x1 convolution with stride 2 and a
/// batch normalization.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let dev = Cpu::seed_from_u64(0);
/// let unit = dev.build_module::<ResidualUnitDown<64, 128>, f32>();
/// let s = summary(&unit, [56, 56, 64]).unwrap();
/// assert_eq!(s.output(), FeatureShape::image(28, 28, 128));
/// assert_eq!(s.total_params(), 3 * 3 * 64 * 128 + 3 * 3 * 128 * 128 + 64 * 128 + 3 * 4 * 128);
/// ```
pub type ResidualUnitDown<const IN: usize, const OUT: usize> = Block<
    ResidualUnitName,
    (
        FusedResidual<
            ResidualMain<IN, OUT, 2>,
            (Conv2DNoBias<IN, OUT, 1, 2, Same>, BatchNorm<OUT>),
        >,
    ),
>;
