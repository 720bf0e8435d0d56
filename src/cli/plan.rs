//! `latent plan`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use latent_engine::graph::{autodiff, plan};
use latent_engine::model::{Arch, ModelConfig};

use super::Cli;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Model preset: mlp or conv.
    #[arg(long, default_value = "mlp")]
    model: String,
    /// Images per batch.
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Also write the plan as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

pub fn run(cli: &Cli, a: &Args) -> Result<ExitCode> {
    let arch: Arch = a.model.parse()?;
    if a.batch == 0 {
        bail!("--batch must be at least 1");
    }
    if let Some(path) = &a.json {
        latent_engine::io::check_folder_of(path)?;
    }
    let config = ModelConfig::preset(arch, (1, 28, 28), None);
    let (mut graph, ..) = config.training_graph(a.batch, 0)?;
    let forward_ops = graph.nodes.len();
    autodiff::backward(&mut graph)?;
    let p = plan::plan(&graph);
    let naive = plan::naive_bytes(&graph);
    let fixed = plan::fixed_bytes(&graph);
    // Dispatches depend on the adapter's kernel variants: count them on a real step.
    let ctx = cli.context()?;
    let data = latent_engine::data::Dataset {
        images: vec![0.0; a.batch * config.dim()],
        labels: vec![0; a.batch],
        shape: config.input,
        classes: vec!["0".into()],
    };
    let settings = latent_engine::checkpoint::TrainSettings {
        batch: a.batch,
        lr: 1e-3,
        seed: 0,
        epochs: 1,
    };
    let trainer = latent_engine::train::Trainer::new(&ctx, config, settings, &data, &data, None)?;
    let exec = trainer.step_executor();
    let (d0, s0, r0) = ctx.counters.snapshot();
    exec.run_steps(&ctx, 1);
    ctx.device.poll(wgpu::PollType::wait_indefinitely())?;
    let (d1, s1, r1) = ctx.counters.snapshot();
    let planned = p.planned_bytes() + fixed;
    let computed = graph
        .tensors
        .iter()
        .filter(|t| t.alias_of.is_none() && t.kind == latent_engine::graph::TensorKind::Computed)
        .count();
    println!(
        "{arch} training step at batch {} on {} ({:?})",
        a.batch, ctx.info.name, ctx.info.backend
    );
    println!(
        "  ops                 {:>12} ({forward_ops} forward, {} backward)",
        graph.nodes.len(),
        graph.nodes.len() - forward_ops
    );
    println!("  dispatches / step   {:>12}", d1 - d0);
    println!("  submits / step      {:>12}", s1 - s0);
    println!("  readbacks / step    {:>12}", r1 - r0);
    println!("  planned bytes       {:>12} ({} slots for {computed} computed tensors, + {} of inputs and parameters)", planned, p.slot_len.len(), fixed);
    println!(
        "  naive bytes         {:>12} (every tensor its own buffer; planned is {:.0}%)",
        naive,
        100.0 * planned as f64 / naive as f64
    );
    if let Some(path) = &a.json {
        let doc = serde_json::json!({
            "model": arch.to_string(),
            "batch": a.batch,
            "ops": graph.nodes.len(),
            "dispatches_per_step": d1 - d0,
            "submits_per_step": s1 - s0,
            "readbacks_per_step": r1 - r0,
            "planned_bytes": planned,
            "naive_bytes": naive,
        });
        latent_engine::io::write_atomic(path, serde_json::to_string_pretty(&doc)?.as_bytes())?;
    }
    Ok(ExitCode::SUCCESS)
}
