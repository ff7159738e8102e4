//! Winograd's minimal filtering F(m x m, 3x3) for 3x3 convolutions with stride 1 and
//! `same` padding (NHWC), the shape of most layers of the lecture's model and of a ResNet.
//!
//! A direct convolution spends 9 multiplications per output and input channel. Winograd's
//! algorithm computes an `m x m` block of outputs from an `(m + 2) x (m + 2)` block of
//! inputs by working in a transformed space:
//!
//! ```text
//! V = Bᵀ d B   (each input tile d, per channel)
//! U = G g Gᵀ   (each 3x3 filter g, per input and output channel)
//! M = Σ_c V ⊙ U  (for each position of the tile: one matrix product over the channels)
//! Y = Aᵀ M A   (the m x m output block)
//! ```
//!
//! Two tile sizes, [`Tile::F2`] and [`Tile::F4`]:
//!
//! | | input tile | products (GEMMs) | multiplications per output | transform coefficients |
//! |---|---|---|---|---|
//! | F(2x2, 3x3) | 4x4 | 16 | 4 (2.25 times fewer than 9) | 0, ±1, ±½ |
//! | F(4x4, 3x3) | 6x6 | 36 | 2.25 (4 times fewer) | up to 8 and ¼, ⅙, 1⁄24 |
//!
//! The products are ordinary GEMMs (`tiles x c_in` times `c_in x c_out`), so the work stays
//! in the fast `gemm` kernels. F(2x2) uses only additions and halvings and agrees with the
//! direct convolution to float rounding; F(4x4)'s larger coefficients cost about one
//! decimal digit (it stays within 1e-4 relative of the direct convolution at the sizes the
//! tests check). A partial tile at the image's edge wastes work, so which tile is faster
//! depends on the image size: [`super::select`] decides, per layer and per pass.
//!
//! The gradient with respect to the input of such a layer is itself a 3x3 `same`
//! convolution (of the output gradient with the filters rotated by 180 degrees and input
//! and output channels swapped), so [`input_grad`] reuses the same code.
//!
//! The transforms are written once, generic over the tile ([`Variant`]), over fixed-size
//! arrays of [`LANES`] channels, and compiled for each instruction set by
//! [`multiversion!`]: every operation is a whole-register vector operation on AVX-512 (two
//! on AVX2), with the coefficients folded in as constants.

use rayon::prelude::*;

use crate::geometry::ConvGeometry;
use crate::matmul::{matmul_batch, matmul_batch_strided, MatRef};
use crate::scratch;
use crate::simd::{add, load, multiversion, neg, relu, scale, store, sub, SharedMut, LANES};

/// The output tile of Winograd's algorithm: F(2x2, 3x3) or F(4x4, 3x3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tile {
    /// F(2x2, 3x3): 4x4 input tiles, 16 products, 2.25 times fewer multiplications than a
    /// direct convolution.
    F2,
    /// F(4x4, 3x3): 6x6 input tiles, 36 products, 4 times fewer multiplications.
    F4,
}

impl Tile {
    /// Outputs along each side of a tile: 2 or 4.
    pub fn outputs(self) -> usize {
        match self {
            Tile::F2 => 2,
            Tile::F4 => 4,
        }
    }

    /// Inputs along each side of a tile (`outputs + 2`), and positions of a transformed
    /// tile (its square): the number of GEMMs.
    pub fn positions(self) -> usize {
        (self.outputs() + 2).pow(2)
    }

    /// GEMM multiplications per input-output channel pair for one `h x w` image, partial
    /// tiles at the edges included: F(4x4) on a 7x7 image computes 8x8 outputs.
    ///
    /// ```
    /// use cnnkit_kernels::conv::winograd::Tile;
    /// assert_eq!(Tile::F2.multiplications(28, 28), 14 * 14 * 16);
    /// assert_eq!(Tile::F4.multiplications(7, 7), 2 * 2 * 36);
    /// ```
    pub fn multiplications(self, h: usize, w: usize) -> usize {
        let m = self.outputs();
        h.div_ceil(m) * w.div_ceil(m) * self.positions()
    }
}

/// One tile size's transforms, along one axis (the 2-D transforms apply them to the
/// columns, then to the rows). Arrays are sized for the largest tile (6 inputs, 4 outputs);
/// a smaller tile uses the first elements and ignores the rest, which the compiler removes.
trait Variant {
    /// Outputs per side, `m`.
    const M: usize;
    /// Inputs per side, `m + 2`.
    const A: usize = Self::M + 2;
    /// `Bᵀ d`: `A` inputs to `A` transformed values.
    fn input<const L: usize>(d: [[f32; L]; 6]) -> [[f32; L]; 6];
    /// `Aᵀ m`: `A` transformed values to `M` outputs.
    fn output<const L: usize>(m: [[f32; L]; 6]) -> [[f32; L]; 4];
    /// `A dy`, the adjoint of [`Variant::output`]: `M` output gradients to `A` values.
    fn output_adjoint<const L: usize>(dy: [[f32; L]; 4]) -> [[f32; L]; 6];
    /// `G g`: the 3 taps of a filter to `A` transformed values.
    fn filter<const L: usize>(g: [[f32; L]; 3]) -> [[f32; L]; 6];
    /// The columns of `G` as `(row, coefficient)` pairs, for `dw = Gᵀ dU G`.
    const G_COLS: [&'static [(usize, f32)]; 3];
}

/// F(2x2, 3x3) with Lavin and Gray's matrices (points 0, 1, -1).
struct F2;

impl Variant for F2 {
    const M: usize = 2;

