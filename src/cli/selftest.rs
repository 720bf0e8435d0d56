//! `latent selftest`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use latent_engine::selftest;

use super::Cli;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Skip the largest shapes.
    #[arg(long)]
    quick: bool,
}

pub fn run(cli: &Cli, args: &Args) -> Result<ExitCode> {
    if let Some(path) = &args.json {
        latent_engine::io::check_folder_of(path)?;
    }
    let ctx = cli.context()?;
    println!("adapter: {} ({:?})", ctx.info.name, ctx.info.backend);
    let results = selftest::run(&ctx, args.quick)?;
    println!(
        "{:<34} {:<40} {:>10}  result",
        "kernel", "shape", "max error"
    );
    for r in &results {
        let verdict = if r.pass {
            "pass".to_string()
        } else {
            format!("FAIL: {}", r.detail)
        };
        println!(
            "{:<34} {:<40} {:>10.2e}  {verdict}",
            r.kernel, r.shape, r.max_error
        );
    }
    let failed = results.iter().filter(|r| !r.pass).count();
    println!("{} passed, {} failed", results.len() - failed, failed);
    if let Some(path) = &args.json {
        let doc = serde_json::json!({
            "adapter": ctx.info.name,
            "backend": format!("{:?}", ctx.info.backend),
            "kernels": results,
        });
        latent_engine::io::write_atomic(path, serde_json::to_string_pretty(&doc)?.as_bytes())?;
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
