//! `latent train`

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context as _, Result};
use indicatif::{ProgressBar, ProgressStyle};
use latent_engine::checkpoint::{Checkpoint, TrainSettings};
use latent_engine::data::{Dataset, Split};
use latent_engine::model::{Arch, ModelConfig};
use latent_engine::train::{EpochReport, Trainer};

use super::Cli;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Model preset: mlp or conv (as in BENCHMARKS.md); with --resume, the checkpoint's.
    #[arg(long)]
    pub model: Option<String>,
    /// Data folder: IDX files (MNIST layout) or images.
    #[arg(long, default_value = "assets/mnist10k")]
    pub data: PathBuf,
    /// Epochs to train (in total, when resuming).
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Images per batch.
    #[arg(long, default_value_t = 128)]
    pub batch: usize,
    /// Adam's learning rate.
    // Negative numbers parse, so that --lr -1 gets the check's message
    // rather than clap's "unexpected argument".
    #[arg(long, default_value_t = 1e-3, allow_negative_numbers = true)]
    pub lr: f32,
    /// Latent size (default: 20 for mlp, 16 for conv).
    #[arg(long)]
    pub latent_dim: Option<usize>,
    /// Width of the hidden dense layers (default: 400 for mlp, 256 for conv).
    #[arg(long)]
    pub hidden: Option<usize>,
    /// Channels of the conv model's two convolutions, as C1,C2 (default: 32,64).
    #[arg(long, value_delimiter = ',')]
    pub channels: Option<Vec<usize>>,
    /// Seed of initialisation, shuffling and noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output folder (default: `runs/<model>`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue from the checkpoint in the output folder.
    #[arg(long)]
    pub resume: bool,
}

pub fn run(cli: &Cli, args: &Args) -> Result<ExitCode> {
    let arch: Arch = args.model.as_deref().unwrap_or("mlp").parse()?;
    if args.batch == 0 {
        bail!("--batch must be at least 1");
    }
    if args.epochs == 0 {
        bail!("--epochs must be at least 1");
    }
    if !(args.lr.is_finite() && args.lr > 0.0) {
        bail!("--lr must be a positive number, got {}", args.lr);
    }
    if args.latent_dim == Some(0) {
        bail!("--latent-dim must be at least 1");
    }
    if args.hidden == Some(0) {
        bail!("--hidden must be at least 1");
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(arch.to_string()));
    let ctx = cli.context_in_background();
    let train = Dataset::load(&args.data, Split::Train)?;
    let test = Dataset::load(&args.data, Split::Test)?;
    let resume = if args.resume {
        let ck = Checkpoint::load(&out)
            .with_context(|| format!("--resume: cannot resume from {}", out.display()))?;
        Some(ck)
    } else {
        None
    };
    if let Some(ck) = &resume {
        if args.model.is_some() && ck.config.arch != arch {
            bail!(
                "--resume: the checkpoint in {} is a {} model, not {}; pass --model {} or another --out",
                out.display(),
                ck.config.arch,
                arch,
                ck.config.arch
            );
        }
        if ck.config.input != train.shape {
            bail!(
                "--resume: the checkpoint expects images of {:?} but {} has {:?}",
                ck.config.input,
                args.data.display(),
                train.shape
            );
        }
    }
    let config = match &resume {
        Some(ck) => ck.config.clone(),
        None => {
            let mut c = ModelConfig::preset(arch, train.shape, args.latent_dim);
            if let Some(h) = args.hidden {
                c.hidden = h;
            }
            if let Some(ch) = &args.channels {
                let [c1, c2] = ch[..] else {
                    bail!("--channels takes two numbers, as 32,64")
                };
                if arch != Arch::Conv {
                    bail!("--channels applies to the conv model only");
                }
                c.channels = (c1, c2);
            }
            c.validate()?;
            c
        }
    };
    let settings = match &resume {
        Some(ck) => TrainSettings {
            epochs: args.epochs,
            ..ck.train.clone()
        },
        None => TrainSettings {
            batch: args.batch,
            lr: args.lr,
            seed: args.seed,
            epochs: args.epochs,
        },
    };
    latent_engine::io::create_out_folder(&out)?;
    check_writable(&out)?;
    let ctx = ctx.wait()?;
    eprintln!(
        "adapter: {} ({:?}); {} training / {} test images of {:?}",
        ctx.info.name,
        ctx.info.backend,
        train.len(),
        test.len(),
        train.shape
    );
    // Compiles kernels on the second core where that shortens the start.
    let warmup = latent_engine::warmup::Warmup::start(&ctx, &config, &settings);
    let mut trainer = Trainer::new(
        &ctx,
        config.clone(),
        settings.clone(),
        &train,
        &test,
        resume,
    )?;
    warmup.compile_step(&ctx, trainer.step_executor())?;
    write_config(&out, &config, &settings, &args.data)?;
    keep_metrics_until(&out, trainer.epoch)?;
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::Relaxed));
    }
    while trainer.epoch < settings.epochs {
        let bar = ProgressBar::new(train.len() as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "epoch {msg} [{bar:30}] {pos}/{len} images, {per_sec}, eta {eta}",
            )
            .unwrap()
            .progress_chars("=> "),
        );
        bar.set_message(format!("{}/{}", trainer.epoch + 1, settings.epochs));
        let report = trainer.train_epoch(&mut |done| bar.set_position(done as u64), &stop);
        bar.finish_and_clear();
        let report = match report {
            Ok(Some(r)) => r,
            Ok(None) => {
                trainer
                    .checkpoint()?
                    .save(&out.join("checkpoint.safetensors"))?;
                eprintln!(
                    "interrupted in epoch {}: checkpoint written to {}; `--resume` continues exactly where this stopped",
                    trainer.epoch + 1,
                    out.display()
                );
                return Ok(ExitCode::from(130));
            }
            Err(e) => return Err(e.into()),
        };
        // Metrics first: if the run dies before the checkpoint, the resumed run
        // redoes this epoch and rewrites its row (see `keep_metrics_until`).
        append_metrics(&out, &report)?;
        // One download of the parameters serves the checkpoint and the pictures.
        let checkpoint = trainer.checkpoint()?;
        checkpoint.save(&out.join("checkpoint.safetensors"))?;
        super::images::write_run_pictures(&ctx, &checkpoint, &test, &out)?;
        println!(
            "epoch {:>3}: train loss {:.3}, test loss {:.3} nats/image, {:.0} images/s, {:.1} s",
            report.epoch, report.train_loss, report.test_loss, report.images_per_s, report.seconds
        );
    }
    println!("done: {}", out.display());
    Ok(ExitCode::SUCCESS)
}

