//! Charts with axes, drawn by plotters into an SVG string: learning curves, line and
//! scatter plots, horizontal bar charts; and heatmaps (confusion matrices).
//!
//! Every function exists twice: as a free function using [`Style::default()`] and as a
//! method of [`Style`] for another size or palette. Drawing errors become
//! [`crate::Error::Plot`]; nothing panics.

use std::ops::Range;

use ndarray::{Array2, ArrayView2, AsArray, Ix2};
use plotters::coord::ranged1d::{IntoSegmentedCoord, SegmentValue};
use plotters::coord::Shift;
use plotters::prelude::{
    ChartBuilder, Circle, DashedLineSeries, DrawingArea, EmptyElement, LineSeries, PathElement,
    Rectangle, SVGBackend, Text, WHITE,
};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color as _, FontDesc, FontFamily, FontStyle, RGBColor, ShapeStyle};

use super::canvas::{fmt_num, fmt_thousands, text_width, Canvas, Paint, TextStyle};
use super::images::ColorMap;
use super::output::Svg;
use super::style::{Rgb, Style};
use crate::error::{Error, Result};

/// Numbers that charts accept: all primitive integers and floats, so that parameter counts
/// (`usize`) and losses (`f32`) can be passed as they are.
pub trait Number: Copy {
    /// The value as `f64`.
    ///
    /// ```
    /// use cnnkit_viz::plot::Number;
    /// assert_eq!(3_usize.to_f64(), 3.0);
    /// ```
    fn to_f64(self) -> f64;
}

macro_rules! impl_number {
    ($($t:ty),*) => { $(impl Number for $t { fn to_f64(self) -> f64 { self as f64 } })* };
}
impl_number!(f32, f64, u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

/// plotters' SVG backend writes `font-size = size / 1.24`; this undoes it so that sizes
/// in [`Style`] are pixels.
const PLOTTERS_FONT_SCALE: f64 = 1.24;

/// plotters rounds coordinates to whole pixels, which makes sloped lines look stepped.
/// Charts are therefore drawn at `SS` times their size (all lengths below are multiplied
/// by `SS` through [`ss`]) and shown at their nominal size through the SVG `viewBox`.
const SS: u32 = 2;

/// A length in drawing pixels (see [`SS`]).
fn ss(v: i32) -> i32 {
    v * SS as i32
}

/// Draws with plotters at `SS` times `size`, shown at `size` ([`Svg::draw_scaled`]); a
/// drawing error names the chart.
fn draw_supersampled<F>(what: &str, size: (u32, u32), draw: F) -> Result<Svg>
where
    F: FnOnce(
        DrawingArea<SVGBackend<'_>, Shift>,
    ) -> std::result::Result<(), Box<dyn std::error::Error>>,
{
    Svg::draw_scaled(size, SS, draw).map_err(|e| match e {
        Error::Plot(m) => Error::Plot(format!("{what}: {m}")),
        other => other,
    })
}

/// The drawing area plotters hands to a chart closure.
type Root<'a> = DrawingArea<SVGBackend<'a>, Shift>;
/// What a chart closure returns (as in plotters' examples).
type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// One line (or set of points) to draw.
struct Series {
    name: String,
    points: Vec<(f64, f64)>,
    color: Rgb,
    dashed: bool,
    markers: bool,
    line: bool,
}

/// `lo..hi` widened by 5 % on each side (or by 1 if flat).
fn padded(lo: f64, hi: f64) -> Range<f64> {
    let span = hi - lo;
    if span <= f64::EPSILON * hi.abs().max(1.0) {
        (lo - 0.5)..(hi + 0.5)
    } else {
        (lo - 0.05 * span)..(hi + 0.05 * span)
    }
}

/// Smallest and largest finite value over all series, or an error naming the chart.
fn y_extent(what: &str, series: &[Series]) -> Result<(f64, f64)> {
    let (lo, hi) = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| {
            (lo.min(y), hi.max(y))
        });
    if lo > hi {
        return Err(Error::invalid(
            what,
            "no finite values to plot (all empty, NaN or infinite)",
        ));
    }
    Ok((lo, hi))
}

