//! 2-D convolution, NCHW, square kernels — `shaders/conv2d.wgsl`.
//!
//! Legend: N batch, C input channels, D output channels, H×W input, K kernel,
//! S stride, P padding, Ho×Wo output.
//! x (N, C, H, W), w (D, C, K, K) as PyTorch's Conv2d stores it, b (D), y (N, D, Ho, Wo).
//!
//! Worked by hand: x = `[1 2; 3 4]` (1×1×2×2), w = `[1]` (K 1), b = 0.5, S 1, P 0
//! gives y = [1.5 2.5; 3.5 4.5]; with dy = ones, dx = ones, dw = 1+2+3+4 = 10, db = 4.

use bytemuck::{Pod, Zeroable};

use crate::buffers::{Dispatch, GpuSlice};
use crate::context::Context;
use crate::error::{Error, Result};

use super::check_len;

/// Mirrors `Params` in conv2d.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct Params {
    n: u32,
    c: u32,
    h: u32,
    w: u32,
    d: u32,
    ho: u32,
    wo: u32,
    k: u32,
    stride: u32,
    pad: u32,
    has_bias: u32,
    relu: u32,
}

/// The shape of a convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvShape {
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
    /// Kernel size (square).
    pub k: usize,
    /// Stride.
    pub stride: usize,
    /// Zero padding on every side.
    pub pad: usize,
}

impl ConvShape {
    /// Checks the shape and returns it; errors say which dimension is wrong.
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
                op: "conv2d",
                msg: format!("every size must be positive: {s}"),
            });
        }
        if h + 2 * pad < k || w + 2 * pad < k {
            return Err(Error::Shape {
                op: "conv2d",
                msg: format!("kernel {k} is larger than the padded input {h}×{w} (+2·{pad}): {s}"),
            });
        }
        Ok(s)
    }

    /// Output height.
    pub fn ho(&self) -> usize {
        (self.h + 2 * self.pad - self.k) / self.stride + 1
    }

    /// Output width.
    pub fn wo(&self) -> usize {
        (self.w + 2 * self.pad - self.k) / self.stride + 1
    }

    /// Elements of x, w and y.
    pub fn sizes(&self) -> (usize, usize, usize) {
        (
            self.n * self.c * self.h * self.w,
            self.d * self.c * self.k * self.k,
            self.n * self.d * self.ho() * self.wo(),
        )
    }

    /// Floating-point operations of the forward (and of each backward).
    pub fn flops(&self) -> f64 {
        2.0 * (self.n * self.d * self.ho() * self.wo()) as f64 * (self.c * self.k * self.k) as f64
    }

    pub(crate) fn params(&self, has_bias: bool, relu: bool) -> Params {
        Params {
            n: self.n as u32,
            c: self.c as u32,
            h: self.h as u32,
            w: self.w as u32,
            d: self.d as u32,
            ho: self.ho() as u32,
            wo: self.wo() as u32,
            k: self.k as u32,
            stride: self.stride as u32,
            pad: self.pad as u32,
            has_bias: has_bias as u32,
            relu: relu as u32,
        }
    }
}

impl std::fmt::Display for ConvShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "x {}x{}x{}x{} → {} ch, k{} s{} p{}",
            self.n, self.c, self.h, self.w, self.d, self.k, self.stride, self.pad
        )
    }
}

/// Which family of kernels records a convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernels {
    /// Storage-buffer kernels (conv2d.wgsl): hardware GPUs.
    Plain,
    /// Uniform windows of weights and whole images (conv2d.wgsl): CPU
    /// adapters, where a uniform load costs a tenth of a storage load.
    Window,
    /// Uniform windows whose lane-shared values go through subgroup
    /// broadcasts (conv2d_subgroup.wgsl): CPU adapters with subgroups of
    /// exactly 8 lanes (llvmpipe on AVX2).
    Subgroup,
    /// The forward and the weight gradient as implicit GEMMs over x in a
    /// texture (conv2d_texture.wgsl) where K is a multiple of 4; the rest
    /// as `Subgroup`.
    Texture,
}

