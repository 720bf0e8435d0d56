//! A custom model built with the graph API: a plain (non-variational)
//! autoencoder with a 32-number code, trained on the shipped MNIST digits.
//!
//! ```sh
//! cargo run --release --example custom_model
//! ```

use std::path::Path;

use latent_engine::data::{Dataset, Split};
use latent_engine::graph::exec::{ExecOptions, Executor, ParamStore, TrainSpec};
use latent_engine::graph::{autodiff, Graph};
use latent_engine::kernels::adam::AdamConfig;
use latent_engine::rng::Rng;
use latent_engine::{Context, ContextOptions};

fn main() -> anyhow::Result<()> {
    let ctx = Context::new(ContextOptions::from_env()?)?;
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/mnist10k");
    let train = Dataset::load(&data, Split::Train)?;
    let (batch, d) = (100, train.dim());

    // x (batch, 784) → 256 → 32 (the code) → 256 → 784 logits; loss Σ BCE(x̂, x).
    let mut g = Graph::new();
    let x = g.input("x", &[batch, d]);
    let layer = |g: &mut Graph, input, name: &str, i: usize, o: usize, relu: bool| {
        let w = g.param(&format!("{name}.weight"), &[o, i]);
        let b = g.param(&format!("{name}.bias"), &[o]);
        g.dense(input, w, Some(b), relu)
    };
    let h = layer(&mut g, x, "enc1", d, 256, true)?;
    let code = layer(&mut g, h, "enc2", 256, 32, false)?;
    let h = layer(&mut g, code, "dec1", 32, 256, true)?;
    let logits = layer(&mut g, h, "dec2", 256, d, false)?;
    g.bce_loss(logits, x)?;

    // Derive the backward graph, then plan and record the training step once.
    let grads = autodiff::backward(&mut g)?;
    let params = ParamStore::init_for_graph(&ctx, &g, 1);
    let state = ctx.zeros("step state", 2);
    let x_buf = ctx.zeros("batch", batch * d);
    let opts = ExecOptions {
        params: &params,
        state: &state,
        inputs: [(x, x_buf.clone())].into_iter().collect(),
        prologue: vec![],
        train: Some(TrainSpec {
            adam: AdamConfig::default(),
            grads,
            batch,
        }),
    };
    let step = Executor::new(&ctx, g, opts)?;
    println!(
        "{} dispatches per step, {:.1} MiB planned",
        step.dispatches.len(),
        step.planned_bytes() as f64 / (1 << 20) as f64
    );

    // Each step writes its batch and replays the recorded dispatches.
    let mut order: Vec<usize> = (0..train.len()).collect();
    for epoch in 1..=2 {
        Rng::new(epoch).shuffle(&mut order);
        step.reset_loss(&ctx);
        let steps = train.len() / batch;
        for s in 0..steps {
            let images: Vec<f32> = order[s * batch..(s + 1) * batch]
                .iter()
                .flat_map(|&i| train.image(i).to_vec())
                .collect();
            ctx.write(&x_buf, &images);
            step.run_steps(&ctx, 1);
        }
        let loss = step.read_loss(&ctx)?[0] as f64 / (steps * batch) as f64;
        println!("epoch {epoch}: reconstruction loss {loss:.2} nats/image");
    }
    Ok(())
}