/// Named `y` series plotted against `x = 1, 2, ..., n`; non-finite values are skipped.
fn epoch_series<S: AsRef<str>>(
    what: &str,
    series: &[(S, &[f32])],
    style: &Style,
) -> Result<Vec<Series>> {
    if series.is_empty() {
        return Err(Error::invalid(what, "no series given"));
    }
    series
        .iter()
        .enumerate()
        .map(|(i, (name, ys))| {
            if ys.is_empty() {
                return Err(Error::invalid(
                    what,
                    format!("series `{}` is empty", name.as_ref()),
                ));
            }
            Ok(Series {
                name: name.as_ref().to_string(),
                points: ys
                    .iter()
                    .enumerate()
                    .filter(|(_, y)| y.is_finite())
                    .map(|(j, &y)| ((j + 1) as f64, y as f64))
                    .collect(),
                color: style.color(i),
                dashed: false,
                markers: ys.len() <= 30,
                line: true,
            })
        })
        .collect()
}

impl Style {
    fn font(&self, px: f64) -> plotters::style::TextStyle<'static> {
        FontDesc::new(
            FontFamily::Name(self.font_family),
            px * PLOTTERS_FONT_SCALE * SS as f64,
            FontStyle::Normal,
        )
        .into()
    }

    /// Width of the legend column right of the plot (0 without legend).
    fn legend_width(&self, series: &[Series]) -> u32 {
        if series.len() < 2 && series.iter().all(|s| s.name.is_empty()) {
            return 0;
        }
        let w = series
            .iter()
            .map(|s| text_width(&s.name, self.label_size))
            .fold(0.0, f64::max);
        (w + 52.0).ceil() as u32
    }

    /// The common x–y chart: axes, grid, series, legend on the right outside the plot.
    #[allow(clippy::too_many_arguments)]
    fn xy_chart(
        &self,
        what: &str,
        series: &[Series],
        x_range: Range<f64>,
        y_range: Range<f64>,
        x_label: &str,
        y_label: &str,
        title: &str,
        integer_x: bool,
    ) -> Result<Svg> {
        let legend_w = self.legend_width(series);
        let draw = |root: Root<'_>| -> DrawResult {
            root.fill(&WHITE)?;
            let (plot_area, legend_area) =
                root.split_horizontally((self.width.saturating_sub(legend_w) * SS) as i32);
            let mut builder = ChartBuilder::on(&plot_area);
            builder
                .margin_top(ss(if title.is_empty() { 14 } else { 8 }))
                .margin_right(ss(if legend_w == 0 { 20 } else { 8 }))
                .margin_left(ss(8))
                .margin_bottom(ss(8))
                .x_label_area_size(ss(if x_label.is_empty() { 26 } else { 48 }))
                .y_label_area_size(ss(if y_label.is_empty() { 50 } else { 70 }));
            if !title.is_empty() {
                builder.caption(title, self.font(self.title_size));
            }
            let mut chart = builder.build_cartesian_2d(x_range.clone(), y_range.clone())?;
            let int_fmt = |x: &f64| {
                if (x - x.round()).abs() < 1e-9 {
                    format!("{}", x.round() as i64)
                } else {
                    String::new()
                }
            };
            let num_fmt = |y: &f64| fmt_num(*y, 3);
            let mut mesh = chart.configure_mesh();
            mesh.x_desc(x_label)
                .y_desc(y_label)
                .label_style(self.font(self.tick_size))
                .axis_desc_style(self.font(self.label_size))
                .axis_style(ShapeStyle::from(&RGBColor(90, 90, 90)).stroke_width(SS))
                .bold_line_style(ShapeStyle::from(&RGBColor(220, 220, 220)).stroke_width(SS))
                .light_line_style(RGBColor(242, 242, 242))
                .y_label_formatter(&num_fmt)
                .y_labels(8);
            if integer_x {
                let n = (x_range.end - x_range.start).round() as usize + 1;
                mesh.x_labels(n.clamp(2, 12)).x_label_formatter(&int_fmt);
            } else {
                mesh.x_labels(10).x_label_formatter(&num_fmt);
            }
            mesh.draw()?;
            for s in series {
                let color = s.color.to_plotters();
                let line_style = ShapeStyle::from(&color).stroke_width(2 * SS);
                if s.line && s.dashed {
                    chart.draw_series(DashedLineSeries::new(
                        s.points.clone(),
                        ss(7),
                        ss(5),
                        line_style,
                    ))?;
                } else if s.line {
                    chart.draw_series(LineSeries::new(s.points.clone(), line_style))?;
                }
                if s.markers {
                    let r = ss(if s.line { 3 } else { 4 });
                    chart
                        .draw_series(s.points.iter().map(|&p| Circle::new(p, r, color.filled())))?;
                }
            }
            // Legend: a short line sample and the name, one row per series.
            if legend_w > 0 {
                let top = ss(if title.is_empty() { 24 } else { 48 });
                for (i, s) in series.iter().enumerate() {
                    let y = top + ss(24) * i as i32;
                    let color = s.color.to_plotters();
                    let st = ShapeStyle::from(&color).stroke_width(2 * SS);
                    if s.line && s.dashed {
                        // Dashes with clear gaps; the middle one gives way to the marker
                        // (a marker over a two-dash sample made it look solid).
                        let dashes: &[(i32, i32)] = if s.markers {
                            &[(2, 8), (24, 30)]
                        } else {
                            &[(2, 8), (13, 19), (24, 30)]
                        };
                        for &(a, b) in dashes {
                            legend_area
                                .draw(&PathElement::new(vec![(ss(a), y), (ss(b), y)], st))?;
                        }
                    } else if s.line {
                        legend_area.draw(&PathElement::new(vec![(ss(4), y), (ss(28), y)], st))?;
                    }
                    if s.markers {
                        legend_area.draw(&Circle::new((ss(16), y), ss(3), color.filled()))?;
                    }
                    legend_area.draw(&Text::new(
                        s.name.clone(),
                        (ss(36), y),
                        self.font(self.label_size)
                            .pos(Pos::new(HPos::Left, VPos::Center)),
                    ))?;
                }
            }
            Ok(())
        };
        draw_supersampled(what, (self.width, self.height), draw)
    }

    /// Named series against `x = 1, 2, …, n` (epochs are counted from 1, as Keras prints
    /// them), with a legend. Non-finite values (a loss that became NaN) are skipped.
    ///
    /// ```
    /// let loss = vec![0.9_f32, 0.6, 0.45, 0.4];
    /// let fig = cnnkit_viz::plot::Style::default().figsize(500, 300)
    ///     .line_chart(&[("손실", &loss[..])], "에포크", "손실", "학습 곡선")?;
    /// assert!(fig.as_str().contains("학습 곡선"));
    /// # Ok::<(), cnnkit_viz::Error>(())
    /// ```
    pub fn line_chart<S: AsRef<str>>(
        &self,
        series: &[(S, &[f32])],
        x_label: &str,
        y_label: &str,
        title: &str,
    ) -> Result<Svg> {
        let s = epoch_series("line_chart", series, self)?;
        let (lo, hi) = y_extent("line_chart", &s)?;
        let n = series.iter().map(|(_, y)| y.len()).max().unwrap_or(1);
        let x = if n == 1 { 0.5..1.5 } else { 1.0..n as f64 };
        self.xy_chart(
            "line_chart",
            &s,
            x,
            padded(lo, hi),
            x_label,
            y_label,
            title,
            true,
        )
    }

    /// Keras-`History`-like learning curves: each series against the epoch (from 1), the
    /// y axis from 0 (to at least 1), and every `val_…` series drawn dashed in the colour
    /// of the training series it belongs to — as `pd.DataFrame(history.history).plot()`
    /// does in the book.
    ///
    /// ```
    /// let (loss, val_loss) = (vec![0.8_f32, 0.5, 0.4], vec![0.7_f32, 0.55, 0.5]);
    /// let (acc, val_acc) = (vec![0.7_f32, 0.82, 0.86], vec![0.74_f32, 0.8, 0.83]);
    /// let fig = cnnkit_viz::plot::Style::default().learning_curves(
    ///     &[("loss", &loss[..]), ("val_loss", &val_loss[..]),
    ///       ("accuracy", &acc[..]), ("val_accuracy", &val_acc[..])],
    ///     "epoch",
    /// )?;
    /// assert!(fig.as_str().contains("val_accuracy"));
    /// assert!(fig.as_str().contains("stroke-dasharray") || fig.as_str().matches("<polyline").count() > 4);
    /// # Ok::<(), cnnkit_viz::Error>(())
    /// ```
    pub fn learning_curves<S: AsRef<str>>(
        &self,
        history: &[(S, &[f32])],
        x_label: &str,
    ) -> Result<Svg> {
        let mut s = epoch_series("learning_curves", history, self)?;
        // Colour by metric: `val_x` takes the colour of `x`; metrics keep palette order.
        let bases: Vec<String> = s
            .iter()
            .map(|s| s.name.strip_prefix("val_").unwrap_or(&s.name).to_string())
            .collect();
        let mut order: Vec<&str> = Vec::new();
        for b in &bases {
            if !order.contains(&b.as_str()) {
                order.push(b);
            }
        }
        for (series, base) in s.iter_mut().zip(&bases) {
            let k = order.iter().position(|o| o == base).unwrap_or(0);
            series.color = self.color(k);
            series.dashed = series.name.starts_with("val_");
        }
        let (_, hi) = y_extent("learning_curves", &s)?;
        let (lo, _) = y_extent("learning_curves", &s)?;
        let y = lo.min(0.0)..hi.max(1.0) * 1.02;
        let n = history.iter().map(|(_, y)| y.len()).max().unwrap_or(1);
        let x = if n == 1 { 0.5..1.5 } else { 1.0..n as f64 };
        self.xy_chart("learning_curves", &s, x, y, x_label, "", "", true)
    }

    /// A line through the points `(x[i], y[i])`, e.g. an activation function.
    ///
    /// ```
    /// let x: Vec<f32> = (-30..=30).map(|i| i as f32 / 10.0).collect();
    /// let y: Vec<f32> = x.iter().map(|v| v.max(0.0)).collect();
    /// let fig = cnnkit_viz::plot::Style::default().line(&x, &y, "ReLU")?;
    /// assert!(fig.as_str().contains("ReLU"));
    /// # Ok::<(), cnnkit_viz::Error>(())
    /// ```
    pub fn line(&self, x: &[f32], y: &[f32], title: &str) -> Result<Svg> {
        self.xy_points("line", x, y, title, true)
    }

    /// Points `(x[i], y[i])` as dots.
    ///
    /// ```
    /// let fig = cnnkit_viz::plot::Style::default().scatter(&[1.0, 2.0, 3.0], &[2.0, 1.0, 3.0], "점")?;
    /// assert_eq!(fig.as_str().matches("<circle").count(), 3);
    /// # Ok::<(), cnnkit_viz::Error>(())
    /// ```
    pub fn scatter(&self, x: &[f32], y: &[f32], title: &str) -> Result<Svg> {
        self.xy_points("scatter", x, y, title, false)
    }

    fn xy_points(&self, what: &str, x: &[f32], y: &[f32], title: &str, line: bool) -> Result<Svg> {
        if x.len() != y.len() {
            return Err(Error::invalid(
                what,
                format!(
                    "x has {} values but y has {}; they must match",
                    x.len(),
                    y.len()
                ),
            ));
        }
        let points: Vec<(f64, f64)> = x
            .iter()
            .zip(y)
            .filter(|(a, b)| a.is_finite() && b.is_finite())
            .map(|(&a, &b)| (a as f64, b as f64))
            .collect();
        let s = vec![Series {
            name: String::new(),
            points,
            color: self.color(0),
            dashed: false,
            markers: !line,
            line,
        }];
        let (ylo, yhi) = y_extent(what, &s)?;
        let (xlo, xhi) = s[0]
            .points
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                (lo.min(p.0), hi.max(p.0))
            });
        let xr = if line && xhi > xlo {
            xlo..xhi
        } else {
            padded(xlo, xhi)
        };
        self.xy_chart(what, &s, xr, padded(ylo, yhi), "x", "y", title, false)
    }

    /// Plots the function `f` over `range` (201 evenly spaced points).
    ///
    /// ```
    /// let fig = cnnkit_viz::plot::Style::default().function(|x| 1.0 / (1.0 + (-x).exp()), -6.0..6.0, "시그모이드")?;
    /// assert!(fig.as_str().contains("시그모이드"));
    /// # Ok::<(), cnnkit_viz::Error>(())
    /// ```
    pub fn function(&self, f: impl Fn(f32) -> f32, range: Range<f32>, title: &str) -> Result<Svg> {
        if range.end.partial_cmp(&range.start) != Some(std::cmp::Ordering::Greater) {
            return Err(Error::invalid(
                "function range",
                format!(
                    "{:?} is empty; write it as start..end with start < end",
                    range
                ),
            ));
        }
        let x: Vec<f32> = (0..=200)
            .map(|i| range.start + (range.end - range.start) * i as f32 / 200.0)
            .collect();
        let y: Vec<f32> = x.iter().map(|&v| f(v)).collect();
        self.line(&x, &y, title)
    }

    /// A horizontal bar chart: one bar per label, top to bottom in the given order, with the
    /// value written at the end of each bar (integers with thousands separators). Long
    /// labels such as `conv2d_1 (Conv2D)` fit on the left.
    ///
    /// ```
    /// let layers = ["conv2d", "conv2d_1", "conv2d_2", "dense", "dense_1", "dense_2"];
    /// let params = [3_200_usize, 73_856, 147_584, 295_040, 8_256, 650];
    /// let fig = cnnkit_viz::plot::Style::default().bar_chart(&layers, &params, "층별 파라미터 수")?;
    /// assert!(fig.as_str().contains("295,040"));
    /// # Ok::<(), cnnkit_viz::Error>(())
    /// ```
    pub fn bar_chart<S: AsRef<str>, T: Number>(
        &self,
        labels: &[S],
        values: &[T],
        title: &str,
    ) -> Result<Svg> {
        let what = "bar_chart";
        if labels.len() != values.len() {
            return Err(Error::invalid(
                what,
                format!(
                    "{} labels but {} values; give one value per label",
                    labels.len(),
                    values.len()
                ),
            ));
        }
        if labels.is_empty() {
            return Err(Error::invalid(what, "no bars to draw"));
        }
        let vals: Vec<f64> = values.iter().map(|v| v.to_f64()).collect();
        if let Some(i) = vals.iter().position(|v| !v.is_finite()) {
            return Err(Error::invalid(
                what,
                format!("the value of `{}` is {}", labels[i].as_ref(), vals[i]),
            ));
        }
        let integers = vals.iter().all(|v| v.fract() == 0.0);
        let fmt = |v: f64| {
            if integers {
                fmt_thousands(v as i64)
            } else {
                fmt_num(v, 3)
            }
        };
        let n = labels.len();
        let names: Vec<String> = labels.iter().map(|l| l.as_ref().to_string()).collect();
        let label_w = names
            .iter()
            .map(|l| text_width(l, self.tick_size))
            .fold(0.0, f64::max);
        let y_area = (label_w + 16.0).clamp(40.0, self.width as f64 * 0.45) as u32;
        let value_w = vals
            .iter()
            .map(|&v| text_width(&fmt(v), self.tick_size))
            .fold(0.0, f64::max);
        let lo = vals.iter().copied().fold(0.0, f64::min);
        let hi = vals.iter().copied().fold(0.0, f64::max);
        // Leave room right of the longest bar for its value.
        let plot_w = (self.width as f64 - y_area as f64 - 40.0).max(50.0);
        let room = ((value_w + 12.0) / plot_w).min(0.6);
        let span = (hi - lo).max(f64::MIN_POSITIVE);
        let x_range = lo..(hi + span * room / (1.0 - room)).max(lo + 1.0);
        let color = self.color(0).to_plotters();
        let draw = |root: Root<'_>| -> DrawResult {
            root.fill(&WHITE)?;
            let mut builder = ChartBuilder::on(&root);
            builder
                .margin(ss(10))
                .margin_right(ss(20))
                .x_label_area_size(ss(32))
                .y_label_area_size(y_area * SS);
            if !title.is_empty() {
                builder.caption(title, self.font(self.title_size));
            }
            // An integer range a..b holds a, ..., b (both ends): n bars need 0..n - 1.
            let mut chart = builder
                .build_cartesian_2d(x_range.clone(), (0..(n - 1) as u32).into_segmented())?;
            // Segment `k` from the bottom holds bar `n - 1 - k`, so the first label is on top.
            let y_fmt = |v: &SegmentValue<u32>| match v {
                SegmentValue::CenterOf(k) if (*k as usize) < n => {
                    names[n - 1 - *k as usize].clone()
                }
                _ => String::new(),
            };
            let x_fmt = |v: &f64| {
                if integers {
                    fmt_thousands(v.round() as i64)
                } else {
                    fmt_num(*v, 3)
                }
            };
            chart
                .configure_mesh()
                .disable_y_mesh()
                .axis_style(ShapeStyle::from(&RGBColor(90, 90, 90)).stroke_width(SS))
                .bold_line_style(ShapeStyle::from(&RGBColor(225, 225, 225)).stroke_width(SS))
                .light_line_style(RGBColor(245, 245, 245))
                .label_style(self.font(self.tick_size))
                .y_labels(n)
                .y_label_formatter(&y_fmt)
                .x_labels(6)
                .x_label_formatter(&x_fmt)
                .draw()?;
            chart.draw_series(vals.iter().enumerate().map(|(i, &v)| {
                let k = (n - 1 - i) as u32;
                let mut bar = Rectangle::new(
                    [
                        (0.0_f64.max(lo), SegmentValue::Exact(k)),
                        (v, SegmentValue::Exact(k + 1)),
                    ],
                    color.filled(),
                );
                bar.set_margin(ss(4) as u32, ss(4) as u32, 0, 0);
                bar
            }))?;
            chart.draw_series(vals.iter().enumerate().map(|(i, &v)| {
                let k = (n - 1 - i) as u32;
                EmptyElement::at((v.max(0.0), SegmentValue::CenterOf(k)))
                    + Text::new(
                        fmt(v),
                        (ss(5), 0),
                        self.font(self.tick_size)
                            .pos(Pos::new(HPos::Left, VPos::Center)),
                    )
            }))?;
            Ok(())
        };
        draw_supersampled(what, (self.width, self.height), draw)
    }

    /// A heatmap with the value written in each cell and labels on both axes.
    /// Colours go from white (smallest) to dark blue (largest).
    ///
    /// # Shapes
    /// `values`: `(rows, cols)`; `row_labels` has `rows` entries, `col_labels` `cols`
    /// (or either is empty for no labels).
    ///
    /// ```
    /// let m = ndarray::array![[1.0_f32, 0.5], [0.25, 0.0]];
    /// let fig = cnnkit_viz::plot::Style::default().heatmap(&m, &["a", "b"], &["c", "d"], "")?;
    /// assert!(fig.as_str().contains(">0.25</text>"));
    /// # Ok::<(), cnnkit_viz::Error>(())
    /// ```
    pub fn heatmap<'a, T, S>(
        &self,
        values: impl AsArray<'a, T, Ix2>,
        row_labels: &[S],
        col_labels: &[S],
        title: &str,
    ) -> Result<Svg>
    where
        T: Number + 'a,
        S: AsRef<str>,
    {
        let values: ArrayView2<'a, T> = values.into();
        let v = values.mapv(Number::to_f64);
        let (lo, hi) = v
            .iter()
            .filter(|x| x.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                (lo.min(x), hi.max(x))
            });
        let span = if hi > lo { hi - lo } else { 1.0 };
        let t = v.mapv(|x| (x - lo) / span);
        let integers = v.iter().all(|x| x.fract() == 0.0);
        let text = v.mapv(|x| {
            if integers {
                format!("{}", x as i64)
            } else {
                fmt_num(x, 2)
            }
        });
        matrix_figure(
            self, "heatmap", &t, &text, row_labels, col_labels, "", "", title,
        )
    }

    /// A confusion matrix: counts in the cells, true classes down the side, predicted
    /// classes along the bottom. Colours show each row's share (the fraction of that true
    /// class given each prediction), so the diagonal is dark when the model is right, even
    /// for rare classes.
    ///
    /// # Shapes
    /// `counts`: `(classes, classes)`, `counts[[true, predicted]]`, as scikit-learn's
    /// `confusion_matrix`.
    ///
    /// ```
    /// let cm = ndarray::array![[50_usize, 2], [5, 43]];
    /// let fig = cnnkit_viz::plot::Style::default().confusion_matrix(&cm, &["T-shirt/top", "Trouser"])?;
    /// assert!(fig.as_str().contains(">43</text>") && fig.as_str().contains("Trouser"));
    /// # Ok::<(), cnnkit_viz::Error>(())
    /// ```
    pub fn confusion_matrix<'a, T, S>(
        &self,
        counts: impl AsArray<'a, T, Ix2>,
        class_names: &[S],
    ) -> Result<Svg>
    where
        T: Number + 'a,
        S: AsRef<str>,
    {
        let counts: ArrayView2<'a, T> = counts.into();
        let (r, c) = counts.dim();
        if r != c {
            return Err(Error::invalid(
                "confusion_matrix",
                format!("a confusion matrix is square (classes × classes); got {r}×{c}"),
            ));
        }
        let v = counts.mapv(Number::to_f64);
        let mut t = Array2::<f64>::zeros((r, c));
        for (i, row) in v.rows().into_iter().enumerate() {
            let sum: f64 = row.iter().sum();
            if sum > 0.0 {
                t.row_mut(i).assign(&row.mapv(|x| x / sum));
            }
        }
        let text = v.mapv(|x| {
            if x.fract() == 0.0 {
                format!("{}", x as i64)
            } else {
                fmt_num(x, 2)
            }
        });
        matrix_figure(
            self,
            "confusion_matrix",
            &t,
            &text,
            class_names,
            class_names,
            "실제 클래스",
            "예측 클래스",
            "",
        )
    }
}

