use latent_engine::{Context, ContextOptions};
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let ctx = Context::new(ContextOptions::from_env()?)?;
    let d = &ctx.device;
    let src = std::fs::read_to_string(std::env::args().nth(1).unwrap())?;
    let module = d.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: None,
        source: wgpu::ShaderSource::Wgsl(src.into()),
    });
    let tex = d.create_texture(&wgpu::TextureDescriptor {
        label: None,
        size: wgpu::Extent3d {
            width: 256,
            height: 256,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: wgpu::TextureFormat::Rgba32Float,
        usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    });
    let view = tex.create_view(&Default::default());
    let ubo = d.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: 65536,
        usage: wgpu::BufferUsages::UNIFORM,
        mapped_at_creation: false,
    });
    let groups = 4096u32;
    let out = d.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: groups as u64 * 8 * 16,
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    for entry in std::env::args().skip(2) {
        let p = d.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: None,
            layout: None,
            module: &module,
            entry_point: Some(&entry),
            compilation_options: Default::default(),
            cache: None,
        });
        let bgl = p.get_bind_group_layout(0);
        let mut entries = vec![];
        let names: Vec<u32> = if entry.starts_with("tex") {
            vec![0, 2]
        } else {
            vec![1, 2]
        };
        for b in names {
            entries.push(wgpu::BindGroupEntry {
                binding: b,
                resource: match b {
                    0 => wgpu::BindingResource::TextureView(&view),
                    1 => ubo.as_entire_binding(),
                    _ => out.as_entire_binding(),
                },
            });
        }
        let bg = d.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &bgl,
            entries: &entries,
        });
        for rep in 0..3 {
            let t = Instant::now();
            let mut enc = d.create_command_encoder(&Default::default());
            {
                let mut pass = enc.begin_compute_pass(&Default::default());
                pass.set_pipeline(&p);
                pass.set_bind_group(0, &bg, &[]);
                pass.dispatch_workgroups(groups, 1, 1);
            }
            ctx.queue.submit(Some(enc.finish()));
            d.poll(wgpu::PollType::wait_indefinitely())?;
            let s = t.elapsed().as_secs_f64();
            let floats = groups as f64 * 8.0 * 1024.0 * 4.0;
            if rep > 0 {
                println!(
                    "{entry}: {:.2} ms, {:.3} ns/float",
                    s * 1e3,
                    s * 1e9 / floats
                );
            }
        }
    }
    Ok(())
}
