//! A typical CNN as a block diagram (the book's figure 14-3 / 14-9 feel).

use crate::error::{Error, Result};
use crate::plot::{text_width, Canvas, Paint, Rgb, Svg, TextStyle};

use super::grid::INK;

/// The lecture's Fashion-MNIST model, stage by stage: `(label, height, width, channels)`.
/// `\n` in a label starts a second line.
///
/// ```
/// let fig = cnnkit_viz::figures::cnn_architecture(cnnkit_viz::figures::LECTURE_CNN)?;
/// assert!(fig.as_str().contains("28×28×64"));
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub const LECTURE_CNN: &[(&str, usize, usize, usize)] = &[
    ("입력", 28, 28, 1),
    ("Conv2D\n64, 7×7", 28, 28, 64),
    ("MaxPool2D", 14, 14, 64),
    ("Conv2D ×2\n128, 3×3", 14, 14, 128),
    ("MaxPool2D", 7, 7, 128),
    ("Conv2D ×2\n256, 3×3", 7, 7, 256),
    ("MaxPool2D", 3, 3, 256),
    ("Flatten", 1, 1, 2304),
    ("Dense\n128", 1, 1, 128),
    ("Dense\n64", 1, 1, 64),
    ("Dense\n10 softmax", 1, 1, 10),
];

/// Colour of a stage, guessed from its label: convolutions blue, pooling orange, dense
/// and output green, the rest (input, flatten) grey.
fn stage_color(label: &str) -> Rgb {
    let l = label.to_lowercase();
    if l.contains("conv") || l.contains("합성곱") {
        Rgb(100, 149, 210)
    } else if l.contains("pool") || l.contains("풀링") {
        Rgb(245, 160, 80)
    } else if l.contains("dense")
        || l.contains("밀집")
        || l.contains("출력")
        || l.contains("softmax")
    {
        Rgb(110, 190, 110)
    } else {
        Rgb(175, 175, 175)
    }
}

/// Darker shade for the side faces of a box.
fn shade(c: Rgb, amount: f32) -> Rgb {
    c.mix(Rgb::BLACK, amount)
}

