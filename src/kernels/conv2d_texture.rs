//! Convolutions with K a multiple of 4 as implicit GEMMs reading x from a
//! texture — `shaders/conv2d_texture.wgsl` (written by conv2d_texture.py).
//!
//! On llvmpipe the uniform-window kernels (conv2d_subgroup.wgsl) see a few
//! images of x per dispatch; these see all of x in one texture and run each
//! product as one dispatch with the texture matmul's block. Used by
//! [`super::conv2d::Kernels::Texture`].
//!
//! - forward: rows of the product are output pixels, columns channels; the
//!   kernel stores y in (N, D, Ho, Wo) itself. With one input channel and
//!   K = 4 (an encoder's first layer, and a decoder's last layer's input
//!   gradient) each invocation computes four pixels of every channel
//!   instead and stores them as vec4s, its weights from a uniform buffer:
//!   the product's scalar stores were most of that layer's time.
//! - input gradient, where K = 2·stride: one product per stride phase, rows
//!   the phase's pixels of dx, columns its channels, k the 2 × 2 window of
//!   dy each such pixel reads (four weights per channel of dy, rearranged
//!   per phase first); the kernel stores dx in (N, C, H, W) itself.
//!   With one input channel (a decoder's last layer) each invocation
//!   computes four pixels of a phase instead, its weights from a uniform
//!   buffer; with stride 2, four pixels of every phase, which read the same
//!   windows of dy.
//! - weight gradient: dy is first moved into rows (n, oh, ow) of D channels
//!   (one small kernel and a copy into a texture); dw comes out in w's own
//!   (D, C, K, K) layout. With fewer taps than a block's columns (one input
//!   channel) the product runs transposed, taps as rows, and reads dy in its
//!   own layout where Ho·Wo is a multiple of 4.
//!
//! The textures are the context's scratch textures, shared by every layer of
//! the same sizes.

use bytemuck::{Pod, Zeroable};

use super::conv2d::ConvShape;
use crate::buffers::{BufferCopy, CopyTarget, Dispatch, GpuSlice};
use crate::context::Context;
use crate::error::Result;

/// Mirrors `ConvTxParams` in conv2d_texture.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
struct Params {
    conv: super::conv2d::Params,
    taps: u32,
    pixels: u32,
    slice: u32,
    // Always 4: the trip count of the kernels' loops over four channels.
    four: u32,
    phase: [u32; 2],
    origin: [u32; 2],
    grid: [u32; 2],
    wbase: u32,
    // Rows per workgroup of the product kernels (their *_ROWS), the trip
    // count of their epilogue's loop.
    rows: u32,
}

/// Rows of each kernel's product per workgroup (R in conv2d_texture.py, set
/// per kernel there) and columns (8·C, all of them).
const FORWARD_ROWS: usize = 16;
const INPUT_ROWS: usize = 8;
const WEIGHT_ROWS: usize = 16;
const TAPS_ROWS: usize = 8;
const COLS: usize = 32;

/// The weight gradient splits its pixels into slices until it has this many
/// workgroups.
const MIN_WORKGROUPS: usize = 16;

fn params(s: &ConvShape, has_bias: bool, relu: bool) -> Params {
    Params {
        conv: s.params(has_bias, relu),
        taps: (s.c * s.k * s.k) as u32,
        pixels: (s.n * s.ho() * s.wo()) as u32,
        slice: 0,
        four: 4,
        phase: [0; 2],
        origin: [0; 2],
        grid: [0; 2],
        wbase: 0,
        rows: 0,
    }
}

