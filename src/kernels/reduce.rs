//! Deterministic sums over all but one axis — `shaders/reduce.wgsl`.
//!
//! The input is viewed as (A, C, B) and `out[c] = scale · Σ_a Σ_b x[a, c, b]`:
//! bias gradients of dense (A = rows, B = 1) and conv layers (A = N, B = H·W),
//! and per-row sums (A = 1).

use bytemuck::{Pod, Zeroable};

use crate::buffers::{Dispatch, GpuSlice};
use crate::context::Context;
use crate::error::Result;

use super::check_len;

/// Mirrors `Params` in reduce.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct Params {
    a: u32,
    c: u32,
    b: u32,
    out_stride: u32,
    scale: f32,
    accumulate: u32,
    _pad: [u32; 2],
}

/// Record `out[c · out_stride] = scale · Σ_{a,b} x[a, c, b]`.
pub fn sum(
    ctx: &Context,
    x: &GpuSlice,
    out: &GpuSlice,
    dims: (usize, usize, usize),
    out_stride: usize,
    scale: f32,
) -> Result<Vec<Dispatch>> {
    sum_into(ctx, x, out, dims, out_stride, scale, false)
}

/// Fewer (A, C) pairs than this take the workgroup-per-c kernel.
const MANY_SUMS: usize = 256;

/// On CPU adapters, column sums over this many rows or more read a texture.
const MANY_ROWS: usize = 32;

/// On CPU adapters, this many (A, C) rows or more take the row kernel.
const FEW_ROWS: usize = 16;

/// Like [`sum`]; with `accumulate` the result is added to `out`.
pub fn sum_into(
    ctx: &Context,
    x: &GpuSlice,
    out: &GpuSlice,
    (a, c, b): (usize, usize, usize),
    out_stride: usize,
    scale: f32,
    accumulate: bool,
) -> Result<Vec<Dispatch>> {
    check_len("reduce_sum", "x", x, a * c * b)?;
    if out.len < (c - 1) * out_stride + 1 {
        check_len("reduce_sum", "out", out, (c - 1) * out_stride + 1)?;
    }
    let params = Params {
        a: a as u32,
        c: c as u32,
        b: b as u32,
        out_stride: out_stride as u32,
        scale,
        accumulate: accumulate as u32,
        _pad: [0; 2],
    };
    if b == 1 {
        // CPU adapters read four columns a texel from a texture copy of x
        // where the rows are many (a batch). Few rows (the weight
        // gradients' slices) stay on storage: cheap there, and behind the
        // texture copy a weight gradient timed alone in a loop ran three to
        // four times slower on lavapipe (though not in a training step).
        let texture = (ctx.is_software() && c.is_multiple_of(4) && a >= MANY_ROWS)
            .then(|| ctx.scratch_texture_copy("reduce x", x))
            .flatten();
        if let Some((t, copy)) = texture {
            let view = t.create_view(&Default::default());
            let mut d = super::dispatch_bound(
                ctx,
                ("reduce", "reduce_columns_texture"),
                vec![
                    (0, wgpu::BindingResource::TextureView(&view)),
                    (1, out.binding()),
                ],
                (2, &params),
                super::grid_1d(c / 4, 64),
            )?;
            d.copies = vec![copy];
            return Ok(vec![d]);
        }
        let groups = super::grid_1d(c, 64);
        return Ok(vec![ctx.dispatch(
            "reduce",
            "reduce_columns",
            &[],
            &[x, out],
            &params,
            groups,
        )?]);
    }
    // CPU adapters sum rows of 4 or more from a texture copy of x, even
    // where the sums are few (a transposed conv's one-channel bias: 128
    // rows of 784): there the workgroup-per-c kernel runs on one core.
    let software_rows = ctx.is_software() && b >= 4 && a * c >= FEW_ROWS;
    if a * c >= MANY_SUMS || software_rows {
        let texture = (ctx.is_software() && b >= 4)
            .then(|| ctx.scratch_texture_copy("reduce x", x))
            .flatten();
        let rows = |out: &GpuSlice, params: &Params| {
            let groups = super::grid_1d(a * c, 64);
            let Some((t, copy)) = &texture else {
                return ctx.dispatch("reduce", "reduce_rows", &[], &[x, out], params, groups);
            };
            let view = t.create_view(&Default::default());
            let mut d = super::dispatch_bound(
                ctx,
                ("reduce", "reduce_rows_texture"),
                vec![
                    (0, wgpu::BindingResource::TextureView(&view)),
                    (1, out.binding()),
                ],
                (2, params),
                groups,
            )?;
            d.copies = vec![copy.clone()];
            Ok(d)
        };
        if a == 1 {
            return Ok(vec![rows(out, &params)?]);
        }
        // Sums over b into (A, C), then over a.
        let partial = ctx.zeros("reduce partial sums", a * c);
        let plain = Params {
            out_stride: 1,
            scale: 1.0,
            accumulate: 0,
            ..params
        };
        let columns = Params { b: 1, ..params };
        return Ok(vec![
            rows(&partial, &plain)?,
            ctx.dispatch(
                "reduce",
                "reduce_columns",
                &[],
                &[&partial, out],
                &columns,
                super::grid_1d(c, 64),
            )?,
        ]);
    }
    let groups = [c.min(65535) as u32, c.div_ceil(65535) as u32, 1];
    Ok(vec![ctx.dispatch(
        "reduce",
        "reduce_sum",
        &[],
        &[x, out],
        &params,
        groups,
    )?])
}

/// CPU reference: x (A, C, B) → (C).
pub fn reference(x: &[f64], (a, c, b): (usize, usize, usize), scale: f64) -> Vec<f64> {
    (0..c)
        .map(|ci| {
            let mut s = 0.0;
            for ai in 0..a {
                for bi in 0..b {
                    s += x[(ai * c + ci) * b + bi];
                }
            }
            scale * s
        })
        .collect()
}
