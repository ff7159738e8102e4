//! Building blocks of the famous CNN architectures (lecture notebook 07): GoogLeNet's
//! inception module, ResNet's residual unit and layer stack, the depthwise separable
//! convolution of Xception and MobileNet, and SENet's SE block (the figures of the book's
//! section on CNN architectures).
//!
//! Data flows bottom to top in the vertical diagrams, as in the book, and left to right
//! in the others. Boxes are coloured by the kind of layer: convolutions blue, pooling
//! orange, batch normalisation purple, activations olive, dense layers green, data grey;
//! skip connections are orange, or red when they go through a 1×1 convolution.

use crate::error::{Error, Result};
use crate::plot::{
    fmt_num, fmt_thousands, text_width, Canvas, Paint, Rgb, Svg, TextStyle, PALETTE,
};
use cnnkit_nn::arith::{output_size, Padding};

use super::grid::{caption, title, Grid, INK};

/// Font size of the text in boxes.
const TEXT: f64 = 12.0;
/// Distance between two lines of text in a box.
const LINE_H: f64 = TEXT + 4.0;
/// Font size of shapes and side notes.
const SMALL: f64 = 11.0;
/// Font size of captions (the title is one pixel larger).
const CAP: f64 = 13.0;
const MARGIN: f64 = 16.0;
/// Width of the arrows between layers.
const ARROW: f64 = 1.3;
/// Radius of the ⊕ and ⊗ nodes.
const OP_R: f64 = 11.0;
/// Grey for shapes and side notes (as in [`cnn_architecture`](super::cnn_architecture)).
const GREY: Rgb = Rgb(100, 100, 100);
/// Skip connections.
const SKIP: Rgb = PALETTE[1];
/// Skip connections with a 1×1 convolution (projection).
const PROJECTION: Rgb = PALETTE[3];

/// What a box stands for; it decides the box's colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Data,
    Conv,
    Pool,
    Norm,
    Act,
    Dense,
    Merge,
}

impl Kind {
    fn color(self) -> Rgb {
        match self {
            Kind::Data => PALETTE[7].lighten(0.7),
            Kind::Conv => PALETTE[0].lighten(0.6),
            Kind::Pool => PALETTE[1].lighten(0.55),
            Kind::Norm => PALETTE[4].lighten(0.6),
            Kind::Act => PALETTE[8].lighten(0.6),
            Kind::Dense => PALETTE[2].lighten(0.6),
            Kind::Merge => PALETTE[5].lighten(0.6),
        }
    }
}

/// Colour of the `i`-th channel drawn: red, green, blue (an RGB image), then the rest of
/// the palette.
fn channel_color(i: usize) -> Rgb {
    const ORDER: [usize; 6] = [3, 2, 0, 4, 1, 9];
    PALETTE[ORDER[i % ORDER.len()]]
}

/// Colour of ResNet stage `i`: none of the colours of pooling, dense layers and skip
/// connections.
fn stage_color(i: usize) -> Rgb {
    const ORDER: [usize; 4] = [9, 4, 6, 5];
    PALETTE[ORDER[i % ORDER.len()]]
}

/// A box drawn on the canvas, by its centre and size.
#[derive(Clone, Copy, Debug)]
struct Node {
    cx: f64,
    cy: f64,
    w: f64,
    h: f64,
}

impl Node {
    fn top(self) -> f64 {
        self.cy - self.h / 2.0
    }
    fn bottom(self) -> f64 {
        self.cy + self.h / 2.0
    }
    fn left(self) -> f64 {
        self.cx - self.w / 2.0
    }
    fn right(self) -> f64 {
        self.cx + self.w / 2.0
    }
}

/// Width of the widest line of `text` at font size `size`.
fn label_width(text: &str, size: f64) -> f64 {
    text.lines()
        .map(|l| text_width(l, size))
        .fold(0.0, f64::max)
}

/// Size of a box that holds `label` (`\n` starts another line).
fn node_size(label: &str) -> (f64, f64) {
    let lines = label.lines().count().max(1) as f64;
    (label_width(label, TEXT) + 20.0, lines * LINE_H + 10.0)
}

/// The largest [`node_size`] of `labels`, so that a column of boxes lines up.
fn common_size<'a>(labels: impl IntoIterator<Item = &'a str>) -> (f64, f64) {
    labels
        .into_iter()
        .map(node_size)
        .fold((0.0, 0.0), |(w, h), (a, b)| (w.max(a), h.max(b)))
}

/// Lines of text centred on `(x, y)` as a block.
fn centered_lines(c: &mut Canvas, x: f64, y: f64, text: &str, style: &TextStyle) {
    let n = text.lines().count() as f64;
    for (i, line) in text.lines().enumerate() {
        c.text(x, y + (i as f64 - (n - 1.0) / 2.0) * LINE_H, line, style);
    }
}

/// A box of `size` centred on `(cx, cy)` with `label` in it, filled with `fill`.
fn node(c: &mut Canvas, cx: f64, cy: f64, size: (f64, f64), label: &str, fill: Rgb) -> Node {
    let n = Node {
        cx,
        cy,
        w: size.0,
        h: size.1,
    };
    c.rect(
        n.left(),
        n.top(),
        n.w,
        n.h,
        &Paint::fill(fill).stroke(INK, 1.0),
    );
    centered_lines(c, cx, cy, label, &TextStyle::new(TEXT).middle().color(INK));
    n
}

/// Arrow from the top of `from` up to the bottom of `to` (the diagrams flow upwards).
fn arrow_up(c: &mut Canvas, from: Node, to: Node) {
    c.arrow(from.cx, from.top(), to.cx, to.bottom(), INK, ARROW);
}

/// A line through `points` with an arrow head at the last point.
fn path_arrow(c: &mut Canvas, points: &[(f64, f64)], color: Rgb, width: f64) {
    let n = points.len();
    if n < 2 {
        return;
    }
    for p in points[..n - 1].windows(2) {
        c.line(
            p[0].0,
            p[0].1,
            p[1].0,
            p[1].1,
            &Paint::outline(color, width),
        );
    }
    let ((x1, y1), (x2, y2)) = (points[n - 2], points[n - 1]);
    c.arrow(x1, y1, x2, y2, color, width);
}