/// Whether these kernels compute `s` on this context: 8-lane subgroups, K
/// and D multiples of 4, x within one texture, the grid of a product of
/// `rows` × `cols` in blocks of `block_rows` rows within the limits.
fn fits(ctx: &Context, s: &ConvShape, (rows, block_rows): (usize, usize), cols: usize) -> bool {
    let most = ctx.limits.max_compute_workgroups_per_dimension as usize;
    let x_rows = CopyTarget::texture_rows(s.n * s.c * s.h * s.w) as usize;
    super::matmul::subgroups_of_8(ctx)
        && s.k.is_multiple_of(4)
        && s.d.is_multiple_of(4)
        && x_rows < ctx.limits.max_texture_dimension_2d as usize
        && rows.div_ceil(block_rows) <= most
        && cols.div_ceil(COLS) <= most
}

fn view(t: &wgpu::Texture) -> wgpu::TextureView {
    t.create_view(&Default::default())
}

/// `y = conv(x, w) (+ b) (then ReLU)`, or None where the shapes or the
/// buffers do not allow these kernels.
pub fn forward(
    ctx: &Context,
    s: ConvShape,
    x: &GpuSlice,
    w: &GpuSlice,
    bias: Option<&GpuSlice>,
    y: &GpuSlice,
    relu: bool,
) -> Result<Option<Vec<Dispatch>>> {
    if s.c == 1 {
        if let Some(out) = forward_c1(ctx, s, x, w, bias, y, relu)? {
            return Ok(Some(out));
        }
    }
    let pixels = s.n * s.ho() * s.wo();
    if !fits(ctx, &s, (pixels, FORWARD_ROWS), s.d) {
        return Ok(None);
    }
    let (Some((tx, copy_x)), Some((tw, copy_w))) = (
        ctx.scratch_texture_copy("conv2d x", x),
        ctx.scratch_texture_copy("conv2d w", w),
    ) else {
        return Ok(None);
    };
    let none = ctx.scratch_buffer("no bias", 4);
    let (vx, vw) = (view(&tx), view(&tw));
    let mut d = super::dispatch_bound(
        ctx,
        ("conv2d_texture", "conv2d_forward_texture"),
        vec![
            (0, wgpu::BindingResource::TextureView(&vx)),
            (1, wgpu::BindingResource::TextureView(&vw)),
            (2, bias.unwrap_or(&none).binding()),
            (3, y.binding()),
        ],
        (
            4,
            &Params {
                rows: FORWARD_ROWS as u32,
                ..params(&s, bias.is_some(), relu)
            },
        ),
        [
            pixels.div_ceil(FORWARD_ROWS) as u32,
            s.d.div_ceil(COLS) as u32,
            1,
        ],
    )?;
    d.copies = vec![copy_x, copy_w];
    Ok(Some(vec![d]))
}

/// Where the single-channel forward's bias starts in its uniform buffer
/// (floats; `C1_BIAS` in conv2d_texture.wgsl is this over 4).
const C1_BIAS: usize = 3072;

/// The forward with one input channel and K = 4: four pixels of an image
/// per invocation, each channel's four stored as one vec4, the weights and
/// bias copied into a uniform buffer. None where the shapes or buffers do
/// not allow it (Ho·Wo a multiple of 4, D ≤ 192).
fn forward_c1(
    ctx: &Context,
    s: ConvShape,
    x: &GpuSlice,
    w: &GpuSlice,
    bias: Option<&GpuSlice>,
    y: &GpuSlice,
    relu: bool,
) -> Result<Option<Vec<Dispatch>>> {
    let hw = s.ho() * s.wo();
    let groups = (s.n * hw / 4).div_ceil(64);
    let most = ctx.limits.max_compute_workgroups_per_dimension as usize;
    // grid_1d's rows are 65,535 workgroups long.
    let ok = super::matmul::subgroups_of_8(ctx)
        && s.k == 4
        && hw.is_multiple_of(4)
        && w.len <= C1_BIAS
        && y.offset.is_multiple_of(16)
        && ctx.limits.max_uniform_buffer_binding_size as usize >= C1_WEIGHTS * 4
        && most >= 65535
        && groups.div_ceil(65535) <= most;
    if !ok {
        return Ok(None);
    }
    let Some((tx, copy_x)) = ctx.scratch_texture_copy("conv2d x", x) else {
        return Ok(None);
    };
    let uw = ctx.scratch_buffer("conv2d c1 weights", C1_WEIGHTS);
    let mut copies = vec![
        copy_x,
        BufferCopy {
            from: w.clone(),
            to: CopyTarget::Buffer(GpuSlice {
                len: w.len,
                ..uw.clone()
            }),
        },
    ];
    if let Some(b) = bias {
        copies.push(BufferCopy {
            from: b.clone(),
            to: CopyTarget::Buffer(GpuSlice {
                offset: uw.offset + C1_BIAS as u64 * 4,
                len: b.len,
                ..uw.clone()
            }),
        });
    }
    let vx = view(&tx);
    let mut d = super::dispatch_bound(
        ctx,
        ("conv2d_texture", "conv2d_forward_c1_texture"),
        vec![
            (0, wgpu::BindingResource::TextureView(&vx)),
            (1, uw.binding()),
            (3, y.binding()),
        ],
        (4, &params(&s, bias.is_some(), relu)),
        // Rows of 65,535 workgroups past that many, as the kernel counts.
        super::grid_1d(s.n * hw / 4, 64),
    )?;
    d.copies = copies;
    Ok(Some(vec![d]))
}