    #[inline(always)]
    fn input<const L: usize>(d: [[f32; L]; 6]) -> [[f32; L]; 6] {
        // Bᵀ rows: (1, 0, -1, 0), (0, 1, 1, 0), (0, -1, 1, 0), (0, 1, 0, -1).
        let z = [0.0; L];
        [
            sub(d[0], d[2]),
            add(d[1], d[2]),
            sub(d[2], d[1]),
            sub(d[1], d[3]),
            z,
            z,
        ]
    }

    #[inline(always)]
    fn output<const L: usize>(m: [[f32; L]; 6]) -> [[f32; L]; 4] {
        // Aᵀ rows: (1, 1, 1, 0), (0, 1, -1, -1).
        let z = [0.0; L];
        [add(add(m[0], m[1]), m[2]), sub(sub(m[1], m[2]), m[3]), z, z]
    }

    #[inline(always)]
    fn output_adjoint<const L: usize>(dy: [[f32; L]; 4]) -> [[f32; L]; 6] {
        let z = [0.0; L];
        [
            dy[0],
            add(dy[0], dy[1]),
            sub(dy[0], dy[1]),
            neg(dy[1]),
            z,
            z,
        ]
    }

    #[inline(always)]
    fn filter<const L: usize>([a, b, c]: [[f32; L]; 3]) -> [[f32; L]; 6] {
        // G rows: (1, 0, 0), (½, ½, ½), (½, -½, ½), (0, 0, 1).
        let z = [0.0; L];
        [
            a,
            scale(add(add(a, b), c), 0.5),
            scale(add(sub(a, b), c), 0.5),
            c,
            z,
            z,
        ]
    }

    const G_COLS: [&'static [(usize, f32)]; 3] = [
        &[(0, 1.0), (1, 0.5), (2, 0.5)],
        &[(1, 0.5), (2, -0.5)],
        &[(1, 0.5), (2, 0.5), (3, 1.0)],
    ];
}

/// F(4x4, 3x3) with Lavin and Gray's matrices (points 0, ±1, ±2), the choice of
/// cuDNN, oneDNN and NNPACK for this tile.
struct F4;

impl Variant for F4 {
    const M: usize = 4;

    #[inline(always)]
    fn input<const L: usize>(d: [[f32; L]; 6]) -> [[f32; L]; 6] {
        // Bᵀ rows: (4, 0, -5, 0, 1, 0), (0, -4, -4, 1, 1, 0), (0, 4, -4, -1, 1, 0),
        // (0, -2, -1, 2, 1, 0), (0, 2, -1, -2, 1, 0), (0, 4, 0, -5, 0, 1).
        let (p12, p34) = (add(d[1], d[2]), add(d[3], d[4]));
        let (m12, m43) = (sub(d[1], d[2]), sub(d[4], d[3]));
        let (m42, m31) = (sub(d[4], d[2]), sub(d[3], d[1]));
        [
            add(sub(scale(d[0], 4.0), scale(d[2], 5.0)), d[4]),
            sub(p34, scale(p12, 4.0)),
            add(m43, scale(m12, 4.0)),
            add(m42, scale(m31, 2.0)),
            sub(m42, scale(m31, 2.0)),
            add(sub(scale(d[1], 4.0), scale(d[3], 5.0)), d[5]),
        ]
    }

    #[inline(always)]
    fn output<const L: usize>(m: [[f32; L]; 6]) -> [[f32; L]; 4] {
        // Aᵀ rows: (1, 1, 1, 1, 1, 0), (0, 1, -1, 2, -2, 0), (0, 1, 1, 4, 4, 0),
        // (0, 1, -1, 8, -8, 1).
        let (p12, m12) = (add(m[1], m[2]), sub(m[1], m[2]));
        let (p34, m34) = (add(m[3], m[4]), sub(m[3], m[4]));
        [
            add(add(m[0], p12), p34),
            add(m12, scale(m34, 2.0)),
            add(p12, scale(p34, 4.0)),
            add(add(m12, scale(m34, 8.0)), m[5]),
        ]
    }

    #[inline(always)]
    fn output_adjoint<const L: usize>(dy: [[f32; L]; 4]) -> [[f32; L]; 6] {
        // A = (Aᵀ)ᵀ: value k is Σ_i Aᵀ[i][k] dy_i.
        let (e1, o1) = (add(dy[0], dy[2]), add(dy[1], dy[3]));
        let e2 = add(dy[0], scale(dy[2], 4.0));
        let o2 = add(scale(dy[1], 2.0), scale(dy[3], 8.0));
        [
            dy[0],
            add(e1, o1),
            sub(e1, o1),
            add(e2, o2),
            sub(e2, o2),
            dy[3],
        ]
    }

