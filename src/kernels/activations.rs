//! Elementwise activations and arithmetic — `shaders/activations.wgsl`.
//!
//! Backward passes are written from the output y alone (see the shader), so a
//! graph keeps y alive, never x. Worked by hand: ReLU of [−1, 2] is [0, 2] and
//! with dy = [5, 5] its dx is [0, 5]; sigmoid(0) = ½ with slope ¼.

use bytemuck::{Pod, Zeroable};

use crate::buffers::{Dispatch, GpuSlice};
use crate::context::Context;
use crate::error::Result;

use super::{check_len, dispatch_bound, grid_1d, uniform_windows_fit, window_binding, WINDOW};

/// Mirrors `Params` in activations.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct Params {
    n: u32,
    kind: u32,
    alpha: f32,
    beta: f32,
}

/// An activation function.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// max(x, 0)
    Relu,
    /// x for x > 0, else slope·x (slope > 0)
    LeakyRelu(f32),
    /// 1 / (1 + e^−x)
    Sigmoid,
    /// tanh x
    Tanh,
}

impl Activation {
    fn kind_alpha(self) -> (u32, f32) {
        match self {
            Activation::Relu => (0, 0.0),
            Activation::LeakyRelu(a) => (1, a),
            Activation::Sigmoid => (2, 0.0),
            Activation::Tanh => (3, 0.0),
        }
    }

    /// Lower-case name, as in selftest tables.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::LeakyRelu(_) => "leaky_relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
        }
    }

    /// f(x) on the CPU.
    pub fn apply(self, x: f64) -> f64 {
        match self {
            Activation::Relu => x.max(0.0),
            Activation::LeakyRelu(a) => {
                if x > 0.0 {
                    x
                } else {
                    a as f64 * x
                }
            }
            Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Activation::Tanh => x.tanh(),
        }
    }

    /// f'(x) expressed through y = f(x), on the CPU.
    pub fn slope_from_output(self, y: f64) -> f64 {
        match self {
            Activation::Relu => (y > 0.0) as u8 as f64,
            Activation::LeakyRelu(a) => {
                if y > 0.0 {
                    1.0
                } else {
                    a as f64
                }
            }
            Activation::Sigmoid => y * (1.0 - y),
            Activation::Tanh => 1.0 - y * y,
        }
    }
}

/// Record `y = f(x)`.
pub fn forward(ctx: &Context, act: Activation, x: &GpuSlice, y: &GpuSlice) -> Result<Dispatch> {
    check_len("activation", "y", y, x.len)?;
    let (kind, alpha) = act.kind_alpha();
    let params = Params {
        n: x.len as u32,
        kind,
        alpha,
        beta: 0.0,
    };
    ctx.dispatch(
        "activations",
        "activation_forward",
        &[],
        &[x, y],
        &params,
        grid_1d(x.len, 256),
    )
}

/// How the activation gradient reads y and dy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reads {
    /// Storage buffers (GPUs).
    Storage,
    /// 64 KiB uniform windows, one dispatch each (CPU adapters, where the
    /// tensors do not fit a texture).
    Windows,
    /// Copies in textures, one dispatch (CPU adapters).
    Textures,
}

impl Reads {
    /// Every way this adapter can take, fastest first.
    pub fn available(ctx: &Context) -> Vec<Self> {
        if ctx.is_software() {
            vec![Reads::Textures, Reads::Windows, Reads::Storage]
        } else {
            vec![Reads::Storage]
        }
    }
}

/// Record `dx = dy · f'(x)` from y = f(x).
pub fn backward(
    ctx: &Context,
    act: Activation,
    y: &GpuSlice,
    dy: &GpuSlice,
    dx: &GpuSlice,
) -> Result<Vec<Dispatch>> {
    backward_with(ctx, Reads::available(ctx)[0], act, y, dy, dx)
}