/// The first index and the count of the `phase`-th rows (or columns) of a
/// stride phase grid: the dx rows ih with (ih + pad) % stride == phase,
/// given as (ih + pad) / stride.
fn phase_range(size: usize, stride: usize, pad: usize, phase: usize) -> (usize, usize) {
    // ih = i·stride + phase - pad must lie in 0 .. size.
    let first = (pad.saturating_sub(phase)).div_ceil(stride);
    let end = (size + pad)
        .saturating_sub(phase)
        .div_ceil(stride)
        .max(first);
    (first, end - first)
}

/// `dx = conv2d_backward_input(dy, w) (+ bias over C) (then ReLU)` where K =
/// 2·stride, or None where the shapes or the buffers do not allow these
/// kernels (they also need C a multiple of 4).
#[allow(clippy::too_many_arguments)]
pub fn backward_input(
    ctx: &Context,
    s: ConvShape,
    dy: &GpuSlice,
    w: &GpuSlice,
    bias: Option<&GpuSlice>,
    dx: &GpuSlice,
    relu: bool,
) -> Result<Option<Vec<Dispatch>>> {
    if s.c == 1 {
        return backward_input_c1(ctx, s, dy, w, bias, dx, relu);
    }
    let most = ctx.limits.max_compute_workgroups_per_dimension as usize;
    let dy_rows = CopyTarget::texture_rows(dy.len) as usize;
    let ok = super::matmul::subgroups_of_8(ctx)
        && s.k == 2 * s.stride
        && s.c.is_multiple_of(4)
        && dy_rows < ctx.limits.max_texture_dimension_2d as usize
        && (s.n * s.h.div_ceil(s.stride) * s.w.div_ceil(s.stride)).div_ceil(INPUT_ROWS) <= most
        && s.c.div_ceil(COLS) <= most;
    if !ok {
        return Ok(None);
    }
    let Some((tdy, copy_dy)) = ctx.scratch_texture_copy("conv2d dy", dy) else {
        return Ok(None);
    };
    // The weights of every phase, (phase, C, D·4), written by a small kernel
    // and copied into a texture.
    let wq = ctx.scratch_buffer("conv2d weight phases", w.len);
    let Some((twq, copy_wq)) = ctx.scratch_texture_copy("conv2d weight phases", &wq) else {
        return Ok(None);
    };
    let base = Params {
        rows: INPUT_ROWS as u32,
        ..params(&s, bias.is_some(), relu)
    };
    let mut out = vec![super::dispatch_bound(
        ctx,
        ("conv2d_texture", "conv2d_weight_phases"),
        vec![(2, w.binding()), (3, wq.binding())],
        (4, &base),
        [w.len.div_ceil(64) as u32, 1, 1],
    )?];
    let none = ctx.scratch_buffer("no bias", 4);
    let (vdy, vwq) = (view(&tdy), view(&twq));
    let mut copies = vec![copy_dy, copy_wq];
    for ph in 0..s.stride {
        let (y0, hp) = phase_range(s.h, s.stride, s.pad, ph);
        for pw in 0..s.stride {
            let (x0, wp) = phase_range(s.w, s.stride, s.pad, pw);
            let pixels = s.n * hp * wp;
            if pixels == 0 {
                continue;
            }
            let p = Params {
                taps: (s.d * 4) as u32,
                pixels: pixels as u32,
                phase: [ph as u32, pw as u32],
                origin: [y0 as u32, x0 as u32],
                grid: [hp as u32, wp as u32],
                wbase: ((ph * s.stride + pw) * s.c * s.d) as u32,
                ..base
            };
            let mut d = super::dispatch_bound(
                ctx,
                ("conv2d_texture", "conv2d_backward_input_texture"),
                vec![
                    (0, wgpu::BindingResource::TextureView(&vdy)),
                    (1, wgpu::BindingResource::TextureView(&vwq)),
                    (2, bias.unwrap_or(&none).binding()),
                    (3, dx.binding()),
                ],
                (4, &p),
                [
                    pixels.div_ceil(INPUT_ROWS) as u32,
                    s.c.div_ceil(COLS) as u32,
                    1,
                ],
            )?;
            // The first phase's dispatch fills the textures the others read.
            d.copies = std::mem::take(&mut copies);
            out.push(d);
        }
    }
    Ok(Some(out))
}

