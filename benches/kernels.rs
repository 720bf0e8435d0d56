//! `cargo bench --bench kernels`: matmul and convolution kernels on the chosen
//! adapter (LATENT_ADAPTER / LATENT_BACKEND), reported as time per dispatch
//! list; GFLOP/s are printed by `latent bench --kernels`.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use latent_engine::buffers::Dispatch;
use latent_engine::kernels::conv2d::{self, ConvShape};
use latent_engine::kernels::conv_transpose2d::{self, ConvTransposeShape};
use latent_engine::kernels::matmul::{self, MatmulShape, Variant};
use latent_engine::{Context, ContextOptions};

fn run(ctx: &Context, dispatches: &[Dispatch], iters: u64) -> Duration {
    let s = latent_engine::bench::time_reps(ctx, dispatches, iters as usize).unwrap();
    Duration::from_secs_f64(s)
}

fn kernels(c: &mut Criterion) {
    let ctx = Context::new(ContextOptions::from_env().unwrap())
        .expect("benchmarks need a GPU adapter (or the software one)");
    let mut g = c.benchmark_group(format!("kernels on {}", ctx.info.name));
    g.sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    for (m, n, k) in [(128, 400, 784), (512, 512, 512)] {
        let shape = MatmulShape {
            m,
            n,
            k,
            trans_a: false,
            trans_b: true,
        };
        let (a, b, out) = (
            ctx.zeros("a", m * k),
            ctx.zeros("b", n * k),
            ctx.zeros("c", m * n),
        );
        let mut variants = vec![Variant::Window, Variant::Vec4, Variant::Tiled];
        if matmul::subgroups_of_8(&ctx) {
            variants.extend([Variant::Subgroup, Variant::Texture]);
        }
        for variant in variants {
            let d =
                matmul::forward_variant(&ctx, variant, shape, &a, &b, None, &out, false).unwrap();
            g.throughput(Throughput::Elements(shape.flops() as u64));
            g.bench_function(format!("matmul {variant:?} {m}x{n}x{k}"), |bench| {
                bench.iter_custom(|iters| run(&ctx, &d, iters))
            });
        }
    }
    let conv2 = ConvShape::new((128, 32, 14, 14), 64, 4, 2, 1).unwrap();
    let (nx, nw, ny) = conv2.sizes();
    let (x, w, y) = (ctx.zeros("x", nx), ctx.zeros("w", nw), ctx.zeros("y", ny));
    let runs = [
        (
            "conv2d_forward conv2",
            conv2d::forward(&ctx, conv2, &x, &w, None, &y, false).unwrap(),
        ),
        (
            "conv2d_backward_input conv2",
            conv2d::backward_input(&ctx, conv2, &y, &w, None, &x, false).unwrap(),
        ),
        (
            "conv2d_backward_weight conv2",
            conv2d::backward_weight(&ctx, conv2, &x, &y, &w).unwrap(),
        ),
    ];
    for (name, d) in runs {
        g.throughput(Throughput::Elements(conv2.flops() as u64));
        g.bench_function(name, |bench| {
            bench.iter_custom(|iters| run(&ctx, &d, iters))
        });
    }
    let deconv1 = ConvTransposeShape::new((128, 64, 7, 7), 32, 4, 2, 1).unwrap();
    let (nx, nw, ny) = deconv1.sizes();
    let (x, w, y) = (ctx.zeros("x", nx), ctx.zeros("w", nw), ctx.zeros("y", ny));
    let d = conv_transpose2d::forward(&ctx, deconv1, &x, &w, None, &y, false).unwrap();
    g.throughput(Throughput::Elements(deconv1.flops() as u64));
    g.bench_function("conv_transpose2d_forward deconv1", |bench| {
        bench.iter_custom(|iters| run(&ctx, &d, iters))
    });
    g.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
