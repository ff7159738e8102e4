//! How the NN crate's results look in a notebook: a [`History`] as learning curves, a
//! [`Summary`] as Keras' text table. Both implement [`RichOutput`], so a cell that ends
//! with `history` or `summary(&model, ..)?` shows them.

use cnnkit_nn::model::Summary;
use cnnkit_nn::train::History;

use crate::error::Result;
use crate::plot::{learning_curves, RichOutput, Svg};

/// Learning curves of every series a [`History`] recorded (validation dashed), like
/// `pd.DataFrame(history.history).plot()` in the lecture.
///
/// ```
/// use cnnkit_nn::train::{EpochStats, History};
/// use cnnkit_viz::show::HistoryPlot;
/// let e = |loss, accuracy| EpochStats { loss, accuracy, val_loss: Some(loss + 0.1), val_accuracy: Some(accuracy - 0.05), seconds: 1.0 };
/// let history = History { epochs: vec![e(0.6, 0.78), e(0.4, 0.86), e(0.3, 0.89)], ..History::default() };
/// let svg = history.plot().unwrap();
/// assert!(svg.as_str().contains("val_accuracy"));
/// ```
pub trait HistoryPlot {
    /// The learning curves as an SVG chart.
    fn plot(&self) -> Result<Svg>;
}

impl HistoryPlot for History {
    fn plot(&self) -> Result<Svg> {
        let names = ["loss", "val_loss", "accuracy", "val_accuracy"];
        let series: Vec<(&str, Vec<f32>)> = names
            .iter()
            .map(|n| (*n, self.series(n)))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        let refs: Vec<(&str, &[f32])> = series.iter().map(|(n, v)| (*n, v.as_slice())).collect();
        learning_curves(&refs, "epoch")
    }
}

impl RichOutput for History {
    /// The learning curves, or the epochs as text when there is nothing to draw.
    fn mime_bundle(&self) -> Vec<(&'static str, String)> {
        match self.plot() {
            Ok(svg) => svg.mime_bundle(),
            Err(e) => vec![("text/plain", format!("{self:?} (no chart: {e})"))],
        }
    }
}

impl RichOutput for Summary {
    /// The table as plain text, like Keras' `model.summary()`.
    fn mime_bundle(&self) -> Vec<(&'static str, String)> {
        vec![("text/plain", self.to_string())]
    }
}
