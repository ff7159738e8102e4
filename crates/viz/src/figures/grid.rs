//! Drawing helpers shared by the figures: a grid of square cells on a [`Canvas`].

use crate::plot::{fmt_num, Canvas, Paint, Rgb, TextStyle};

/// Grey for cell borders.
pub(crate) const LINE: Rgb = Rgb(150, 150, 150);
/// Dark grey for text and outlines.
pub(crate) const INK: Rgb = Rgb(40, 40, 40);
/// Receptive fields and windows.
pub(crate) const FIELD: Rgb = Rgb(31, 119, 180);
/// The neuron (output cell) a figure is about.
pub(crate) const NEURON: Rgb = Rgb(255, 127, 14);
/// Zero padding.
pub(crate) const PAD: Rgb = Rgb(225, 225, 225);
/// Input cells that no window reaches.
pub(crate) const IGNORED: Rgb = Rgb(250, 218, 221);
/// Light colours for pooling windows, one per neighbouring output cell.
pub(crate) const WINDOWS: [Rgb; 4] = [
    Rgb(174, 199, 232),
    Rgb(255, 187, 120),
    Rgb(152, 223, 138),
    Rgb(255, 152, 150),
];

/// A `rows × cols` grid of square cells with its top-left corner at `(x, y)`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Grid {
    pub x: f64,
    pub y: f64,
    pub rows: usize,
    pub cols: usize,
    pub cell: f64,
}

impl Grid {
    pub fn width(&self) -> f64 {
        self.cell * self.cols as f64
    }

    pub fn height(&self) -> f64 {
        self.cell * self.rows as f64
    }

    /// Top-left corner of cell `(r, c)`.
    pub fn corner(&self, r: usize, c: usize) -> (f64, f64) {
        (self.x + self.cell * c as f64, self.y + self.cell * r as f64)
    }

    /// Centre of cell `(r, c)`.
    pub fn center(&self, r: usize, c: usize) -> (f64, f64) {
        let (x, y) = self.corner(r, c);
        (x + self.cell / 2.0, y + self.cell / 2.0)
    }

    /// The rectangle `(x, y, w, h)` covering rows `r0..=r1` and columns `c0..=c1`.
    pub fn block(&self, r0: usize, c0: usize, r1: usize, c1: usize) -> (f64, f64, f64, f64) {
        let (x, y) = self.corner(r0, c0);
        (
            x,
            y,
            self.cell * (c1 + 1 - c0) as f64,
            self.cell * (r1 + 1 - r0) as f64,
        )
    }

    /// Fills every cell with `fill(r, c)` and draws thin borders.
    pub fn cells(&self, canvas: &mut Canvas, fill: impl Fn(usize, usize) -> Rgb) {
        for r in 0..self.rows {
            for c in 0..self.cols {
                let (x, y) = self.corner(r, c);
                canvas.rect(
                    x,
                    y,
                    self.cell,
                    self.cell,
                    &Paint::fill(fill(r, c)).stroke(LINE, 1.0),
                );
            }
        }
    }

    /// Writes `text(r, c)` (if any) in the middle of each cell, in a size that fits.
    pub fn numbers(
        &self,
        canvas: &mut Canvas,
        text: impl Fn(usize, usize) -> Option<(String, TextStyle)>,
    ) {
        for r in 0..self.rows {
            for c in 0..self.cols {
                if let Some((s, style)) = text(r, c) {
                    let (x, y) = self.center(r, c);
                    canvas.text(x, y, &s, &style);
                }
            }
        }
    }

    /// Writes `text(r, c)` in bold [`INK`] of `size` pixels in the middle of every cell: the
    /// numbers of an output grid.
    pub fn bold_numbers(
        &self,
        canvas: &mut Canvas,
        size: f64,
        text: impl Fn(usize, usize) -> String,
    ) {
        self.numbers(canvas, |r, c| {
            Some((text(r, c), TextStyle::new(size).middle().bold().color(INK)))
        });
    }

    /// Outlines the whole grid in [`INK`], `width` pixels wide.
    pub fn frame(&self, canvas: &mut Canvas, width: f64) {
        self.outline(
            canvas,
            0,
            0,
            self.rows - 1,
            self.cols - 1,
            &Paint::outline(INK, width),
        );
    }

    /// A caption (see [`caption`]) centred on the grid, at height `y`.
    pub fn caption(&self, canvas: &mut Canvas, y: f64, text: &str, size: f64) {
        caption(canvas, self.x + self.width() / 2.0, y, text, size);
    }

    /// Outlines rows `r0..=r1`, columns `c0..=c1`.
    pub fn outline(
        &self,
        canvas: &mut Canvas,
        r0: usize,
        c0: usize,
        r1: usize,
        c1: usize,
        paint: &Paint,
    ) {
        let (x, y, w, h) = self.block(r0, c0, r1, c1);
        canvas.rect(x, y, w, h, paint);
    }
}

/// Cell colours of an output grid that shows one neuron: [`NEURON`] at `neuron`, white
/// elsewhere.
pub(crate) fn neuron_at(neuron: (usize, usize)) -> impl Fn(usize, usize) -> Rgb {
    move |r, c| {
        if (r, c) == neuron {
            NEURON
        } else {
            Rgb::WHITE
        }
    }
}

/// Font size for numbers in cells of `cell` pixels.
pub(crate) fn number_size(cell: f64) -> f64 {
    (cell * 0.4).clamp(8.0, 15.0)
}

/// Formats all values alike: integers if they all are, else up to 2 decimals.
pub(crate) fn cell_formatter(values: impl Iterator<Item = f32>) -> impl Fn(f32) -> String {
    let integers = values.into_iter().all(|v| v.fract() == 0.0);
    move |v: f32| {
        if integers {
            fmt_num(v as f64, 0)
        } else {
            fmt_num(v as f64, 2)
        }
    }
}

/// A legend row: coloured squares with labels, starting at `(x, y)`; returns its width.
pub(crate) fn legend(canvas: &mut Canvas, x: f64, y: f64, items: &[(Paint, &str)]) -> f64 {
    let mut cx = x;
    for (paint, label) in items {
        canvas.rect(cx, y - 7.0, 14.0, 14.0, paint);
        canvas.text(cx + 20.0, y, label, &TextStyle::new(12.0).color(INK));
        cx += 20.0 + crate::plot::text_width(label, 12.0) + 18.0;
    }
    cx - x
}

/// The figure's title at the top left corner, `margin` from the edges, one pixel larger
/// than its captions of size `cap`.
pub(crate) fn title(canvas: &mut Canvas, margin: f64, cap: f64, text: &str) {
    canvas.text(
        margin,
        margin + cap / 2.0,
        text,
        &TextStyle::new(cap + 1.0).color(INK),
    );
}

/// A title above something, centred on `x`.
pub(crate) fn caption(canvas: &mut Canvas, x: f64, y: f64, text: &str, size: f64) {
    for (i, line) in text.lines().enumerate() {
        canvas.text(
            x,
            y + i as f64 * (size + 4.0),
            line,
            &TextStyle::new(size).middle().color(INK),
        );
    }
}
