//! `latent bench`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use latent_engine::bench;

use super::Cli;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Measure each kernel's GFLOP/s instead of training.
    #[arg(long)]
    kernels: bool,
    /// Write the figures as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Skip the largest shapes.
    #[arg(long)]
    quick: bool,
}

pub fn run(cli: &Cli, args: &Args) -> Result<ExitCode> {
    let ctx = cli.context()?;
    println!("adapter: {} ({:?})", ctx.info.name, ctx.info.backend);
    if args.kernels {
        let results = bench::kernel_benchmarks(&ctx, args.quick)?;
        println!("{:<34} {:<48} {:>10} {:>10}", "kernel", "shape", "GFLOP/s", "ms");
        for r in &results {
            println!("{:<34} {:<48} {:>10.2} {:>10.3}", r.kernel, r.shape, r.gflops, r.ms);
        }
        if let Some(path) = &args.json {
            let doc = serde_json::json!({
                "adapter": ctx.info.name,
                "backend": format!("{:?}", ctx.info.backend),
                "kernels": results,
            });
            latent_engine::io::write_atomic(path, serde_json::to_string_pretty(&doc)?.as_bytes())?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    anyhow::bail!("training benchmarks need `latent train`, which is not built yet; use --kernels")
}
