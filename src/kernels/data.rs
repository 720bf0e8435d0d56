//! Batches gathered on the GPU and the per-step state — `shaders/data.wgsl`.
//!
//! state (2 × u32): `[0]` training steps taken, `[1]` next position in the epoch's
//! permutation.

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
    if dim == 0 || !out.len.is_multiple_of(dim) || !data.len.is_multiple_of(dim) {
        return Err(Error::Shape {
            op: "gather_rows",
            msg: format!(
                "rows of {dim} do not divide data ({}) or out ({})",
                data.len, out.len
            ),
        });
    }
    let params = Params {
        batch: (out.len / dim) as u32,
        dim: dim as u32,
        perm_len: perm.len as u32,
        _pad: 0,
    };
    let vec4 = super::activations::vec4_fits(dim, &[data, out]);
    let (entry, per) = if vec4 {
        ("gather_rows_vec4", 4)
    } else {
        ("gather_rows", 1)
    };
    ctx.dispatch(
        "data",
        entry,
        &[],
        &[data, perm, state, out],
        &params,
        grid_1d(out.len / per, 256),
    )
}

/// Record `state[0] += 1; state[1] += batch`: the last dispatch of a training step.
pub fn state_advance(ctx: &Context, state: &GpuSlice, batch: usize) -> Result<Dispatch> {
    let params = Params {
        batch: batch as u32,
        dim: 0,
        perm_len: 0,
        _pad: 0,
    };
    ctx.dispatch("data", "state_advance", &[], &[state], &params, [1, 1, 1])
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