/// Draws a matrix of coloured cells with text, row labels on the left, column labels
/// rotated under the matrix, optional axis titles and a chart title.
#[allow(clippy::too_many_arguments)]
fn matrix_figure<S: AsRef<str>>(
    style: &Style,
    what: &str,
    t: &Array2<f64>,
    text: &Array2<String>,
    row_labels: &[S],
    col_labels: &[S],
    row_title: &str,
    col_title: &str,
    title: &str,
) -> Result<Svg> {
    let (rows, cols) = t.dim();
    if rows == 0 || cols == 0 {
        return Err(Error::invalid(what, "the matrix is empty"));
    }
    for (labels, n, which) in [(row_labels, rows, "row"), (col_labels, cols, "column")] {
        if !labels.is_empty() && labels.len() != n {
            return Err(Error::invalid(
                what,
                format!(
                    "{n} {which}s but {} {which} labels; give one per {which}, or none",
                    labels.len()
                ),
            ));
        }
    }
    let tick = style.tick_size;
    // Cells: as large as fits the style's width, between 22 and 56 pixels.
    let longest_text = text.iter().map(|s| text_width(s, tick)).fold(0.0, f64::max);
    let row_w = row_labels
        .iter()
        .map(|l| text_width(l.as_ref(), tick))
        .fold(0.0, f64::max);
    let col_w = col_labels
        .iter()
        .map(|l| text_width(l.as_ref(), tick))
        .fold(0.0, f64::max);
    let axis_title_w = if row_title.is_empty() {
        0.0
    } else {
        style.label_size + 12.0
    };
    let left = axis_title_w + row_w + 12.0;
    let avail = style.width as f64 - left - 30.0;
    let cell = (avail / cols as f64)
        .min(56.0)
        .max((longest_text + 8.0).max(22.0));
    let grid_w = cell * cols as f64;
    let grid_h = cell * rows as f64;
    // Short column labels fit under their cell; longer ones are rotated by -45 degrees:
    // they need about 0.71 × their length below the grid, and the first one reaches left
    // of the grid by the same amount.
    let rotate = col_w > cell - 4.0;
    let diag = if rotate { 0.71 * col_w } else { 0.0 };
    let left = left.max(diag - cell / 2.0 + 10.0);
    let top = if title.is_empty() {
        12.0
    } else {
        style.title_size + 22.0
    };
    let bottom_labels = if col_labels.is_empty() {
        8.0
    } else if rotate {
        diag + 0.71 * tick + 14.0
    } else {
        tick + 14.0
    };
    let bottom_title = if col_title.is_empty() {
        6.0
    } else {
        style.label_size + 14.0
    };
    let width = (left + grid_w + 20.0).max(style.width as f64 * 0.5);
    let height = top + grid_h + bottom_labels + bottom_title;
    let mut c = Canvas::new(width, height);
    if !title.is_empty() {
        c.text(
            left + grid_w / 2.0,
            top / 2.0,
            title,
            &TextStyle::new(style.title_size).middle(),
        );
    }
    let number_size = tick.min(cell * 0.42);
    for ((i, j), &tv) in t.indexed_iter() {
        let x = left + cell * j as f64;
        let y = top + cell * i as f64;
        let fill = ColorMap::Blues.color(tv as f32);
        c.rect(x, y, cell, cell, &Paint::fill(fill).stroke(Rgb::WHITE, 1.0));
        c.text(
            x + cell / 2.0,
            y + cell / 2.0,
            &text[[i, j]],
            &TextStyle::new(number_size)
                .middle()
                .color(fill.text_color()),
        );
    }
    c.rect(
        left,
        top,
        grid_w,
        grid_h,
        &Paint::outline(Rgb(90, 90, 90), 1.0),
    );
    for (i, l) in row_labels.iter().enumerate() {
        c.text(
            left - 6.0,
            top + cell * (i as f64 + 0.5),
            l.as_ref(),
            &TextStyle::new(tick).end(),
        );
    }
    for (j, l) in col_labels.iter().enumerate() {
        let x = left + cell * (j as f64 + 0.5);
        if rotate {
            c.text(
                x,
                top + grid_h + 8.0,
                l.as_ref(),
                &TextStyle::new(tick).end().rotate(-45.0),
            );
        } else {
            c.text(
                x,
                top + grid_h + 6.0 + tick / 2.0,
                l.as_ref(),
                &TextStyle::new(tick).middle(),
            );
        }
    }
    if !row_title.is_empty() {
        c.text(
            style.label_size * 0.7,
            top + grid_h / 2.0,
            row_title,
            &TextStyle::new(style.label_size).middle().rotate(-90.0),
        );
    }
    if !col_title.is_empty() {
        c.text(
            left + grid_w / 2.0,
            height - bottom_title / 2.0 - 2.0,
            col_title,
            &TextStyle::new(style.label_size).middle(),
        );
    }
    Ok(c.finish())
}

