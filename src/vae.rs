//! Using a trained VAE: encode, decode, sample, reconstruct, interpolate.
//!
//! Each call builds a forward-only executor for its batch (pipelines are
//! cached by the context), runs it, and reads the result back. Work is split
//! into chunks of at most [`CHUNK`] images.

use crate::buffers::GpuSlice;
use crate::checkpoint::Checkpoint;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::graph::exec::{ExecOptions, Executor, ParamStore};
use crate::graph::Graph;
use crate::model::ModelConfig;
use crate::rng::Rng;

/// Largest batch one forward pass takes.
pub const CHUNK: usize = 1000;

/// A trained model on the GPU.
pub struct Vae<'a> {
    ctx: &'a Context,
    /// Its configuration.
    pub config: ModelConfig,
    params: ParamStore,
    state: GpuSlice,
}

impl<'a> Vae<'a> {
    /// Upload a checkpoint's parameters.
    pub fn new(ctx: &'a Context, ck: &Checkpoint) -> Self {
        let values: Vec<Vec<f32>> = ck.params.iter().map(|p| p.2.clone()).collect();
        let params = ParamStore::from_values(ctx, &ck.config.param_specs(), &values, None);
        Self {
            ctx,
            config: ck.config.clone(),
            params,
            state: ctx.zeros("state", 2),
        }
    }

    /// Run `build` on a fresh graph with an input of (n, width), feed `input`,
    /// and read back the tensors it returns.
    fn run(
        &self,
        input: &[f32],
        width: usize,
        build: impl Fn(&mut Graph, crate::graph::TensorId) -> Result<Vec<crate::graph::TensorId>>,
    ) -> Result<Vec<Vec<f32>>> {
        if width == 0 || !input.len().is_multiple_of(width) {
            return Err(Error::Invalid(format!(
                "input of {} values is not a whole number of rows of {width}",
                input.len()
            )));
        }
        let n = input.len() / width;
        let mut outs: Vec<Vec<f32>> = Vec::new();
        for start in (0..n).step_by(CHUNK) {
            let rows = (n - start).min(CHUNK);
            let mut g = Graph::new();
            let x = g.input("input", &[rows, width]);
            let results = build(&mut g, x)?;
            for &r in &results {
                g.mark_output(r);
            }
            let xb = self
                .ctx
                .upload("input", &input[start * width..(start + rows) * width]);
            let opts = ExecOptions {
                params: &self.params,
                state: &self.state,
                inputs: [(x, xb)].into_iter().collect(),
                prologue: vec![],
                train: None,
            };
            let exec = Executor::new(self.ctx, g, opts)?;
            exec.run_steps(self.ctx, 1);
            if outs.is_empty() {
                outs = vec![Vec::new(); results.len()];
            }
            for (k, &r) in results.iter().enumerate() {
                outs[k].extend(self.ctx.download::<f32>(exec.buf(r))?);
            }
        }
        Ok(outs)
    }

    /// Latent means and log-variances of `images` (N, D): two (N, L) arrays.
    pub fn encode(&self, images: &[f32]) -> Result<(Vec<f32>, Vec<f32>)> {
        let mut r = self.run(images, self.config.dim(), |g, x| {
            let (mu, lv) = self.config.encoder(g, x)?;
            Ok(vec![mu, lv])
        })?;
        let lv = r.pop().unwrap_or_default();
        let mu = r.pop().unwrap_or_default();
        Ok((mu, lv))
    }

    /// Pixel probabilities (N, D) decoded from latent codes `z` (N, L).
    pub fn decode(&self, z: &[f32]) -> Result<Vec<f32>> {
        let mut r = self.run(z, self.config.latent, |g, z| {
            let logits = self.config.decoder(g, z)?;
            Ok(vec![g.sigmoid(logits)])
        })?;
        Ok(r.pop().unwrap_or_default())
    }

    /// `n` new images decoded from z ~ N(0, I) drawn with `seed`.
    pub fn sample(&self, n: usize, seed: u64) -> Result<Vec<f32>> {
        let z = normal_vec(n * self.config.latent, seed);
        self.decode(&z)
    }

    /// Images encoded (μ) and decoded again.
    pub fn reconstruct(&self, images: &[f32]) -> Result<Vec<f32>> {
        let (mu, _) = self.encode(images)?;
        self.decode(&mu)
    }

    /// `steps` images along the straight line between the latent means of `a` and `b`.
    pub fn interpolate(&self, a: &[f32], b: &[f32], steps: usize) -> Result<Vec<f32>> {
        let (mu, _) = self.encode(&[a, b].concat())?;
        let l = self.config.latent;
        let mut z = Vec::with_capacity(steps * l);
        for s in 0..steps {
            let t = if steps == 1 {
                0.0
            } else {
                s as f32 / (steps - 1) as f32
            };
            z.extend((0..l).map(|j| (1.0 - t) * mu[j] + t * mu[l + j]));
        }
        self.decode(&z)
    }
}