/// Like [`backward`], reading y and dy as `reads` says where the sizes and
/// offsets allow it (else the next way of [`Reads`]' order: textures, then
/// windows, then storage).
pub fn backward_with(
    ctx: &Context,
    reads: Reads,
    act: Activation,
    y: &GpuSlice,
    dy: &GpuSlice,
    dx: &GpuSlice,
) -> Result<Vec<Dispatch>> {
    check_len("activation_backward", "dy", dy, y.len)?;
    check_len("activation_backward", "dx", dx, y.len)?;
    let (kind, alpha) = act.kind_alpha();
    let params = Params {
        n: y.len as u32,
        kind,
        alpha,
        beta: 0.0,
    };
    let textures =
        (reads == Reads::Textures && y.len.is_multiple_of(4) && dx.offset.is_multiple_of(16))
            .then(|| {
                Some((
                    ctx.scratch_texture_copy("activation y", y)?,
                    ctx.scratch_texture_copy("activation dy", dy)?,
                ))
            })
            .flatten();
    if let Some(((ty, copy_y), (tdy, copy_dy))) = textures {
        let (vy, vdy) = (
            ty.create_view(&Default::default()),
            tdy.create_view(&Default::default()),
        );
        let mut d = dispatch_bound(
            ctx,
            ("activations", "activation_backward_texture"),
            vec![
                (0, wgpu::BindingResource::TextureView(&vy)),
                (1, wgpu::BindingResource::TextureView(&vdy)),
                (2, dx.binding()),
            ],
            (3, &params),
            grid_1d(y.len / 4, 256),
        )?;
        d.copies = vec![copy_y, copy_dy];
        return Ok(vec![d]);
    }
    let windows = reads != Reads::Storage
        && y.len.is_multiple_of(4)
        && uniform_windows_fit(ctx, y)
        && uniform_windows_fit(ctx, dy);
    if windows {
        return (0..y.len)
            .step_by(WINDOW)
            .map(|start| {
                let n = WINDOW.min(y.len - start);
                let at = start as u64 * 4;
                let out = GpuSlice {
                    buffer: dx.buffer.clone(),
                    offset: dx.offset + at,
                    len: n,
                };
                let params = Params {
                    n: n as u32,
                    ..params
                };
                dispatch_bound(
                    ctx,
                    ("activations", "activation_backward_window"),
                    vec![
                        (0, window_binding(y, at)),
                        (1, window_binding(dy, at)),
                        (2, out.binding()),
                    ],
                    (3, &params),
                    grid_1d(n / 4, 256),
                )
            })
            .collect();
    }
    let aligned = [y, dy, dx].iter().all(|s| s.offset.is_multiple_of(16));
    let (entry, per) = if y.len.is_multiple_of(4) && aligned {
        ("activation_backward_vec4", 4)
    } else {
        ("activation_backward", 1)
    };
    Ok(vec![ctx.dispatch(
        "activations",
        entry,
        &[],
        &[y, dy, dx],
        &params,
        grid_1d(y.len / per, 256),
    )?])
}

/// Record `c = alpha·a + beta·b`.
pub fn add(
    ctx: &Context,
    a: &GpuSlice,
    b: &GpuSlice,
    c: &GpuSlice,
    alpha: f32,
    beta: f32,
) -> Result<Dispatch> {
    check_len("add", "b", b, a.len)?;
    check_len("add", "c", c, a.len)?;
    let params = Params {
        n: a.len as u32,
        kind: 0,
        alpha,
        beta,
    };
    let (entry, per) = if vec4_fits(a.len, &[a, b, c]) {
        ("elementwise_add_vec4", 4)
    } else {
        ("elementwise_add", 1)
    };
    ctx.dispatch(
        "activations",
        entry,
        &[],
        &[a, b, c],
        &params,
        grid_1d(a.len / per, 256),
    )
}

/// Whether `len` values of every slice can be read and written as vec4s.
pub(crate) fn vec4_fits(len: usize, slices: &[&GpuSlice]) -> bool {
    len.is_multiple_of(4) && slices.iter().all(|s| s.offset.is_multiple_of(16))
}

/// Record `c = alpha·a·b`.
pub fn mul(
    ctx: &Context,
    a: &GpuSlice,
    b: &GpuSlice,
    c: &GpuSlice,
    alpha: f32,
) -> Result<Dispatch> {
    check_len("mul", "b", b, a.len)?;
    check_len("mul", "c", c, a.len)?;
    let params = Params {
        n: a.len as u32,
        kind: 0,
        alpha,
        beta: 0.0,
    };
    ctx.dispatch(
        "activations",
        "elementwise_mul",
        &[],
        &[a, b, c],
        &params,
        grid_1d(a.len, 256),
    )
}

/// CPU reference forward.
pub fn reference(act: Activation, x: &[f64]) -> Vec<f64> {
    x.iter().map(|&v| act.apply(v)).collect()
}

/// CPU reference backward: dx = dy · f'(x), computed from y.
pub fn backward_reference(act: Activation, y: &[f64], dy: &[f64]) -> Vec<f64> {
    y.iter()
        .zip(dy)
        .map(|(&y, &g)| g * act.slope_from_output(y))
        .collect()
}