/// [`Style::line_chart`] with the default style.
///
/// ```
/// let acc = vec![0.8_f32, 0.86, 0.88];
/// let fig = cnnkit_viz::plot::line_chart(&[("accuracy", &acc[..])], "epoch", "", "")?;
/// assert!(fig.as_str().contains("accuracy"));
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn line_chart<S: AsRef<str>>(
    series: &[(S, &[f32])],
    x_label: &str,
    y_label: &str,
    title: &str,
) -> Result<Svg> {
    Style::default().line_chart(series, x_label, y_label, title)
}

/// [`Style::learning_curves`] with the default style.
///
/// ```
/// let (loss, val_loss) = (vec![0.6_f32, 0.4], vec![0.5_f32, 0.45]);
/// let fig = cnnkit_viz::plot::learning_curves(&[("loss", &loss[..]), ("val_loss", &val_loss[..])], "epoch")?;
/// assert!(fig.as_str().contains("val_loss") && fig.as_str().contains("epoch"));
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn learning_curves<S: AsRef<str>>(history: &[(S, &[f32])], x_label: &str) -> Result<Svg> {
    Style::default().learning_curves(history, x_label)
}

/// [`Style::line`] with the default style.
///
/// ```
/// let fig = cnnkit_viz::plot::line(&[0.0, 1.0], &[1.0, 0.0], "")?;
/// assert!(fig.as_str().contains("<polyline"));
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn line(x: &[f32], y: &[f32], title: &str) -> Result<Svg> {
    Style::default().line(x, y, title)
}