    #[inline(always)]
    fn filter<const L: usize>([a, b, c]: [[f32; L]; 3]) -> [[f32; L]; 6] {
        // G rows: (¼, 0, 0), (-⅙, -⅙, -⅙), (-⅙, ⅙, -⅙), (1/24, 1/12, ⅙), (1/24, -1/12, ⅙),
        // (0, 0, 1).
        let s = add(a, c);
        let q = add(scale(a, 0.25), c);
        let h = scale(b, 0.5);
        [
            scale(a, 0.25),
            scale(add(s, b), -1.0 / 6.0),
            scale(sub(s, b), -1.0 / 6.0),
            scale(add(q, h), 1.0 / 6.0),
            scale(sub(q, h), 1.0 / 6.0),
            c,
        ]
    }

    const G_COLS: [&'static [(usize, f32)]; 3] = [
        &[
            (0, 0.25),
            (1, -1.0 / 6.0),
            (2, -1.0 / 6.0),
            (3, 1.0 / 24.0),
            (4, 1.0 / 24.0),
        ],
        &[
            (1, -1.0 / 6.0),
            (2, 1.0 / 6.0),
            (3, 1.0 / 12.0),
            (4, -1.0 / 12.0),
        ],
        &[
            (1, -1.0 / 6.0),
            (2, -1.0 / 6.0),
            (3, 1.0 / 6.0),
            (4, 1.0 / 6.0),
            (5, 1.0),
        ],
    ];
}

/// Where transformed tile `t`'s position `xi` lives in a buffer of planes `P[xi][t][c]`:
/// one row-major `tiles x c` matrix per position, each the operand of one GEMM.
#[derive(Clone, Copy, Debug)]
struct Planes {
    /// Tiles per plane.
    tiles: usize,
    /// Channels per tile.
    c: usize,
    /// Floats from one plane's start to the next's.
    stride: usize,
}

impl Planes {
    /// Planes of `tiles x c` floats, `stride` apart: rounded up to whole 4 KB pages, plus
    /// one cache line, so that a tile's positions (one per plane) fall into different sets
    /// of the L1 cache. Planes a multiple of 4 KB apart (common: 32 images x 49 tiles x 64
    /// channels is 98 pages) would all map to one set and evict each other while a tile is
    /// written or read.
    fn new(tiles: usize, c: usize) -> Self {
        let len = tiles * c;
        Planes {
            tiles,
            c,
            stride: len.next_multiple_of(1024) + 16,
        }
    }

    /// The offset of channel 0 of tile `t` at position `xi`.
    #[inline(always)]
    fn at(&self, xi: usize, t: usize) -> usize {
        xi * self.stride + t * self.c
    }

    /// Floats of a buffer of `positions` planes.
    fn len(&self, positions: usize) -> usize {
        positions * self.stride
    }

    /// The GEMM operand of position `xi`: a `tiles x c` row-major matrix.
    fn matrix<'a>(&self, buf: &'a [f32], xi: usize) -> MatRef<'a> {
        MatRef::row_major(
            &buf[xi * self.stride..][..self.tiles * self.c],
            self.tiles,
            self.c,
        )
    }
}

/// Tile counts along height and width for outputs `m x m` per tile.
fn tiles(m: usize, h: usize, w: usize) -> (usize, usize) {
    (h.div_ceil(m), w.div_ceil(m))
}

/// Images per chunk so that the transformed tiles of one chunk (`V` or `M`) stay near
/// [`crate::scratch::CHUNK_FLOATS`]: large batches then reuse a few megabytes instead of
/// allocating (and page-faulting) hundreds, and the GEMMs still have thousands of rows.
fn images_per_chunk(tile: Tile, batch: usize, h: usize, w: usize, channels: usize) -> usize {
    let (th, tw) = tiles(tile.outputs(), h, w);
    scratch::images_per_chunk(batch, th * tw * tile.positions() * channels)
}

/// A transform of the tiles of one image: `(image, (h, w, c), planes, layout, t0)` writes
/// the tiles of the image, which start at tile `t0` of the planes.
type TilesOfImage = fn(&[f32], (usize, usize, usize), SharedMut, Planes, usize);

/// Fills the transformed tiles of `n` images `h x w x c` into `planes`, laid out by
/// `layout`: `per_image` writes the tiles of one image. One rayon task per image.
fn transform_images(
    x: &[f32],
    (n, h, w, c): (usize, usize, usize, usize),
    tile: Tile,
    planes: &mut [f32],
    layout: Planes,
    per_image: TilesOfImage,
) {
    let (th, tw) = tiles(tile.outputs(), h, w);
    assert_eq!(x.len(), n * h * w * c, "winograd: input length");
    assert_eq!(layout.tiles, n * th * tw, "winograd: tiles");
    assert_eq!(
        planes.len(),
        layout.len(tile.positions()),
        "winograd: tile planes length"
    );
    let shared = SharedMut::new(planes);
    x.par_chunks(h * w * c).enumerate().for_each(|(b, img)| {
        // Each task writes the tiles b * th * tw .. (b + 1) * th * tw of every plane:
        // disjoint from the other tasks'.
        per_image(img, (h, w, c), shared, layout, b * th * tw);
    });
}

