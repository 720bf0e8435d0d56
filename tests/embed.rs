//! Using latent-engine as a library inside a program that owns its wgpu device.

mod common;

use latent_engine::checkpoint::{Checkpoint, TrainSettings};
use latent_engine::data::Dataset;
use latent_engine::graph::exec::{ExecOptions, Executor, ParamStore, TrainSpec};
use latent_engine::graph::{autodiff, Graph};
use latent_engine::kernels::adam::AdamConfig;
use latent_engine::model::{Arch, ModelConfig};
use latent_engine::train::Trainer;
use latent_engine::vae::Vae;
use latent_engine::Context;

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn public_types_are_send_and_sync() {
    assert_send_sync::<Context>();
    assert_send_sync::<Vae>();
    assert_send_sync::<Executor>();
    assert_send_sync::<ParamStore>();
    assert_send_sync::<Checkpoint>();
    assert_send_sync::<Graph>();
}

fn tiny_checkpoint(ctx: &Context) -> Checkpoint {
    let config = ModelConfig::preset(Arch::Mlp, (1, 6, 6), Some(3));
    let ds = Dataset {
        images: (0..16 * 36).map(|i| (i % 7) as f32 / 7.0).collect(),
        labels: vec![0; 16],
        shape: (1, 6, 6),
        classes: vec!["0".into()],
    };
    let mut t = Trainer::new(
        ctx,
        config,
        TrainSettings {
            batch: 8,
            lr: 1e-3,
            seed: 1,
            epochs: 1,
        },
        &ds,
        &ds,
        None,
    )
    .unwrap();
    t.run_steps(3).unwrap();
    t.checkpoint().unwrap()
}

/// A device made the way a host program makes one: its own instance, wgpu's default limits.
fn host_device() -> (wgpu::Device, wgpu::Queue, wgpu::AdapterInfo) {
    let ctx = common::context(); // the adapter the test suite uses
    let backends = match ctx.info.backend {
        wgpu::Backend::Gl => wgpu::Backends::GL,
        b => wgpu::Backends::from(b),
    };
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = backends;
    let instance = wgpu::Instance::new(desc);
    let adapters = pollster::block_on(instance.enumerate_adapters(backends));
    let adapter = adapters
        .into_iter()
        .find(|a| a.get_info().name == ctx.info.name)
        .expect("the test adapter");
    let (device, queue) =
        pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor::default())).unwrap();
    (device, queue, adapter.get_info())
}

#[test]
fn decoding_into_a_host_buffer_matches_decoding_to_the_cpu() {
    let (device, queue, info) = host_device();
    let ctx = Context::from_device(device.clone(), queue.clone(), info);
    let ck = tiny_checkpoint(&ctx);
    let vae = Vae::new(&ctx, &ck);
    let n = 5;
    let z: Vec<f32> = (0..n * 3).map(|i| (i as f32 * 0.37).sin()).collect();
    let want = vae.decode(&z).unwrap();

    let z_buf = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("host z"),
        size: (z.len() * 4) as u64,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    queue.write_buffer(&z_buf, 0, bytemuck::cast_slice(&z));
    let out = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("host pixels"),
        size: (want.len() * 4) as u64,
        usage: wgpu::BufferUsages::COPY_DST
            | wgpu::BufferUsages::COPY_SRC
            | wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    let readbacks = ctx.counters.snapshot().2;
    vae.decode_buffers(&z_buf, &out, n).unwrap();
    assert_eq!(
        ctx.counters.snapshot().2,
        readbacks,
        "decoding into a host buffer reads nothing back"
    );
    let got: Vec<f32> = ctx
        .download(&latent_engine::buffers::GpuSlice {
            buffer: out.clone(),
            offset: 0,
            len: want.len(),
        })
        .unwrap();
    assert_eq!(got, want);

    // Encoding the decoded images from the host's buffer gives the CPU path's means.
    let mu_buf = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("host mu"),
        size: (n * 3 * 4) as u64,
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    vae.encode_buffers(&out, &mu_buf, n).unwrap();
    let mu: Vec<f32> = ctx
        .download(&latent_engine::buffers::GpuSlice {
            buffer: mu_buf,
            offset: 0,
            len: n * 3,
        })
        .unwrap();
    assert_eq!(mu, vae.encode(&want).unwrap().0);

    // A buffer without the usage the VAE needs is refused with a clear error.
    let bad = device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: 1024,
        usage: wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });
    let err = vae.decode_buffers(&z_buf, &bad, n).unwrap_err().to_string();
    assert!(err.contains("COPY_DST"), "{err}");
}

#[test]
fn two_contexts_work_side_by_side_on_two_threads() {
    let results: Vec<Vec<f32>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let ctx = common::context();
                    let ck = tiny_checkpoint(&ctx);
                    Vae::new(&ctx, &ck).decode(&[0.1, -0.2, 0.3]).unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        results[0], results[1],
        "two contexts, same seed: same result"
    );
    assert_eq!(results[0].len(), 36);
}

#[test]
fn a_custom_graph_trains_through_the_public_api() {
    let ctx = common::context();
    let (batch, d) = (16, 12);
    let mut g = Graph::new();
    let x = g.input("x", &[batch, d]);
    let w1 = g.param("enc.weight", &[4, d]);
    let b1 = g.param("enc.bias", &[4]);
    let w2 = g.param("dec.weight", &[d, 4]);
    let b2 = g.param("dec.bias", &[d]);
    let code = g.dense(x, w1, Some(b1), true).unwrap();
    let logits = g.dense(code, w2, Some(b2), false).unwrap();
    g.bce_loss(logits, x).unwrap();
    let grads = autodiff::backward(&mut g).unwrap();
    let params = ParamStore::init_for_graph(&ctx, &g, 3);
    let state = ctx.zeros("state", 2);
    let data: Vec<f32> = (0..batch * d).map(|i| ((i * 7) % 5) as f32 / 4.0).collect();
    let xb = ctx.upload("x", &data);
    let opts = ExecOptions {
        params: &params,
        state: &state,
        inputs: [(x, xb)].into_iter().collect(),
        prologue: vec![],
        train: Some(TrainSpec {
            adam: AdamConfig {
                lr: 0.01,
                ..Default::default()
            },
            grads,
            batch,
        }),
    };
    let exec = Executor::new(&ctx, g, opts).unwrap();
    let mut losses = Vec::new();
    for _ in 0..30 {
        exec.reset_loss(&ctx);
        exec.run_steps(&ctx, 1);
        losses.push(exec.read_loss(&ctx).unwrap()[0]);
    }
    assert!(
        losses[29] < 0.9 * losses[0] && losses.windows(2).all(|w| w[1] < w[0]),
        "losses {losses:?}"
    );
}
