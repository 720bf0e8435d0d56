// Temporary probe: texture-fed matmul vs CPU, and its speed.
use latent_engine::context::{Context, ContextOptions};
use std::time::Instant;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct P {
    m: u32,
    n: u32,
    k: u32,
    a0: u32,
    b0: u32,
    _p: [u32; 3],
}

fn tex_for(
    ctx: &Context,
    buf: &wgpu::Buffer,
    floats: usize,
    enc: &mut wgpu::CommandEncoder,
) -> wgpu::Texture {
    let h = floats.div_ceil(256) as u32;
    let t = ctx.device.create_texture(&wgpu::TextureDescriptor {
        label: None,
        size: wgpu::Extent3d {
            width: 64,
            height: h,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: wgpu::TextureFormat::Rgba32Float,
        usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    });
    enc.copy_buffer_to_texture(
        wgpu::TexelCopyBufferInfo {
            buffer: buf,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(1024),
                rows_per_image: None,
            },
        },
        wgpu::TexelCopyTextureInfo {
            texture: &t,
            mip_level: 0,
            origin: wgpu::Origin3d::ZERO,
            aspect: wgpu::TextureAspect::All,
        },
        wgpu::Extent3d {
            width: 64,
            height: h,
            depth_or_array_layers: 1,
        },
    );
    t
}

fn main() {
    let ctx = Context::new(ContextOptions::from_env().unwrap()).unwrap();
    let dev = &ctx.device;
    let src = std::fs::read_to_string("/tmp/probe/tex.wgsl").unwrap();
    let module = dev.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: None,
        source: wgpu::ShaderSource::Wgsl(src.into()),
    });
    let tr: u32 = std::env::var("TR")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let shapes: Vec<(usize, usize, usize, bool, bool)> = vec![
        (128, 400, 784, false, true),
        (128, 400, 784, false, false),
        (128, 400, 784, true, false),
        (400, 784, 128, true, false),
        (128, 784, 400, false, true),
        (512, 512, 512, false, false),
        (512, 512, 512, true, false),
        (512, 512, 512, false, true),
        (1024, 1024, 1024, false, false),
        (20, 36, 12, false, false),
        (20, 36, 12, true, true),
    ];
    for (m, n, k, tra, trb) in shapes {
        let mut seed = 1u32;
        let mut rnd = || {
            seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
            (seed >> 8) as f32 / 16777216.0 - 0.5
        };
        let a: Vec<f32> = (0..m * k).map(|_| rnd()).collect();
        let b: Vec<f32> = (0..k * n).map(|_| rnd()).collect();
        let mk = |v: &[f32]| {
            let size = (v.len().div_ceil(256) * 1024) as u64;
            let buf = dev.create_buffer(&wgpu::BufferDescriptor {
                label: None,
                size,
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            ctx.queue.write_buffer(&buf, 0, bytemuck::cast_slice(v));
            buf
        };
        let (ab, bb) = (mk(&a), mk(&b));
        let cb = dev.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: (m * n * 4) as u64,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let rb = dev.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: (m * n * 4) as u64,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let ub = dev.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: 32,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        ctx.queue.write_buffer(
            &ub,
            0,
            bytemuck::bytes_of(&P {
                m: m as u32,
                n: n as u32,
                k: k as u32,
                a0: 0,
                b0: 0,
                _p: [0; 3],
            }),
        );
        let entry = format!(
            "matmul_tex_{}{}",
            if tra { "t" } else { "n" },
            if trb { "t" } else { "n" }
        );
        let pipe = dev.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: None,
            layout: None,
            module: &module,
            entry_point: Some(&entry),
            compilation_options: Default::default(),
            cache: None,
        });
        let mut best = f64::MAX;
        let mut out = vec![];
        for rep in 0..6 {
            let mut enc = dev.create_command_encoder(&Default::default());
            let t0 = Instant::now();
            let ta = tex_for(&ctx, &ab, m * k, &mut enc);
            let tb = tex_for(&ctx, &bb, k * n, &mut enc);
            let (va, vb) = (
                ta.create_view(&Default::default()),
                tb.create_view(&Default::default()),
            );
            let bg = dev.create_bind_group(&wgpu::BindGroupDescriptor {
                label: None,
                layout: &pipe.get_bind_group_layout(0),
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: wgpu::BindingResource::TextureView(&va),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: wgpu::BindingResource::TextureView(&vb),
                    },
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: cb.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 3,
                        resource: ub.as_entire_binding(),
                    },
                ],
            });
            {
                let mut pass = enc.begin_compute_pass(&Default::default());
                pass.set_pipeline(&pipe);
                pass.set_bind_group(0, &bg, &[]);
                pass.dispatch_workgroups(m.div_ceil(tr as usize) as u32, n.div_ceil(32) as u32, 1);
            }
            if rep == 0 {
                enc.copy_buffer_to_buffer(&cb, 0, &rb, 0, (m * n * 4) as u64);
            }
            ctx.queue.submit(Some(enc.finish()));
            dev.poll(wgpu::PollType::wait_indefinitely()).unwrap();
            if rep > 0 {
                best = best.min(t0.elapsed().as_secs_f64());
            } else {
                eprintln!("first {:.0} ms", t0.elapsed().as_secs_f64() * 1e3);
            }
            if rep == 0 {
                rb.slice(..).map_async(wgpu::MapMode::Read, |_| {});
                dev.poll(wgpu::PollType::wait_indefinitely()).unwrap();
                out = bytemuck::cast_slice::<u8, f32>(&rb.slice(..).get_mapped_range().unwrap())
                    .to_vec();
                rb.unmap();
            }
        }
        let mut maxerr = 0f32;
        for i in 0..m {
            for j in 0..n {
                let mut s = 0f64;
                for kk in 0..k {
                    let av = if tra { a[kk * m + i] } else { a[i * k + kk] };
                    let bv = if trb { b[j * k + kk] } else { b[kk * n + j] };
                    s += av as f64 * bv as f64;
                }
                maxerr = maxerr.max((out[i * n + j] as f64 - s).abs() as f32);
            }
        }
        let gf = 2.0 * (m * n * k) as f64 / best / 1e9;
        println!(
            "{m}x{n}x{k} {}{}: {:.3} ms {:.2} GFLOP/s maxerr {maxerr:.2e}",
            if tra { "Aᵀ" } else { "" },
            if trb { "Bᵀ" } else { "" },
            best * 1e3,
            gf
        );
    }
}
