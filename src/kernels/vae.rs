//! The VAE's loss terms and the reparameterisation trick — `shaders/vae.wgsl`.
//!
//! Legend: N images, D pixels, L latent size. The loss of a batch is
//! Σ BCE(σ(logits), x) + Σ KL(N(μ, σ²) ‖ N(0, I)), both summed over the batch.
//! Worked by hand: logits 0, x 1 gives BCE log 2 ≈ 0.693 and dlogit −½;
//! μ 0, log σ² 0 gives KL 0 with both gradients 0.

use bytemuck::{Pod, Zeroable};

use crate::buffers::{Dispatch, GpuSlice};
use crate::context::Context;
use crate::error::Result;

use super::{check_len, grid_1d};

/// Mirrors `Params` in vae.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct Params {
    rows: u32,
    cols: u32,
    seed: u32,
    scale: f32,
}

fn params(rows: usize, cols: usize, seed: u32, scale: f32) -> Params {
    Params {
        rows: rows as u32,
        cols: cols as u32,
        seed,
        scale,
    }
}

/// Record per-image BCE-with-logits sums: logits, x (N, D) → rows (N).
pub fn bce_forward(
    ctx: &Context,
    logits: &GpuSlice,
    x: &GpuSlice,
    rows: &GpuSlice,
    d: usize,
) -> Result<Dispatch> {
    bce_forward_with(ctx, super::matmul::subgroups_of_8(ctx), logits, x, rows, d)
}

/// [`bce_forward`], with `lanes` the 8-lane row sums (vae_subgroup.wgsl,
/// where D is a multiple of 4) if the device has 8-lane subgroups.
pub fn bce_forward_with(
    ctx: &Context,
    lanes: bool,
    logits: &GpuSlice,
    x: &GpuSlice,
    rows: &GpuSlice,
    d: usize,
) -> Result<Dispatch> {
    let n = rows.len;
    check_len("bce_forward", "logits", logits, n * d)?;
    check_len("bce_forward", "x", x, n * d)?;
    let vec4 = super::activations::vec4_fits(d, &[logits, x]);
    let (file, entry) = if lanes && vec4 && super::matmul::subgroups_of_8(ctx) {
        ("vae_subgroup", "bce_forward_lanes")
    } else if vec4 {
        ("vae", "bce_forward_vec4")
    } else {
        ("vae", "bce_forward")
    };
    ctx.dispatch(
        file,
        entry,
        &[],
        &[logits, x, rows],
        &params(n, d, 0, 1.0),
        [n as u32, 1, 1],
    )
}

/// Record the per-image BCE sums (as [`bce_forward`]) and the loss's
/// gradient dlogits = σ(logits) − x (as [`bce_backward`] with scale 1): one
/// kernel that does both in one pass where the device has 8-lane subgroups
/// and D is a multiple of 4 (vae_subgroup.wgsl), else the two kernels.
pub fn bce_forward_backward(
    ctx: &Context,
    logits: &GpuSlice,
    x: &GpuSlice,
    rows: &GpuSlice,
    dlogits: &GpuSlice,
    d: usize,
) -> Result<Vec<Dispatch>> {
    let n = rows.len;
    check_len("bce_forward_backward", "logits", logits, n * d)?;
    check_len("bce_forward_backward", "x", x, n * d)?;
    check_len("bce_forward_backward", "dlogits", dlogits, n * d)?;
    let vec4 = super::activations::vec4_fits(d, &[logits, x, dlogits]);
    if !(vec4 && super::matmul::subgroups_of_8(ctx)) {
        return Ok(vec![
            bce_forward(ctx, logits, x, rows, d)?,
            bce_backward(ctx, logits, x, dlogits, 1.0)?,
        ]);
    }
    Ok(vec![ctx.dispatch(
        "vae_subgroup",
        "bce_forward_backward_lanes",
        &[],
        &[logits, x, rows, dlogits],
        &params(n, d, 0, 1.0),
        [n as u32, 1, 1],
    )?])
}

