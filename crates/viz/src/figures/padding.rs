//! Zero padding and strides (the book's figures 14-6 and 14-7).

use crate::error::{Error, Result};
use crate::plot::{text_width, Canvas, Paint, Rgb, Svg, TextStyle};
use cnnkit_nn::arith::{axis_geometry, Padding};

use super::grid::{
    legend, neuron_at, number_size, title, Grid, FIELD, IGNORED, INK, LINE, NEURON, PAD,
};

/// An input grid with its zero padding (grey cells marked 0), one receptive field, and
/// the output grid beside it with the neuron that field feeds.
///
/// Padding follows Keras: for `Padding::Same` the output has `ceil(n / stride)` cells per
/// axis and the `max((out - 1) * stride + kernel - n, 0)` zeros are split with the extra
/// one at the bottom/right; for `Padding::Valid` there are no zeros and input rows or
/// columns that no window reaches are shaded pink (they are ignored).
///
/// * `input_h`, `input_w`: input size; `kernel`: square kernel size; `stride`: step.
/// * `highlight`: `(row, col)` of the output neuron whose receptive field is drawn.
///
/// Lecture: 합성곱 층, "제로패딩" and "보폭" (book figures 14-6, 14-7).
///
/// ```
/// use cnnkit_nn::arith::Padding;
/// // The book's figure 14-7: 5×7 input, 3×3 kernel, stride 2, "same" → 3×4 output.
/// let fig = cnnkit_viz::figures::padding_grid(5, 7, 3, 2, Padding::Same, (0, 3))?;
/// assert!(fig.as_str().contains("출력 3×4"));
/// assert!(fig.as_str().contains(">0</text>"));          // zeros in the padding
/// let valid = cnnkit_viz::figures::padding_grid(6, 6, 3, 2, Padding::Valid, (0, 0))?;
/// assert!(valid.as_str().contains("출력 2×2") && valid.as_str().contains("무시되는 셀"));
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn padding_grid(
    input_h: usize,
    input_w: usize,
    kernel: usize,
    stride: usize,
    padding: Padding,
    highlight: (usize, usize),
) -> Result<Svg> {
    let gy = axis_geometry(input_h, kernel, stride, padding)?;
    let gx = axis_geometry(input_w, kernel, stride, padding)?;
    if highlight.0 >= gy.output || highlight.1 >= gx.output {
        return Err(Error::invalid(
            "highlight",
            format!(
                "({}, {}) is outside the {}×{} output; rows and columns count from 0",
                highlight.0, highlight.1, gy.output, gx.output
            ),
        ));
    }
    // Padded grid: pad_before + input + pad_after cells per axis.
    let rows = gy.pad_before + input_h + gy.pad_after;
    let cols = gx.pad_before + input_w + gx.pad_after;
    // Cells at or beyond these padded indices are reached by no window.
    let reach_r = (gy.output - 1) * stride + kernel;
    let reach_c = (gx.output - 1) * stride + kernel;
    let is_pad = |r: usize, c: usize| {
        r < gy.pad_before
            || r >= gy.pad_before + input_h
            || c < gx.pad_before
            || c >= gx.pad_before + input_w
    };
    let is_ignored = |r: usize, c: usize| !is_pad(r, c) && (r >= reach_r || c >= reach_c);
    let any_ignored = (0..rows).any(|r| (0..cols).any(|c| is_ignored(r, c)));
    let any_pad = rows > input_h || cols > input_w;

    let cell = (340.0 / rows.max(cols) as f64).clamp(14.0, 34.0);
    let margin = 16.0;
    let cap = 13.0;
    let top = margin + 2.0 * (cap + 4.0) + 10.0;
    let input = Grid {
        x: margin,
        y: top,
        rows,
        cols,
        cell,
    };
    let out_cell = cell;
    let gap = 90.0;
    let out_h = out_cell * gy.output as f64;
    let output = Grid {
        x: margin + input.width() + gap,
        y: top + (input.height() - out_h).max(0.0) / 2.0,
        rows: gy.output,
        cols: gx.output,
        cell: out_cell,
    };
    let heading = format!(
        "입력 {input_h}×{input_w}, 커널 {kernel}×{kernel}, 보폭 {stride}, padding=\"{}\"",
        padding.as_str()
    );
    let out_caption = format!("출력 {}×{}", gy.output, gx.output);
    let width = (output.x + output.width().max(text_width(&out_caption, cap)) + margin)
        .max(margin * 2.0 + text_width(&heading, cap + 1.0))
        .max(margin * 2.0 + 420.0);
    let height = top + input.height().max(output.height()) + 52.0;
    let mut c = Canvas::new(width, height);

    // Receptive field of the highlighted neuron, in padded coordinates.
    let (r0, c0) = (highlight.0 * stride, highlight.1 * stride);
    let (r1, c1) = (r0 + kernel - 1, c0 + kernel - 1);
    let in_field = |r: usize, cc: usize| (r0..=r1).contains(&r) && (c0..=c1).contains(&cc);

    // Lines from the field to the neuron, drawn first (behind the grids).
    let (fx, fy, fw, fh) = input.block(r0, c0, r1, c1);
    let (nx, ny) = output.corner(highlight.0, highlight.1);
    c.polygon(
        &[
            (fx + fw, fy),
            (nx, ny),
            (nx, ny + out_cell),
            (fx + fw, fy + fh),
        ],
        &Paint::fill(FIELD).opacity(0.12),
    );
    c.line(fx + fw, fy, nx, ny, &Paint::outline(FIELD, 1.0));
    c.line(
        fx + fw,
        fy + fh,
        nx,
        ny + out_cell,
        &Paint::outline(FIELD, 1.0),
    );

    input.cells(&mut c, |r, cc| {
        let base = if is_pad(r, cc) {
            PAD
        } else if is_ignored(r, cc) {
            IGNORED
        } else {
            Rgb::WHITE
        };
        if in_field(r, cc) {
            base.mix(FIELD, 0.35)
        } else {
            base
        }
    });
    let zero = TextStyle::new(number_size(cell))
        .middle()
        .color(Rgb(120, 120, 120));
    input.numbers(&mut c, |r, cc| {
        is_pad(r, cc).then(|| ("0".to_string(), zero))
    });
    // The real input, outlined, and the field.
    input.outline(
        &mut c,
        gy.pad_before,
        gx.pad_before,
        gy.pad_before + input_h - 1,
        gx.pad_before + input_w - 1,
        &Paint::outline(INK, 2.0),
    );
    input.outline(&mut c, r0, c0, r1, c1, &Paint::outline(FIELD, 3.0));

    output.cells(&mut c, neuron_at(highlight));
    output.frame(&mut c, 2.0);

    title(&mut c, margin, cap, &heading);
    let cap_y = top - 8.0 - cap / 2.0;
    let in_caption = if any_pad {
        "입력 + 제로 패딩"
    } else {
        "입력"
    };
    input.caption(&mut c, cap_y, in_caption, cap);
    output.caption(&mut c, cap_y, &out_caption, cap);

    // Legend under the grids.
    let mut items = vec![(
        Paint::fill(FIELD.mix(Rgb::WHITE, 0.65)).stroke(FIELD, 2.0),
        "수용장",
    )];
    if any_pad {
        items.push((Paint::fill(PAD).stroke(LINE, 1.0), "제로 패딩"));
    }
    if any_ignored {
        items.push((Paint::fill(IGNORED).stroke(LINE, 1.0), "무시되는 셀"));
    }
    items.push((Paint::fill(NEURON).stroke(LINE, 1.0), "출력 뉴런"));
    legend(&mut c, margin, height - 22.0, &items);
    Ok(c.finish())
}
