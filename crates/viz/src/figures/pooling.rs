//! Pooling: windows and their results (book figure 14-10), invariance to small shifts
//! (14-11) and depthwise pooling across feature maps (14-12).

use ndarray::{Array2, ArrayView2, ArrayView3, AsArray, Axis, Ix2, Ix3};

use crate::error::{Error, Result};
use crate::plot::{text_width, Canvas, ColorMap, Paint, Rgb, Svg, TextStyle};
use cnnkit_kernels::pool::{self as kernel, PoolGeometry};
use cnnkit_nn::arith::Padding;
use cnnkit_nn::ops::PoolKind;

use super::grid::{
    caption, cell_formatter, legend, neuron_at, number_size, title, Grid, FIELD, IGNORED, INK,
    LINE, NEURON, WINDOWS,
};

fn kind_name(kind: PoolKind) -> &'static str {
    match kind {
        PoolKind::Max => "최대 풀링",
        PoolKind::Avg => "평균 풀링",
    }
}

/// The result of [`pool_small`]: the pooled values and, for max pooling, where each
/// maximum was found in the input.
struct Pooled {
    out: Array2<f32>,
    argmax: Array2<(usize, usize)>,
}

/// Pools a small 2-D array with square windows, `padding="valid"` (as Keras'
/// `MaxPool2D` / `AvgPool2D` by default): max pooling with the kernel `MaxPool2D` runs.
fn pool_small(
    x: &ArrayView2<'_, f32>,
    pool: usize,
    stride: usize,
    kind: PoolKind,
) -> Result<Pooled> {
    let (h, w) = x.dim();
    let g = PoolGeometry::new(1, (h, w, 1), (pool, pool), (stride, stride), Padding::Valid)
        .map_err(cnnkit_nn::Error::from)?;
    let mut out = vec![0.0; g.output_len()];
    // The index of each window's maximum in `x`, row by row; zeros (unused) for averages.
    let mut argmax = vec![0u32; g.output_len()];
    match kind {
        PoolKind::Max => {
            let xs: Vec<f32> = x.iter().copied().collect();
            kernel::max_pool_forward(&g, &xs, &mut out, &mut argmax);
        }
        // Not `kernel::avg_pool_forward`: it adds a window's values in one pass where
        // ndarray's `mean` adds row sums, and the two sums differ in the last bit often
        // enough to change a mean shown with two decimals (5.91 or 5.92).
        PoolKind::Avg => {
            for (n, o) in out.iter_mut().enumerate() {
                let (r0, c0) = ((n / g.out_w) * stride, (n % g.out_w) * stride);
                let window = x.slice(ndarray::s![r0..r0 + pool, c0..c0 + pool]);
                *o = window.mean().unwrap_or(0.0);
            }
        }
    }
    let shape = (g.out_h, g.out_w);
    let argmax = argmax.iter().map(|&i| (i as usize / w, i as usize % w));
    Ok(Pooled {
        out: Array2::from_shape_vec(shape, out)
            .map_err(|e| Error::invalid("pooled values", e.to_string()))?,
        argmax: Array2::from_shape_vec(shape, argmax.collect())
            .map_err(|e| Error::invalid("pooled values", e.to_string()))?,
    })
}