/// Calls `tile::<LANES>` for each full block of [`LANES`] channels of every tile of one
/// image (tiles of `$m x $m` outputs), then `tile::<1>` for the channels left over.
macro_rules! for_each_tile_block {
    ($m:expr, $h:expr, $w:expr, $c:expr, |$ty:ident, $tx:ident, $t:ident, $c0:ident, $lanes:ident| $call:expr) => {{
        let (th, tw) = tiles($m, $h, $w);
        for $ty in 0..th {
            for $tx in 0..tw {
                let $t = $ty * tw + $tx;
                let mut $c0 = 0;
                while $c0 + LANES <= $c {
                    {
                        const $lanes: usize = LANES;
                        $call;
                    }
                    $c0 += LANES;
                }
                while $c0 < $c {
                    {
                        const $lanes: usize = 1;
                        $call;
                    }
                    $c0 += 1;
                }
            }
        }
    }};
}

/// `L` floats of `src` from `start`, or zeros when `start` is `None` (a pixel in the
/// padding).
#[inline(always)]
fn load_or_zero<const L: usize>(src: &[f32], start: Option<usize>) -> [f32; L] {
    match start {
        Some(s) => load(&src[s..]),
        None => [0.0; L],
    }
}

/// Stores the transformed row `i` (positions `A i .. A i + A`) of tile `t`, channels
/// `c0..c0 + L`, to `planes`.
///
/// # Safety
/// No other thread may access tile `t` of the planes meanwhile.
#[inline(always)]
unsafe fn store_row<V: Variant, const L: usize>(
    planes: SharedMut,
    layout: Planes,
    t: usize,
    c0: usize,
    i: usize,
    row: [[f32; L]; 6],
) {
    for (j, o) in row.into_iter().take(V::A).enumerate() {
        // SAFETY: the caller owns tile t (bounds are checked by `slice`).
        store(
            unsafe { planes.slice(layout.at(V::A * i + j, t) + c0, L) },
            o,
        );
    }
}

/// `V = Bᵀ d B` of one input tile `d` (the tile at `(ty, tx)` starts at pixel
/// `(m ty - 1, m tx - 1)`: one pixel of zero padding), for channels `c0..c0 + L`, written
/// to tile `t` of `v`.
#[inline(always)]
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
fn input_tile<V: Variant, const L: usize>(
    img: &[f32],
    (h, w, c): (usize, usize, usize),
    (ty, tx): (usize, usize),
    c0: usize,
    v: SharedMut,
    layout: Planes,
    t: usize,
) {
    // wrapping_sub turns the padding row above (column left of) the image into a huge
    // index, caught by the bounds test with the ones below (right of) it.
    let pixel = |a: usize, b: usize| {
        let (y, x) = (
            (V::M * ty + a).wrapping_sub(1),
            (V::M * tx + b).wrapping_sub(1),
        );
        (y < h && x < w).then(|| (y * w + x) * c + c0)
    };
    // Bᵀ d, one column at a time: r[i][b].
    let mut r = [[[0.0f32; L]; 6]; 6];
    for b in 0..V::A {
        let col: [[f32; L]; 6] = std::array::from_fn(|a| {
            if a < V::A {
                load_or_zero::<L>(img, pixel(a, b))
            } else {
                [0.0; L]
            }
        });
        let col = V::input(col);
        for i in 0..V::A {
            r[i][b] = col[i];
        }
    }
    // (Bᵀ d) B, one row at a time.
    for i in 0..V::A {
        // SAFETY: tile t belongs to this task alone (see `transform_images`).
        unsafe { store_row::<V, L>(v, layout, t, c0, i, V::input(r[i])) };
    }
}

/// `A dY Aᵀ`, the adjoint of the output transform, of the `m x m` block of `dy` at tile
/// `(ty, tx)` (outputs from `(m ty, m tx)`, zeros beyond the image), written like
/// [`input_tile`].
#[inline(always)]
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
fn output_adjoint_tile<V: Variant, const L: usize>(
    dy: &[f32],
    (h, w, c): (usize, usize, usize),
    (ty, tx): (usize, usize),
    c0: usize,
    dm: SharedMut,
    layout: Planes,
    t: usize,
) {
    let pixel = |a: usize, b: usize| {
        let (y, x) = (V::M * ty + a, V::M * tx + b);
        (y < h && x < w).then(|| (y * w + x) * c + c0)
    };
    // A dY, one column at a time: r[i][b].
    let mut r = [[[0.0f32; L]; 4]; 6];
    for b in 0..V::M {
        let col: [[f32; L]; 4] = std::array::from_fn(|a| {
            if a < V::M {
                load_or_zero::<L>(dy, pixel(a, b))
            } else {
                [0.0; L]
            }
        });
        let col = V::output_adjoint(col);
        for i in 0..V::A {
            r[i][b] = col[i];
        }
    }
    // (A dY) Aᵀ, one row at a time.
    for i in 0..V::A {
        // SAFETY: tile t belongs to this task alone (see `transform_images`).
        unsafe { store_row::<V, L>(dm, layout, t, c0, i, V::output_adjoint(r[i])) };
    }
}