/// A block diagram of a CNN: one box per stage, left to right, joined by arrows.
///
/// A stage with spatial size `h × w` and `c` channels is a box whose front face is as tall
/// as `h` (to scale: pooling halves it), whose depth (drawn slanted) follows `w`, and
/// whose thickness grows with the number of channels (logarithmically: 64 → 256 channels
/// makes a box thicker, not four times wider). Stages with `h = w = 1` are vectors
/// (Flatten, Dense) and are drawn as thin bars whose height grows with the number of
/// units. Under each box: its label and its shape `h×w×c`.
///
/// Colours follow the label: `Conv` blue, `Pool` orange, `Dense`/output green, else grey.
///
/// Lecture: "CNN 구조" (book figures 14-3 and 14-9).
///
/// ```
/// let fig = cnnkit_viz::figures::cnn_architecture(&[
///     ("입력", 28, 28, 1),
///     ("합성곱", 28, 28, 32),
///     ("풀링", 14, 14, 32),
///     ("출력", 1, 1, 10),
/// ])?;
/// let svg = fig.as_str();
/// assert!(svg.contains(">합성곱</text>") && svg.contains("14×14×32") && svg.contains(">10</text>"));
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn cnn_architecture(stages: &[(&str, usize, usize, usize)]) -> Result<Svg> {
    if stages.is_empty() {
        return Err(Error::invalid(
            "stages",
            "give at least one stage, e.g. (\"입력\", 28, 28, 1)",
        ));
    }
    if let Some((label, ..)) = stages.iter().find(|s| s.1 == 0 || s.2 == 0 || s.3 == 0) {
        return Err(Error::invalid(
            "stages",
            format!("stage `{label}` has a zero size; every height, width and channel count must be ≥ 1"),
        ));
    }
    let max_hw = stages
        .iter()
        .filter(|s| s.1 > 1 || s.2 > 1)
        .map(|s| s.1.max(s.2))
        .max()
        .unwrap_or(1) as f64;
    let max_units = stages
        .iter()
        .filter(|s| s.1 == 1 && s.2 == 1)
        .map(|s| s.3)
        .max()
        .unwrap_or(1) as f64;
    const MAX_FACE: f64 = 150.0; // front-face height of the largest feature map
    const SLANT: f64 = 0.45; // depth drawn at 45°, shortened
    struct Boxed {
        face_h: f64,
        thick: f64,
        depth: f64,
        vector: bool,
    }
    let boxes: Vec<Boxed> = stages
        .iter()
        .map(|&(_, h, w, c)| {
            let vector = h == 1 && w == 1;
            if vector {
                // Height from the unit count, log scale, relative to the largest vector.
                let t = (c as f64).ln_1p() / max_units.ln_1p().max(1e-9);
                Boxed {
                    face_h: 40.0 + 110.0 * t,
                    thick: 12.0,
                    depth: 0.0,
                    vector,
                }
            } else {
                Boxed {
                    face_h: (MAX_FACE * h as f64 / max_hw).max(12.0),
                    thick: 6.0 + 7.0 * (c as f64).log2(),
                    depth: (MAX_FACE * w as f64 / max_hw).max(12.0) * SLANT,
                    vector,
                }
            }
        })
        .collect();
    let label_size = 12.0;
    let shape_size = 11.0;
    let shapes: Vec<String> = stages
        .iter()
        .map(|&(_, h, w, c)| {
            if h == 1 && w == 1 {
                format!("{c}")
            } else {
                format!("{h}×{w}×{c}")
            }
        })
        .collect();
    // Column width: the box (front + slanted depth) or the widest label line.
    let col_w: Vec<f64> = stages
        .iter()
        .zip(&boxes)
        .zip(&shapes)
        .map(|((s, b), shape)| {
            let text =
                s.0.lines()
                    .map(|l| text_width(l, label_size))
                    .chain(std::iter::once(text_width(shape, shape_size)))
                    .fold(0.0, f64::max);
            (b.thick + b.depth * 0.7).max(text) + 6.0
        })
        .collect();
    let gap = 26.0;
    let margin = 14.0;
    let max_depth = boxes.iter().map(|b| b.depth * 0.7).fold(0.0, f64::max);
    let max_face = boxes.iter().map(|b| b.face_h).fold(0.0, f64::max);
    let mid = margin + max_depth + max_face / 2.0; // vertical centre of every front face
    let label_lines = stages
        .iter()
        .map(|s| s.0.lines().count())
        .max()
        .unwrap_or(1) as f64;
    let text_top = mid + max_face / 2.0 + 14.0;
    let height = text_top + label_lines * (label_size + 4.0) + shape_size + 12.0 + margin;
    let width = 2.0 * margin + col_w.iter().sum::<f64>() + gap * (stages.len() - 1) as f64;
    let mut canvas = Canvas::new(width, height);

    let mut x = margin;
    let mut prev_right: Option<f64> = None;
    for (((&(label, ..), b), shape), &cw) in stages.iter().zip(&boxes).zip(&shapes).zip(&col_w) {
        let color = stage_color(label);
        let box_w = b.thick + b.depth * 0.7;
        let fx = x + (cw - box_w) / 2.0; // front face left
        let fy = mid - b.face_h / 2.0; // front face top
        let (dx, dy) = (b.depth * 0.7, -b.depth * 0.7);
        if let Some(px) = prev_right {
            canvas.arrow(px + 4.0, mid, fx - 4.0, mid, INK, 1.5);
        }
        // Top and right faces (parallelograms), then the front face.
        if !b.vector {
            canvas.polygon(
                &[
                    (fx, fy),
                    (fx + dx, fy + dy),
                    (fx + b.thick + dx, fy + dy),
                    (fx + b.thick, fy),
                ],
                &Paint::fill(color.lighten(0.35)).stroke(INK, 0.8),
            );
            canvas.polygon(
                &[
                    (fx + b.thick, fy),
                    (fx + b.thick + dx, fy + dy),
                    (fx + b.thick + dx, fy + dy + b.face_h),
                    (fx + b.thick, fy + b.face_h),
                ],
                &Paint::fill(shade(color, 0.2)).stroke(INK, 0.8),
            );
        }
        canvas.rect(
            fx,
            fy,
            b.thick,
            b.face_h,
            &Paint::fill(color).stroke(INK, 0.8),
        );
        prev_right = Some(fx + b.thick + if b.vector { 0.0 } else { dx * 0.5 });

        let cx = x + cw / 2.0;
        let mut ty = text_top;
        for line in label.lines() {
            canvas.text(
                cx,
                ty,
                line,
                &TextStyle::new(label_size).middle().color(INK),
            );
            ty += label_size + 4.0;
        }
        canvas.text(
            cx,
            text_top + label_lines * (label_size + 4.0) + 2.0,
            shape,
            &TextStyle::new(shape_size)
                .middle()
                .color(Rgb(100, 100, 100)),
        );
        x += cw + gap;
    }
    Ok(canvas.finish())
}