/// An input grid with a number in every cell, each pooling window in its own colour, and
/// the output grid with the pooled numbers in the matching colours. For max pooling the
/// winning value of each window is bold and circled. Cells that no window covers (possible
/// with `padding="valid"`) are shaded pink.
///
/// Windows are `pool × pool`, moved by `stride`, without padding (Keras' default).
///
/// # Shapes
/// `input`: `(H, W)`, small (up to about 12 × 12) so that the numbers stay readable.
///
/// Lecture: 풀링 층, "최대 풀링층" (book figure 14-10).
///
/// ```
/// use cnnkit_nn::ops::PoolKind;
/// let x = ndarray::array![[1.0_f32, 5.0, 2.0, 0.0],
///                         [3.0, 4.0, 8.0, 1.0],
///                         [0.0, 2.0, 1.0, 1.0],
///                         [7.0, 1.0, 3.0, 6.0]];
/// let fig = cnnkit_viz::figures::pooling_grid(&x, 2, 2, PoolKind::Max)?;
/// let svg = fig.as_str();
/// for out in [">5</text>", ">8</text>", ">7</text>", ">6</text>"] {
///     assert!(svg.contains(out));
/// }
/// let avg = cnnkit_viz::figures::pooling_grid(&x, 2, 2, PoolKind::Avg)?;
/// assert!(avg.as_str().contains(">3.25</text>")); // (1 + 5 + 3 + 4) / 4
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn pooling_grid<'a>(
    input: impl AsArray<'a, f32, Ix2>,
    pool: usize,
    stride: usize,
    kind: PoolKind,
) -> Result<Svg> {
    let x: ArrayView2<'a, f32> = input.into();
    let Pooled { out, argmax: arg } = pool_small(&x, pool, stride, kind)?;
    let (h, w) = x.dim();
    let (oh, ow) = out.dim();
    let fmt_in = cell_formatter(x.iter().copied());
    let fmt_out = cell_formatter(out.iter().copied());

    let widest = x
        .iter()
        .map(|&v| fmt_in(v))
        .chain(out.iter().map(|&v| fmt_out(v)))
        .map(|t| text_width(&t, 14.0))
        .fold(0.0, f64::max);
    let cell = (360.0 / h.max(w) as f64)
        .clamp(22.0, 44.0)
        .max(widest + 10.0);
    let margin = 16.0;
    let cap = 13.0;
    let top = margin + 2.0 * (cap + 6.0) + 8.0;
    let input = Grid {
        x: margin,
        y: top,
        rows: h,
        cols: w,
        cell,
    };
    let gap = 80.0;
    let output = Grid {
        x: margin + input.width() + gap,
        y: top + (input.height() - cell * oh as f64).max(0.0) / 2.0,
        rows: oh,
        cols: ow,
        cell,
    };
    let heading = format!(
        "{}: {pool}×{pool} 커널, 보폭 {stride}, padding=\"valid\"",
        kind_name(kind)
    );
    let out_caption = format!("출력 {oh}×{ow}");
    let width = (output.x + output.width().max(text_width(&out_caption, cap)) + margin)
        .max(2.0 * margin + text_width(&heading, cap + 1.0));
    let height = top + input.height().max(output.height()) + 48.0;
    let mut c = Canvas::new(width, height);

    // Which window colours a cell: neighbouring outputs get different colours.
    let overlap = stride < pool;
    // Neighbouring outputs get different colours; with overlapping windows only the first
    // and the last are shown (see below), in the first two colours.
    let color_of = |i: usize, j: usize| {
        if overlap {
            WINDOWS[usize::from((i, j) != (0, 0))]
        } else {
            WINDOWS[(i % 2) * 2 + (j % 2)]
        }
    };
    let reach_r = (oh - 1) * stride + pool;
    let reach_c = (ow - 1) * stride + pool;
    let any_ignored = reach_r < h || reach_c < w;

    // With overlapping windows (stride < pool) colouring every window would mix all the
    // colours, so only the first and the last window are shown.
    let mut shown: Vec<(usize, usize)> = if stride >= pool {
        (0..oh).flat_map(|i| (0..ow).map(move |j| (i, j))).collect()
    } else {
        vec![(0, 0), (oh - 1, ow - 1)]
    };
    shown.dedup();
    let window = |(i, j): (usize, usize)| {
        (
            i * stride,
            j * stride,
            i * stride + pool - 1,
            j * stride + pool - 1,
        )
    };

    // Input cells: white (or pink if ignored), then each shown window as a colour layer
    // (translucent if windows overlap), grid lines again on top, then window outlines.
    input.cells(&mut c, |r, cc| {
        if r >= reach_r || cc >= reach_c {
            IGNORED
        } else {
            Rgb::WHITE
        }
    });
    let alpha = if stride < pool { 0.6 } else { 0.9 };
    for &(i, j) in &shown {
        let (r0, c0, r1, c1) = window((i, j));
        let (x0, y0, ww, hh) = input.block(r0, c0, r1, c1);
        c.rect(x0, y0, ww, hh, &Paint::fill(color_of(i, j)).opacity(alpha));
    }
    for r in 0..h {
        for cc in 0..w {
            let (x0, y0) = input.corner(r, cc);
            c.rect(x0, y0, cell, cell, &Paint::outline(LINE, 1.0));
        }
    }
    for &(i, j) in &shown {
        let (r0, c0, r1, c1) = window((i, j));
        let color = if stride >= pool {
            INK
        } else {
            color_of(i, j).mix(INK, 0.4)
        };
        let inset = if stride >= pool {
            0.0
        } else {
            2.0 * (i + j).min(1) as f64
        };
        let (x0, y0, ww, hh) = input.block(r0, c0, r1, c1);
        c.rect(
            x0 + inset,
            y0 + inset,
            ww - 2.0 * inset,
            hh - 2.0 * inset,
            &Paint::outline(color, 2.0),
        );
    }
    let size = number_size(cell);
    let winners: Vec<(usize, usize)> = if kind == PoolKind::Max {
        shown.iter().map(|&(i, j)| arg[[i, j]]).collect()
    } else {
        Vec::new()
    };
    for &(r, cc) in &winners {
        let (cx, cy) = input.center(r, cc);
        c.circle(cx, cy, cell * 0.4, &Paint::outline(INK, 1.5));
    }
    input.numbers(&mut c, |r, cc| {
        let st = TextStyle::new(size).middle().color(INK);
        let st = if winners.contains(&(r, cc)) {
            st.bold()
        } else {
            st
        };
        Some((fmt_in(x[[r, cc]]), st))
    });

    output.cells(&mut c, |i, j| {
        if shown.contains(&(i, j)) {
            color_of(i, j)
        } else {
            Rgb::WHITE
        }
    });
    output.frame(&mut c, 2.0);
    output.bold_numbers(&mut c, size, |i, j| fmt_out(out[[i, j]]));

    // An arrow between the grids.
    let ay = top + input.height().min(output.height().max(cell)) / 2.0;
    let ay = ay
        .max(output.y + output.height() / 2.0)
        .min(top + input.height() / 2.0);
    c.arrow(
        input.x + input.width() + 14.0,
        ay,
        output.x - 14.0,
        ay,
        INK,
        2.0,
    );

    title(&mut c, margin, cap, &heading);
    let cap_y = top - 8.0 - cap / 2.0;
    input.caption(&mut c, cap_y, &format!("입력 {h}×{w}"), cap);
    output.caption(&mut c, cap_y, &out_caption, cap);
    let mut items: Vec<(Paint, &str)> = vec![(
        Paint::fill(WINDOWS[0]).stroke(INK, 1.0),
        if overlap {
            "창 (첫째와 마지막만 표시)"
        } else {
            "풀링 커널 (창)"
        },
    )];
    if kind == PoolKind::Max {
        items.push((Paint::fill(Rgb::WHITE).stroke(INK, 1.5), "창의 최댓값"));
    }
    if any_ignored {
        items.push((Paint::fill(IGNORED).stroke(LINE, 1.0), "무시되는 셀"));
    }
    legend(&mut c, margin, height - 20.0, &items);
    Ok(c.finish())
}

