//! Argument parsing and the subcommands.

mod bench;
mod devices;
mod explore;
mod images;
mod inference;
mod plan;
mod selftest;
mod train;

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::{Parser, Subcommand};
use latent_engine::{AdapterChoice, BackendChoice, Context, ContextOptions};

/// Train and explore variational autoencoders on any GPU (wgpu + WGSL).
#[derive(Debug, Parser)]
#[command(name = "latent", version, about)]
pub struct Cli {
    /// Adapter: auto (a GPU, else the software one), gpu, or cpu (lavapipe / llvmpipe).
    #[arg(long, global = true, env = "LATENT_ADAPTER", default_value = "auto", value_parser = parse_adapter)]
    pub adapter: AdapterChoice,
    /// Graphics backend: auto, vulkan, metal, dx12 or gl.
    #[arg(long, global = true, env = "LATENT_BACKEND", default_value = "auto", value_parser = parse_backend)]
    pub backend: BackendChoice,
    #[command(subcommand)]
    pub command: Command,
}

fn parse_adapter(s: &str) -> Result<AdapterChoice, String> {
    s.parse().map_err(|e: latent_engine::Error| e.to_string())
}

fn parse_backend(s: &str) -> Result<BackendChoice, String> {
    s.parse().map_err(|e: latent_engine::Error| e.to_string())
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a VAE and write checkpoints, metrics and pictures after each epoch.
    Train(train::Args),
    /// Decode samples from the prior into a PNG grid.
    Sample(inference::SampleArgs),
    /// Test images beside their reconstructions, as a PNG grid.
    Reconstruct(inference::ReconstructArgs),
    /// Decode points on the line between two test images' latent codes.
    Interpolate(inference::InterpolateArgs),
    /// Write the latent means and log-variances of a split as CSV.
    Encode(inference::EncodeArgs),
    /// Pictures of the latent space (scatter, manifold, traversals, …) and an index.html.
    Explore(explore::Args),
    /// List every adapter wgpu sees, marking the one `--adapter auto` picks.
    Devices,
    /// Show how a training step is planned: ops, dispatches, submits, readbacks, memory.
    Plan(plan::Args),
    /// Check every kernel against its CPU reference on this adapter.
    Selftest(selftest::Args),
    /// Measure speed: kernel GFLOP/s (--kernels) or the training figures.
    Bench(bench::Args),
}

impl Cli {
    fn context_options(&self) -> ContextOptions {
        ContextOptions {
            adapter: self.adapter,
            backend: self.backend,
        }
    }

    fn context(&self) -> Result<Context> {
        Ok(Context::new(self.context_options())?)
    }

    /// Open the context on another thread while this one loads data (each
    /// takes about 0.06-0.1 s of a start-up on lavapipe).
    fn context_in_background(&self) -> PendingContext {
        let opts = self.context_options();
        PendingContext(Some(std::thread::spawn(move || Context::new(opts))))
    }
}

/// A context being opened; dropping it waits, so no thread is left inside
/// the driver when the process exits.
struct PendingContext(Option<std::thread::JoinHandle<latent_engine::error::Result<Context>>>);

impl PendingContext {
    fn wait(mut self) -> Result<Context> {
        let handle = self.0.take().expect("waited once");
        match handle.join() {
            Ok(ctx) => Ok(ctx?),
            Err(_) => anyhow::bail!("opening the GPU context panicked"),
        }
    }
}

impl Drop for PendingContext {
    fn drop(&mut self) {
        if let Some(h) = self.0.take() {
            let _ = h.join();
        }
    }
}

/// Run the parsed command.
pub fn run(cli: Cli, started: Instant) -> Result<ExitCode> {
    match &cli.command {
        Command::Devices => devices::run(&cli),
        Command::Plan(a) => plan::run(&cli, a),
        Command::Sample(a) => inference::sample(&cli, a),
        Command::Reconstruct(a) => inference::reconstruct(&cli, a),
        Command::Interpolate(a) => inference::interpolate(&cli, a),
        Command::Encode(a) => inference::encode(&cli, a),
        Command::Explore(a) => explore::run(&cli, a),
        Command::Train(args) => train::run(&cli, args),
        Command::Selftest(args) => selftest::run(&cli, args),
        Command::Bench(args) => bench::run(&cli, args, started),
    }
}