impl Kernels {
    /// The fastest family this adapter runs.
    pub fn for_context(ctx: &Context) -> Self {
        if !ctx.is_software() {
            Kernels::Plain
        } else if super::matmul::subgroups_of_8(ctx) {
            Kernels::Texture
        } else {
            Kernels::Window
        }
    }

    /// Every family this adapter can run.
    pub fn available(ctx: &Context) -> Vec<Self> {
        let mut out = vec![Kernels::Plain, Kernels::Window];
        if super::matmul::subgroups_of_8(ctx) {
            out.push(Kernels::Subgroup);
            out.push(Kernels::Texture);
        }
        out
    }
}

/// Mirrors `ConvWindowParams` in conv2d.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
struct WindowParams {
    conv: Params,
    ch0: u32,
    chs: u32,
    kc: u32,
    accumulate: u32,
    n0: u32,
    images: u32,
    _pad: [u32; 2],
}

/// Output channels per invocation of the window kernels.
const WINDOW_CHANNELS: usize = 16;

/// Record `y = conv(x, w) (+ b) (then ReLU)` with the adapter's preferred kernel.
pub fn forward(
    ctx: &Context,
    s: ConvShape,
    x: &GpuSlice,
    w: &GpuSlice,
    bias: Option<&GpuSlice>,
    y: &GpuSlice,
    relu: bool,
) -> Result<Vec<Dispatch>> {
    forward_with(ctx, Kernels::for_context(ctx), s, x, w, bias, y, relu)
}

/// Like [`forward`] with the given family; the window families fall back to
/// the plain kernel where the shape does not fit their windows.
#[allow(clippy::too_many_arguments)]
pub fn forward_with(
    ctx: &Context,
    kernels: Kernels,
    s: ConvShape,
    x: &GpuSlice,
    w: &GpuSlice,
    bias: Option<&GpuSlice>,
    y: &GpuSlice,
    relu: bool,
) -> Result<Vec<Dispatch>> {
    let (nx, nw, ny) = s.sizes();
    check_len("conv2d", "x", x, nx)?;
    check_len("conv2d", "w", w, nw)?;
    check_len("conv2d", "y", y, ny)?;
    if let Some(b) = bias {
        check_len("conv2d", "bias", b, s.d)?;
    }
    if kernels == Kernels::Texture {
        if let Some(out) = super::conv2d_texture::forward(ctx, s, x, w, bias, y, relu)? {
            return Ok(out);
        }
    }
    let params = s.params(bias.is_some(), relu);
    let bias = bias.unwrap_or(w);
    let r = s.c * s.k * s.k;
    // Weights and x through uniform windows, where rows of w and whole images fit them.
    let image = s.c * s.h * s.w;
    let dc = super::window_rows(ctx, r, s.d).filter(|&dc| super::windows_fit(ctx, w, r, s.d, dc));
    let per = super::window_rows(ctx, image, s.n)
        .filter(|&per| super::windows_fit(ctx, x, image, s.n, per));
    if kernels != Kernels::Plain && r.is_multiple_of(4) {
        if let (Some(dc), Some(per)) = (dc, per) {
            let (file, entry, lanes) = match kernels {
                Kernels::Subgroup | Kernels::Texture => {
                    ("conv2d_subgroup", "conv2d_forward_subgroup", 8)
                }
                _ => ("conv2d", "conv2d_forward_xwindow", 16),
            };
            let mut out = Vec::new();
            for d0 in (0..s.d).step_by(dc) {
                for n0 in (0..s.n).step_by(per) {
                    let images = per.min(s.n - n0);
                    let chs = dc.min(s.d - d0);
                    let p = WindowParams {
                        conv: params,
                        ch0: d0 as u32,
                        chs: chs as u32,
                        n0: n0 as u32,
                        images: images as u32,
                        ..Zeroable::zeroed()
                    };
                    let groups = [
                        (images * s.ho() * s.wo()).div_ceil(4 * lanes) as u32,
                        chs.div_ceil(WINDOW_CHANNELS) as u32,
                        1,
                    ];
                    out.push(two_windows(
                        ctx,
                        (file, entry),
                        (x, (n0 * image * 4) as u64),
                        (w, (d0 * r * 4) as u64),
                        Some(bias),
                        y,
                        &p,
                        groups,
                        vec![],
                    )?);
                }
            }
            return Ok(out);
        }
    }
    let groups = [
        (s.n * s.ho() * s.wo()).div_ceil(32) as u32,
        s.d.div_ceil(32) as u32,
        1,
    ];
    Ok(vec![ctx.dispatch(
        "conv2d",
        "conv2d_forward",
        &[],
        &[x, w, bias, y],
        &params,
        groups,
    )?])
}