/// Record dlogits = scale · (σ(logits) − x).
pub fn bce_backward(
    ctx: &Context,
    logits: &GpuSlice,
    x: &GpuSlice,
    dlogits: &GpuSlice,
    scale: f32,
) -> Result<Dispatch> {
    check_len("bce_backward", "x", x, logits.len)?;
    check_len("bce_backward", "dlogits", dlogits, logits.len)?;
    let p = params(1, logits.len, 0, scale);
    let (entry, per) = if super::activations::vec4_fits(logits.len, &[logits, x, dlogits]) {
        ("bce_backward_vec4", 4)
    } else {
        ("bce_backward", 1)
    };
    ctx.dispatch(
        "vae",
        entry,
        &[],
        &[logits, x, dlogits],
        &p,
        grid_1d(logits.len / per, 256),
    )
}

/// Record per-image KL sums: μ, log σ² (N, L) → rows (N).
pub fn kl_forward(
    ctx: &Context,
    mu: &GpuSlice,
    logvar: &GpuSlice,
    rows: &GpuSlice,
    l: usize,
) -> Result<Dispatch> {
    kl_forward_with(ctx, super::matmul::subgroups_of_8(ctx), mu, logvar, rows, l)
}

/// [`kl_forward`], with `lanes` the 8-lane row sums (vae_subgroup.wgsl) if
/// the device has 8-lane subgroups.
pub fn kl_forward_with(
    ctx: &Context,
    lanes: bool,
    mu: &GpuSlice,
    logvar: &GpuSlice,
    rows: &GpuSlice,
    l: usize,
) -> Result<Dispatch> {
    let n = rows.len;
    check_len("kl_forward", "mu", mu, n * l)?;
    check_len("kl_forward", "logvar", logvar, n * l)?;
    let (file, entry) = if lanes && super::matmul::subgroups_of_8(ctx) {
        ("vae_subgroup", "kl_forward_lanes")
    } else {
        ("vae", "kl_forward")
    };
    ctx.dispatch(
        file,
        entry,
        &[],
        &[mu, logvar, rows],
        &params(n, l, 0, 1.0),
        [n as u32, 1, 1],
    )
}

/// Record the per-image KL sums (as [`kl_forward`]) and the term's
/// gradients dμ = μ and dlog σ² = ½(e^{log σ²} − 1) (as [`kl_backward`] with
/// scale 1): one kernel that does both in one pass where the device has
/// 8-lane subgroups (vae_subgroup.wgsl), else the two kernels.
pub fn kl_forward_backward(
    ctx: &Context,
    mu: &GpuSlice,
    logvar: &GpuSlice,
    rows: &GpuSlice,
    (dmu, dlogvar): (&GpuSlice, &GpuSlice),
    l: usize,
) -> Result<Vec<Dispatch>> {
    let n = rows.len;
    for (name, s) in [
        ("mu", mu),
        ("logvar", logvar),
        ("dmu", dmu),
        ("dlogvar", dlogvar),
    ] {
        check_len("kl_forward_backward", name, s, n * l)?;
    }
    if !super::matmul::subgroups_of_8(ctx) {
        return Ok(vec![
            kl_forward(ctx, mu, logvar, rows, l)?,
            kl_backward(ctx, mu, logvar, dmu, dlogvar, 1.0)?,
        ]);
    }
    Ok(vec![ctx.dispatch(
        "vae_subgroup",
        "kl_forward_backward_lanes",
        &[],
        &[mu, logvar, rows, dmu, dlogvar],
        &params(n, l, 0, 1.0),
        [n as u32, 1, 1],
    )?])
}

/// Record dμ = scale·μ and dlog σ² = scale·½(e^{log σ²} − 1).
pub fn kl_backward(
    ctx: &Context,
    mu: &GpuSlice,
    logvar: &GpuSlice,
    dmu: &GpuSlice,
    dlogvar: &GpuSlice,
    scale: f32,
) -> Result<Dispatch> {
    for (name, s) in [("logvar", logvar), ("dmu", dmu), ("dlogvar", dlogvar)] {
        check_len("kl_backward", name, s, mu.len)?;
    }
    let p = params(1, mu.len, 0, scale);
    ctx.dispatch(
        "vae",
        "kl_backward",
        &[],
        &[mu, logvar, dmu, dlogvar],
        &p,
        grid_1d(mu.len, 256),
    )
}

/// Record ε ~ N(0, 1) from (seed, `state[0]`, index) and z = μ + e^{½ log σ²}·ε.
pub fn reparam_forward(
    ctx: &Context,
    mu: &GpuSlice,
    logvar: &GpuSlice,
    state: &GpuSlice,
    eps: &GpuSlice,
    z: &GpuSlice,
    seed: u32,
) -> Result<Dispatch> {
    for (name, s) in [("logvar", logvar), ("eps", eps), ("z", z)] {
        check_len("reparam_forward", name, s, mu.len)?;
    }
    let p = params(1, mu.len, seed, 1.0);
    ctx.dispatch(
        "vae",
        "reparam_forward",
        &[],
        &[mu, logvar, state, eps, z],
        &p,
        grid_1d(mu.len, 256),
    )
}