impl Vae<'_> {
    /// Run `build` on an input that lives in the host's `input` buffer
    /// (`n × width` f32 from offset 0, STORAGE usage) and copy the result into
    /// the host's `out` buffer (COPY_DST usage) on the GPU: no CPU round trip.
    fn run_on_buffers(
        &self,
        input: &wgpu::Buffer,
        width: usize,
        n: usize,
        out: &wgpu::Buffer,
        out_width: usize,
        build: impl Fn(&mut Graph, crate::graph::TensorId) -> Result<crate::graph::TensorId>,
    ) -> Result<()> {
        let need_in = (n * width * 4) as u64;
        let need_out = (n * out_width * 4) as u64;
        if !input.usage().contains(wgpu::BufferUsages::STORAGE) || input.size() < need_in {
            return Err(Error::Invalid(format!(
                "the input buffer needs STORAGE usage and {need_in} bytes (it has {:?}, {} bytes)",
                input.usage(),
                input.size()
            )));
        }
        if !out.usage().contains(wgpu::BufferUsages::COPY_DST) || out.size() < need_out {
            return Err(Error::Invalid(format!(
                "the output buffer needs COPY_DST usage and {need_out} bytes (it has {:?}, {} bytes)",
                out.usage(),
                out.size()
            )));
        }
        let mut g = Graph::new();
        let x = g.input("host input", &[n, width]);
        let result = build(&mut g, x)?;
        g.mark_output(result);
        let host = GpuSlice {
            buffer: input.clone(),
            offset: 0,
            len: n * width,
        };
        let opts = ExecOptions {
            params: &self.params,
            state: &self.state,
            inputs: [(x, host)].into_iter().collect(),
            prologue: vec![],
            train: None,
        };
        let exec = Executor::new(self.ctx, g, opts)?;
        let mut encoder = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("vae on host buffers"),
            });
        self.ctx.record(&mut encoder, "vae", &exec.dispatches);
        let r = exec.buf(result);
        encoder.copy_buffer_to_buffer(&r.buffer, r.offset, out, 0, need_out);
        self.ctx.submit(encoder);
        self.ctx.check()
    }

    /// Decode `n` latent codes from the host's `z` buffer ((n, L) f32, STORAGE
    /// usage) into pixel probabilities in the host's `out` buffer ((n, D) f32,
    /// COPY_DST usage). Everything stays on the GPU; the work is submitted to
    /// the queue and ordered before anything the host submits after it.
    pub fn decode_buffers(&self, z: &wgpu::Buffer, out: &wgpu::Buffer, n: usize) -> Result<()> {
        self.run_on_buffers(z, self.config.latent, n, out, self.config.dim(), |g, z| {
            let logits = self.config.decoder(g, z)?;
            Ok(g.sigmoid(logits))
        })
    }

    /// Encode `n` images from the host's `images` buffer ((n, D) f32 in [0, 1],
    /// STORAGE usage) into their latent means in the host's `mu` buffer ((n, L)
    /// f32, COPY_DST usage), on the GPU.
    pub fn encode_buffers(&self, images: &wgpu::Buffer, mu: &wgpu::Buffer, n: usize) -> Result<()> {
        self.run_on_buffers(
            images,
            self.config.dim(),
            n,
            mu,
            self.config.latent,
            |g, x| Ok(self.config.encoder(g, x)?.0),
        )
    }

    /// Decode `n` samples of the prior, drawn on the GPU with `seed`, into the
    /// host's `out` buffer ((n, D) f32, COPY_DST usage). No data crosses to the CPU.
    pub fn sample_buffers(&self, out: &wgpu::Buffer, n: usize, seed: u32) -> Result<()> {
        let l = self.config.latent;
        let zeros = self.ctx.zeros("zeros", n * l);
        let (eps, z) = (self.ctx.zeros("eps", n * l), self.ctx.zeros("z", n * l));
        let draw = crate::kernels::vae::reparam_forward(
            self.ctx,
            &zeros,
            &zeros,
            &self.state,
            &eps,
            &z,
            seed,
        )?;
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        self.ctx.record(&mut encoder, "sample", &[draw]);
        self.ctx.submit(encoder);
        self.decode_buffers(&z.buffer, out, n)
    }
}

/// `n` standard normal values from `seed` (Box–Muller on the CPU).
pub fn normal_vec(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| {
            let u1 = 1.0 - rng.uniform();
            let u2 = rng.uniform();
            ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
        })
        .collect()
}