/// [`Style::scatter`] with the default style.
///
/// ```
/// assert!(cnnkit_viz::plot::scatter(&[1.0], &[1.0, 2.0], "").is_err()); // lengths differ
/// ```
pub fn scatter(x: &[f32], y: &[f32], title: &str) -> Result<Svg> {
    Style::default().scatter(x, y, title)
}

/// [`Style::function`] with the default style.
///
/// ```
/// let fig = cnnkit_viz::plot::function(|x| x.max(0.0), -3.0..3.0, "ReLU")?;
/// assert!(fig.as_str().contains(">ReLU") || fig.as_str().contains("ReLU\n"));
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn function(f: impl Fn(f32) -> f32, range: Range<f32>, title: &str) -> Result<Svg> {
    Style::default().function(f, range, title)
}

/// [`Style::bar_chart`] with the default style.
///
/// ```
/// let fig = cnnkit_viz::plot::bar_chart(&["Conv2D", "Dense"], &[3_200_u32, 1_180_160], "파라미터 수")?;
/// assert!(fig.as_str().contains("1,180,160"));
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn bar_chart<S: AsRef<str>, T: Number>(labels: &[S], values: &[T], title: &str) -> Result<Svg> {
    Style::default().bar_chart(labels, values, title)
}

/// A small matrix (a kernel, an image patch, a feature map) drawn as square cells with its
/// numbers written in them and no axis labels, sized to the matrix (52 pixels per cell).
///
/// ```
/// let k = ndarray::array![[0.0_f32, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]];
/// let fig = cnnkit_viz::plot::matrix(&k, "라플라시안 커널")?;
/// assert_eq!(fig.as_str().matches(">1</text>").count(), 4);
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
///
/// # Errors
/// As [`Style::heatmap`].
pub fn matrix(values: &ndarray::Array2<f32>, title: &str) -> Result<Svg> {
    let side = 52 * values.nrows().max(values.ncols()) as u32;
    let no_labels: [&str; 0] = [];
    Style::default()
        .figsize(side + 110, side + 80)
        .heatmap(values, &no_labels, &no_labels, title)
}