/// The ⊕ (`times = false`) or ⊗ (`times = true`) node centred on `(cx, cy)`, drawn with
/// lines so that it does not depend on a font having the symbol.
fn operator(c: &mut Canvas, cx: f64, cy: f64, times: bool) -> Node {
    c.circle(cx, cy, OP_R, &Paint::fill(Rgb::WHITE).stroke(INK, 1.5));
    let pen = Paint::outline(INK, 1.5);
    if times {
        let d = OP_R * 0.5;
        c.line(cx - d, cy - d, cx + d, cy + d, &pen);
        c.line(cx - d, cy + d, cx + d, cy - d, &pen);
    } else {
        let d = OP_R * 0.6;
        c.line(cx - d, cy, cx + d, cy, &pen);
        c.line(cx, cy - d, cx, cy + d, &pen);
    }
    Node {
        cx,
        cy,
        w: 2.0 * OP_R,
        h: 2.0 * OP_R,
    }
}

/// Three dots in a column centred on `(x, y)`: "and so on".
fn vdots(c: &mut Canvas, x: f64, y: f64) {
    for dy in [-6.0, 0.0, 6.0] {
        c.circle(x, y + dy, 1.6, &Paint::fill(INK));
    }
}

/// A stack of `n` square feature maps of `side` pixels, seen slightly from the side:
/// map 0 in front (bottom left), each further one shifted by `step` to the right and
/// up. `(x, y)` is the top-left corner of the stack's bounding square, of side
/// `side + step * (n - 1)`.
fn deck(c: &mut Canvas, x: f64, y: f64, side: f64, step: f64, colors: &[Rgb]) {
    let n = colors.len();
    let back = step * n.saturating_sub(1) as f64;
    for (i, &color) in colors.iter().enumerate().rev() {
        let d = step * i as f64;
        c.rect(
            x + d,
            y + back - d,
            side,
            side,
            &Paint::fill(color).stroke(INK, 1.0),
        );
    }
}

/// Which of `n` items to draw when at most `max` rows fit: all of them, or the first
/// `max - 2`, a gap (`None`, drawn as ⋮) and the last one.
fn shown(n: usize, max: usize) -> Vec<Option<usize>> {
    if n <= max || max < 3 {
        (0..n.min(max.max(1))).map(Some).collect()
    } else {
        (0..max - 2).map(Some).chain([None, Some(n - 1)]).collect()
    }
}

/// The average of `colors` weighted by their `f32`.
fn blend(colors: &[(Rgb, f32)]) -> Rgb {
    let total: f32 = colors.iter().map(|(_, w)| w).sum::<f32>().max(1e-6);
    let mean = |f: fn(Rgb) -> u8| {
        (colors.iter().map(|&(c, w)| f(c) as f32 * w).sum::<f32>() / total).round() as u8
    };
    Rgb(mean(|c| c.0), mean(|c| c.1), mean(|c| c.2))
}

