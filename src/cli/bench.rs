//! `latent bench`

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use latent_engine::bench;
use latent_engine::checkpoint::TrainSettings;
use latent_engine::data::{Dataset, Split};
use latent_engine::model::{Arch, ModelConfig};

use super::Cli;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Model preset: mlp or conv.
    #[arg(long, default_value = "mlp")]
    model: String,
    /// Epochs to train (BENCHMARKS.md uses 10).
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Data folder.
    #[arg(long, default_value = "assets/mnist10k")]
    data: PathBuf,
    /// Measure each kernel's GFLOP/s instead of training.
    #[arg(long)]
    kernels: bool,
    /// Print each kernel's share of a training step (GPU timestamps).
    #[arg(long)]
    profile: bool,
    /// With --profile: time the first training step, whose dispatches include
    /// compiling each kernel on adapters that compile lazily (llvmpipe); set
    /// MESA_SHADER_CACHE_DISABLE=true there to see a cold start.
    #[arg(long, requires = "profile", conflicts_with = "replays")]
    first_step: bool,
    /// With --profile: also list every dispatch of the step in order, with
    /// its grid and time
    #[arg(long, requires = "profile")]
    dispatches: bool,
    /// With --profile: replays of the step to time; each dispatch's median
    /// counts (one replay's times swing widely on a busy CPU).
    #[arg(long, requires = "profile", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    replays: u32,
    /// Write the figures as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Skip the largest kernel shapes.
    #[arg(long)]
    quick: bool,
}

pub fn run(cli: &Cli, args: &Args, started: Instant) -> Result<ExitCode> {
    let arch: Arch = args.model.parse()?;
    if args.epochs == 0 {
        anyhow::bail!("--epochs must be at least 1");
    }
    if let Some(path) = &args.json {
        latent_engine::io::check_folder_of(path)?;
    }
    // The data loads while the context opens (both count in the start-up).
    let ctx = cli.context_in_background();
    let data = if args.kernels {
        None
    } else {
        Some((
            Dataset::load(&args.data, Split::Train)?,
            Dataset::load(&args.data, Split::Test)?,
        ))
    };
    let ctx = ctx.wait()?;
    eprintln!("adapter: {} ({:?})", ctx.info.name, ctx.info.backend);
    let write_json = |doc: serde_json::Value| -> Result<()> {
        if let Some(path) = &args.json {
            latent_engine::io::write_atomic(path, serde_json::to_string_pretty(&doc)?.as_bytes())?;
        }
        Ok(())
    };
    if args.kernels {
        let results = bench::kernel_benchmarks(&ctx, args.quick)?;
        println!(
            "{:<34} {:<48} {:>10} {:>10} {:>10}",
            "kernel", "shape", "GFLOP/s", "ms", "of matmul"
        );
        for r in &results {
            // A convolution's GFLOP/s against the plain matmul 512³ in this run.
            let share = r
                .share_of_matmul
                .map(|f| format!("{:.0}%", 100.0 * f))
                .unwrap_or_default();
            println!(
                "{:<34} {:<48} {:>10.2} {:>10.3} {:>10}",
                r.kernel, r.shape, r.gflops, r.ms, share
            );
        }
        write_json(serde_json::json!({
            "adapter": ctx.info.name,
            "backend": format!("{:?}", ctx.info.backend),
            "kernels": results,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let (train, test) = data.expect("loaded unless --kernels");
    let config = ModelConfig::preset(arch, train.shape, None);
    let settings = TrainSettings {
        batch: 128,
        lr: 1e-3,
        seed: 0,
        epochs: args.epochs,
    };
    if args.profile {
        let mut trainer =
            latent_engine::train::Trainer::new(&ctx, config, settings, &train, &test, None)?;
        // Warm up first: the first replay also pays for the first touch of
        // every buffer's memory, which a training run pays once.
        if !args.first_step {
            trainer.run_steps(2)?;
        }
        let replays = if args.first_step {
            1
        } else {
            args.replays as usize
        };
        let profile = bench::profile(&ctx, &trainer.step_executor().dispatches, replays)?;
        let rows = &profile.kernels;
        let total: f64 = rows.iter().map(|r| r.ms).sum();
        if args.first_step {
            println!("the first training step of {arch} at batch 128: {total:.2} ms of GPU time");
        } else {
            println!(
                "one training step of {arch} at batch 128: {total:.2} ms of GPU time \
                 (each dispatch's median of {replays} replays)"
            );
        }
        // The same step replayed back to back in one submit, timed by the
        // clock: what the dispatches' own times leave out is the driver's
        // cost between them (on llvmpipe, a few tens of microseconds each).
        let wall_ms = if args.first_step {
            None
        } else {
            let steps = 8;
            let t = std::time::Instant::now();
            trainer.run_steps(steps)?;
            Some(t.elapsed().as_secs_f64() * 1e3 / steps as f64)
        };
        if let Some(w) = wall_ms {
            let n = trainer.step_executor().dispatches.len();
            println!(
                "by the clock: {w:.2} ms per step ({n} dispatches; {:.2} ms outside them)",
                w - total
            );
        }
        println!(
            "{:<34} {:>6} {:>10} {:>7}",
            "kernel", "count", "ms", "share"
        );
        for r in rows {
            println!(
                "{:<34} {:>6} {:>10.3} {:>6.1}%",
                r.kernel,
                r.count,
                r.ms,
                100.0 * r.share
            );
        }
        if args.dispatches {
            println!();
            println!(
                "{:>4} {:<34} {:>16} {:>10} {:>10}",
                "#", "dispatch", "workgroups", "ms", "copies ms"
            );
            for (i, d) in profile.dispatches.iter().enumerate() {
                let [x, y, z] = d.workgroups;
                let copies = d.copies_ms.map_or(String::new(), |c| format!("{c:.3}"));
                println!(
                    "{i:>4} {:<34} {:>16} {:>10.3} {copies:>10}",
                    d.kernel,
                    format!("{x}x{y}x{z}"),
                    d.ms
                );
            }
        }
        write_json(
            serde_json::json!({"model": arch.to_string(), "adapter": ctx.info.name, "replays": replays, "step_ms": total, "wall_ms": wall_ms, "kernels": rows, "dispatches": profile.dispatches}),
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let figures = bench::training_figures(&ctx, config, settings, &train, &test, started, |r| {
        eprintln!(
            "epoch {:>3}: test loss {:.3}, {:.0} images/s",
            r.epoch, r.test_loss, r.images_per_s
        );
    })?;
    println!(
        "{} on {} ({}), {} epochs, batch 128",
        figures.model, figures.adapter, figures.backend, figures.epochs
    );
    println!(
        "  training throughput   {:>12.0} images/s (epochs 2..N)",
        figures.train_images_per_s
    );
    println!(
        "  test loss             {:>12.3} nats/image",
        figures.test_loss
    );
    println!(
        "  inference             {:>12.0} reconstructions/s (batch 1000)",
        figures.inference_images_per_s
    );
    println!(
        "  start-up              {:>12.2} s to the end of the first step",
        figures.startup_s
    );
    println!(
        "  GPU memory            {:>12.1} MiB of buffers during a step",
        figures.peak_gpu_bytes as f64 / (1 << 20) as f64
    );
    write_json(serde_json::to_value(&figures)?)?;
    Ok(ExitCode::SUCCESS)
}
