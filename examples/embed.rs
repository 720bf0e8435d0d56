//! A host program that owns its wgpu device hands it to latent-engine, decodes
//! samples of a trained VAE straight into its own GPU buffer, then reads them
//! back and writes a PNG.
//!
//! ```sh
//! cargo run --release -- train --model mlp --epochs 1 --out runs/mlp
//! cargo run --release --example embed -- runs/mlp samples-embed.png
//! ```

use latent_engine::checkpoint::Checkpoint;
use latent_engine::picture::save_grid;
use latent_engine::vae::Vae;
use latent_engine::Context;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let run = args.next().unwrap_or_else(|| "runs/mlp".into());
    let out = args.next().unwrap_or_else(|| "samples-embed.png".into());

    // The host's own device, as a game engine or an egui app would have it.
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
    let adapter =
        pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions::default()))?;
    let (device, queue) =
        pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor::default()))?;

    // Hand it over; latent-engine uses it and creates nothing global.
    let ctx = Context::from_device(device.clone(), queue.clone(), adapter.get_info());
    let checkpoint = Checkpoint::load(std::path::Path::new(&run))?;
    let vae = Vae::new(&ctx, &checkpoint);

    // The host's buffer, written by the VAE on the GPU.
    let n = 36;
    let bytes = (n * vae.config.dim() * 4) as u64;
    let pixels = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("host pixels"),
        size: bytes,
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_DST
            | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    vae.sample_buffers(&pixels, n, 7)?;

    // Back on the host side: read the buffer as any wgpu program would.
    let staging = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("host readback"),
        size: bytes,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = device.create_command_encoder(&Default::default());
    encoder.copy_buffer_to_buffer(&pixels, 0, &staging, 0, bytes);
    queue.submit(Some(encoder.finish()));
    staging.map_async(wgpu::MapMode::Read, .., |r| r.expect("map the readback"));
    device.poll(wgpu::PollType::wait_indefinitely())?;
    let images: Vec<f32> = bytemuck::cast_slice(&staging.get_mapped_range(..)?).to_vec();
    staging.unmap();

    save_grid(std::path::Path::new(&out), &images, vae.config.input, 6, 2)?;
    println!(
        "decoded {n} samples on '{}' into the host's buffer; wrote {out}",
        adapter.get_info().name
    );
    Ok(())
}