/// What [`output_tile`] does besides the transform.
#[derive(Clone, Copy)]
struct OutputOptions {
    /// Apply ReLU after the bias.
    relu: bool,
    /// Add to the destination instead of overwriting it.
    accumulate: bool,
}

/// `Y = Aᵀ M A` of tile `t` of `m` for channels `c0..c0 + L`, plus `bias` (when not
/// empty) and ReLU, written (or added) to the `m x m` block at `(m ty, m tx)` of the image
/// `y`.
#[inline(always)]
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
fn output_tile<V: Variant, const L: usize>(
    m: &[f32],
    (layout, t): (Planes, usize),
    bias: &[f32],
    options: OutputOptions,
    (h, w, c): (usize, usize, usize),
    (ty, tx): (usize, usize),
    c0: usize,
    y: &mut [f32],
) {
    // Aᵀ M: s[a][j].
    let mut s = [[[0.0f32; L]; 6]; 4];
    for j in 0..V::A {
        let col: [[f32; L]; 6] = std::array::from_fn(|i| {
            if i < V::A {
                load(&m[layout.at(V::A * i + j, t) + c0..])
            } else {
                [0.0; L]
            }
        });
        let col = V::output(col);
        for a in 0..V::M {
            s[a][j] = col[a];
        }
    }
    let b: [f32; L] = if bias.is_empty() {
        [0.0; L]
    } else {
        load(&bias[c0..])
    };
    for a in 0..V::M {
        let oy = V::M * ty + a;
        if oy >= h {
            break;
        }
        // Row a of (Aᵀ M) A, plus the bias.
        let row = V::output(s[a]);
        for bb in 0..V::M {
            let ox = V::M * tx + bb;
            if ox >= w {
                break;
            }
            let mut v = add(row[bb], b);
            if options.relu {
                v = relu(v);
            }
            let dst = &mut y[(oy * w + ox) * c + c0..];
            if options.accumulate {
                v = add(load(dst), v);
            }
            store(dst, v);
        }
    }
}

/// `U = G g Gᵀ` of the filters from input channel `ci` to output channels `c0..c0 + L`,
/// written to row `ci` of every plane of `u` (`U[xi][ci][co]`, planes `c_in x c_out`).
/// With `rotate`, the filters are turned by 180 degrees first (the input gradient's).
#[inline(always)]
#[allow(clippy::needless_range_loop)]
fn weight_tile<V: Variant, const L: usize>(
    w: &[f32],
    (c_in, c_out): (usize, usize),
    rotate: bool,
    (ci, c0): (usize, usize),
    u: SharedMut,
) {
    let tap = |ky: usize, kx: usize| {
        let (ky, kx) = if rotate { (2 - ky, 2 - kx) } else { (ky, kx) };
        load::<L>(&w[((ky * 3 + kx) * c_in + ci) * c_out + c0..])
    };
    // G g, one filter column at a time: gg[i][kx].
    let mut gg = [[[0.0f32; L]; 3]; 6];
    for kx in 0..3 {
        let col = V::filter([tap(0, kx), tap(1, kx), tap(2, kx)]);
        for i in 0..V::A {
            gg[i][kx] = col[i];
        }
    }
    // (G g) Gᵀ, one row at a time.
    for i in 0..V::A {
        let row = V::filter(gg[i]);
        for j in 0..V::A {
            let at = ((V::A * i + j) * c_in + ci) * c_out + c0;
            // SAFETY: row ci of every plane belongs to this task alone (see
            // `transform_weights`).
            store(unsafe { u.slice(at, L) }, row[j]);
        }
    }
}

/// The three per-image transforms of one tile size and its filter transform, compiled for
/// each instruction set.
macro_rules! tile_transforms {
    ($variant:ty, $input:ident, $adjoint:ident, $output:ident, $weights:ident) => {
        multiversion! {
            /// [`weight_tile`] for every block of output channels of input channels `cis`.
            fn $weights(w: &[f32], c: (usize, usize), rotate: bool, cis: std::ops::Range<usize>, u: SharedMut) {
                let c_out = c.1;
                for ci in cis {
                    let mut c0 = 0;
                    while c0 + LANES <= c_out {
                        weight_tile::<$variant, LANES>(w, c, rotate, (ci, c0), u);
                        c0 += LANES;
                    }
                    while c0 < c_out {
                        weight_tile::<$variant, 1>(w, c, rotate, (ci, c0), u);
                        c0 += 1;
                    }
                }
            }
        }
        multiversion! {
            /// [`input_tile`] for every tile and channel block of one image whose tiles
            /// start at tile `t0`.
            fn $input(img: &[f32], hwc: (usize, usize, usize), v: SharedMut, layout: Planes, t0: usize) {
                let (h, w, c) = hwc;
                for_each_tile_block!(<$variant>::M, h, w, c, |ty, tx, t, c0, LANES_NOW| {
                    input_tile::<$variant, LANES_NOW>(img, hwc, (ty, tx), c0, v, layout, t0 + t)
                });
            }
        }
        multiversion! {
            /// [`output_adjoint_tile`] for every tile and channel block of one image whose
            /// tiles start at tile `t0`.
            fn $adjoint(dy: &[f32], hwc: (usize, usize, usize), dm: SharedMut, layout: Planes, t0: usize) {
                let (h, w, c) = hwc;
                for_each_tile_block!(<$variant>::M, h, w, c, |ty, tx, t, c0, LANES_NOW| {
                    output_adjoint_tile::<$variant, LANES_NOW>(dy, hwc, (ty, tx), c0, dm, layout, t0 + t)
                });
            }
        }
        multiversion! {
            /// [`output_tile`] for every tile and channel block of one image `y` whose
            /// tiles start at tile `t0`.
            fn $output(
                m: &[f32],
                layout: Planes,
                t0: usize,
                bias: &[f32],
                options: OutputOptions,
                hwc: (usize, usize, usize),
                y: &mut [f32],
            ) {
                let (h, w, c) = hwc;
                for_each_tile_block!(<$variant>::M, h, w, c, |ty, tx, t, c0, LANES_NOW| {
                    output_tile::<$variant, LANES_NOW>(m, (layout, t0 + t), bias, options, hwc, (ty, tx), c0, y)
                });
            }
        }
    };
}

