//! `latent sample`, `reconstruct`, `interpolate` and `encode`: using a trained model.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Result};
use latent_engine::checkpoint::Checkpoint;
use latent_engine::data::{Dataset, Split};
use latent_engine::picture::save_grid;
use latent_engine::vae::Vae;

use super::Cli;

#[derive(Debug, clap::Args)]
pub struct SampleArgs {
    /// Run folder of `latent train` (or a .safetensors file).
    #[arg(long)]
    checkpoint: PathBuf,
    /// How many images.
    #[arg(long, default_value_t = 64)]
    n: usize,
    /// Seed of the latent draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// PNG to write.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct ReconstructArgs {
    #[arg(long)]
    checkpoint: PathBuf,
    /// Data folder (default: the one the model was trained on).
    #[arg(long)]
    data: Option<PathBuf>,
    /// How many test images.
    #[arg(long, default_value_t = 32)]
    n: usize,
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct InterpolateArgs {
    #[arg(long)]
    checkpoint: PathBuf,
    #[arg(long)]
    data: Option<PathBuf>,
    /// Index of the first test image.
    #[arg(long)]
    from: usize,
    /// Index of the second test image.
    #[arg(long)]
    to: usize,
    /// Images along the way, ends included.
    #[arg(long, default_value_t = 10)]
    steps: usize,
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct EncodeArgs {
    #[arg(long)]
    checkpoint: PathBuf,
    #[arg(long)]
    data: Option<PathBuf>,
    /// Which split: test or train.
    #[arg(long, default_value = "test")]
    split: String,
    /// CSV to write: index, label, mu_0…, logvar_0…
    #[arg(long)]
    out: PathBuf,
}

fn positive(name: &str, v: usize) -> Result<()> {
    if v == 0 {
        bail!("--{name} must be at least 1");
    }
    Ok(())
}

/// The pictures are PNG files whatever --out is called, so a name that says
/// otherwise is refused before any work.
fn png_out(out: &Path) -> Result<()> {
    let png = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if !png {
        bail!(
            "--out {}: the picture is a PNG file; give a name ending in .png",
            out.display()
        );
    }
    Ok(latent_engine::io::check_folder_of(out)?)
}

/// The data folder: the flag, else the one recorded in the run's config.json, else the shipped MNIST.
pub fn data_folder(flag: &Option<PathBuf>, checkpoint: &Path) -> PathBuf {
    if let Some(d) = flag {
        return d.clone();
    }
    let config = if checkpoint.is_dir() {
        checkpoint.join("config.json")
    } else {
        checkpoint.with_file_name("config.json")
    };
    std::fs::read_to_string(config)
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .and_then(|v| v["data"].as_str().map(PathBuf::from))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("assets/mnist10k"))
}

/// Load data and bring it to the shape the model expects (resized and
/// converted between RGB and gray when it differs, with a note).
pub fn load_matching(path: &Path, split: Split, ck: &Checkpoint) -> Result<Dataset> {
    let ds = Dataset::load(path, split)?;
    if ds.shape != ck.config.input {
        eprintln!(
            "note: {}: images are {:?}; resizing them to the model's {:?}",
            path.display(),
            ds.shape,
            ck.config.input
        );
        return Ok(ds.resized(ck.config.input)?);
    }
    Ok(ds)
}

fn grid_cols(n: usize) -> usize {
    (n as f64).sqrt().ceil().max(1.0) as usize
}

pub fn sample(cli: &Cli, a: &SampleArgs) -> Result<ExitCode> {
    positive("n", a.n)?;
    png_out(&a.out)?;
    let ck = Checkpoint::load(&a.checkpoint)?;
    let ctx = cli.context()?;
    let images = Vae::new(&ctx, &ck).sample(a.n, a.seed)?;
    save_grid(&a.out, &images, ck.config.input, grid_cols(a.n), 2)?;
    println!("wrote {} samples to {}", a.n, a.out.display());
    Ok(ExitCode::SUCCESS)
}

pub fn reconstruct(cli: &Cli, a: &ReconstructArgs) -> Result<ExitCode> {
    positive("n", a.n)?;
    png_out(&a.out)?;
    let ck = Checkpoint::load(&a.checkpoint)?;
    let test = load_matching(&data_folder(&a.data, &a.checkpoint), Split::Test, &ck)?;
    let n = a.n.min(test.len());
    let ctx = cli.context()?;
    let originals = &test.images[..n * test.dim()];
    let recon = Vae::new(&ctx, &ck).reconstruct(originals)?;
    let cols = 8.min(n);
    save_grid(
        &a.out,
        &super::images::interleave_rows(originals, &recon, test.dim(), cols),
        ck.config.input,
        cols,
        2,
    )?;
    println!(
        "wrote {n} test images and their reconstructions to {}",
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn interpolate(cli: &Cli, a: &InterpolateArgs) -> Result<ExitCode> {
    if a.steps < 2 {
        bail!("--steps must be at least 2: the first and the last are the two test images");
    }
    png_out(&a.out)?;
    let ck = Checkpoint::load(&a.checkpoint)?;
    let test = load_matching(&data_folder(&a.data, &a.checkpoint), Split::Test, &ck)?;
    for (flag, i) in [("from", a.from), ("to", a.to)] {
        if i >= test.len() {
            bail!(
                "--{flag} {i} is out of range: the test split has {} images (0..{})",
                test.len(),
                test.len() - 1
            );
        }
    }
    let ctx = cli.context()?;
    let images = Vae::new(&ctx, &ck).interpolate(test.image(a.from), test.image(a.to), a.steps)?;
    save_grid(&a.out, &images, ck.config.input, a.steps, 2)?;
    println!(
        "wrote {} steps from test image {} to {} into {}",
        a.steps,
        a.from,
        a.to,
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn encode(cli: &Cli, a: &EncodeArgs) -> Result<ExitCode> {
    let split = match a.split.as_str() {
        "test" => Split::Test,
        "train" => Split::Train,
        other => bail!("--split must be test or train, got '{other}'"),
    };
    latent_engine::io::check_folder_of(&a.out)?;
    let ck = Checkpoint::load(&a.checkpoint)?;
    let ds = load_matching(&data_folder(&a.data, &a.checkpoint), split, &ck)?;
    let ctx = cli.context()?;
    let (mu, logvar) = Vae::new(&ctx, &ck).encode(&ds.images)?;
    let l = ck.config.latent;
    let mut csv = Vec::new();
    let header: Vec<String> = ["index".into(), "label".into()]
        .into_iter()
        .chain((0..l).map(|j| format!("mu_{j}")))
        .chain((0..l).map(|j| format!("logvar_{j}")))
        .collect();
    writeln!(csv, "{}", header.join(","))?;
    for i in 0..ds.len() {
        let row: Vec<String> = mu[i * l..(i + 1) * l]
            .iter()
            .chain(&logvar[i * l..(i + 1) * l])
            .map(|v| v.to_string())
            .collect();
        writeln!(csv, "{i},{},{}", ds.labels[i], row.join(","))?;
    }
    latent_engine::io::write_atomic(&a.out, &csv)?;
    println!(
        "wrote {} encodings ({} latent dimensions) to {}",
        ds.len(),
        l,
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