/// Record `dx = conv2d_backward_input(dy, w)` (+ bias over C, then ReLU: the
/// transposed convolution's forward uses those).
pub fn backward_input(
    ctx: &Context,
    s: ConvShape,
    dy: &GpuSlice,
    w: &GpuSlice,
    bias: Option<&GpuSlice>,
    dx: &GpuSlice,
    relu: bool,
) -> Result<Vec<Dispatch>> {
    backward_input_with(ctx, Kernels::for_context(ctx), s, dy, w, bias, dx, relu)
}

/// The window kernels of the input gradient: `cc` channels of the permuted
/// weights `wp` and `per` whole images of dy per window pair, one dispatch each.
#[allow(clippy::too_many_arguments)]
fn backward_input_windows(
    ctx: &Context,
    kernels: Kernels,
    s: ConvShape,
    (cc, per): (usize, usize),
    params: Params,
    dy: &GpuSlice,
    wp: &GpuSlice,
    bias: &GpuSlice,
    dx: &GpuSlice,
) -> Result<Vec<Dispatch>> {
    let image = s.d * s.ho() * s.wo();
    let groups_per_row = (s.w.div_ceil(s.stride)).div_ceil(4);
    let phases = (s.stride * s.stride) as u32;
    // Per kernel: channels per lane, lanes per image of dx, lanes per
    // workgroup, z slices (the phase kernels take one stride phase per slice).
    // Few output channels take the narrow kernels: the 16-channel ones would mostly idle.
    let (file, entry, block, lanes_per_image, wg, z) = if s.c == 1 && s.k == 2 * s.stride {
        // 4 × 4 blocks of each phase's pixel grid.
        let blocks = s.h.div_ceil(s.stride).div_ceil(4) * s.w.div_ceil(s.stride).div_ceil(4);
        (
            "conv2d",
            "conv2d_backward_input_window_c1",
            1,
            blocks,
            16,
            phases,
        )
    } else if s.c <= 4 {
        let lanes = s.h * s.stride * groups_per_row;
        ("conv2d", "conv2d_backward_input_window4x", 4, lanes, 16, 1)
    } else if matches!(kernels, Kernels::Subgroup | Kernels::Texture) {
        let lanes = s.h.div_ceil(s.stride) * groups_per_row;
        let entry = "conv2d_backward_input_subgroup";
        ("conv2d_subgroup", entry, WINDOW_CHANNELS, lanes, 8, phases)
    } else {
        let lanes = s.h * s.stride * groups_per_row;
        let entry = "conv2d_backward_input_xwindow";
        ("conv2d", entry, WINDOW_CHANNELS, lanes, 16, 1)
    };
    let row = s.k * s.k * s.d;
    let mut out = Vec::new();
    for c0 in (0..s.c).step_by(cc) {
        for n0 in (0..s.n).step_by(per) {
            let images = per.min(s.n - n0);
            let chs = cc.min(s.c - c0);
            let p = WindowParams {
                conv: params,
                ch0: c0 as u32,
                chs: chs as u32,
                n0: n0 as u32,
                images: images as u32,
                ..Zeroable::zeroed()
            };
            let workgroups = [
                (images * lanes_per_image).div_ceil(wg) as u32,
                chs.div_ceil(block) as u32,
                z,
            ];
            out.push(two_windows(
                ctx,
                (file, entry),
                (dy, (n0 * image * 4) as u64),
                (wp, (c0 * row * 4) as u64),
                Some(bias),
                dx,
                &p,
                workgroups,
                vec![],
            )?);
        }
    }
    Ok(out)
}