/// Record dlog σ² = dz · ½ e^{½ log σ²} · ε (dμ = dz needs no kernel).
pub fn reparam_backward(
    ctx: &Context,
    dz: &GpuSlice,
    logvar: &GpuSlice,
    eps: &GpuSlice,
    dlogvar: &GpuSlice,
) -> Result<Dispatch> {
    for (name, s) in [("logvar", logvar), ("eps", eps), ("dlogvar", dlogvar)] {
        check_len("reparam_backward", name, s, dz.len)?;
    }
    let p = params(1, dz.len, 0, 1.0);
    ctx.dispatch(
        "vae",
        "reparam_backward",
        &[],
        &[dz, logvar, eps, dlogvar],
        &p,
        grid_1d(dz.len, 256),
    )
}

/// CPU reference: per-row BCE-with-logits sums of (N, D) → (N).
pub fn bce_reference(logits: &[f64], x: &[f64], d: usize) -> Vec<f64> {
    logits
        .chunks(d)
        .zip(x.chunks(d))
        .map(|(l, x)| {
            l.iter()
                .zip(x)
                .map(|(&l, &x)| l.max(0.0) - l * x + (1.0 + (-l.abs()).exp()).ln())
                .sum()
        })
        .collect()
}

/// CPU reference: ∂BCE/∂logit = σ(logit) − x, times scale.
pub fn bce_backward_reference(logits: &[f64], x: &[f64], scale: f64) -> Vec<f64> {
    logits
        .iter()
        .zip(x)
        .map(|(&l, &x)| scale * (1.0 / (1.0 + (-l).exp()) - x))
        .collect()
}

/// CPU reference: per-row KL sums of (N, L) → (N).
pub fn kl_reference(mu: &[f64], logvar: &[f64], l: usize) -> Vec<f64> {
    mu.chunks(l)
        .zip(logvar.chunks(l))
        .map(|(m, lv)| {
            m.iter()
                .zip(lv)
                .map(|(&m, &lv)| -0.5 * (1.0 + lv - m * m - lv.exp()))
                .sum()
        })
        .collect()
}

/// CPU reference: (∂KL/∂μ = μ, ∂KL/∂log σ² = ½(e^{log σ²} − 1)), times scale.
pub fn kl_backward_reference(mu: &[f64], logvar: &[f64], scale: f64) -> (Vec<f64>, Vec<f64>) {
    (
        mu.iter().map(|&m| scale * m).collect(),
        logvar
            .iter()
            .map(|&lv| scale * 0.5 * (lv.exp() - 1.0))
            .collect(),
    )
}

/// CPU reference: z = μ + e^{½ log σ²}·ε.
pub fn reparam_reference(mu: &[f64], logvar: &[f64], eps: &[f64]) -> Vec<f64> {
    (0..mu.len())
        .map(|i| mu[i] + (0.5 * logvar[i]).exp() * eps[i])
        .collect()
}

/// CPU reference: ∂z/∂log σ² = ½ e^{½ log σ²} ε, times dz.
pub fn reparam_backward_reference(dz: &[f64], logvar: &[f64], eps: &[f64]) -> Vec<f64> {
    (0..dz.len())
        .map(|i| dz[i] * 0.5 * (0.5 * logvar[i]).exp() * eps[i])
        .collect()
}

fn pcg(v: u32) -> u32 {
    let state = v.wrapping_mul(747796405).wrapping_add(2891336453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277803737);
    (word >> 22) ^ word
}

/// CPU twin of the shader's generator: normal number `index` of stream (seed, step).
pub fn normal_reference(seed: u32, step: u32, index: u32) -> f64 {
    let key = pcg(seed ^ pcg(step.wrapping_add(0x9e3779b9)));
    let h1 = pcg(key ^ pcg(index));
    let h2 = pcg(h1 ^ 0x85ebca6b);
    let u1 = ((h1 >> 8) as f64 + 1.0) / 16777216.0;
    let u2 = (h2 >> 8) as f64 / 16777216.0;
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}
