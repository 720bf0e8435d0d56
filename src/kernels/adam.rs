//! Adam with bias correction — `shaders/adam.wgsl`.
//!
//! The step number t comes from the GPU state counter (see [`super::data`]),
//! so a recorded optimizer step replays without any upload.

use bytemuck::{Pod, Zeroable};

use crate::buffers::{BufferCopy, CopyTarget, Dispatch, GpuSlice};
use crate::context::Context;
use crate::error::Result;

use super::{check_len, dispatch_bound, grid_1d, uniform_windows_fit, window_binding, WINDOW};

/// Mirrors `Params` in adam.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct Params {
    n: u32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    /// adam_update_texture: the row of its θ texture where the chunk starts.
    tp_row: u32,
    _pad: [u32; 2],
}

impl Params {
    fn new(cfg: AdamConfig, n: usize) -> Self {
        Self {
            n: n as u32,
            lr: cfg.lr,
            beta1: cfg.beta1,
            beta2: cfg.beta2,
            eps: cfg.eps,
            tp_row: 0,
            _pad: [0; 2],
        }
    }
}

/// Adam's settings.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f32,
    /// β₁.
    pub beta1: f32,
    /// β₂.
    pub beta2: f32,
    /// ε.
    pub eps: f32,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

/// Record one Adam update of `param` (and its moments m, v) from `grad`.
pub fn update(
    ctx: &Context,
    cfg: AdamConfig,
    grad: &GpuSlice,
    state: &GpuSlice,
    param: &GpuSlice,
    m: &GpuSlice,
    v: &GpuSlice,
) -> Result<Dispatch> {
    check_len("adam", "grad", grad, param.len)?;
    check_len("adam", "m", m, param.len)?;
    check_len("adam", "v", v, param.len)?;
    let params = Params::new(cfg, param.len);
    let aligned = [grad, param, m, v].iter().all(|s| s.offset % 16 == 0);
    let (entry, per) = if param.len.is_multiple_of(4) && aligned {
        ("adam_update_vec4", 4)
    } else {
        ("adam_update", 1)
    };
    ctx.dispatch(
        "adam",
        entry,
        &[],
        &[grad, state, param, m, v],
        &params,
        grid_1d(param.len / per, 256),
    )
}

/// Whether [`update_staged`] can update `param` on this device: it needs
/// 64 KiB uniform windows, five uniform bindings, a length that is a multiple
/// of 4 and window-aligned slices.
pub fn staged_fits(ctx: &Context, grad: &GpuSlice, param: &GpuSlice) -> bool {
    ctx.limits.max_uniform_buffers_per_shader_stage >= 5
        && param.len.is_multiple_of(4)
        && grad.len == param.len
        && uniform_windows_fit(ctx, grad)
}

/// Record one Adam update of `param` that reads g, m, v and θ through
/// uniform windows (`adam_update_window`, for llvmpipe: see adam.wgsl). m, v
/// and θ are copied, `chunk` values at a time, into `stage` (at least
/// 3 · `chunk` values, `chunk` a multiple of [`WINDOW`]) before the windows
/// over them run; anything else in `stage` is overwritten. Check
/// [`staged_fits`] first.
#[allow(clippy::too_many_arguments)]
pub fn update_staged(
    ctx: &Context,
    cfg: AdamConfig,
    grad: &GpuSlice,
    state: &GpuSlice,
    (param, m, v): (&GpuSlice, &GpuSlice, &GpuSlice),
    stage: &GpuSlice,
    chunk: usize,
) -> Result<Vec<Dispatch>> {
    check_len("adam", "grad", grad, param.len)?;
    check_len("adam", "m", m, param.len)?;
    check_len("adam", "v", v, param.len)?;
    assert!(
        chunk >= WINDOW && chunk.is_multiple_of(WINDOW) && stage.len >= 3 * chunk,
        "adam stage of {} values for chunks of {chunk}",
        stage.len
    );
    let range = |s: &GpuSlice, start: usize, len: usize| GpuSlice {
        buffer: s.buffer.clone(),
        offset: s.offset + start as u64 * 4,
        len,
    };
    let mut out = Vec::new();
    for c0 in (0..param.len).step_by(chunk) {
        let len = chunk.min(param.len - c0);
        // Staged copies: m at 0, v at chunk, θ at 2 · chunk.
        let mut copies: Vec<BufferCopy> = [m, v, param]
            .iter()
            .enumerate()
            .map(|(q, s)| BufferCopy {
                from: range(s, c0, len),
                to: CopyTarget::Buffer(range(stage, q * chunk, len)),
            })
            .collect();
        for w0 in (0..len).step_by(WINDOW) {
            let n = WINDOW.min(len - w0);
            let at = c0 + w0;
            let params = Params::new(cfg, n);
            let (p_out, m_out, v_out) = (range(param, at, n), range(m, at, n), range(v, at, n));
            let staged = |q: usize| window_binding(stage, ((q * chunk + w0) * 4) as u64);
            let mut d = dispatch_bound(
                ctx,
                ("adam", "adam_update_window"),
                vec![
                    (0, window_binding(grad, at as u64 * 4)),
                    (1, state.binding()),
                    (2, p_out.binding()),
                    (3, m_out.binding()),
                    (4, v_out.binding()),
                    (6, staged(0)),
                    (7, staged(1)),
                    (8, staged(2)),
                ],
                (5, &params),
                grid_1d(n / 4, 256),
            )?;
            // The chunk's first dispatch makes its copies.
            d.copies = std::mem::take(&mut copies);
            out.push(d);
        }
    }
    Ok(out)
}