/// A dispatch of a `*_xwindow`-style kernel (`(file, entry)`): binding 0 a
/// uniform window of the activations (whole images), 1 a uniform window of
/// the weights (or of dy), 2 bias (if the kernel reads one), 3 the output,
/// 4 the params.
#[allow(clippy::too_many_arguments)]
fn two_windows(
    ctx: &Context,
    kernel: (&'static str, &str),
    act: (&GpuSlice, u64),
    weights: (&GpuSlice, u64),
    bias: Option<&GpuSlice>,
    out: &GpuSlice,
    params: &WindowParams,
    workgroups: [u32; 3],
    extra: Vec<(u32, wgpu::BindingResource<'_>)>,
) -> Result<Dispatch> {
    let mut resources = vec![
        (0, super::window_binding(act.0, act.1)),
        (1, super::window_binding(weights.0, weights.1)),
        (3, out.binding()),
    ];
    resources.extend(extra);
    if let Some(bias) = bias {
        resources.push((2, bias.binding()));
    }
    super::dispatch_bound(ctx, kernel, resources, (4, params), workgroups)
}

/// Like [`backward_input`] with the given family (Subgroup takes the window
/// kernel where C ≤ 4); the window kernels need the shape to fit their windows.
#[allow(clippy::too_many_arguments)]
pub fn backward_input_with(
    ctx: &Context,
    kernels: Kernels,
    s: ConvShape,
    dy: &GpuSlice,
    w: &GpuSlice,
    bias: Option<&GpuSlice>,
    dx: &GpuSlice,
    relu: bool,
) -> Result<Vec<Dispatch>> {
    let (nx, nw, ny) = s.sizes();
    check_len("conv2d_backward_input", "dy", dy, ny)?;
    check_len("conv2d_backward_input", "w", w, nw)?;
    check_len("conv2d_backward_input", "dx", dx, nx)?;
    if let Some(b) = bias {
        check_len("conv2d_backward_input", "bias", b, s.c)?;
    }
    if kernels == Kernels::Texture {
        if let Some(out) = super::conv2d_texture::backward_input(ctx, s, dy, w, bias, dx, relu)? {
            return Ok(out);
        }
    }
    let params = s.params(bias.is_some(), relu);
    let bias = bias.unwrap_or(w);
    let row = s.k * s.k * s.d;
    // Permuted weights and dy through uniform windows, where rows of the
    // weights and whole images of dy fit them.
    let image = s.d * s.ho() * s.wo();
    let cc = super::window_rows(ctx, row, s.c);
    let per = super::window_rows(ctx, image, s.n)
        .filter(|&per| super::windows_fit(ctx, dy, image, s.n, per));
    if kernels != Kernels::Plain && s.d.is_multiple_of(4) {
        if let (Some(cc), Some(per)) = (cc, per) {
            // The window kernels read the weights as wp[c, kh, kw, d].
            let wp = ctx.zeros("conv2d permuted weights", s.c * row);
            let mut out = vec![ctx.dispatch(
                "conv2d",
                "conv2d_weight_permute",
                &[],
                &[w, &wp],
                &params,
                [(s.c * row).div_ceil(64) as u32, 1, 1],
            )?];
            out.extend(backward_input_windows(
                ctx,
                kernels,
                s,
                (cc, per),
                params,
                dy,
                &wp,
                bias,
                dx,
            )?);
            return Ok(out);
        }
    }
    let groups = [
        (s.n * s.h * s.w).div_ceil(32) as u32,
        s.c.div_ceil(32) as u32,
        1,
    ];
    Ok(vec![ctx.dispatch(
        "conv2d",
        "conv2d_backward_input",
        &[],
        &[dy, w, bias, dx],
        &params,
        groups,
    )?])
}

/// Record `dw = conv2d_backward_weight(x, dy)` with the adapter's preferred kernel.
pub fn backward_weight(
    ctx: &Context,
    s: ConvShape,
    x: &GpuSlice,
    dy: &GpuSlice,
    dw: &GpuSlice,
) -> Result<Vec<Dispatch>> {
    backward_weight_with(ctx, Kernels::for_context(ctx), s, x, dy, dw)
}

/// Like [`backward_weight`] with the given family. Window: dy is laid out in
/// chunks of pixels (one window each), and each chunk's dispatch adds its
/// share to dw. Subgroup: x and dy both through windows of whole images.
pub fn backward_weight_with(
    ctx: &Context,
    kernels: Kernels,
    s: ConvShape,
    x: &GpuSlice,
    dy: &GpuSlice,
    dw: &GpuSlice,
) -> Result<Vec<Dispatch>> {
    let (nx, nw, ny) = s.sizes();
    if kernels == Kernels::Texture {
        check_len("conv2d_backward_weight", "x", x, nx)?;
        check_len("conv2d_backward_weight", "dy", dy, ny)?;
        check_len("conv2d_backward_weight", "dw", dw, nw)?;
        if let Some(out) = super::conv2d_texture::backward_weight(ctx, s, x, dy, dw)? {
            return Ok(out);
        }
    }
    if matches!(kernels, Kernels::Subgroup | Kernels::Texture) {
        check_len("conv2d_backward_weight", "x", x, nx)?;
        check_len("conv2d_backward_weight", "dy", dy, ny)?;
        check_len("conv2d_backward_weight", "dw", dw, nw)?;
        if let Some(out) = backward_weight_subgroup(ctx, s, x, dy, dw)? {
            return Ok(out);
        }
    }
    let windows = kernels != Kernels::Plain;
    let pixels = s.n * s.ho() * s.wo();
    // Pixels per chunk: a multiple of 4, with D rows of them in one aligned window.
    let align = (ctx.limits.min_uniform_buffer_offset_alignment as usize / 4).max(1);
    let mut kc = (super::WINDOW / s.d) / 4 * 4;
    while kc > 0 && !(kc * s.d).is_multiple_of(align) {
        kc -= 4;
    }
    let kc = kc.min(pixels.next_multiple_of(4));
    let uniform_ok = ctx.limits.max_uniform_buffer_binding_size >= super::WINDOW_BYTES;
    if windows && kc > 0 && uniform_ok {
        check_len("conv2d_backward_weight", "x", x, nx)?;
        check_len("conv2d_backward_weight", "dy", dy, ny)?;
        check_len("conv2d_backward_weight", "dw", dw, nw)?;
        let chunks = pixels.div_ceil(kc);
        let dyc = ctx.zeros("conv2d dy chunks", chunks * s.d * kc);
        let mut p = WindowParams {
            conv: s.params(false, false),
            ch0: 0,
            chs: 0,
            kc: kc as u32,
            accumulate: 0,
            ..Zeroable::zeroed()
        };
        let mut out = vec![ctx.dispatch(
            "conv2d",
            "conv2d_dy_chunks",
            &[],
            &[dy, &dyc],
            &p,
            super::grid_1d(chunks * s.d * kc, 64),
        )?];
        if super::windows_fit(ctx, &dyc, s.d * kc, chunks, 1) {
            let groups = [
                (s.c * s.k * s.k).div_ceil(4 * 16) as u32,
                s.d.div_ceil(WINDOW_CHANNELS) as u32,
                1,
            ];
            for ch in 0..chunks {
                p.ch0 = ch as u32;
                p.accumulate = (ch > 0) as u32;
                out.push(super::window_dispatch(
                    ctx,
                    "conv2d",
                    "conv2d_backward_weight_window",
                    x,
                    &dyc,
                    (ch * s.d * kc * 4) as u64,
                    None,
                    dw,
                    &p,
                    groups,
                )?);
            }
            return Ok(out);
        }
    }
    check_len("conv2d_backward_weight", "x", x, nx)?;
    check_len("conv2d_backward_weight", "dy", dy, ny)?;
    check_len("conv2d_backward_weight", "dw", dw, nw)?;
    let groups = [
        (s.c * s.k * s.k).div_ceil(32) as u32,
        s.d.div_ceil(32) as u32,
        1,
    ];
    Ok(vec![ctx.dispatch(
        "conv2d",
        "conv2d_backward_weight",
        &[],
        &[x, dy, dw],
        &s.params(false, false),
        groups,
    )?])
}

/// Pixels per slice of a window in `conv2d_backward_weight_subgroup`, at
/// least: slices split a window's pixels so that layers with few taps and
/// channels still give every core work.
const MIN_SLICE_PIXELS: usize = 16;

/// The subgroup weight gradient: one dispatch per window of `per` whole
/// images of x and of dy; each adds its share to dw, or, where a window is cut
/// into several pixel slices, to its slice's copy of dw, summed at the end.
/// None where the images do not fit windows.
fn backward_weight_subgroup(
    ctx: &Context,
    s: ConvShape,
    x: &GpuSlice,
    dy: &GpuSlice,
    dw: &GpuSlice,
) -> Result<Option<Vec<Dispatch>>> {
    let taps = s.c * s.k * s.k;
    // The kernel stores dw four taps at a time.
    if !taps.is_multiple_of(4) || !dw.offset.is_multiple_of(16) {
        return Ok(None);
    }
    let x_image = s.c * s.h * s.w;
    let hw_out = s.ho() * s.wo();
    let dy_image = s.d * hw_out;
    let (Some(px), Some(pd)) = (
        super::window_rows(ctx, x_image, s.n),
        super::window_rows(ctx, dy_image, s.n),
    ) else {
        return Ok(None);
    };
    // Both windows must start aligned: a multiple of both alignment steps.
    let step = |row: usize| {
        let align = (ctx.limits.min_uniform_buffer_offset_alignment as usize / 4).max(1);
        align / super::gcd(row, align)
    };
    let common = lcm(step(x_image), step(dy_image));
    let per = if px.min(pd) >= s.n {
        s.n
    } else {
        px.min(pd) / common * common
    };
    if per == 0
        || !super::windows_fit(ctx, x, x_image, s.n, per)
        || !super::windows_fit(ctx, dy, dy_image, s.n, per)
    {
        return Ok(None);
    }
    let groups_xy = [
        taps.div_ceil(4 * 8) as u32,
        s.d.div_ceil(WINDOW_CHANNELS) as u32,
    ];
    // Slices: enough workgroups for a few per core, never under MIN_SLICE_PIXELS each.
    let pixels = per * hw_out;
    let wanted = 16usize.div_ceil((groups_xy[0] * groups_xy[1]) as usize);
    let kc = pixels
        .div_ceil(wanted)
        .max(MIN_SLICE_PIXELS)
        .next_multiple_of(4);
    let slices = pixels.div_ceil(kc);
    let sums = slices * s.d * taps;
    let target = if slices > 1 {
        ctx.zeros("conv2d dw slices", sums)
    } else {
        dw.clone()
    };
    // Up to two windows of sums: windows before the last one write them into
    // two buffers in turn, each reading the other's as uniforms (see
    // dw_store); more take the output's own load (accumulate = 1).
    let partial = (s.n > per && sums <= 2 * super::WINDOW)
        .then(|| [0, 1].map(|_| ctx.zeros("conv2d dw partial sums", sums)));
    let mut out = Vec::new();
    for (i, n0) in (0..s.n).step_by(per).enumerate() {
        let last = n0 + per >= s.n;
        let (accumulate, to, from) = match &partial {
            Some(bufs) => (
                if i == 0 { 0 } else { 2 },
                if last { &target } else { &bufs[i % 2] },
                (i > 0).then(|| &bufs[(i + 1) % 2]),
            ),
            None => ((n0 > 0) as u32, &target, None),
        };
        let p = WindowParams {
            conv: s.params(false, false),
            kc: kc as u32,
            accumulate,
            n0: n0 as u32,
            images: per.min(s.n - n0) as u32,
            ..Zeroable::zeroed()
        };
        // Where nothing is read from them, the windows over x stand in.
        let (w0, w1) = match from {
            Some(b) => (
                super::window_binding(b, 0),
                super::window_binding(
                    b,
                    if sums > super::WINDOW {
                        super::WINDOW_BYTES
                    } else {
                        0
                    },
                ),
            ),
            None => (
                super::window_binding(x, (n0 * x_image * 4) as u64),
                super::window_binding(x, (n0 * x_image * 4) as u64),
            ),
        };
        out.push(two_windows(
            ctx,
            ("conv2d_subgroup", "conv2d_backward_weight_subgroup"),
            (x, (n0 * x_image * 4) as u64),
            (dy, (n0 * dy_image * 4) as u64),
            None,
            to,
            &p,
            [groups_xy[0], groups_xy[1], slices as u32],
            vec![(5, w0), (6, w1)],
        )?);
    }
    if slices > 1 {
        out.extend(super::reduce::sum(
            ctx,
            &target,
            dw,
            (slices, s.d * taps, 1),
            1,
            1.0,
        )?);
    }
    Ok(Some(out))
}

fn lcm(a: usize, b: usize) -> usize {
    a / super::gcd(a, b) * b
}

/// Record the bias gradient `db[d] = Σ_{n,oh,ow} dy[n, d, oh, ow]`.
pub fn backward_bias(
    ctx: &Context,
    s: ConvShape,
    dy: &GpuSlice,
    db: &GpuSlice,
) -> Result<Vec<Dispatch>> {
    check_len("conv2d_backward_bias", "db", db, s.d)?;
    super::reduce::sum(ctx, dy, db, (s.n, s.d, s.ho() * s.wo()), 1, 1.0)
}

/// The input pixel tap (kh, kw) of output (oh, ow) reads, if inside the image.
fn tap(s: &ConvShape, oh: usize, ow: usize, kh: usize, kw: usize) -> Option<(usize, usize)> {
    let iy = (oh * s.stride + kh).checked_sub(s.pad)?;
    let ix = (ow * s.stride + kw).checked_sub(s.pad)?;
    (iy < s.h && ix < s.w).then_some((iy, ix))
}

/// CPU reference forward: x (N, C, H, W), w (D, C, K, K), b (D) → y (N, D, Ho, Wo).
pub fn reference(s: ConvShape, x: &[f64], w: &[f64], b: Option<&[f64]>, relu: bool) -> Vec<f64> {
    let (ho, wo, k) = (s.ho(), s.wo(), s.k);
    let mut y = vec![0.0; s.n * s.d * ho * wo];
    for n in 0..s.n {
        for d in 0..s.d {
            for oh in 0..ho {
                for ow in 0..wo {
                    let mut sum = b.map_or(0.0, |b| b[d]);
                    for c in 0..s.c {
                        for kh in 0..k {
                            for kw in 0..k {
                                if let Some((iy, ix)) = tap(&s, oh, ow, kh, kw) {
                                    sum += w[((d * s.c + c) * k + kh) * k + kw]
                                        * x[((n * s.c + c) * s.h + iy) * s.w + ix];
                                }
                            }
                        }
                    }
                    y[((n * s.d + d) * ho + oh) * wo + ow] = if relu { sum.max(0.0) } else { sum };
                }
            }
        }
    }
    y
}

/// CPU reference backward. `∂y[n,d,oh,ow]/∂x[n,c,iy,ix] = w[d,c,kh,kw]` for each
/// tap that reads (iy, ix); `∂y/∂w[d,c,kh,kw]` = x at that tap; `∂y/∂b[d] = 1`.
/// x (N, C, H, W), w (D, C, K, K), dy (N, D, Ho, Wo) → (dx, dw, db).
pub fn backward_reference(
    s: ConvShape,
    x: &[f64],
    w: &[f64],
    dy: &[f64],
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (ho, wo, k) = (s.ho(), s.wo(), s.k);
    let (nx, nw, _) = s.sizes();
    let (mut dx, mut dw, mut db) = (vec![0.0; nx], vec![0.0; nw], vec![0.0; s.d]);
    for n in 0..s.n {
        for d in 0..s.d {
            for oh in 0..ho {
                for ow in 0..wo {
                    let g = dy[((n * s.d + d) * ho + oh) * wo + ow];
                    db[d] += g;
                    for c in 0..s.c {
                        for kh in 0..k {
                            for kw in 0..k {
                                if let Some((iy, ix)) = tap(&s, oh, ow, kh, kw) {
                                    let xi = ((n * s.c + c) * s.h + iy) * s.w + ix;
                                    let wi = ((d * s.c + c) * k + kh) * k + kw;
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