/// Floats of the single-channel input gradient's uniform weights (`uwq`).
const C1_WEIGHTS: usize = 4096;

/// Corner rows per invocation of the one-channel stride-2 input gradient
/// (S2R in conv2d_texture.py).
const C1S2_ROWS: usize = 3;

/// The input gradient with one input channel (K = 2·stride): four pixels of
/// a stride phase per invocation, the phase weights from a uniform buffer.
fn backward_input_c1(
    ctx: &Context,
    s: ConvShape,
    dy: &GpuSlice,
    w: &GpuSlice,
    bias: Option<&GpuSlice>,
    dx: &GpuSlice,
    relu: bool,
) -> Result<Option<Vec<Dispatch>>> {
    let (hp, wp) = (s.h.div_ceil(s.stride), s.w.div_ceil(s.stride));
    let invocations = s.n * hp * wp.div_ceil(4);
    let most = ctx.limits.max_compute_workgroups_per_dimension as usize;
    let ok = s.k == 2 * s.stride
        && w.len <= C1_WEIGHTS
        && ctx.limits.max_uniform_buffer_binding_size as usize >= C1_WEIGHTS * 4
        && invocations.div_ceil(64) <= most
        && CopyTarget::texture_rows(dy.len) < ctx.limits.max_texture_dimension_2d;
    if !ok {
        return Ok(None);
    }
    let Some((tdy, copy_dy)) = ctx.scratch_texture_copy("conv2d dy", dy) else {
        return Ok(None);
    };
    let wq = ctx.scratch_buffer("conv2d weight phases c1", C1_WEIGHTS);
    let p = params(&s, bias.is_some(), relu);
    let phases = super::dispatch_bound(
        ctx,
        ("conv2d_texture", "conv2d_weight_phases"),
        vec![(2, w.binding()), (3, wq.binding())],
        (4, &p),
        [w.len.div_ceil(64) as u32, 1, 1],
    )?;
    let none = ctx.scratch_buffer("no bias", 4);
    let vdy = view(&tdy);
    let bindings = vec![
        (0, wgpu::BindingResource::TextureView(&vdy)),
        (1, wq.binding()),
        (2, bias.unwrap_or(&none).binding()),
        (3, dx.binding()),
    ];
    // (Its weights reach the lanes by subgroupBroadcast.)
    let mut d = if s.stride == 2 && super::matmul::subgroups_of_8(ctx) {
        // Every phase per invocation: the windows' corner rows (and
        // columns) m - 1 for m = (ih + pad) / 2 over the image.
        let corners = |size: usize| {
            let first = (s.pad / 2) as i64 - 1;
            let last = ((size - 1 + s.pad) / 2) as i64 - 1;
            (first as i32 as u32, (last - first + 1) as u32)
        };
        let ((y0, hp), (x0, wp)) = (corners(s.h), corners(s.w));
        let p = Params {
            origin: [y0, x0],
            grid: [hp, wp],
            ..p
        };
        let invocations = s.n * (hp as usize).div_ceil(C1S2_ROWS) * (wp as usize).div_ceil(4);
        if invocations.div_ceil(64) > most {
            return Ok(None);
        }
        super::dispatch_bound(
            ctx,
            ("conv2d_texture", "conv2d_backward_input_c1s2_texture"),
            bindings,
            (4, &p),
            [invocations.div_ceil(64) as u32, 1, 1],
        )?
    } else {
        super::dispatch_bound(
            ctx,
            ("conv2d_texture", "conv2d_backward_input_c1_texture"),
            bindings,
            (4, &p),
            [
                invocations.div_ceil(64) as u32,
                1,
                (s.stride * s.stride) as u32,
            ],
        )?
    };
    d.copies = vec![copy_dy];
    Ok(Some(vec![phases, d]))
}

