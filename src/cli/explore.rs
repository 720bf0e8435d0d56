//! `latent explore`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use latent_engine::checkpoint::Checkpoint;
use latent_engine::data::Split;
use latent_engine::vae::Vae;

use super::inference::{data_folder, load_matching};
use super::Cli;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run folder of `latent train` (or a .safetensors file).
    #[arg(long)]
    checkpoint: PathBuf,
    /// Data folder (default: the one the model was trained on).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Folder to write the pictures and index.html into.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(cli: &Cli, a: &Args) -> Result<ExitCode> {
    let ck = Checkpoint::load(&a.checkpoint)?;
    let data = data_folder(&a.data, &a.checkpoint);
    let test = load_matching(&data, Split::Test, &ck)?;
    let train = load_matching(&data, Split::Train, &ck)?;
    let ctx = cli.context()?;
    latent_engine::explore::explore(&Vae::new(&ctx, &ck), &test, &train, &a.out)?;
    println!(
        "wrote {} pictures and index.html to {}",
        latent_engine::explore::PICTURES.len(),
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
