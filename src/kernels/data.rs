//! Batches gathered on the GPU and the per-step state — `shaders/data.wgsl`.
//!
//! state (u32): `[0]` training steps taken, `[1]` next position in the epoch's
//! permutation, `[2]`, `[3]` the step's Adam bias corrections (f32 bits) where
//! the texture Adam update reads them.

use bytemuck::{Pod, Zeroable};

use crate::buffers::{Dispatch, GpuSlice};
use crate::context::Context;
use crate::error::{Error, Result};

use super::grid_1d;

/// Mirrors `Params` in data.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct Params {
    batch: u32,
    dim: u32,
    perm_len: u32,
    _pad: u32,
}

/// Record `out[b, :] = data[perm[state[1] + b], :]` for b < batch.
pub fn gather_rows(
    ctx: &Context,
    data: &GpuSlice,
    perm: &GpuSlice,
    state: &GpuSlice,
    out: &GpuSlice,
    dim: usize,
) -> Result<Dispatch> {
    if dim == 0 || !data.len.is_multiple_of(dim) {
        return Err(rows_error(dim, data.len, out.len));
    }
    let vec4 = super::activations::vec4_fits(dim, &[data, out]);
    let entry = if vec4 {
        "gather_rows_vec4"
    } else {
        "gather_rows"
    };
    gather(ctx, entry, vec4, [data, perm, state, out], dim)
}

/// [`gather_rows`] from a dataset packed by [`pack_bytes`] (`data.len` is its
/// number of u32 words): each pixel becomes byte / 255.
pub fn gather_rows_bytes(
    ctx: &Context,
    data: &GpuSlice,
    perm: &GpuSlice,
    state: &GpuSlice,
    out: &GpuSlice,
    dim: usize,
) -> Result<Dispatch> {
    if dim == 0 || data.len * 4 < perm.len * dim {
        return Err(Error::Shape {
            op: "gather_rows_bytes",
            msg: format!(
                "{} packed bytes hold fewer than the {} rows of {dim} the permutation can name",
                data.len * 4,
                perm.len
            ),
        });
    }
    let vec4 = super::activations::vec4_fits(dim, &[out]);
    let entry = if vec4 {
        "gather_rows_bytes_vec4"
    } else {
        "gather_rows_bytes"
    };
    gather(ctx, entry, vec4, [data, perm, state, out], dim)
}

fn rows_error(dim: usize, data: usize, out: usize) -> Error {
    Error::Shape {
        op: "gather_rows",
        msg: format!("rows of {dim} do not divide data ({data}) or out ({out})"),
    }
}

fn gather(
    ctx: &Context,
    entry: &str,
    vec4: bool,
    [data, perm, state, out]: [&GpuSlice; 4],
    dim: usize,
) -> Result<Dispatch> {
    if !out.len.is_multiple_of(dim) {
        return Err(rows_error(dim, data.len, out.len));
    }
    let params = Params {
        batch: (out.len / dim) as u32,
        dim: dim as u32,
        perm_len: perm.len as u32,
        _pad: 0,
    };
    let per = if vec4 { 4 } else { 1 };
    ctx.dispatch(
        "data",
        entry,
        &[],
        &[data, perm, state, out],
        &params,
        grid_1d(out.len / per, 256),
    )
}

/// Pixels that are all bytes / 255 (as every loader makes them), packed four
/// bytes to a u32 for [`gather_rows_bytes`]; `None` if any is not.
pub fn pack_bytes(pixels: &[f32]) -> Option<Vec<u32>> {
    // Each pixel's byte, and whether the loader's division (the kernel's
    // too) gives the pixel back bit for bit: 0.5 (127.5 / 255) is not a
    // byte, nor are -0.0, NaN or 1.5 (the cast saturates). No early exit
    // from the loop, which keeps it simple for the compiler: the shipped
    // 7 million training pixels take 13-18 ms here.
    let byte = |v: f32| -> (u32, bool) {
        let b = ((v * 255.0 + 0.5) as u32).min(255);
        (b, (b as f32 / 255.0).to_bits() == v.to_bits())
    };
    let mut words = vec![0u32; pixels.len().div_ceil(4)];
    let mut all = true;
    let quads = pixels.chunks_exact(4);
    let rest = quads.remainder();
    let whole = pixels.len() / 4;
    for (w, quad) in words.iter_mut().zip(quads) {
        let mut word = 0;
        for (i, &v) in quad.iter().enumerate() {
            let (b, ok) = byte(v);
            word |= b << (8 * i);
            all &= ok;
        }
        *w = word;
    }
    for (i, &v) in rest.iter().enumerate() {
        let (b, ok) = byte(v);
        words[whole] |= b << (8 * i);
        all &= ok;
    }
    all.then_some(words)
}