fn check_writable(dir: &Path) -> Result<()> {
    let probe = dir.join(".latent-write-test");
    std::fs::write(&probe, b"")
        .with_context(|| format!("the output folder {} is not writable", dir.display()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

fn write_config(
    out: &Path,
    config: &ModelConfig,
    settings: &TrainSettings,
    data: &Path,
) -> Result<()> {
    let doc = serde_json::json!({
        "model": config.arch,
        "input_shape": [config.input.0, config.input.1, config.input.2],
        "latent_dim": config.latent,
        "hidden": config.hidden,
        "channels": [config.channels.0, config.channels.1],
        "data": data.display().to_string(),
        "epochs": settings.epochs,
        "batch": settings.batch,
        "lr": settings.lr,
        "seed": settings.seed,
        "optimizer": {"name": "adam", "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
    });
    latent_engine::io::write_atomic(
        &out.join("config.json"),
        serde_json::to_string_pretty(&doc)?.as_bytes(),
    )?;
    Ok(())
}

/// Rewrite metrics.csv with its header and the rows of epochs 1..=`epoch` only.
fn keep_metrics_until(out: &Path, epoch: usize) -> Result<()> {
    let path = out.join("metrics.csv");
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let mut text = String::from("epoch,train_loss,test_loss,images_per_s,seconds\n");
    for line in old.lines().skip(1) {
        match line.split(',').next().and_then(|e| e.parse::<usize>().ok()) {
            Some(e) if e <= epoch => {
                text.push_str(line);
                text.push('\n');
            }
            _ => {}
        }
    }
    latent_engine::io::write_atomic(&path, text.as_bytes())?;
    Ok(())
}

fn append_metrics(out: &Path, r: &EpochReport) -> Result<()> {
    use std::io::Write;
    let path = out.join("metrics.csv");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    writeln!(
        f,
        "{},{:.6},{:.6},{:.1},{:.3}",
        r.epoch, r.train_loss, r.test_loss, r.images_per_s, r.seconds
    )?;
    Ok(())
}
