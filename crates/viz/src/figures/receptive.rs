//! Receptive fields through stacked layers (the book's figures 14-2 and 14-4/14-5).

use crate::error::{Error, Result};
use crate::plot::{text_width, Canvas, Paint, Svg};
use cnnkit_nn::arith::{axis_geometry, receptive_field as field_sizes, Padding, Window};

use super::grid::{Grid, FIELD, NEURON};

/// Stacked layers drawn left to right (input first) showing which cells one neuron of the
/// last layer depends on: its field in the layer below, that field's field, and so on down
/// to the input. The field grows with every layer: two 3 × 3 layers see 5 × 5 input pixels.
///
/// Layers use `padding="valid"` (no zeros), so each layer is smaller than the one below;
/// [`padding_grid`](super::padding_grid) shows padding.
///
/// * `input`: `(height, width)` of the input grid.
/// * `layers`: kernel size and stride of each layer, e.g. `Window::new(3, 1)`.
/// * `highlight`: `(row, col)` of the neuron in the *last* layer.
///
/// Lecture: 합성곱 층, "국부 수용장" (book figures 14-2, 14-5).
///
/// ```
/// use cnnkit_nn::arith::Window;
/// let fig = cnnkit_viz::figures::receptive_field((7, 7), &[Window::new(3, 1), Window::new(3, 1)], (1, 1))?;
/// let svg = fig.as_str();
/// assert!(svg.contains("입력 7×7") && svg.contains("층 2: 3×3, 보폭 1"));
/// assert!(svg.contains("수용장 5×5"));          // two 3×3 layers see 5×5 inputs
/// assert!(cnnkit_viz::figures::receptive_field((7, 7), &[Window::new(3, 1)], (5, 0)).is_err());
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn receptive_field(
    input: (usize, usize),
    layers: &[Window],
    highlight: (usize, usize),
) -> Result<Svg> {
    if layers.is_empty() {
        return Err(Error::invalid(
            "layers",
            "give at least one layer, e.g. &[Window::new(3, 1)]",
        ));
    }
    // Sizes of every grid: the input, then each layer's output ("valid" padding).
    let mut sizes = vec![input];
    for (i, w) in layers.iter().enumerate() {
        let (h, wd) = sizes[i];
        let gh = axis_geometry(h, w.kernel, w.stride, Padding::Valid)
            .map_err(|e| Error::invalid(format!("layer {}", i + 1), e.to_string()))?;
        let gw = axis_geometry(wd, w.kernel, w.stride, Padding::Valid)
            .map_err(|e| Error::invalid(format!("layer {}", i + 1), e.to_string()))?;
        sizes.push((gh.output, gw.output));
    }
    let (top_h, top_w) = sizes[layers.len()];
    if highlight.0 >= top_h || highlight.1 >= top_w {
        return Err(Error::invalid(
            "highlight",
            format!(
                "({}, {}) is outside the last layer, which is {top_h}×{top_w}; rows and columns count from 0",
                highlight.0, highlight.1
            ),
        ));
    }
    // Walk down from the neuron: a block of rows a..=b in layer l comes from rows
    // a*s ..= b*s + k - 1 in layer l - 1 (the same for columns).
    let mut blocks = vec![(highlight.0, highlight.1, highlight.0, highlight.1)];
    for w in layers.iter().rev() {
        let &(r0, c0, r1, c1) = blocks.last().unwrap_or(&(0, 0, 0, 0));
        let (s, k) = (w.stride, w.kernel);
        blocks.push((r0 * s, c0 * s, r1 * s + k - 1, c1 * s + k - 1));
    }
    blocks.reverse(); // blocks[l] is the part of grid l the neuron depends on
    let fields = field_sizes(layers);

    // Layout: one column per grid, all grids with the same cell size, centred vertically.
    let big = input.0.max(input.1) as f64;
    let cell = (260.0 / big).clamp(10.0, 26.0);
    let cap_size = 13.0;
    let captions: Vec<String> = (0..sizes.len())
        .map(|l| {
            let (h, w) = sizes[l];
            if l == 0 {
                format!("입력 {h}×{w}")
            } else {
                let win = layers[l - 1];
                format!(
                    "층 {l}: {k}×{k}, 보폭 {}\n출력 {h}×{w}",
                    win.stride,
                    k = win.kernel
                )
            }
        })
        .collect();
    let below: Vec<String> = (0..sizes.len())
        .map(|l| {
            if l == 0 {
                let (r0, c0, r1, c1) = blocks[0];
                format!("보이는 입력 {}×{}", r1 - r0 + 1, c1 - c0 + 1)
            } else {
                let r = fields[l - 1].0;
                format!("뉴런 하나의\n수용장 {r}×{r}")
            }
        })
        .collect();
    let col_w: Vec<f64> = (0..sizes.len())
        .map(|l| {
            let text = captions[l]
                .lines()
                .chain(below[l].lines())
                .map(|t| text_width(t, cap_size))
                .fold(0.0, f64::max);
            (cell * sizes[l].1 as f64).max(text + 8.0)
        })
        .collect();
    let gap = 56.0;
    let margin = 16.0;
    let max_grid_h = sizes.iter().map(|s| s.0).max().unwrap_or(1) as f64 * cell;
    let top = margin + 2.0 * (cap_size + 4.0) + 8.0;
    let width = 2.0 * margin + col_w.iter().sum::<f64>() + gap * (sizes.len() - 1) as f64;
    let height = top + max_grid_h + 12.0 + 2.0 * (cap_size + 4.0) + margin;
    let mut canvas = Canvas::new(width, height);

    let mut grids = Vec::new();
    let mut x = margin;
    for (l, &(h, w)) in sizes.iter().enumerate() {
        let gw = cell * w as f64;
        let gh = cell * h as f64;
        grids.push(Grid {
            x: x + (col_w[l] - gw) / 2.0,
            y: top + (max_grid_h - gh) / 2.0,
            rows: h,
            cols: w,
            cell,
        });
        x += col_w[l] + gap;
    }

    // Connections first, so that the grids are drawn over them: a translucent band from
    // the right edge of each block to the left edge of the block it feeds.
    for l in 0..layers.len() {
        let (ax, ay, aw, ah) = {
            let (r0, c0, r1, c1) = blocks[l];
            grids[l].block(r0, c0, r1, c1)
        };
        let (bx, by, _, bh) = {
            let (r0, c0, r1, c1) = blocks[l + 1];
            grids[l + 1].block(r0, c0, r1, c1)
        };
        let band = [(ax + aw, ay), (bx, by), (bx, by + bh), (ax + aw, ay + ah)];
        canvas.polygon(&band, &Paint::fill(FIELD).opacity(0.12));
        canvas.line(ax + aw, ay, bx, by, &Paint::outline(FIELD, 1.0));
        canvas.line(ax + aw, ay + ah, bx, by + bh, &Paint::outline(FIELD, 1.0));
    }

    let last = layers.len();
    for (l, g) in grids.iter().enumerate() {
        let (r0, c0, r1, c1) = blocks[l];
        g.cells(&mut canvas, |r, c| {
            let inside = (r0..=r1).contains(&r) && (c0..=c1).contains(&c);
            match (inside, l == last) {
                (true, true) => NEURON,
                (true, false) => FIELD.lighten(0.55),
                _ => crate::plot::Rgb::WHITE,
            }
        });
        let color = if l == last { NEURON } else { FIELD };
        g.outline(&mut canvas, r0, c0, r1, c1, &Paint::outline(color, 2.5));
        g.caption(&mut canvas, margin + cap_size / 2.0, &captions[l], cap_size);
        g.caption(
            &mut canvas,
            top + max_grid_h + 12.0 + cap_size / 2.0,
            &below[l],
            cap_size,
        );
    }
    Ok(canvas.finish())
}