/// Shifts an image `dx` columns to the right, filling with zeros from the left.
fn shift_right(x: &ArrayView2<'_, f32>, dx: usize) -> Array2<f32> {
    let (h, w) = x.dim();
    Array2::from_shape_fn((h, w), |(r, c)| if c >= dx { x[[r, c - dx]] } else { 0.0 })
}

/// Translation invariance of max pooling: the input shifted right by each of `shifts`
/// pixels (zeros enter from the left), each next to its 2-D max-pooled output (`pool ×
/// pool`, stride `pool`). Each output is compared with the first one: equal outputs mean
/// the pooling did not notice the shift.
///
/// Pixels are drawn as grey levels (white 0, black the largest value), as in the book.
///
/// # Shapes
/// `image`: `(H, W)`, small (e.g. 6 × 8).
///
/// Lecture: 풀링 층, "작은 변화에 대한 불변성" (book figure 14-11).
///
/// ```
/// use ndarray::Array2;
/// // Bright pixels in even columns: a one-pixel shift keeps each in its 2×2 window.
/// let a = Array2::from_shape_fn((4, 8), |(r, c)| if c % 4 == 0 && r % 2 == 0 { 1.0_f32 } else { 0.0 });
/// let fig = cnnkit_viz::figures::pooling_invariance(&a, 2, &[0, 1, 2])?;
/// let svg = fig.as_str();
/// assert!(svg.contains("A와 같음"));          // shift by 1: same output
/// assert!(svg.contains("A와 다름"));          // shift by 2: output moves
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn pooling_invariance<'a>(
    image: impl AsArray<'a, f32, Ix2>,
    pool: usize,
    shifts: &[usize],
) -> Result<Svg> {
    let x: ArrayView2<'a, f32> = image.into();
    if shifts.is_empty() {
        return Err(Error::invalid(
            "shifts",
            "give at least one shift, e.g. &[0, 1, 2]",
        ));
    }
    let (h, w) = x.dim();
    let inputs: Vec<Array2<f32>> = shifts.iter().map(|&s| shift_right(&x, s)).collect();
    let outputs: Vec<Array2<f32>> = inputs
        .iter()
        .map(|i| pool_small(&i.view(), pool, pool, PoolKind::Max).map(|p| p.out))
        .collect::<Result<_>>()?;
    let (oh, ow) = outputs[0].dim();
    let hi = x
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0_f32, f32::max);
    let lo = x
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0_f32, f32::min);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let shade = |v: f32| ColorMap::Binary.color((v - lo) / span);

    let cell = (220.0 / w.max(h) as f64).clamp(12.0, 30.0);
    let margin = 16.0;
    let cap = 13.0;
    let label_w = 90.0;
    let row_gap = 26.0;
    let top = margin + cap + 14.0;
    let in_w = cell * w as f64;
    let gap = 70.0;
    let out_x = margin + label_w + in_w + gap;
    let verdict_x = out_x + cell * ow as f64 + 20.0;
    let row_h = cell * h as f64;
    let width = verdict_x + 130.0;
    let height = top + (row_h + row_gap) * shifts.len() as f64 + 8.0;
    let mut c = Canvas::new(width, height);
    title(
        &mut c,
        margin,
        cap,
        &format!("최대 풀링 {pool}×{pool} (보폭 {pool}) 전후: 입력을 오른쪽으로 옮기면?"),
    );
    let letters = ["A", "B", "C", "D", "E", "F", "G", "H"];
    for (k, (inp, out)) in inputs.iter().zip(&outputs).enumerate() {
        let y = top + (row_h + row_gap) * k as f64;
        let name = letters.get(k).copied().unwrap_or("?");
        c.text(
            margin,
            y + row_h / 2.0 - 9.0,
            name,
            &TextStyle::new(16.0).bold().color(INK),
        );
        c.text(
            margin,
            y + row_h / 2.0 + 10.0,
            &format!("{}칸 이동", shifts[k]),
            &TextStyle::new(12.0).color(INK),
        );
        let g_in = Grid {
            x: margin + label_w,
            y,
            rows: h,
            cols: w,
            cell,
        };
        g_in.cells(&mut c, |r, cc| shade(inp[[r, cc]]));
        // Pooling windows as thin outlines.
        for i in 0..oh {
            for j in 0..ow {
                g_in.outline(
                    &mut c,
                    i * pool,
                    j * pool,
                    i * pool + pool - 1,
                    j * pool + pool - 1,
                    &Paint::outline(FIELD, 1.5),
                );
            }
        }
        let g_out = Grid {
            x: out_x,
            y: y + (row_h - cell * oh as f64) / 2.0,
            rows: oh,
            cols: ow,
            cell,
        };
        g_out.cells(&mut c, |i, j| shade(out[[i, j]]));
        g_out.frame(&mut c, 1.5);
        c.arrow(
            g_in.x + in_w + 12.0,
            y + row_h / 2.0,
            out_x - 12.0,
            y + row_h / 2.0,
            INK,
            1.5,
        );
        if k > 0 {
            let same = *out == outputs[0];
            let (text, color) = if same {
                ("= A와 같음".to_string(), Rgb(44, 140, 44))
            } else {
                let diff = out
                    .iter()
                    .zip(outputs[0].iter())
                    .filter(|(a, b)| a != b)
                    .count();
                (format!("≠ A와 다름 ({diff}칸)"), Rgb(200, 40, 40))
            };
            c.text(
                verdict_x,
                y + row_h / 2.0,
                &text,
                &TextStyle::new(13.0).bold().color(color),
            );
        }
    }
    Ok(c.finish())
}