/// `dw = conv2d_backward_weight(x, dy)`, or None where the shapes or the
/// buffers do not allow these kernels (they also need N·Ho·Wo, the summed
/// dimension, a multiple of 4).
pub fn backward_weight(
    ctx: &Context,
    s: ConvShape,
    x: &GpuSlice,
    dy: &GpuSlice,
    dw: &GpuSlice,
) -> Result<Option<Vec<Dispatch>>> {
    let taps = s.c * s.k * s.k;
    let pixels = s.n * s.ho() * s.wo();
    let hw = s.ho() * s.wo();
    let most = ctx.limits.max_compute_workgroups_per_dimension as usize;
    let ok = fits(ctx, &s, (s.d, WEIGHT_ROWS), taps)
        && pixels.is_multiple_of(4)
        && dw.offset.is_multiple_of(16)
        && hw.div_ceil(8) <= most
        && s.n <= most;
    if !ok {
        return Ok(None);
    }
    let (Some((tx, copy_x)), Some((tdy, copy_dy))) = (
        ctx.scratch_texture_copy("conv2d x", x),
        ctx.scratch_texture_copy("conv2d dy", dy),
    ) else {
        return Ok(None);
    };
    if taps < COLS && hw.is_multiple_of(4) {
        return backward_weight_taps(ctx, s, (tx, copy_x), (tdy, copy_dy), dw);
    }
    // dy as rows of D channels: a buffer the layout kernel writes, copied
    // into a texture (texture stores cost far more than this on llvmpipe).
    let rows_len = pixels * s.d;
    let rows = ctx.scratch_buffer("conv2d dy rows", rows_len);
    let Some((trows, copy_rows)) = ctx.scratch_texture_copy("conv2d dy rows", &rows) else {
        return Ok(None);
    };
    let groups = [s.d.div_ceil(WEIGHT_ROWS), taps.div_ceil(COLS)];
    let sl = Slices::new(ctx, &s, groups, dw);
    let p = Params {
        slice: sl.slice as u32,
        rows: WEIGHT_ROWS as u32,
        ..params(&s, false, false)
    };
    let vdy = view(&tdy);
    let mut layout = super::dispatch_bound(
        ctx,
        ("conv2d_texture", "conv2d_rows_from_nchw"),
        vec![
            (1, wgpu::BindingResource::TextureView(&vdy)),
            (3, rows.binding()),
        ],
        (4, &p),
        [
            (s.d / 4).div_ceil(8) as u32,
            hw.div_ceil(8) as u32,
            s.n as u32,
        ],
    )?;
    layout.copies = vec![copy_dy];
    let (vx, vr) = (view(&tx), view(&trows));
    let mut product = super::dispatch_bound(
        ctx,
        ("conv2d_texture", "conv2d_backward_weight_texture"),
        vec![
            (0, wgpu::BindingResource::TextureView(&vx)),
            (1, wgpu::BindingResource::TextureView(&vr)),
            (3, sl.target.binding()),
        ],
        (4, &p),
        [groups[0] as u32, groups[1] as u32, sl.count as u32],
    )?;
    product.copies = vec![copy_x, copy_rows];
    let mut out = vec![layout, product];
    out.extend(sl.sum(ctx, &s, dw)?);
    Ok(Some(out))
}

