//! `latent devices`

use std::process::ExitCode;

use anyhow::{bail, Result};
use latent_engine::context::list_adapters;

use super::Cli;

pub fn run(cli: &Cli) -> Result<ExitCode> {
    let adapters = list_adapters(cli.backend);
    if adapters.is_empty() {
        // Context::new words the error: what was tried and what to install.
        let err = cli.context().expect_err("no adapter was listed");
        bail!(err);
    }
    for a in &adapters {
        let i = &a.info;
        let mark = if a.auto_pick { "*" } else { " " };
        println!("{mark} {} ({:?}, {:?})", i.name, i.backend, i.device_type);
        println!("    driver:               {} {}", i.driver, i.driver_info);
        println!(
            "    max buffer size:      {} MiB",
            a.limits.max_buffer_size >> 20
        );
        println!(
            "    max storage binding:  {} MiB",
            a.limits.max_storage_buffer_binding_size >> 20
        );
        println!(
            "    max uniform binding:  {} KiB",
            a.limits.max_uniform_buffer_binding_size >> 10
        );
        println!(
            "    max workgroup memory: {} KiB",
            a.limits.max_compute_workgroup_storage_size >> 10
        );
        let yes = |f: wgpu::Features| if a.features.contains(f) { "yes" } else { "no" };
        println!(
            "    shader-f16: {}   subgroups: {}   timestamps: {}",
            yes(wgpu::Features::SHADER_F16),
            yes(wgpu::Features::SUBGROUP),
            yes(wgpu::Features::TIMESTAMP_QUERY)
        );
    }
    println!("(* = the adapter `--adapter auto` picks)");
    Ok(ExitCode::SUCCESS)
}