/// Depthwise pooling (Keras has no layer for it; the lecture implements it): for every
/// pixel, the maximum (or mean) of the values at that pixel across all feature maps, so
/// `C` maps become one. The maps are drawn side by side with their numbers, one pixel
/// position is highlighted in every map, and lines lead to the output map.
///
/// # Shapes
/// `maps`: `(H, W, C)`, channels last; small (up to about 6 × 6 and 5 maps).
///
/// Lecture: 풀링 층, "깊이 위주 최대/평균 풀링층" (book figure 14-12).
///
/// ```
/// use cnnkit_nn::ops::PoolKind;
/// let maps = ndarray::Array3::from_shape_fn((3, 3, 3), |(r, c, k)| ((r * 3 + c) * (k + 1) % 7) as f32);
/// let fig = cnnkit_viz::figures::depthwise_pooling_diagram(&maps, (1, 1), PoolKind::Max)?;
/// // At (1, 1) the maps hold 4, 1 and 5: the output shows 5.
/// assert!(fig.as_str().contains("max(4, 1, 5) = 5"));
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn depthwise_pooling_diagram<'a>(
    maps: impl AsArray<'a, f32, Ix3>,
    highlight: (usize, usize),
    kind: PoolKind,
) -> Result<Svg> {
    let maps: ArrayView3<'a, f32> = maps.into();
    let (h, w, ch) = maps.dim();
    if h == 0 || w == 0 || ch == 0 {
        return Err(Error::invalid(
            "feature maps",
            format!(
                "shape {:?} is empty; expected (H, W, C) with all sizes ≥ 1",
                maps.dim()
            ),
        ));
    }
    if highlight.0 >= h || highlight.1 >= w {
        return Err(Error::invalid(
            "highlight",
            format!(
                "({}, {}) is outside the {h}×{w} maps",
                highlight.0, highlight.1
            ),
        ));
    }
    let (hr, hc) = highlight;
    // The pooled map and, for max pooling, which map wins at the highlighted pixel.
    let (out, winner) = match kind {
        PoolKind::Max => {
            let xs: Vec<f32> = maps.iter().copied().collect();
            let mut out = vec![0.0; h * w];
            let mut argmax = vec![0u32; h * w];
            kernel::depthwise_max_forward(&xs, ch, ch, &mut out, &mut argmax);
            let at = hr * w + hc;
            let out = Array2::from_shape_vec((h, w), out)
                .map_err(|e| Error::invalid("pooled values", e.to_string()))?;
            (out, Some(argmax[at] as usize - at * ch))
        }
        PoolKind::Avg => {
            let out = maps
                .mean_axis(Axis(2))
                .unwrap_or_else(|| Array2::zeros((h, w)));
            (out, None)
        }
    };
    let fmt = cell_formatter(maps.iter().copied().chain(out.iter().copied()));
    // Cells big enough for the widest number (means have decimals).
    let widest = maps
        .iter()
        .chain(out.iter())
        .map(|&v| text_width(&fmt(v), 14.0))
        .fold(0.0, f64::max);
    let cell = (150.0 / w.max(h) as f64)
        .clamp(18.0, 34.0)
        .max(widest + 8.0);
    let size = number_size(cell).min(13.0);
    let margin = 16.0;
    let cap = 13.0;
    let map_w = cell * w as f64;
    let map_h = cell * h as f64;
    let gap = 28.0;
    let top = margin + cap + 12.0 + cap + 8.0;
    let row_w = ch as f64 * map_w + (ch - 1) as f64 * gap;
    let values: Vec<f32> = (0..ch).map(|k| maps[[hr, hc, k]]).collect();
    let formula = format!(
        "{}({}) = {}",
        if kind == PoolKind::Max { "max" } else { "mean" },
        values
            .iter()
            .map(|&v| fmt(v))
            .collect::<Vec<_>>()
            .join(", "),
        fmt(out[[hr, hc]])
    );
    let heading = format!("깊이 방향 {}: 특성지도 {ch}개 → 1개", kind_name(kind));
    let width = (2.0 * margin + row_w)
        .max(2.0 * margin + text_width(&heading, cap + 1.0))
        .max(2.0 * margin + text_width(&formula, cap) + map_w + 20.0);
    let out_y = top + map_h + 80.0;
    let height = out_y + map_h + cap + 30.0;
    let mut c = Canvas::new(width, height);
    title(&mut c, margin, cap, &heading);

    let x0 = (width - row_w) / 2.0;
    let output = Grid {
        x: (width - map_w) / 2.0,
        y: out_y,
        rows: h,
        cols: w,
        cell,
    };
    let (ox, oy) = output.center(hr, hc);
    for k in 0..ch {
        let g = Grid {
            x: x0 + k as f64 * (map_w + gap),
            y: top,
            rows: h,
            cols: w,
            cell,
        };
        // The line leaves the map's bottom edge under the highlighted column.
        let (cx, _) = g.center(hr, hc);
        let strong = winner.is_none_or(|winner| k == winner);
        c.line(
            cx,
            g.y + g.height(),
            ox,
            oy - cell / 2.0,
            &Paint::outline(
                if strong { NEURON } else { FIELD },
                if strong { 2.0 } else { 1.0 },
            ),
        );
        let tint = WINDOWS[k % WINDOWS.len()].lighten(0.5);
        g.cells(&mut c, |r, cc| {
            if (r, cc) == highlight {
                NEURON.lighten(0.45)
            } else {
                tint
            }
        });
        g.outline(&mut c, hr, hc, hr, hc, &Paint::outline(NEURON, 2.5));
        g.numbers(&mut c, |r, cc| {
            let st = TextStyle::new(size).middle().color(INK);
            let st = if (r, cc) == highlight && strong {
                st.bold()
            } else {
                st
            };
            Some((fmt(maps[[r, cc, k]]), st))
        });
        g.caption(
            &mut c,
            top - cap / 2.0 - 6.0,
            &format!("특성지도 {}", k + 1),
            cap,
        );
    }
    output.cells(&mut c, neuron_at(highlight));
    output.frame(&mut c, 2.0);
    output.bold_numbers(&mut c, size, |r, cc| fmt(out[[r, cc]]));
    c.text(
        output.x + map_w + 14.0,
        oy,
        &formula,
        &TextStyle::new(cap).color(INK),
    );
    caption(
        &mut c,
        width / 2.0,
        out_y + map_h + 8.0 + cap / 2.0,
        "출력 (특성지도 1개)",
        cap,
    );
    Ok(c.finish())
}
