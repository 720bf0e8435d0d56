//! `cargo bench --bench training`: one whole training step (gather, forward,
//! backward, Adam) of each reference model at batch 128 on the chosen adapter.

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use latent_engine::checkpoint::TrainSettings;
use latent_engine::data::{Dataset, Split};
use latent_engine::model::{Arch, ModelConfig};
use latent_engine::train::Trainer;
use latent_engine::{Context, ContextOptions};

fn training(c: &mut Criterion) {
    let ctx = Context::new(ContextOptions::from_env().unwrap())
        .expect("benchmarks need a GPU adapter (or the software one)");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/mnist10k");
    let (train, test) = (
        Dataset::load(&data, Split::Train).unwrap(),
        Dataset::load(&data, Split::Test).unwrap(),
    );
    let mut g = c.benchmark_group(format!("training step on {}", ctx.info.name));
    g.sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    for arch in [Arch::Mlp, Arch::Conv] {
        let config = ModelConfig::preset(arch, train.shape, None);
        let settings = TrainSettings {
            batch: 128,
            lr: 1e-3,
            seed: 0,
            epochs: 1,
        };
        let mut trainer = Trainer::new(&ctx, config, settings, &train, &test, None).unwrap();
        g.throughput(Throughput::Elements(128));
        g.bench_function(format!("{arch} batch 128"), |bench| {
            bench.iter_custom(|iters| {
                // Keep within one epoch's permutation: at most 70 steps at a time.
                let mut total = Duration::ZERO;
                let mut left = iters as usize;
                while left > 0 {
                    let n = left.min(64);
                    let t = Instant::now();
                    trainer.run_steps(n).unwrap();
                    total += t.elapsed();
                    left -= n;
                }
                total
            })
        });
    }
    g.finish();
}

criterion_group!(benches, training);
criterion_main!(benches);
