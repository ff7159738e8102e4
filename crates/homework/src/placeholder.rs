//! [`Todo`]: the placeholder layer of the model-building exercises, the type-level
//! counterpart of `todo!()`.

use dfdx::nn::modules::{Module, NonMutableModule, ZeroSizedModule};
use dfdx::prelude::*;

use cnnkit_nn::model::{Describe, FeatureShape, LayerRow};

/// A layer still to be written: the placeholder of the exercises in which the student
/// builds a model type from layers (`ex06_residual_unit.ipynb`).
///
/// It fits wherever a layer fits (its output has the type of its input), so a skeleton
/// such as `(Residual<(Todo, Todo), Todo>, Relu)` compiles before any layer is chosen. A
/// summary shows it as a row of kind `Todo` that keeps the shape; the checkers report a
/// model that still contains one as not done yet, without running it. Running it panics
/// like `todo!()`.
///
/// ```
/// use cnnkit_homework::Todo;
/// use cnnkit_nn::prelude::*;
/// type Skeleton = (Conv2D<3, 8, 3, 1, Same>, Todo, Relu);
/// let model = Cpu::default().build_module::<Skeleton, f32>();
/// let s = summary(&model, [5, 5, 3]).unwrap();
/// assert_eq!(s.layers[1].kind, "Todo");
/// assert_eq!(s.output(), FeatureShape::image(5, 5, 8));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Todo;

impl ZeroSizedModule for Todo {}
impl NonMutableModule for Todo {}

impl<S: Shape, T: Tape<f32, Cpu>> Module<Tensor<S, f32, Cpu, T>> for Todo {
    type Output = Tensor<S, f32, Cpu, T>;
    type Error = CpuError;

    fn try_forward(&self, _x: Tensor<S, f32, Cpu, T>) -> Result<Self::Output, CpuError> {
        todo!("the placeholder layer Todo: replace it with a layer (Todo를 층으로 바꾸세요)")
    }
}

impl Describe for Todo {
    fn describe(
        &self,
        input: FeatureShape,
        rows: &mut Vec<LayerRow>,
    ) -> cnnkit_nn::Result<FeatureShape> {
        let n = rows.iter().filter(|r| r.kind == "Todo").count();
        rows.push(LayerRow {
            name: if n == 0 {
                "todo".to_string()
            } else {
                format!("todo_{n}")
            },
            kind: "Todo",
            output: input,
            params: 0,
            non_trainable: 0,
            config: "placeholder: replace it with a layer".into(),
            stops_gradient: false,
        });
        Ok(input)
    }
}