/// `what` must be at least 1.
fn positive(what: &str, n: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::invalid(what, "must be at least 1"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Inception module
// ---------------------------------------------------------------------------------------

/// Filter counts of an inception module's four branches (GoogLeNet's table 1).
struct Inception {
    /// `(height, width, channels)` of the module's input.
    input: (usize, usize, usize),
    conv1: usize,
    reduce3: usize,
    conv3: usize,
    reduce5: usize,
    conv5: usize,
    pool_proj: usize,
}

/// GoogLeNet's first inception module, "3a".
const INCEPTION_3A: Inception = Inception {
    input: (28, 28, 192),
    conv1: 64,
    reduce3: 96,
    conv3: 128,
    reduce5: 16,
    conv5: 32,
    pool_proj: 32,
};

fn conv_label(k: usize, filters: usize) -> String {
    format!("Conv {k}×{k}\n필터 {filters}")
}

impl Inception {
    /// Output channels of the four branches, left to right.
    fn branch_outputs(&self) -> [usize; 4] {
        [self.conv1, self.conv3, self.conv5, self.pool_proj]
    }

    /// Output channels of the module: the branches stacked along the depth.
    fn output_channels(&self) -> usize {
        self.branch_outputs().iter().sum()
    }

    /// The layers of each branch, bottom to top.
    fn branches(&self) -> [Vec<(String, Kind)>; 4] {
        [
            vec![(conv_label(1, self.conv1), Kind::Conv)],
            vec![
                (conv_label(1, self.reduce3), Kind::Conv),
                (conv_label(3, self.conv3), Kind::Conv),
            ],
            vec![
                (conv_label(1, self.reduce5), Kind::Conv),
                (conv_label(5, self.conv5), Kind::Conv),
            ],
            vec![
                ("MaxPool 3×3\n보폭 1".to_string(), Kind::Pool),
                (conv_label(1, self.pool_proj), Kind::Conv),
            ],
        ]
    }
}

/// GoogLeNet's inception module "3a": the input at the bottom, four parallel branches —
/// a 1×1 convolution; 1×1 then 3×3; 1×1 then 5×5; 3×3 max pooling (stride 1) then 1×1 —
/// and on top the depth concatenation of their outputs. Each box shows its number of
/// filters; next to each branch's last arrow is the shape of its output, and the
/// concatenation box adds the channels up (64 + 128 + 32 + 32 = 256).
///
/// Every layer has stride 1 and `padding="same"`, so all four outputs keep the input's
/// 28 × 28 size and can be stacked. The 1×1 convolutions before the 3×3 and 5×5 ones are
/// bottleneck layers: they cut 192 channels down to 96 and 16.
///
/// Lecture: notebook 07 (CNN 구조), GoogLeNet.
///
/// ```
/// let fig = cnnkit_viz::figures::inception_module()?;
/// let svg = fig.as_str();
/// for filters in ["필터 64", "필터 96", "필터 128", "필터 16", "필터 32"] {
///     assert!(svg.contains(filters));
/// }
/// assert!(svg.contains("입력 28×28×192") && svg.contains("64 + 128 + 32 + 32 = 256"));
/// assert!(svg.contains("출력 28×28×256"));
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn inception_module() -> Result<Svg> {
    let m = &INCEPTION_3A;
    let (h, w, cin) = m.input;
    let branches = m.branches();
    let outs = m.branch_outputs();
    let total = m.output_channels();
    let shapes: Vec<String> = outs.iter().map(|c| format!("{h}×{w}×{c}")).collect();
    let (bw, bh) = common_size(branches.iter().flatten().map(|(l, _)| l.as_str()));
    let shape_w = shapes
        .iter()
        .map(|s| text_width(s, SMALL))
        .fold(0.0, f64::max);
    // Room between columns for the shape written right of each column's last arrow.
    let gap_x = (shape_w + 14.0 - bw).max(22.0);
    let row_w = 4.0 * bw + 3.0 * gap_x;

    let input_label = format!("입력 {h}×{w}×{cin}");
    let sum = outs.map(|c| c.to_string()).join(" + ");
    let concat_label = format!("깊이 연결 (depth concat): {sum} = {total}\n출력 {h}×{w}×{total}");
    let heading = "인셉션 모듈 (GoogLeNet의 3a): 네 갈래의 출력을 깊이 방향으로 쌓는다";
    let note = "모든 층이 보폭 1, padding=\"same\": 특성지도 크기가 그대로라서 쌓을 수 있다";
    let (concat_w, concat_h) = node_size(&concat_label);
    let (input_w, input_h) = node_size(&input_label);
    let span = row_w.max(concat_w).max(input_w);
    let width = 2.0 * MARGIN
        + span
            .max(text_width(heading, CAP + 1.0))
            .max(text_width(note, SMALL));

    let concat_y = MARGIN + 2.0 * CAP + 26.0 + concat_h / 2.0;
    let upper_y = concat_y + concat_h / 2.0 + 44.0 + bh / 2.0;
    let lower_y = upper_y + bh + 30.0;
    let input_y = lower_y + bh / 2.0 + 30.0 + input_h / 2.0;
    let height = input_y + input_h / 2.0 + MARGIN;
    let mut c = Canvas::new(width, height);
    title(&mut c, MARGIN, CAP, heading);
    c.text(
        MARGIN,
        MARGIN + 1.5 * CAP + 10.0,
        note,
        &TextStyle::new(SMALL).color(GREY),
    );

    let cx0 = (width - row_w) / 2.0 + bw / 2.0;
    let input = node(
        &mut c,
        width / 2.0,
        input_y,
        (span, input_h),
        &input_label,
        Kind::Data.color(),
    );
    let concat = node(
        &mut c,
        width / 2.0,
        concat_y,
        (span, concat_h),
        &concat_label,
        Kind::Merge.color(),
    );
    for (i, (layers, shape)) in branches.iter().zip(&shapes).enumerate() {
        let cx = cx0 + i as f64 * (bw + gap_x);
        // A one-layer branch sits in the upper row, next to the other branches' last layer.
        let rows = [lower_y, upper_y];
        let mut below = Node { cx, ..input };
        for ((label, kind), &y) in layers.iter().zip(&rows[2 - layers.len()..]) {
            let n = node(&mut c, cx, y, (bw, bh), label, kind.color());
            arrow_up(&mut c, below, n);
            below = n;
        }
        arrow_up(&mut c, below, Node { cx, ..concat });
        c.text(
            cx + 5.0,
            (below.top() + concat.bottom()) / 2.0,
            shape,
            &TextStyle::new(SMALL).color(GREY),
        );
    }
    Ok(c.finish())
}

// ---------------------------------------------------------------------------------------
// Residual unit
// ---------------------------------------------------------------------------------------

/// The book's residual unit (its `ResidualUnit` layer), bottom to top: the input `x`,
/// the main path Conv 3×3 → BN → ReLU → Conv 3×3 → BN computing `F(x)`, the ⊕ node
/// adding the skip connection, then ReLU: the output is `ReLU(F(x) + x)`.
///
/// * `projection = false`: the skip connection is the identity, `x` itself (orange).
/// * `projection = true`: the unit halves the feature maps and changes their depth (the
///   first unit of a new stage, `strides=2`): the first convolution has stride 2, and the
///   skip connection goes through Conv 1×1 (stride 2) → BN so that it has the same shape
///   as `F(x)` (red).
///
/// Lecture: notebook 07 (CNN 구조), ResNet: 잔차 유닛과 스킵 연결.
///
/// ```
/// use cnnkit_viz::figures::residual_unit;
/// let plain = residual_unit(false)?;
/// let svg = plain.as_str();
/// assert_eq!(svg.matches(">Conv 3×3</text>").count(), 2);
/// assert_eq!(svg.matches(">BN</text>").count(), 2);
/// assert!(svg.contains("ReLU(F(x) + x)") && !svg.contains("Conv 1×1"));
/// let projected = residual_unit(true)?;
/// let svg = projected.as_str();
/// assert!(svg.contains(">Conv 1×1, 보폭 2</text>") && svg.contains(">Conv 3×3, 보폭 2</text>"));
/// assert_eq!(svg.matches(">BN</text>").count(), 3);
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn residual_unit(projection: bool) -> Result<Svg> {
    let first = if projection {
        "Conv 3×3, 보폭 2"
    } else {
        "Conv 3×3"
    };
    let main = [
        (first, Kind::Conv),
        ("BN", Kind::Norm),
        ("ReLU", Kind::Act),
        ("Conv 3×3", Kind::Conv),
        ("BN", Kind::Norm),
    ];
    let skip: &[(&str, Kind)] = if projection {
        &[("Conv 1×1, 보폭 2", Kind::Conv), ("BN", Kind::Norm)]
    } else {
        &[]
    };
    let (input_label, output_label) = ("입력 x", "출력");
    let size = common_size(
        main.iter()
            .map(|m| m.0)
            .chain([input_label, output_label, "ReLU"]),
    );
    let skip_size = common_size(skip.iter().map(|s| s.0));
    let (heading, sum, skip_note, skip_value) = if projection {
        (
            "잔차 유닛 (투영): 크기와 깊이가 바뀌면 스킵 연결에 1×1 합성곱",
            "F(x) + 투영(x)",
            "스킵 연결 (투영):\n1×1 합성곱으로\nF(x)와 같은 모양",
            "투영(x)",
        )
    } else {
        (
            "잔차 유닛: 출력 = ReLU(F(x) + x)",
            "F(x) + x",
            "스킵 연결 (항등):\nx를 그대로 더함",
            "x",
        )
    };
    let color = if projection { PROJECTION } else { SKIP };

    let gap = 20.0;
    let pitch = size.1 + gap;
    let sum_w = text_width(sum, SMALL);
    // Room on the left for "F(x) + x", written left of ⊕.
    let x_m = MARGIN + (sum_w + OP_R + 6.0).max(size.0 / 2.0);
    let x_s = x_m + size.0 / 2.0 + 36.0 + skip_size.0 / 2.0;
    let note_x = x_s + skip_size.0 / 2.0 + 12.0;
    let width = (note_x + label_width(skip_note, SMALL) + MARGIN)
        .max(2.0 * MARGIN + text_width(heading, CAP + 1.0));

    // Top to bottom: output, ReLU, ⊕, the main path (last layer first), the input.
    let y_out = MARGIN + CAP + 26.0 + size.1 / 2.0;
    let y_relu = y_out + pitch;
    let y_add = y_relu + size.1 / 2.0 + gap + OP_R;
    let y_main = |i: usize| y_add + OP_R + gap + size.1 / 2.0 + (main.len() - 1 - i) as f64 * pitch;
    let y_in = y_main(0) + pitch + 14.0;
    let y_split = y_in - size.1 / 2.0 - 14.0;
    let height = y_in + size.1 / 2.0 + MARGIN;
    let mut c = Canvas::new(width, height);
    title(&mut c, MARGIN, CAP, heading);

    let input = node(&mut c, x_m, y_in, size, input_label, Kind::Data.color());
    let mut below = input;
    for (i, &(label, kind)) in main.iter().enumerate() {
        let n = node(&mut c, x_m, y_main(i), size, label, kind.color());
        arrow_up(&mut c, below, n);
        below = n;
    }
    let add = operator(&mut c, x_m, y_add, false);
    arrow_up(&mut c, below, add);
    c.text(
        x_m - 6.0,
        (below.top() + add.bottom()) / 2.0,
        "F(x)",
        &TextStyle::new(SMALL).end().color(GREY),
    );
    c.text(
        x_m - OP_R - 6.0,
        y_add,
        sum,
        &TextStyle::new(SMALL).end().color(INK),
    );
    let relu = node(&mut c, x_m, y_relu, size, "ReLU", Kind::Act.color());
    arrow_up(&mut c, add, relu);
    let out = node(&mut c, x_m, y_out, size, output_label, Kind::Data.color());
    arrow_up(&mut c, relu, out);

    // The skip connection leaves the input below the first layer and joins at ⊕.
    c.circle(x_m, y_split, 3.0, &Paint::fill(color));
    let mut from = vec![(x_m, y_split), (x_s, y_split)];
    // Projection layers in the skip column, at the heights of main-path layers 1 and 3.
    for (&(label, kind), i) in skip.iter().zip([1, 3]) {
        let n = node(&mut c, x_s, y_main(i), skip_size, label, kind.color());
        from.push((x_s, n.bottom()));
        path_arrow(&mut c, &from, color, 1.5);
        from = vec![(x_s, n.top())];
    }
    from.extend([(x_s, y_add), (x_m + OP_R, y_add)]);
    path_arrow(&mut c, &from, color, 1.5);
    c.text(
        (x_m + OP_R + x_s) / 2.0,
        y_add - 9.0,
        skip_value,
        &TextStyle::new(SMALL).middle().color(color),
    );
    let note_y = if projection {
        y_main(2)
    } else {
        (y_split + y_add) / 2.0
    };
    let note_x = if projection { note_x } else { x_s + 8.0 };
    let lines = skip_note.lines().count() as f64;
    caption(
        &mut c,
        note_x + label_width(skip_note, SMALL) / 2.0,
        note_y - (lines - 1.0) * (SMALL + 4.0) / 2.0,
        skip_note,
        SMALL,
    );
    Ok(c.finish())
}

// ---------------------------------------------------------------------------------------
// Depthwise separable convolution
// ---------------------------------------------------------------------------------------

/// Weights of a standard `k × k` convolution from `cin` to `cout` channels, without
/// biases: every one of the `cout` filters is `k × k × cin`.
fn standard_weights(k: usize, cin: usize, cout: usize) -> usize {
    k * k * cin * cout
}

/// Weights of a depthwise separable convolution, without biases: one `k × k` filter per
/// input channel (depthwise), then `cout` filters of `1 × 1 × cin` (pointwise).
fn separable_weights(k: usize, cin: usize, cout: usize) -> usize {
    k * k * cin + cin * cout
}

/// "7.9배 적음" / "같음" / "1.2배 많음": the separable count compared with the standard one.
fn comparison(standard: usize, separable: usize) -> String {
    use std::cmp::Ordering;
    match separable.cmp(&standard) {
        Ordering::Less => format!("{}배 적음", fmt_num(standard as f64 / separable as f64, 1)),
        Ordering::Equal => "같음".to_string(),
        Ordering::Greater => format!("{}배 많음", fmt_num(separable as f64 / standard as f64, 1)),
    }
}

/// A depthwise separable convolution (`SeparableConv2D`) from `cin` to `cout` channels
/// with `k × k` kernels, left to right: the input feature maps, one in each colour;
/// ① depthwise: one `k × k` filter per channel, each producing one map from its own
/// channel only; ② pointwise: `cout` filters of `1 × 1 × cin` that mix the depthwise maps
/// into `cout` output maps (the coloured lines: every output takes all channels).
/// With many channels only the first and the last few are drawn (⋮ between).
///
/// Under the diagram, the weight counts (biases not counted) of a standard convolution,
/// `k·k·cin·cout`, and of the separable one, `k·k·cin + cin·cout`.
///
/// Lecture: notebook 07 (CNN 구조), Xception: 깊이별 분리 합성곱.
///
/// ```
/// let fig = cnnkit_viz::figures::depthwise_separable(3, 64, 3)?;
/// let svg = fig.as_str();
/// assert!(svg.contains("3×3×3×64 = 1,728"));               // standard 3×3 convolution
/// assert!(svg.contains("3×3×3 + 3×64 = 27 + 192 = 219"));  // depthwise + pointwise
/// assert!(svg.contains("7.9배 적음"));
/// let wide = cnnkit_viz::figures::depthwise_separable(128, 256, 3)?;
/// assert!(wide.as_str().contains("= 294,912") && wide.as_str().contains("= 33,920"));
/// assert!(cnnkit_viz::figures::depthwise_separable(3, 0, 3).is_err());
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn depthwise_separable(cin: usize, cout: usize, k: usize) -> Result<Svg> {
    positive("cin", cin)?;
    positive("cout", cout)?;
    positive("k", k)?;
    const MAX_ROWS: usize = 5;
    const MAP: f64 = 40.0; // side of a feature map
    const FILTER: f64 = 36.0; // side of a k × k filter
    const CELL: f64 = 10.0; // a cell of a 1 × 1 × cin filter
    const PITCH: f64 = MAP + 12.0;
    const GAP_ROW: f64 = 24.0; // the ⋮ row
    let ins = shown(cin, MAX_ROWS);
    let outs = shown(cout, MAX_ROWS);

    let headers = [
        format!("입력\n특성지도 {cin}개"),
        format!("① 깊이별 합성곱\n채널마다 {k}×{k} 필터 1개"),
        format!("② 점별 합성곱\n1×1×{cin} 필터 {cout}개"),
        format!("출력\n특성지도 {cout}개"),
    ];
    // Column groups left to right: input maps; filters and depthwise maps; pointwise
    // filters; output maps. Each group is as wide as its content or its header.
    let contents = [MAP, FILTER + 30.0 + MAP, CELL, MAP];
    let groups: Vec<f64> = headers
        .iter()
        .zip(contents)
        .map(|(h, w)| w.max(label_width(h, CAP)))
        .collect();
    let gaps = [34.0, 80.0, 34.0];
    let mut centers = [0.0; 4];
    let mut x = MARGIN;
    for (i, g) in groups.iter().enumerate() {
        centers[i] = x + g / 2.0;
        x += g + gaps.get(i).copied().unwrap_or(0.0);
    }
    let x_in = centers[0];
    let x_filter = centers[1] - (30.0 + MAP) / 2.0;
    let x_dw = centers[1] + (FILTER + 30.0) / 2.0;
    let x_pw = centers[2];
    let x_out = centers[3];

    let std = standard_weights(k, cin, cout);
    let sep = separable_weights(k, cin, cout);
    let lines = [
        format!(
            "일반 합성곱 {k}×{k}: {k}×{k}×{cin}×{cout} = {}",
            fmt_thousands(std as i64)
        ),
        format!(
            "깊이별 분리 합성곱: {k}×{k}×{cin} + {cin}×{cout} = {} + {} = {} ({})",
            fmt_thousands((k * k * cin) as i64),
            fmt_thousands((cin * cout) as i64),
            fmt_thousands(sep as i64),
            comparison(std, sep)
        ),
    ];
    let heading = format!("깊이별 분리 합성곱: 채널 {cin}개 → {cout}개, {k}×{k} 커널");
    let note = "가중치 개수 (편향 제외)";
    let width = (x - MARGIN)
        .max(lines.iter().map(|l| text_width(l, CAP)).fold(0.0, f64::max))
        .max(text_width(&heading, CAP + 1.0))
        + 2.0 * MARGIN;

    let rows_h = |rows: &[Option<usize>]| {
        rows.iter()
            .map(|r| if r.is_some() { PITCH } else { GAP_ROW })
            .sum::<f64>()
    };
    let head_y = MARGIN + CAP + 24.0;
    let body_top = head_y + 2.0 * (CAP + 4.0) + 8.0;
    let body_h = rows_h(&ins).max(rows_h(&outs));
    // Centre of every row of a column, the column centred on the body.
    let row_ys = |rows: &[Option<usize>]| {
        let mut y = body_top + (body_h - rows_h(rows)) / 2.0;
        rows.iter()
            .map(|r| {
                let h = if r.is_some() { PITCH } else { GAP_ROW };
                y += h;
                (*r, y - h / 2.0)
            })
            .collect::<Vec<_>>()
    };
    let in_rows = row_ys(&ins);
    let out_rows = row_ys(&outs);
    let params_y = body_top + body_h + 28.0;
    let height = params_y + 2.0 * (CAP + 8.0) + CAP / 2.0 + MARGIN;
    let mut c = Canvas::new(width, height);
    title(&mut c, MARGIN, CAP, &heading);
    for (&cx, h) in centers.iter().zip(&headers) {
        caption(&mut c, cx, head_y, h, CAP);
    }

    let square = |c: &mut Canvas, cx: f64, cy: f64, color: Rgb| {
        c.rect(
            cx - MAP / 2.0,
            cy - MAP / 2.0,
            MAP,
            MAP,
            &Paint::fill(color).stroke(INK, 1.0),
        );
    };
    let cell = FILTER / k as f64;
    for (row, &(ch, y)) in in_rows.iter().enumerate() {
        if ch.is_none() {
            for x in [x_in, x_filter, x_dw] {
                vdots(&mut c, x, y);
            }
            continue;
        }
        let color = channel_color(row);
        square(&mut c, x_in, y, color.lighten(0.6));
        let filter = Grid {
            x: x_filter - FILTER / 2.0,
            y: y - FILTER / 2.0,
            rows: k,
            cols: k,
            cell,
        };
        if cell >= 4.0 {
            filter.cells(&mut c, |_, _| color.lighten(0.25));
        } else {
            c.rect(
                filter.x,
                filter.y,
                FILTER,
                FILTER,
                &Paint::fill(color.lighten(0.25)),
            );
        }
        filter.frame(&mut c, 1.0);
        square(&mut c, x_dw, y, color.lighten(0.3));
        c.arrow(x_in + MAP / 2.0 + 4.0, y, filter.x - 4.0, y, INK, ARROW);
        c.arrow(
            filter.x + FILTER + 4.0,
            y,
            x_dw - MAP / 2.0 - 4.0,
            y,
            INK,
            ARROW,
        );
    }

    // Pointwise: each output's 1 × 1 × cin filter is a column of cells, one per shown
    // channel, fed by a line from that channel's depthwise map.
    let strip_h = rows_h(&ins) / PITCH * CELL;
    for (j, &(o, y)) in out_rows.iter().enumerate() {
        let Some(o) = o else {
            vdots(&mut c, x_pw, y);
            vdots(&mut c, x_out, y);
            continue;
        };
        let mut cy = y - strip_h / 2.0;
        let mut mix = Vec::new();
        for (row, &(ch, in_y)) in in_rows.iter().enumerate() {
            let step = if ch.is_some() {
                CELL
            } else {
                GAP_ROW / PITCH * CELL
            };
            if ch.is_some() {
                let color = channel_color(row);
                c.line(
                    x_dw + MAP / 2.0,
                    in_y,
                    x_pw - CELL / 2.0,
                    cy + CELL / 2.0,
                    &Paint::outline(color.lighten(0.3), 0.8),
                );
                c.rect(
                    x_pw - CELL / 2.0,
                    cy,
                    CELL,
                    CELL,
                    &Paint::fill(color.lighten(0.25)).stroke(INK, 0.8),
                );
                // Made-up mixing weights, different for every output.
                mix.push((color, 1.0 + ((2 * row + 3 * j) % 4) as f32));
            }
            cy += step;
        }
        square(&mut c, x_out, y, blend(&mix).lighten(0.35));
        c.arrow(
            x_pw + CELL / 2.0 + 4.0,
            y,
            x_out - MAP / 2.0 - 4.0,
            y,
            INK,
            ARROW,
        );
        c.text(
            x_out + MAP / 2.0 + 4.0,
            y,
            &(o + 1).to_string(),
            &TextStyle::new(SMALL - 1.0).color(GREY),
        );
    }

    c.text(MARGIN, params_y, note, &TextStyle::new(SMALL).color(GREY));
    for (i, line) in lines.iter().enumerate() {
        c.text(
            MARGIN,
            params_y + (i + 1) as f64 * (CAP + 8.0),
            line,
            &TextStyle::new(CAP).color(INK).bold(),
        );
    }
    Ok(c.finish())
}

// ---------------------------------------------------------------------------------------
// SE block
// ---------------------------------------------------------------------------------------

/// Made-up channel weights (outputs of the sigmoid) for the drawing.
const SE_WEIGHTS: [f32; 5] = [0.9, 0.35, 0.7, 0.15, 1.0];

/// A squeeze-and-excitation block (SENet) for feature maps with `channels` channels,
/// left to right: the input maps; global average pooling squeezes each map into one
/// number (a vector of `channels`); excitation: Dense(`reduced`, ReLU) then
/// Dense(`channels`, sigmoid) give one weight between 0 and 1 per channel; ⊗ multiplies
/// every input map by its weight (the faded maps of the output got small weights).
/// The input reaches ⊗ unchanged over the top.
///
/// `reduced` is usually `channels / 16`. Weights in the figure are made up.
///
/// Lecture: notebook 07 (CNN 구조), SENet.
///
/// ```
/// let fig = cnnkit_viz::figures::se_block(256, 16)?;
/// let svg = fig.as_str();
/// assert!(svg.contains(">Dense 16</text>") && svg.contains(">Dense 256</text>"));
/// assert!(svg.contains(">ReLU</text>") && svg.contains(">sigmoid</text>"));
/// assert!(svg.contains("전역 평균") && svg.contains("축소 비율 16"));
/// assert!(cnnkit_viz::figures::se_block(16, 32).is_err()); // excitation must shrink
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn se_block(channels: usize, reduced: usize) -> Result<Svg> {
    positive("channels", channels)?;
    positive("reduced", reduced)?;
    if reduced > channels {
        return Err(Error::invalid(
            "reduced",
            format!(
                "{reduced} units but only {channels} channels: the first dense layer of an SE \
                 block has fewer units than there are channels (usually channels / 16)"
            ),
        ));
    }
    const SLAB: f64 = 58.0;
    const STEP: f64 = 8.0;
    const CELL: f64 = 12.0;
    const ARROW_LEN: f64 = 26.0;
    let n = channels.min(SE_WEIGHTS.len());
    // Cells of the small vector: as many as keep the ratio reduced / channels, at least 1.
    let m = (n * reduced).div_ceil(channels).max(1);
    let colors: Vec<Rgb> = (0..n).map(|i| channel_color(i).lighten(0.35)).collect();
    let scaled: Vec<Rgb> = (0..n)
        .map(|i| channel_color(i).lighten(0.35 + 0.6 * (1.0 - SE_WEIGHTS[i])))
        .collect();
    let gap_label = "전역 평균\n풀링";
    let dense1 = format!("Dense {reduced}\nReLU");
    let dense2 = format!("Dense {channels}\nsigmoid");
    let box_size = common_size([gap_label, dense1.as_str(), dense2.as_str()]);
    let ratio = channels as f64 / reduced as f64;
    let heading = format!(
        "SE 블록: 채널 {channels}개 → {reduced} → {channels} (축소 비율 {}), 채널마다 가중치를 곱합니다",
        fmt_num(ratio, 1)
    );
    let deck_side = SLAB + STEP * (n - 1) as f64;
    let body_h = deck_side.max(box_size.1).max(n as f64 * CELL);
    let path_y = MARGIN + CAP + 30.0;
    let top = path_y + 20.0;
    let mid = top + body_h / 2.0;
    let captions_y = top + body_h + 18.0;

    // Left to right; `x` is the left edge of the next item.
    let width_items =
        deck_side * 2.0 + 3.0 * box_size.0 + 3.0 * CELL + 2.0 * OP_R + 8.0 * ARROW_LEN;
    let width = (2.0 * MARGIN + width_items).max(2.0 * MARGIN + text_width(&heading, CAP + 1.0));
    let height = captions_y + 2.0 * (CAP + 4.0) + MARGIN;
    let mut c = Canvas::new(width, height);
    title(&mut c, MARGIN, CAP, &heading);
    let mut x = (width - width_items) / 2.0;
    let cap_style = TextStyle::new(SMALL).middle().color(GREY);

    let deck_top = mid - deck_side / 2.0;
    deck(&mut c, x, deck_top, SLAB, STEP, &colors);
    let input_x = x + deck_side / 2.0;
    caption(
        &mut c,
        input_x,
        captions_y,
        &format!("입력 특성지도\n채널 {channels}개"),
        SMALL,
    );
    x += deck_side;

    let next = |c: &mut Canvas, x: &mut f64| {
        c.arrow(*x + 3.0, mid, *x + ARROW_LEN - 3.0, mid, INK, ARROW);
        *x += ARROW_LEN;
    };
    // A vector of `len` numbers as a column of `cells.len()` cells.
    let vector = |c: &mut Canvas, x: &mut f64, cells: &[Rgb], len: usize| {
        let h = CELL * cells.len() as f64;
        for (i, &color) in cells.iter().enumerate() {
            c.rect(
                *x,
                mid - h / 2.0 + CELL * i as f64,
                CELL,
                CELL,
                &Paint::fill(color).stroke(INK, 0.8),
            );
        }
        c.text(
            *x + CELL / 2.0,
            mid - h / 2.0 - 9.0,
            &len.to_string(),
            &cap_style,
        );
        *x += CELL;
    };

    next(&mut c, &mut x);
    let squeeze = node(
        &mut c,
        x + box_size.0 / 2.0,
        mid,
        box_size,
        gap_label,
        Kind::Pool.color(),
    );
    caption(&mut c, squeeze.cx, captions_y, "스퀴즈\n(squeeze)", SMALL);
    x += box_size.0;
    next(&mut c, &mut x);
    vector(&mut c, &mut x, &colors, channels);
    next(&mut c, &mut x);
    let d1 = node(
        &mut c,
        x + box_size.0 / 2.0,
        mid,
        box_size,
        &dense1,
        Kind::Dense.color(),
    );
    x += box_size.0;
    next(&mut c, &mut x);
    let hidden = vec![Kind::Dense.color(); m];
    vector(&mut c, &mut x, &hidden, reduced);
    next(&mut c, &mut x);
    let d2 = node(
        &mut c,
        x + box_size.0 / 2.0,
        mid,
        box_size,
        &dense2,
        Kind::Dense.color(),
    );
    x += box_size.0;
    // Excitation: a bracket under both dense layers.
    let by = captions_y - 10.0;
    let pen = Paint::outline(GREY, 1.0);
    c.line(d1.left(), by, d2.right(), by, &pen);
    c.line(d1.left(), by, d1.left(), by - 5.0, &pen);
    c.line(d2.right(), by, d2.right(), by - 5.0, &pen);
    caption(
        &mut c,
        (d1.left() + d2.right()) / 2.0,
        captions_y + 4.0,
        "익사이테이션 (excitation)\n채널마다 0~1 가중치",
        SMALL,
    );
    next(&mut c, &mut x);
    let weights: Vec<Rgb> = SE_WEIGHTS[..n]
        .iter()
        .map(|&w| Rgb::WHITE.mix(INK, w * 0.85))
        .collect();
    vector(&mut c, &mut x, &weights, channels);
    next(&mut c, &mut x);
    let times = operator(&mut c, x + OP_R, mid, true);
    caption(&mut c, times.cx, captions_y, "채널별\n곱셈", SMALL);
    x += 2.0 * OP_R;
    next(&mut c, &mut x);
    deck(&mut c, x, deck_top, SLAB, STEP, &scaled);
    caption(
        &mut c,
        x + deck_side / 2.0,
        captions_y,
        "출력: 가중치를\n곱한 특성지도",
        SMALL,
    );

    // The input, unchanged, over the top to ⊗.
    path_arrow(
        &mut c,
        &[
            (input_x, deck_top),
            (input_x, path_y),
            (times.cx, path_y),
            (times.cx, times.top()),
        ],
        SKIP,
        1.5,
    );
    Ok(c.finish())
}

// ---------------------------------------------------------------------------------------
// ResNet-34
// ---------------------------------------------------------------------------------------

/// ResNet-34's stages: `(filters, residual units)`.
const RESNET34: [(usize, usize); 4] = [(64, 3), (128, 4), (256, 6), (512, 3)];

/// One residual unit of a ResNet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Unit {
    filters: usize,
    /// 2 when the unit halves the maps (and its skip connection is a 1×1 projection).
    stride: usize,
    stage: usize,
}

/// The residual units of `stages`, in order, as the book builds them: a unit whose filter
/// count differs from the previous unit's has stride 2. The first stage keeps the stem's
/// 64 channels, so it never has stride 2.
fn residual_units(stages: &[(usize, usize)]) -> Vec<Unit> {
    let mut prev = stages.first().map_or(0, |s| s.0);
    let mut units = Vec::new();
    for (stage, &(filters, count)) in stages.iter().enumerate() {
        for _ in 0..count {
            let stride = if filters == prev { 1 } else { 2 };
            units.push(Unit {
                filters,
                stride,
                stage,
            });
            prev = filters;
        }
    }
    units
}

/// One box of the ResNet stack.
struct Layer {
    label: String,
    /// Output shape.
    shape: String,
    color: Rgb,
    unit: Option<Unit>,
}

/// A ResNet's layers for `stages`, input first, for a `size × size × 3` input; also the
/// number of layers with weights (convolutions and dense), which names the network.
fn resnet_layers(size: usize, stages: &[(usize, usize)]) -> Result<(Vec<Layer>, usize)> {
    let same = |n, k, s| output_size(n, k, s, Padding::Same);
    let layer = |label: &str, hw: usize, ch: usize, kind: Kind| Layer {
        label: label.to_string(),
        shape: format!("{hw}×{hw}×{ch}"),
        color: kind.color(),
        unit: None,
    };
    let conv = same(size, 7, 2)?;
    let pool = same(conv, 3, 2)?;
    let mut layers = vec![
        layer("입력", size, 3, Kind::Data),
        layer("Conv 7×7, 64, /2", conv, 64, Kind::Conv),
        layer("MaxPool 3×3, /2", pool, 64, Kind::Pool),
    ];
    let units = residual_units(stages);
    let mut hw = pool;
    let mut ch = 64;
    for u in &units {
        hw = same(hw, 3, u.stride)?;
        ch = u.filters;
        let half = if u.stride > 1 { ", /2" } else { "" };
        layers.push(Layer {
            label: format!("잔차 유닛 {}{half}", u.filters),
            shape: format!("{hw}×{hw}×{ch}"),
            color: stage_color(u.stage).lighten(0.55),
            unit: Some(*u),
        });
    }
    layers.push(Layer {
        label: "전역 평균 풀링".to_string(),
        shape: ch.to_string(),
        color: Kind::Pool.color(),
        unit: None,
    });
    layers.push(Layer {
        label: "Dense 10, softmax".to_string(),
        shape: "10".to_string(),
        color: Kind::Dense.color(),
        unit: None,
    });
    Ok((layers, 1 + 2 * units.len() + 1))
}

/// ResNet-34 as the book builds it in Keras, bottom to top: Conv 7×7 (64 filters,
/// stride 2, with BN and ReLU), max pooling 3×3 stride 2, 16 residual units — 3 with 64
/// filters, 4 with 128, 6 with 256, 3 with 512, one colour per stage — global average
/// pooling and Dense(10, softmax). Left of each box its output shape for a 224 × 224 × 3
/// image, left of each stage its number of units.
///
/// Every residual unit (see [`residual_unit`]) has a skip connection, drawn as a loop at
/// its right: orange for the identity, red and labelled for the first unit of the 128,
/// 256 and 512 stages, which halve the maps (`/2`) and whose skip connection is a 1×1
/// convolution with stride 2 (a projection).
///
/// Lecture: notebook 07 (CNN 구조), ResNet-34.
///
/// ```
/// let fig = cnnkit_viz::figures::resnet34_stack()?;
/// let svg = fig.as_str();
/// assert_eq!(svg.matches(">잔차 유닛 ").count(), 16);
/// assert_eq!(svg.matches(">1×1 투영</text>").count(), 3);  // first unit of 128, 256, 512
/// assert!(svg.contains(">잔차 유닛 128, /2</text>") && svg.contains("7×7×512"));
/// assert!(svg.contains("= 34층"));
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn resnet34_stack() -> Result<Svg> {
    let (layers, depth) = resnet_layers(224, &RESNET34)?;
    let units = layers.iter().filter(|l| l.unit.is_some()).count();
    let heading =
        format!("ResNet-34: 합성곱 1 + 잔차 유닛 {units}개 × 합성곱 2 + Dense 1 = {depth}층");
    let note = "오른쪽 고리: 스킵 연결 (주황: 항등, 빨강: 보폭 2인 1×1 합성곱으로 투영)";
    let size = common_size(layers.iter().map(|l| l.label.as_str()));
    let shape_w = layers
        .iter()
        .map(|l| text_width(&l.shape, SMALL))
        .fold(0.0, f64::max);
    let count_w = text_width("×6", CAP);
    let proj_label = "1×1 투영";
    const GAP: f64 = 12.0;
    const LOOP: f64 = 14.0;

    let x_bracket = MARGIN + count_w + 8.0;
    let x_box = x_bracket + 10.0 + shape_w + 8.0; // left edge of the boxes
    let cx = x_box + size.0 / 2.0;
    let loop_x = x_box + size.0 + LOOP;
    let width = (loop_x + 6.0 + text_width(proj_label, SMALL) + MARGIN)
        .max(2.0 * MARGIN + text_width(&heading, CAP + 1.0))
        .max(2.0 * MARGIN + text_width(note, SMALL));
    let top = MARGIN + 2.0 * CAP + 30.0;
    let pitch = size.1 + GAP;
    let height = top + pitch * layers.len() as f64 - GAP + MARGIN;
    let mut c = Canvas::new(width, height);
    title(&mut c, MARGIN, CAP, &heading);
    c.text(
        MARGIN,
        MARGIN + 1.5 * CAP + 10.0,
        note,
        &TextStyle::new(SMALL).color(GREY),
    );

    // Layer 0 (the input) is at the bottom.
    let y = |i: usize| top + pitch * (layers.len() - 1 - i) as f64 + size.1 / 2.0;
    let mut below: Option<Node> = None;
    for (i, l) in layers.iter().enumerate() {
        let n = node(&mut c, cx, y(i), size, &l.label, l.color);
        c.text(
            n.left() - 8.0,
            n.cy,
            &l.shape,
            &TextStyle::new(SMALL).end().color(GREY),
        );
        if let Some(b) = below {
            arrow_up(&mut c, b, n);
        }
        below = Some(n);
        if let Some(u) = l.unit {
            let projection = u.stride > 1;
            let color = if projection { PROJECTION } else { SKIP };
            let (y0, y1) = (n.bottom() - 6.0, n.top() + 6.0);
            path_arrow(
                &mut c,
                &[(n.right(), y0), (loop_x, y0), (loop_x, y1), (n.right(), y1)],
                color,
                if projection { 1.8 } else { 1.3 },
            );
            if projection {
                c.text(
                    loop_x + 6.0,
                    n.cy,
                    proj_label,
                    &TextStyle::new(SMALL).color(PROJECTION),
                );
            }
        }
    }

    // A bracket and the unit count left of each stage.
    for (stage, &(_, count)) in RESNET34.iter().enumerate() {
        let idx: Vec<usize> = (0..layers.len())
            .filter(|&i| layers[i].unit.is_some_and(|u| u.stage == stage))
            .collect();
        let (Some(&lo), Some(&hi)) = (idx.first(), idx.last()) else {
            continue;
        };
        let (y_top, y_bottom) = (y(hi) - size.1 / 2.0, y(lo) + size.1 / 2.0);
        let color = stage_color(stage);
        let pen = Paint::outline(color, 1.5);
        c.line(x_bracket, y_top, x_bracket, y_bottom, &pen);
        c.line(x_bracket, y_top, x_bracket + 5.0, y_top, &pen);
        c.line(x_bracket, y_bottom, x_bracket + 5.0, y_bottom, &pen);
        c.text(
            x_bracket - 5.0,
            (y_top + y_bottom) / 2.0,
            &format!("×{count}"),
            &TextStyle::new(CAP).end().bold().color(color),
        );
    }
    Ok(c.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_counts() {
        // 3 → 64 channels, 3×3: the lecture's example.
        assert_eq!(standard_weights(3, 3, 64), 1_728);
        assert_eq!(separable_weights(3, 3, 64), 27 + 192);
        // Xception-sized: 128 → 256 channels.
        assert_eq!(standard_weights(3, 128, 256), 294_912);
        assert_eq!(separable_weights(3, 128, 256), 1_152 + 32_768);
        // A 1×1 "separable" convolution has more weights than a plain 1×1 one: 2 + 4 vs 4.
        assert_eq!(separable_weights(1, 2, 2), 6);
        assert_eq!(
            comparison(standard_weights(1, 2, 2), separable_weights(1, 2, 2)),
            "1.5배 많음"
        );
        assert_eq!(comparison(1_728, 219), "7.9배 적음");
        assert_eq!(comparison(5, 5), "같음");
    }

    #[test]
    fn inception_3a_outputs_256_channels() {
        assert_eq!(INCEPTION_3A.branch_outputs(), [64, 128, 32, 32]);
        assert_eq!(INCEPTION_3A.output_channels(), 256);
        let branches = INCEPTION_3A.branches();
        assert_eq!(branches.each_ref().map(|b| b.len()), [1, 2, 2, 2]);
        assert!(branches[3][0].0.starts_with("MaxPool"));
    }

    #[test]
    fn resnet34_units_and_shapes() {
        let units = residual_units(&RESNET34);
        assert_eq!(units.len(), 16);
        let halving: Vec<usize> = (0..units.len()).filter(|&i| units[i].stride == 2).collect();
        assert_eq!(halving, [3, 7, 13]); // first unit of the 128, 256 and 512 stages
        let (layers, depth) = resnet_layers(224, &RESNET34).unwrap();
        assert_eq!(depth, 34);
        let shapes: Vec<&str> = layers.iter().map(|l| l.shape.as_str()).collect();
        assert_eq!(
            &shapes[..4],
            ["224×224×3", "112×112×64", "56×56×64", "56×56×64"]
        );
        assert_eq!(shapes[3 + 3], "28×28×128");
        assert_eq!(shapes[3 + 15], "7×7×512");
        assert_eq!(&shapes[19..], ["512", "10"]);
    }

    #[test]
    fn shown_rows() {
        assert_eq!(shown(3, 5), [Some(0), Some(1), Some(2)]);
        assert_eq!(shown(64, 5), [Some(0), Some(1), Some(2), None, Some(63)]);
        assert_eq!(shown(6, 5), [Some(0), Some(1), Some(2), None, Some(5)]);
    }

    #[test]
    fn blend_averages() {
        assert_eq!(
            blend(&[(Rgb::BLACK, 1.0), (Rgb::WHITE, 1.0)]),
            Rgb(128, 128, 128)
        );
        assert_eq!(blend(&[(Rgb(10, 20, 30), 3.0)]), Rgb(10, 20, 30));
    }
}
