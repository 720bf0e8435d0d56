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