tile_transforms!(
    F2,
    input_tiles_f2,
    output_adjoint_tiles_f2,
    output_tiles_f2,
    weight_tiles_f2
);
tile_transforms!(
    F4,
    input_tiles_f4,
    output_adjoint_tiles_f4,
    output_tiles_f4,
    weight_tiles_f4
);

/// The per-image output transform: `(m, layout, t0, bias, options, (h, w, c), y)`.
type OutputOfImage =
    fn(&[f32], Planes, usize, &[f32], OutputOptions, (usize, usize, usize), &mut [f32]);

/// The filter transform of some input channels: `(w, (c_in, c_out), rotate, channels, u)`.
type WeightsOfChannels = fn(&[f32], (usize, usize), bool, std::ops::Range<usize>, SharedMut);

impl Tile {
    fn input_tiles(self) -> TilesOfImage {
        match self {
            Tile::F2 => input_tiles_f2,
            Tile::F4 => input_tiles_f4,
        }
    }

    fn output_adjoint_tiles(self) -> TilesOfImage {
        match self {
            Tile::F2 => output_adjoint_tiles_f2,
            Tile::F4 => output_adjoint_tiles_f4,
        }
    }

    fn output_tiles(self) -> OutputOfImage {
        match self {
            Tile::F2 => output_tiles_f2,
            Tile::F4 => output_tiles_f4,
        }
    }

    fn weight_tiles(self) -> WeightsOfChannels {
        match self {
            Tile::F2 => weight_tiles_f2,
            Tile::F4 => weight_tiles_f4,
        }
    }

    fn g_cols(self) -> [&'static [(usize, f32)]; 3] {
        match self {
            Tile::F2 => F2::G_COLS,
            Tile::F4 => F4::G_COLS,
        }
    }
}

/// `U[xi][ci][co] = G g Gᵀ` for the filters `g` of `w` (`3, 3, c_in, c_out`), turned by
/// 180 degrees when `rotate` is true: one `c_in x c_out` plane per position, vectorised
/// over the output channels (contiguous in `w` and in `U`).
fn transform_weights(
    tile: Tile,
    w: &[f32],
    (c_in, c_out): (usize, usize),
    rotate: bool,
) -> scratch::Scratch {
    assert_eq!(w.len(), 9 * c_in * c_out, "winograd: weight length");
    let mut u = scratch::take(tile.positions() * c_in * c_out);
    let shared = SharedMut::new(&mut u);
    let per_channels = tile.weight_tiles();
    // Tasks of a few input channels each: each writes rows `ci` of every plane.
    let per_task = (4096 / c_out.max(1)).clamp(1, 64);
    let tasks = c_in.div_ceil(per_task);
    (0..tasks).into_par_iter().for_each(|k| {
        let cis = k * per_task..((k + 1) * per_task).min(c_in);
        per_channels(w, (c_in, c_out), rotate, cis, shared);
    });
    u
}

/// The core: `out (+)= act(conv3x3_same(x, U) + bias)` with pre-transformed weights, over
/// chunks of [`images_per_chunk`] images. `u` holds one `c_in x c_out` plane per position,
/// or, when `u_transposed`, one `c_out x c_in` plane to be used transposed (the input
/// gradient's, whose filters are the forward pass's with the channels swapped).
#[allow(clippy::too_many_arguments)]
fn convolve(
    tile: Tile,
    x: &[f32],
    (batch, h, w): (usize, usize, usize),
    (c_in, c_out): (usize, usize),
    (u, u_transposed): (&[f32], bool),
    bias: Option<&[f32]>,
    options: OutputOptions,
    out: &mut [f32],
) {
    let (th, tw) = tiles(tile.outputs(), h, w);
    let p = tile.positions();
    let chunk = images_per_chunk(tile, batch, h, w, c_in.max(c_out));
    let mut v = scratch::take(Planes::new(chunk * th * tw, c_in).len(p));
    let mut m = scratch::take(Planes::new(chunk * th * tw, c_out).len(p));
    for (first, n) in scratch::image_chunks(batch, chunk) {
        let (vl, ml) = (
            Planes::new(n * th * tw, c_in),
            Planes::new(n * th * tw, c_out),
        );
        let v = &mut v[..vl.len(p)];
        let m = &mut m[..ml.len(p)];
        let x = &x[first * h * w * c_in..][..n * h * w * c_in];
        transform_images(x, (n, h, w, c_in), tile, v, vl, tile.input_tiles());
        // M[xi] = V[xi] U[xi]: one product (tiles x c_in) (c_in x c_out) per position.
        let v = &*v;
        matmul_batch_strided(
            m,
            p,
            ml.stride,
            |xi| vl.matrix(v, xi),
            |xi| {
                let plane = &u[xi * c_in * c_out..][..c_in * c_out];
                if u_transposed {
                    MatRef::row_major(plane, c_out, c_in).t()
                } else {
                    MatRef::row_major(plane, c_in, c_out)
                }
            },
            false,
        );
        let out = &mut out[first * h * w * c_out..][..n * h * w * c_out];
        transform_output(tile, m, ml, (n, h, w), bias, options, out);
    }
}