/// The most values [`update_texture`] updates in one dispatch: 1 MiB per
/// texture, so that the four textures stay small beside the model (a 3136 ×
/// 256 weight takes four dispatches).
pub const TEXTURE_CHUNK: usize = 1 << 18;

/// The four textures (g, m, v, θ) that [`update_texture`] copies a
/// parameter's values into; every parameter (and every chunk of a large
/// one) of a step reuses them in turn.
pub struct AdamTextures {
    textures: [wgpu::Texture; 4],
    /// Values per dispatch: whole rows of the textures.
    chunk: usize,
}

impl AdamTextures {
    /// Textures for parameters of up to `largest` values (larger ones are
    /// updated a chunk at a time).
    pub fn new(ctx: &Context, largest: usize) -> Self {
        let rows = CopyTarget::texture_rows(largest.min(TEXTURE_CHUNK));
        let textures =
            ["adam g", "adam m", "adam v", "adam θ"].map(|l| ctx.operand_texture(l, rows));
        Self {
            textures,
            chunk: rows as usize * crate::buffers::TEXTURE_ROW,
        }
    }

    /// Whether [`update_texture`] can update `param` on this device: slices
    /// whose texture rows copy (any length: a chunk at a time), and a state
    /// buffer that binds as a 16-byte uniform. The textures themselves
    /// (1,025 rows at most) fit every device: WebGPU guarantees 8,192.
    pub fn fit(
        &self,
        ctx: &Context,
        grad: &GpuSlice,
        state: &GpuSlice,
        slices: [&GpuSlice; 3],
    ) -> bool {
        let n = slices[0].len;
        grad.len == n
            && [grad, slices[0], slices[1], slices[2]]
                .iter()
                .all(|s| ctx.copies_into_texture(s))
            && state
                .offset
                .is_multiple_of(ctx.limits.min_uniform_buffer_offset_alignment as u64)
            && state.offset + 16 <= state.buffer.size()
    }
}

/// The dispatch that writes a step's bias corrections into `state` (its
/// third and fourth u32) for [`update_texture`]: record it once per step,
/// before that step's first texture update.
pub fn corrections(ctx: &Context, cfg: AdamConfig, state: &GpuSlice) -> Result<Dispatch> {
    super::data::adam_corrections(ctx, state, cfg.beta1, cfg.beta2)
}

