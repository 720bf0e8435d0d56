//! 2-D transposed convolution, NCHW — shares `shaders/conv2d.wgsl`.
//!
//! x (N, C, H, W), w (C, D, K, K) as PyTorch's ConvTranspose2d stores it,
//! b (D), y (N, D, Ho, Wo) with Ho = (H − 1)·S − 2P + K.
//! It is the input gradient of the convolution that maps y's shape to x's, so:
//! forward = conv2d backward_input, input gradient = conv2d forward, weight
//! gradient = conv2d backward_weight with x and dy swapped.
//!
//! Worked by hand: x = [1 2] (1×1×1×2), w = [1 1] … K 2, S 2, P 0 gives
//! y = [1 1 2 2]: each input pixel is stamped with the kernel, stride apart.

use crate::buffers::{Dispatch, GpuSlice};
use crate::context::Context;
use crate::error::{Error, Result};

use super::conv2d::{self, ConvShape};

/// The shape of a transposed convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvTransposeShape {
    /// Batch.
    pub n: usize,
    /// Input channels.
    pub c: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output channels.
    pub d: usize,
    /// Kernel size.
    pub k: usize,
    /// Stride.
    pub stride: usize,
    /// Padding removed from every side of the output.
    pub pad: usize,
}

impl ConvTransposeShape {
    /// Checks the shape and returns it.
    pub fn new(
        (n, c, h, w): (usize, usize, usize, usize),
        d: usize,
        k: usize,
        stride: usize,
        pad: usize,
    ) -> Result<Self> {
        let s = Self {
            n,
            c,
            h,
            w,
            d,
            k,
            stride,
            pad,
        };
        if n == 0 || c == 0 || h == 0 || w == 0 || d == 0 || k == 0 || stride == 0 {
            return Err(Error::Shape {
                op: "conv_transpose2d",
                msg: format!("every size must be positive: {s:?}"),
            });
        }
        if (h - 1) * stride + k <= 2 * pad || (w - 1) * stride + k <= 2 * pad {
            return Err(Error::Shape {
                op: "conv_transpose2d",
                msg: format!("padding {pad} removes the whole output: {s:?}"),
            });
        }
        Ok(s)
    }

    /// Output height.
    pub fn ho(&self) -> usize {
        (self.h - 1) * self.stride + self.k - 2 * self.pad
    }

    /// Output width.
    pub fn wo(&self) -> usize {
        (self.w - 1) * self.stride + self.k - 2 * self.pad
    }

    /// Elements of x, w and y.
    pub fn sizes(&self) -> (usize, usize, usize) {
        (
            self.n * self.c * self.h * self.w,
            self.c * self.d * self.k * self.k,
            self.n * self.d * self.ho() * self.wo(),
        )
    }

    /// Floating-point operations of the forward.
    pub fn flops(&self) -> f64 {
        2.0 * (self.n * self.c * self.h * self.w) as f64 * (self.d * self.k * self.k) as f64
    }

    /// The convolution whose input gradient this is: it maps (N, D, Ho, Wo) to (N, C, H, W).
    pub fn as_conv(&self) -> ConvShape {
        ConvShape {
            n: self.n,
            c: self.d,
            h: self.ho(),
            w: self.wo(),
            d: self.c,
            k: self.k,
            stride: self.stride,
            pad: self.pad,
        }
    }
}

impl std::fmt::Display for ConvTransposeShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "x {}x{}x{}x{} → {} ch, k{} s{} p{} (transposed)",
            self.n, self.c, self.h, self.w, self.d, self.k, self.stride, self.pad
        )
    }
}

/// Record `y = conv_transpose(x, w) (+ b) (then ReLU)`.
pub fn forward(
    ctx: &Context,
    s: ConvTransposeShape,
    x: &GpuSlice,
    w: &GpuSlice,
    bias: Option<&GpuSlice>,
    y: &GpuSlice,
    relu: bool,
) -> Result<Vec<Dispatch>> {
    conv2d::backward_input(ctx, s.as_conv(), x, w, bias, y, relu)
}

/// Record `dx` from `dy`.
pub fn backward_input(
    ctx: &Context,
    s: ConvTransposeShape,
    dy: &GpuSlice,
    w: &GpuSlice,
    dx: &GpuSlice,
) -> Result<Vec<Dispatch>> {
    conv2d::forward(ctx, s.as_conv(), dy, w, None, dx, false)
}