/// `Y = Aᵀ M A` for every tile of `n` images, plus bias and activation, written (or added)
/// to `out`. One rayon task per image.
fn transform_output(
    tile: Tile,
    m: &[f32],
    layout: Planes,
    (n, h, w): (usize, usize, usize),
    bias: Option<&[f32]>,
    options: OutputOptions,
    out: &mut [f32],
) {
    let (th, tw) = tiles(tile.outputs(), h, w);
    let c_out = layout.c;
    assert_eq!(layout.tiles, n * th * tw, "winograd: tiles");
    assert_eq!(m.len(), layout.len(tile.positions()), "winograd: M length");
    assert_eq!(out.len(), n * h * w * c_out, "winograd: output length");
    let bias = bias.unwrap_or(&[]);
    assert!(
        bias.is_empty() || bias.len() == c_out,
        "winograd: bias length"
    );
    let per_image = tile.output_tiles();
    out.par_chunks_mut(h * w * c_out)
        .enumerate()
        .for_each(|(b, y)| per_image(m, layout, b * th * tw, bias, options, (h, w, c_out), y));
}

/// Checks that `g` is a 3x3 stride-1 `same` convolution.
fn check_geometry(g: &ConvGeometry) {
    assert!(
        g.is_3x3_same_stride_1(),
        "winograd: not a 3x3 stride-1 same convolution"
    );
}

/// Which of the three convolutions [`run`] computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pass {
    /// `out = act(conv(x, w) + b)`.
    Forward,
    /// `out += conv(x, w)`, no bias or activation.
    ForwardAdd,
    /// `dx += conv(dz, rotated w)` with the channels swapped.
    InputGrad,
}

/// What [`forward`], [`forward_add`] and [`input_grad`] share:
/// the checks, the filter transform and [`convolve`]. `src` is the forward pass's input,
/// or for [`Pass::InputGrad`] the output gradient; `dst` the output or the input gradient.
#[allow(clippy::too_many_arguments)]
fn run(
    pass: Pass,
    tile: Tile,
    g: &ConvGeometry,
    src: &[f32],
    w: &[f32],
    (bias, relu): (Option<&[f32]>, bool),
    dst: &mut [f32],
) {
    check_geometry(g);
    let (src_len, dst_len) = match pass {
        Pass::InputGrad => (g.output_len(), g.input_len()),
        _ => (g.input_len(), g.output_len()),
    };
    assert_eq!(src.len(), src_len, "winograd: {pass:?} source length");
    assert_eq!(w.len(), g.weight_len(), "winograd: weight length");
    assert_eq!(dst.len(), dst_len, "winograd: {pass:?} destination length");
    let (ci, co) = (g.in_c, g.out_c);
    let rotate = pass == Pass::InputGrad;
    let u = transform_weights(tile, w, (ci, co), rotate);
    let options = OutputOptions {
        relu,
        accumulate: pass != Pass::Forward,
    };
    // For the input gradient the "input" has c_out channels and the "output" c_in: the
    // planes of the rotated filters, `ci x co`, are used transposed.
    let channels = if rotate { (co, ci) } else { (ci, co) };
    convolve(
        tile,
        src,
        (g.batch, g.in_h, g.in_w),
        channels,
        (&u, rotate),
        bias,
        options,
        dst,
    );
}

/// Forward pass of a 3x3, stride 1, `same` convolution with tile `tile`:
/// `out = act(conv(x, w) + b)`, with the same arguments as [`super::conv2d_forward`].
///
/// ```
/// use cnnkit_kernels::conv::winograd::{forward, Tile};
/// use cnnkit_kernels::geometry::{ConvGeometry, Padding};
/// // One 5x5 image of ones, one channel, a 3x3 filter of ones: each output counts the
/// // pixels under the filter (4 in a corner, 9 inside).
/// let g = ConvGeometry::new(1, (5, 5, 1), 1, (3, 3), (1, 1), Padding::Same)?;
/// let mut out = vec![0.0; 25];
/// for tile in [Tile::F2, Tile::F4] {
///     forward(tile, &g, &[1.0; 25], &[1.0; 9], &[0.0], false, &mut out);
///     assert!((out[0] - 4.0).abs() < 1e-5 && (out[12] - 9.0).abs() < 1e-5);
/// }
/// # Ok::<(), cnnkit_kernels::geometry::GeometryError>(())
/// ```
///
/// # Panics
/// If `g` is not a 3x3 stride-1 `same` convolution or a slice has the wrong length.
pub fn forward(
    tile: Tile,
    g: &ConvGeometry,
    x: &[f32],
    w: &[f32],
    b: &[f32],
    relu: bool,
    out: &mut [f32],
) {
    run(Pass::Forward, tile, g, x, w, (Some(b), relu), out);
}