/// Record one Adam update of `param` that reads g, m, v and θ from
/// `textures` after copying them in (`adam_update_texture`, for llvmpipe:
/// see adam.wgsl), one dispatch per chunk of the textures' size. The kernel
/// writes four values at a time: where the length is not a multiple of 4,
/// it also writes the (up to three) floats after θ, m and v, which must be
/// theirs to overwrite (each parameter's own buffer, as [`ParamStore`]
/// makes them, has room and nothing else there). Where `theta` is a texture
/// that already holds θ whole (a texture matmul's copy of it, made earlier
/// in the step), θ is read from there and not copied. Check
/// [`AdamTextures::fit`] first, and record [`corrections`] before a step's
/// first one.
///
/// [`ParamStore`]: crate::graph::exec::ParamStore
pub fn update_texture(
    ctx: &Context,
    cfg: AdamConfig,
    grad: &GpuSlice,
    state: &GpuSlice,
    (param, m, v): (&GpuSlice, &GpuSlice, &GpuSlice),
    textures: &AdamTextures,
    theta: Option<&wgpu::Texture>,
) -> Result<Vec<Dispatch>> {
    check_len("adam", "grad", grad, param.len)?;
    check_len("adam", "m", m, param.len)?;
    check_len("adam", "v", v, param.len)?;
    let range = |s: &GpuSlice, start: usize, len: usize| GpuSlice {
        buffer: s.buffer.clone(),
        offset: s.offset + start as u64 * 4,
        len,
    };
    (0..param.len)
        .step_by(textures.chunk)
        .map(|c0| {
            let len = textures.chunk.min(param.len - c0);
            let chunk = [grad, m, v, param].map(|s| range(s, c0, len));
            let theta = theta.map(|t| (t, (c0 / crate::buffers::TEXTURE_ROW) as u32));
            texture_chunk(ctx, cfg, state, &chunk, textures, theta)
        })
        .collect()
}

/// One `adam_update_texture` dispatch for `[g, m, v, θ]`, a chunk of a parameter.
fn texture_chunk(
    ctx: &Context,
    cfg: AdamConfig,
    state: &GpuSlice,
    chunk: &[GpuSlice; 4],
    textures: &AdamTextures,
    theta: Option<(&wgpu::Texture, u32)>,
) -> Result<Dispatch> {
    let [_, m, v, param] = chunk;
    let rows = CopyTarget::texture_rows(param.len);
    // The kernel's vec4 stores cover a last group of fewer than four too.
    let padded = |s: &GpuSlice| GpuSlice {
        len: s.len.next_multiple_of(4),
        ..s.clone()
    };
    let (param4, m4, v4) = (padded(param), padded(m), padded(v));
    // g, m, v (and θ unless it has a texture already) into the textures of
    // the same order.
    let copied = if theta.is_some() { 3 } else { 4 };
    let copies = chunk
        .iter()
        .zip(&textures.textures)
        .take(copied)
        .map(|(from, t)| BufferCopy {
            from: from.clone(),
            to: CopyTarget::Texture {
                texture: t.clone(),
                rows,
            },
        })
        .collect();
    let (tp, tp_row) = theta.unwrap_or((&textures.textures[3], 0));
    let [tg, tm, tv, _] = &textures.textures;
    let views = [tg, tm, tv, tp].map(|t| t.create_view(&Default::default()));
    let mut d = dispatch_bound(
        ctx,
        ("adam", "adam_update_texture"),
        vec![
            (0, wgpu::BindingResource::TextureView(&views[0])),
            (1, super::data::state_head(state)),
            (2, param4.binding()),
            (3, m4.binding()),
            (4, v4.binding()),
            (6, wgpu::BindingResource::TextureView(&views[1])),
            (7, wgpu::BindingResource::TextureView(&views[2])),
            (8, wgpu::BindingResource::TextureView(&views[3])),
        ],
        (
            5,
            &Params {
                tp_row,
                ..Params::new(cfg, param.len)
            },
        ),
        grid_1d(param.len.div_ceil(4), 64),
    )?;
    d.copies = copies;
    Ok(d)
}

/// CPU reference: one update at step t (1-based), in place.
pub fn reference(
    cfg: AdamConfig,
    t: u32,
    param: &mut [f64],
    grad: &[f64],
    m: &mut [f64],
    v: &mut [f64],
) {
    let (b1, b2) = (cfg.beta1 as f64, cfg.beta2 as f64);
    for i in 0..param.len() {
        m[i] = b1 * m[i] + (1.0 - b1) * grad[i];
        v[i] = b2 * v[i] + (1.0 - b2) * grad[i] * grad[i];
        let m_hat = m[i] / (1.0 - b1.powi(t as i32));
        let v_hat = v[i] / (1.0 - b2.powi(t as i32));
        param[i] -= cfg.lr as f64 * m_hat / (v_hat.sqrt() + cfg.eps as f64);
    }
}