/// Record `dw` from x and dy.
pub fn backward_weight(
    ctx: &Context,
    s: ConvTransposeShape,
    x: &GpuSlice,
    dy: &GpuSlice,
    dw: &GpuSlice,
) -> Result<Vec<Dispatch>> {
    conv2d::backward_weight(ctx, s.as_conv(), dy, x, dw)
}

/// Record `db[d] = Σ dy[n, d, ·, ·]`.
pub fn backward_bias(
    ctx: &Context,
    s: ConvTransposeShape,
    dy: &GpuSlice,
    db: &GpuSlice,
) -> Result<Vec<Dispatch>> {
    super::reduce::sum(ctx, dy, db, (s.n, s.d, s.ho() * s.wo()), 1, 1.0)
}

/// The output pixel that input (ih, iw) stamps through tap (kh, kw), if kept.
fn stamp(
    s: &ConvTransposeShape,
    ih: usize,
    iw: usize,
    kh: usize,
    kw: usize,
) -> Option<(usize, usize)> {
    let oy = (ih * s.stride + kh).checked_sub(s.pad)?;
    let ox = (iw * s.stride + kw).checked_sub(s.pad)?;
    (oy < s.ho() && ox < s.wo()).then_some((oy, ox))
}

/// CPU reference forward, written directly as stamping (not through conv2d):
/// y[n, d, ih·S−P+kh, iw·S−P+kw] += x[n, c, ih, iw] · w[c, d, kh, kw].
pub fn reference(
    s: ConvTransposeShape,
    x: &[f64],
    w: &[f64],
    b: Option<&[f64]>,
    relu: bool,
) -> Vec<f64> {
    let (ho, wo, k) = (s.ho(), s.wo(), s.k);
    let mut y = vec![0.0; s.n * s.d * ho * wo];
    for n in 0..s.n {
        for d in 0..s.d {
            let bias = b.map_or(0.0, |b| b[d]);
            y[(n * s.d + d) * ho * wo..(n * s.d + d + 1) * ho * wo].fill(bias);
        }
        for c in 0..s.c {
            for ih in 0..s.h {
                for iw in 0..s.w {
                    let xv = x[((n * s.c + c) * s.h + ih) * s.w + iw];
                    for d in 0..s.d {
                        for kh in 0..k {
                            for kw in 0..k {
                                if let Some((oy, ox)) = stamp(&s, ih, iw, kh, kw) {
                                    y[((n * s.d + d) * ho + oy) * wo + ox] +=
                                        xv * w[((c * s.d + d) * k + kh) * k + kw];
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    if relu {
        y.iter_mut().for_each(|v| *v = v.max(0.0));
    }
    y
}

/// CPU reference backward: `∂y[n,d,oy,ox]/∂x[n,c,ih,iw] = w[c,d,kh,kw]` for the
/// tap that stamps (oy, ox); ∂y/∂w = x; `∂y/∂b[d] = 1`. Returns (dx, dw, db).
pub fn backward_reference(
    s: ConvTransposeShape,
    x: &[f64],
    w: &[f64],
    dy: &[f64],
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (ho, wo, k) = (s.ho(), s.wo(), s.k);
    let (nx, nw, _) = s.sizes();
    let (mut dx, mut dw, mut db) = (vec![0.0; nx], vec![0.0; nw], vec![0.0; s.d]);
    for n in 0..s.n {
        for d in 0..s.d {
            db[d] += dy[(n * s.d + d) * ho * wo..(n * s.d + d + 1) * ho * wo]
                .iter()
                .sum::<f64>();
        }
        for c in 0..s.c {
            for ih in 0..s.h {
                for iw in 0..s.w {
                    let xi = ((n * s.c + c) * s.h + ih) * s.w + iw;
                    for d in 0..s.d {
                        for kh in 0..k {
                            for kw in 0..k {
                                if let Some((oy, ox)) = stamp(&s, ih, iw, kh, kw) {
                                    let g = dy[((n * s.d + d) * ho + oy) * wo + ox];
                                    let wi = ((c * s.d + d) * k + kh) * k + kw;
                                    dx[xi] += w[wi] * g;
                                    dw[wi] += x[xi] * g;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    (dx, dw, db)
}