/// `out += conv(x, w)` for a 3x3, stride 1, `same` convolution, without bias or
/// activation: the input gradient of a transposed convolution ([`super::transpose`]),
/// which dfdx accumulates.
pub(crate) fn forward_add(tile: Tile, g: &ConvGeometry, x: &[f32], w: &[f32], out: &mut [f32]) {
    run(Pass::ForwardAdd, tile, g, x, w, (None, false), out);
}

/// Gradient with respect to the input of a 3x3, stride 1, `same` convolution, added to
/// `dx`: the convolution of `dz` (the gradient before the activation) with the filters
/// rotated by 180 degrees and channels swapped, with tile `tile`.
pub fn input_grad(tile: Tile, g: &ConvGeometry, dz: &[f32], w: &[f32], dx: &mut [f32]) {
    run(Pass::InputGrad, tile, g, dz, w, (None, false), dx);
}

/// Gradient with respect to the weights of a 3x3, stride 1, `same` convolution, added to
/// `dw` (`3, 3, in_c, out_c`), with tile `tile`: `dz` is the gradient before the
/// activation.
///
/// The adjoint of the forward algorithm: `dM = A dY Aᵀ` for every output block of `dz`,
/// `dU[xi] = V[xi]ᵀ dM[xi]` summed over the tiles (one GEMM per position), and
/// `dw += Gᵀ dU G`.
pub fn weight_grad(tile: Tile, g: &ConvGeometry, x: &[f32], dz: &[f32], dw: &mut [f32]) {
    check_geometry(g);
    assert_eq!(x.len(), g.input_len(), "winograd: input length");
    assert_eq!(dz.len(), g.output_len(), "winograd: dz length");
    assert_eq!(dw.len(), g.weight_len(), "winograd: dw length");
    let (batch, h, w) = (g.batch, g.in_h, g.in_w);
    let (ci, co) = (g.in_c, g.out_c);
    let (th, tw) = tiles(tile.outputs(), h, w);
    let p = tile.positions();
    let chunk = images_per_chunk(tile, batch, h, w, ci.max(co));
    let mut v = scratch::take(Planes::new(chunk * th * tw, ci).len(p));
    let mut dm = scratch::take(Planes::new(chunk * th * tw, co).len(p));
    // Every element of dU is written by the first chunk's products (accumulate = false).
    let mut du = scratch::take(p * ci * co);
    for (k, (first, n)) in scratch::image_chunks(batch, chunk).enumerate() {
        let (vl, ml) = (Planes::new(n * th * tw, ci), Planes::new(n * th * tw, co));
        let v = &mut v[..vl.len(p)];
        let dm = &mut dm[..ml.len(p)];
        let x = &x[first * h * w * ci..][..n * h * w * ci];
        transform_images(x, (n, h, w, ci), tile, v, vl, tile.input_tiles());
        let dz = &dz[first * h * w * co..][..n * h * w * co];
        transform_images(dz, (n, h, w, co), tile, dm, ml, tile.output_adjoint_tiles());
        let (v, dm) = (&*v, &*dm);
        matmul_batch(
            &mut du,
            p,
            |xi| vl.matrix(v, xi).t(),
            |xi| ml.matrix(dm, xi),
            k > 0,
        );
    }
    // dw[ky][kx] += Σ_a Σ_b G[a][ky] dU[a][b] G[b][kx], in two separable passes over
    // whole `ci x co` planes: T[a][kx] = Σ_b dU[a][b] G[b][kx], then Σ_a G[a][ky] T[a][kx].
    let a_side = tile.outputs() + 2;
    let g_cols = tile.g_cols();
    let plane = ci * co;
    let mut t = scratch::take(3 * a_side * plane);
    t.par_chunks_mut(plane).enumerate().for_each(|(q, tp)| {
        let (a, kx) = (q / 3, q % 3);
        tp.fill(0.0);
        for &(b, gb) in g_cols[kx] {
            axpy(gb, &du[(a_side * a + b) * plane..][..plane], tp);
        }
    });
    dw.par_chunks_mut(plane).enumerate().for_each(|(q, dwp)| {
        let (ky, kx) = (q / 3, q % 3);
        for &(a, ga) in g_cols[ky] {
            axpy(ga, &t[(3 * a + kx) * plane..][..plane], dwp);
        }
    });
}

multiversion! {
    /// `y += a * x`, element by element (a product, then an addition).
    fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
        for (y, x) in y.iter_mut().zip(x) {
            *y += a * x;
        }
    }
}
