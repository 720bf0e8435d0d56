//! Speed measurements: kernel GFLOP/s (here) and the training figures (see `train`).

use std::time::Instant;

use crate::buffers::Dispatch;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::kernels::conv2d::{self, ConvShape};
use crate::kernels::conv_transpose2d::{self, ConvTransposeShape};
use crate::kernels::matmul::{self, MatmulShape, Variant};

/// One kernel's measured speed.
#[derive(Clone, Debug, serde::Serialize)]
pub struct KernelBench {
    /// Kernel name.
    pub kernel: String,
    /// Shape, e.g. `512x512x512`.
    pub shape: String,
    /// Billions of floating-point operations per second.
    pub gflops: f64,
    /// Milliseconds per dispatch.
    pub ms: f64,
}

/// Seconds per run of `dispatches`, timed over enough repetitions in one submit.
pub fn time_dispatches(ctx: &Context, dispatches: &[Dispatch]) -> Result<f64> {
    let once = |reps: usize| -> Result<f64> {
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        for _ in 0..reps {
            ctx.record(&mut encoder, "bench", dispatches);
        }
        let t = Instant::now();
        ctx.submit(encoder);
        ctx.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(e.to_string()))?;
        ctx.check()?;
        Ok(t.elapsed().as_secs_f64())
    };
    // Warm up (first-use compilation), then aim for about half a second of work.
    let first = once(1)?;
    let reps = ((0.5 / first.max(1e-6)) as usize).clamp(1, 200);
    Ok(once(reps)? / reps as f64)
}

fn matmul_bench(ctx: &Context, variant: Variant, shape: MatmulShape) -> Result<KernelBench> {
    let a = ctx.zeros("a", shape.m * shape.k);
    let b = ctx.zeros("b", shape.k * shape.n);
    let c = ctx.zeros("c", shape.m * shape.n);
    let d = matmul::forward_variant(ctx, variant, shape, &a, &b, None, &c, false)?;
    let s = time_dispatches(ctx, &d)?;
    let name = match variant {
        Variant::Window => "matmul",
        Variant::Vec4 => "matmul_vec4",
        Variant::Blocked => "matmul_blocked",
        Variant::Tiled => "matmul_tiled",
    };
    Ok(KernelBench { kernel: name.into(), shape: shape.to_string(), gflops: shape.flops() / s / 1e9, ms: s * 1e3 })
}

/// The matmul shapes of the reference workloads (issue: 128×784×400, 512³, 1024³).
pub const MATMUL_SIZES: &[(usize, usize, usize)] = &[(128, 400, 784), (512, 512, 512), (1024, 1024, 1024)];

/// GFLOP/s of matmul (both variants) and of each conv layer of the `conv` model
/// at batch 128, forward and both backward.
pub fn kernel_benchmarks(ctx: &Context, quick: bool) -> Result<Vec<KernelBench>> {
    let mut out = Vec::new();
    for &(m, n, k) in MATMUL_SIZES {
        if quick && m > 512 {
            continue;
        }
        let shape = MatmulShape { m, n, k, trans_a: false, trans_b: false };
        for (ta, tb) in [(false, true), (true, false)] {
            let t = MatmulShape { trans_a: ta, trans_b: tb, ..shape };
            out.push(matmul_bench(ctx, Variant::Window, t)?);
        }
        for variant in [Variant::Window, Variant::Vec4, Variant::Blocked, Variant::Tiled] {
            out.push(matmul_bench(ctx, variant, shape)?);
        }
    }
    let batch = 128;
    let convs = [
        ("conv1", ConvShape::new((batch, 1, 28, 28), 32, 4, 2, 1)?),
        ("conv2", ConvShape::new((batch, 32, 14, 14), 64, 4, 2, 1)?),
    ];
    for (name, s) in convs {
        let (nx, nw, ny) = s.sizes();
        let (x, w, y) = (ctx.zeros("x", nx), ctx.zeros("w", nw), ctx.zeros("y", ny));
        let runs = [
            ("conv2d_forward", conv2d::forward(ctx, s, &x, &w, None, &y, false)?),
            ("conv2d_backward_input", conv2d::backward_input(ctx, s, &y, &w, None, &x, false)?),
            ("conv2d_backward_weight", conv2d::backward_weight(ctx, s, &x, &y, &w)?),
        ];
        for (kernel, d) in runs {
            let t = time_dispatches(ctx, &[d])?;
            out.push(KernelBench { kernel: kernel.into(), shape: format!("{name} {s}"), gflops: s.flops() / t / 1e9, ms: t * 1e3 });
        }
    }
    let deconvs = [
        ("deconv1", ConvTransposeShape::new((batch, 64, 7, 7), 32, 4, 2, 1)?),
        ("deconv2", ConvTransposeShape::new((batch, 32, 14, 14), 1, 4, 2, 1)?),
    ];
    for (name, s) in deconvs {
        let (nx, nw, ny) = s.sizes();
        let (x, w, y) = (ctx.zeros("x", nx), ctx.zeros("w", nw), ctx.zeros("y", ny));
        let runs = [
            ("conv_transpose2d_forward", conv_transpose2d::forward(ctx, s, &x, &w, None, &y, false)?),
            ("conv_transpose2d_backward_input", conv_transpose2d::backward_input(ctx, s, &y, &w, &x)?),
            ("conv_transpose2d_backward_weight", conv_transpose2d::backward_weight(ctx, s, &x, &y, &w)?),
        ];
        for (kernel, d) in runs {
            let t = time_dispatches(ctx, &[d])?;
            out.push(KernelBench { kernel: kernel.into(), shape: format!("{name} {s:?}"), gflops: s.flops() / t / 1e9, ms: t * 1e3 });
        }
    }
    Ok(out)
}