/// Mirrors `StepParams` in data.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
struct StepParams {
    mode: u32,
    batch: u32,
    check: u32,
    _pad: u32,
    beta1: f32,
    beta2: f32,
    _pad2: [u32; 2],
}

/// Record `state[0] += 1; state[1] += batch`: the last dispatch of a training step.
pub fn state_advance(ctx: &Context, state: &GpuSlice, batch: usize) -> Result<Dispatch> {
    step_state(ctx, state, StepParams::advance(batch, false), None)
}

/// [`state_advance`] that first records the first step whose running loss
/// sums (`loss[0]`, `loss[64]`) are NaN or infinite: `flag[0] = state[0] + 1`
/// there (0 while all is well).
pub fn state_advance_checked(
    ctx: &Context,
    state: &GpuSlice,
    batch: usize,
    loss: &GpuSlice,
    flag: &GpuSlice,
) -> Result<Dispatch> {
    if loss.len < 65 {
        return Err(Error::Shape {
            op: "step_state",
            msg: format!("loss has {} elements, fewer than the 65 it reads", loss.len),
        });
    }
    step_state(
        ctx,
        state,
        StepParams::advance(batch, true),
        Some((loss, flag)),
    )
}

/// Record the step's Adam bias corrections, `state[2] = 1 / (1 − β₁ᵗ)` and
/// `state[3] = 1 / (1 − β₂ᵗ)` as f32 bits with t = `state[0] + 1`, for the
/// texture Adam update: once per step, before its first update.
pub fn adam_corrections(
    ctx: &Context,
    state: &GpuSlice,
    beta1: f32,
    beta2: f32,
) -> Result<Dispatch> {
    let params = StepParams {
        mode: 0,
        beta1,
        beta2,
        ..StepParams::advance(0, false)
    };
    step_state(ctx, state, params, None)
}

impl StepParams {
    fn advance(batch: usize, check: bool) -> Self {
        Self {
            mode: 1,
            batch: batch as u32,
            check: check as u32,
            _pad: 0,
            beta1: 0.0,
            beta2: 0.0,
            _pad2: [0; 2],
        }
    }
}

/// The state buffer's first 16 bytes: (step, batch position, the two bias
/// corrections).
pub fn state_head(state: &GpuSlice) -> wgpu::BindingResource<'_> {
    wgpu::BindingResource::Buffer(wgpu::BufferBinding {
        buffer: &state.buffer,
        offset: state.offset,
        size: wgpu::BufferSize::new(16),
    })
}

/// One `step_state` dispatch (see data.wgsl): the loss and flag bindings
/// take the state buffer again where there is no check.
fn step_state(
    ctx: &Context,
    state: &GpuSlice,
    params: StepParams,
    check: Option<(&GpuSlice, &GpuSlice)>,
) -> Result<Dispatch> {
    if state.offset + 16 > state.buffer.size() {
        return Err(Error::Invalid(format!(
            "the step state needs 16 bytes from offset {} of its buffer, which holds {}",
            state.offset,
            state.buffer.size()
        )));
    }
    let (loss, flag) = match check {
        Some((loss, flag)) => (loss.binding(), flag.binding()),
        None => (state_head(state), state_head(state)),
    };
    super::dispatch_bound(
        ctx,
        ("data", "step_state"),
        vec![(0, state_head(state)), (2, loss), (3, flag)],
        (1, &params),
        [1, 1, 1],
    )
}

/// CPU reference of gather_rows.
pub fn gather_reference(
    data: &[f64],
    perm: &[u32],
    start: usize,
    batch: usize,
    dim: usize,
) -> Vec<f64> {
    let mut out = vec![0.0; batch * dim];
    for b in 0..batch {
        if let Some(&row) = perm.get(start + b) {
            out[b * dim..(b + 1) * dim]
                .copy_from_slice(&data[row as usize * dim..(row as usize + 1) * dim]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_keeps_bytes_and_refuses_anything_else() {
        let pixels: Vec<f32> = (0..=255u32)
            .chain([7, 200])
            .map(|b| b as f32 / 255.0)
            .collect();
        let words = pack_bytes(&pixels).expect("bytes / 255 pack");
        assert_eq!(words.len(), 65);
        for (k, &v) in pixels.iter().enumerate() {
            let b = (words[k / 4] >> (8 * (k % 4))) & 255;
            assert_eq!(b as f32 / 255.0, v, "pixel {k}");
        }
        for bad in [0.5, -0.0, -1.0 / 255.0, 1.5, f32::NAN, 1.0 / 255.0 + 1e-7] {
            let mut p = pixels.clone();
            p[130] = bad;
            assert!(pack_bytes(&p).is_none(), "{bad} packed");
        }
    }
}