/// [`Style::heatmap`] with the default style.
///
/// # Shapes
/// `values`: `(rows, cols)`.
///
/// ```
/// let m = ndarray::Array2::<f32>::eye(3);
/// let fig = cnnkit_viz::plot::heatmap(&m, &["a", "b", "c"], &["a", "b", "c"], "단위 행렬")?;
/// assert_eq!(fig.as_str().matches(">1</text>").count(), 3);
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn heatmap<'a, T, S>(
    values: impl AsArray<'a, T, Ix2>,
    row_labels: &[S],
    col_labels: &[S],
    title: &str,
) -> Result<Svg>
where
    T: Number + 'a,
    S: AsRef<str>,
{
    Style::default().heatmap(values, row_labels, col_labels, title)
}

/// [`Style::confusion_matrix`] with the default style.
///
/// # Shapes
/// `counts`: `(classes, classes)`, `counts[[true, predicted]]`.
///
/// ```
/// let cm = ndarray::array![[9_u32, 1], [0, 10]];
/// let fig = cnnkit_viz::plot::confusion_matrix(&cm, &["고양이", "개"])?;
/// assert!(fig.as_str().contains("예측 클래스"));
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn confusion_matrix<'a, T, S>(
    counts: impl AsArray<'a, T, Ix2>,
    class_names: &[S],
) -> Result<Svg>
where
    T: Number + 'a,
    S: AsRef<str>,
{
    Style::default().confusion_matrix(counts, class_names)
}