/// Slices of a weight gradient's pixels: a few workgroups per core even
/// where D and the taps are few (conv1: 2 × 1 workgroups without them),
/// each slice summing into its own copy of dw, the copies summed at the end.
struct Slices {
    /// Pixels per slice (a multiple of 4).
    slice: usize,
    /// How many slices.
    count: usize,
    /// Where the product stores: dw itself for one slice, else the copies.
    target: GpuSlice,
}

impl Slices {
    fn new(ctx: &Context, s: &ConvShape, groups: [usize; 2], dw: &GpuSlice) -> Self {
        let pixels = s.n * s.ho() * s.wo();
        let wanted = MIN_WORKGROUPS.div_ceil(groups[0] * groups[1]);
        let slice = pixels.div_ceil(wanted).next_multiple_of(4);
        let count = pixels.div_ceil(slice);
        let target = if count > 1 {
            ctx.scratch_buffer("conv2d dw slices", count * dw.len)
        } else {
            dw.clone()
        };
        Self {
            slice,
            count,
            target,
        }
    }

    /// The dispatches summing the slices' copies into dw (none for one).
    fn sum(&self, ctx: &Context, s: &ConvShape, dw: &GpuSlice) -> Result<Vec<Dispatch>> {
        if self.count == 1 {
            return Ok(Vec::new());
        }
        let taps = s.c * s.k * s.k;
        super::reduce::sum(ctx, &self.target, dw, (self.count, s.d * taps, 1), 1, 1.0)
    }
}

/// The weight gradient with taps as the product's rows (fewer taps than a
/// block's columns: one input channel) and dy read in its own layout (Ho·Wo
/// a multiple of 4); x and dy come with their texture copies.
fn backward_weight_taps(
    ctx: &Context,
    s: ConvShape,
    (tx, copy_x): (wgpu::Texture, BufferCopy),
    (tdy, copy_dy): (wgpu::Texture, BufferCopy),
    dw: &GpuSlice,
) -> Result<Option<Vec<Dispatch>>> {
    let taps = s.c * s.k * s.k;
    let groups = [taps.div_ceil(TAPS_ROWS), s.d.div_ceil(COLS)];
    let sl = Slices::new(ctx, &s, groups, dw);
    let p = Params {
        slice: sl.slice as u32,
        ..params(&s, false, false)
    };
    let (vx, vdy) = (view(&tx), view(&tdy));
    let mut product = super::dispatch_bound(
        ctx,
        ("conv2d_texture", "conv2d_backward_weight_taps_texture"),
        vec![
            (0, wgpu::BindingResource::TextureView(&vx)),
            (1, wgpu::BindingResource::TextureView(&vdy)),
            (3, sl.target.binding()),
        ],
        (4, &p),
        [groups[0] as u32, groups[1] as u32, sl.count as u32],
    )?;
    product.copies = vec![copy_x, copy_dy];
    let mut out = vec![product];
    out.extend(sl.sum(ctx, &s, dw)?);
    Ok(Some(out))
}
