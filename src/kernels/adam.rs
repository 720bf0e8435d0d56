//! Adam with bias correction — `shaders/adam.wgsl`.
//!
//! The step number t comes from the GPU state counter (see [`super::data`]),
//! so a recorded optimizer step replays without any upload.

use bytemuck::{Pod, Zeroable};

use crate::buffers::{Dispatch, GpuSlice};
use crate::context::Context;
use crate::error::Result;

use super::{check_len, grid_1d};

/// Mirrors `Params` in adam.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct Params {
    n: u32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    _pad: [u32; 3],
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
    let params = Params {
        n: param.len as u32,
        lr: cfg.lr,
        beta1: cfg.beta1,
        beta2: cfg.beta2,
        eps: cfg.eps,
        _pad: [0; 3],
    };
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
