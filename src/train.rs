//! Training a VAE: the dataset lives on the GPU, each step gathers its batch
//! there, runs forward, backward and Adam in one recorded dispatch list, and
//! several steps go in one submit. The loss is read back once per epoch.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::buffers::GpuSlice;
use crate::checkpoint::{Checkpoint, TrainSettings};
use crate::context::Context;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::graph::autodiff;
use crate::graph::exec::{ExecOptions, Executor, ParamStore, TrainSpec};
use crate::kernels::adam::AdamConfig;
use crate::kernels::data::{self, state_advance, state_advance_checked};
use crate::model::ModelConfig;
use crate::rng::Rng;

/// Steps recorded into one submit.
pub const STEPS_PER_SUBMIT: usize = 8;

/// One epoch's figures (a row of `metrics.csv`).
#[derive(Clone, Debug, serde::Serialize)]
pub struct EpochReport {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean −ELBO per training image during the epoch (nats).
    pub train_loss: f64,
    /// Mean −ELBO per test image after the epoch (nats, one ε draw).
    pub test_loss: f64,
    /// Training images per second (upload, forward, backward, Adam, loss readback).
    pub images_per_s: f64,
    /// Seconds of training in the epoch (evaluation excluded).
    pub seconds: f64,
}

/// A dataset uploaded once, with a permutation buffer rewritten each epoch.
/// Pixels that are bytes / 255 (every loader's) are kept as bytes: a quarter
/// of the memory and of the upload (conv's 9,000 MNIST images: 7 MB, not 28).
struct GpuData {
    images: GpuSlice,
    /// Whether `images` holds packed bytes ([`data::pack_bytes`]).
    bytes: bool,
    perm: GpuSlice,
    len: usize,
}

impl GpuData {
    /// Upload `ds`, or say why it cannot fit one binding (`name`: which set).
    fn new(ctx: &Context, ds: &Dataset, name: &str) -> Result<Self> {
        let packed = data::pack_bytes(&ds.images);
        let needed = match &packed {
            Some(words) => words.len() * 4,
            None => ds.images.len() * 4,
        } as u64;
        let limit = ctx.limits.max_storage_buffer_binding_size;
        if needed > limit {
            return Err(Error::Limit {
                what: format!(
                    "the {name} set ({} images of {:?}, stored as {})",
                    ds.len(),
                    ds.shape,
                    if packed.is_some() { "bytes" } else { "f32 (its pixels are not all bytes / 255)" }
                ),
                needed,
                limit,
                hint: "the dataset must fit one GPU binding on this adapter: use fewer or smaller images, or a GPU with a larger max storage binding (see `latent devices`)",
            });
        }
        let ident: Vec<u32> = (0..ds.len() as u32).collect();
        let (images, bytes) = match packed {
            Some(words) => (ctx.upload("dataset (bytes)", &words), true),
            None => (ctx.upload("dataset", &ds.images), false),
        };
        Ok(Self {
            images,
            bytes,
            perm: ctx.upload("permutation", &ident),
            len: ds.len(),
        })
    }
}

/// A training run in progress.
///
/// ```no_run
/// use std::sync::atomic::AtomicBool;
/// use latent_engine::{checkpoint::TrainSettings, data::{Dataset, Split}, model::{Arch, ModelConfig}};
/// use latent_engine::{train::Trainer, Context, ContextOptions};
///
/// let ctx = Context::new(ContextOptions::default())?;
/// let train = Dataset::load("assets/mnist10k".as_ref(), Split::Train)?;
/// let test = Dataset::load("assets/mnist10k".as_ref(), Split::Test)?;
/// let config = ModelConfig::preset(Arch::Mlp, train.shape, None);
/// let settings = TrainSettings { batch: 128, lr: 1e-3, seed: 0, epochs: 10 };
/// let mut trainer = Trainer::new(&ctx, config, settings, &train, &test, None)?;
/// let report = trainer.train_epoch(&mut |_| {}, &AtomicBool::new(false))?.unwrap();
/// println!("test loss {:.2}", report.test_loss);
/// trainer.checkpoint()?.save("checkpoint.safetensors".as_ref())?;
/// # Ok::<(), latent_engine::Error>(())
/// ```
pub struct Trainer<'a> {
    ctx: &'a Context,
    /// The model.
    pub config: ModelConfig,
    /// Batch, learning rate, seed, epochs.
    pub settings: TrainSettings,
    /// Parameters and Adam state on the GPU.
    pub params: ParamStore,
    state: GpuSlice,
    eval_state: GpuSlice,
    train: GpuData,
    test: GpuData,
    /// (executor, batch) for full batches and the last partial one.
    steps: Vec<(Executor, usize)>,
    evals: Vec<(Executor, usize)>,
    /// Epochs completed.
    pub epoch: usize,
    step: u32,
    /// Full batches done in the current epoch (non-zero only after an interruption).
    batches_done: usize,
    /// `flag[0]`: the first step (1-based, counted over the whole run) whose loss was not finite.
    nan_flag: GpuSlice,
}

fn check_settings(s: &TrainSettings) -> Result<()> {
    if s.batch == 0 || s.epochs == 0 {
        return Err(Error::Invalid(format!(
            "batch ({}) and epochs ({}) must be at least 1",
            s.batch, s.epochs
        )));
    }
    if !(s.lr.is_finite() && s.lr > 0.0) {
        return Err(Error::Invalid(format!(
            "the learning rate must be a positive number, got {}",
            s.lr
        )));
    }
    Ok(())
}

impl<'a> Trainer<'a> {
    /// Set up a run: upload the data, initialise (or restore) the parameters and
    /// build every executor.
    pub fn new(
        ctx: &'a Context,
        config: ModelConfig,
        settings: TrainSettings,
        train: &Dataset,
        test: &Dataset,
        resume: Option<Checkpoint>,
    ) -> Result<Self> {
        config.validate()?;
        check_settings(&settings)?;
        if train.shape != config.input || test.shape != config.input {
            return Err(Error::Invalid(format!(
                "the data's images are {:?} (train) / {:?} (test) but the model expects {:?}",
                train.shape, test.shape, config.input
            )));
        }
        let specs = config.param_specs();
        let partial = resume.as_ref().and_then(|ck| ck.partial.clone());
        let (params, epoch, step) = match &resume {
            Some(ck) => {
                if ck.config != config {
                    return Err(Error::Checkpoint {
                        path: "resume".into(),
                        msg: format!("was trained with {:?}, not {:?}", ck.config, config),
                    });
                }
                let values: Vec<Vec<f32>> = ck.params.iter().map(|p| p.2.clone()).collect();
                let moments = ck.moments.as_ref();
                (
                    ParamStore::from_values(ctx, &specs, &values, moments),
                    ck.epoch,
                    ck.step,
                )
            }
            None => (ParamStore::init(ctx, &specs, settings.seed), 0, 0),
        };
        let state = ctx.upload("step state", &[step, 0u32]);
        let eval_state = ctx.upload("eval state", &[0u32, 0u32]);
        let mut t = Self {
            ctx,
            config,
            settings,
            params,
            state,
            eval_state,
            train: GpuData::new(ctx, train, "training")?,
            test: GpuData::new(ctx, test, "test")?,
            steps: Vec::new(),
            evals: Vec::new(),
            epoch,
            step,
            batches_done: 0,
            nan_flag: ctx.zeros("non-finite loss flag", 1),
        };
        let b = t.settings.batch.min(t.train.len);
        t.steps.push((t.executor(b, true)?, b));
        if let Some((batches, sums)) = partial {
            t.batches_done = batches;
            let loss = &t.steps[0].0.loss;
            let mut all = vec![0f32; loss.len];
            for (j, v) in sums.iter().enumerate() {
                all[j * crate::graph::exec::LOSS_STRIDE] = *v;
            }
            ctx.write(loss, &all);
        }
        // The partial-batch and evaluation executors are built when first
        // needed, so start-up pays only for the first training step.
        Ok(t)
    }

    /// A training (or evaluation) step for batches of `batch`.
    fn executor(&self, batch: usize, train: bool) -> Result<Executor> {
        let ctx = self.ctx;
        let (mut graph, x, ..) = self
            .config
            .training_graph(batch, self.settings.seed as u32)?;
        let x_buf = ctx.zeros("batch", batch * self.config.dim());
        let (data, state) = if train {
            (&self.train, &self.state)
        } else {
            (&self.test, &self.eval_state)
        };
        let gather = if data.bytes {
            data::gather_rows_bytes
        } else {
            data::gather_rows
        };
        let gather = gather(
            ctx,
            &data.images,
            &data.perm,
            state,
            &x_buf,
            self.config.dim(),
        )?;
        let grads = if train {
            Some(autodiff::backward(&mut graph)?)
        } else {
            None
        };
        let adam = AdamConfig {
            lr: self.settings.lr,
            ..Default::default()
        };
        let opts = ExecOptions {
            params: &self.params,
            state,
            inputs: [(x, x_buf)].into_iter().collect(),
            prologue: vec![gather],
            train: grads.map(|grads| TrainSpec { adam, grads, batch }),
        };
        let mut exec = Executor::new(ctx, graph, opts)?;
        if train {
            // The executor's last dispatch advances the state; this one also
            // checks the loss first, so the flag holds this step's number.
            let last = exec.dispatches.len() - 1;
            exec.dispatches[last] =
                state_advance_checked(ctx, state, batch, &exec.loss, &self.nan_flag)?;
        } else {
            exec.dispatches.push(state_advance(ctx, state, batch)?);
        }
        Ok(exec)
    }

    /// Bytes of GPU buffers the run holds (data, parameters, Adam state, slots).
    pub fn gpu_bytes(&self) -> u64 {
        let data = self.train.images.bytes()
            + self.train.perm.bytes()
            + self.test.images.bytes()
            + self.test.perm.bytes();
        let execs: u64 = self
            .steps
            .iter()
            .chain(&self.evals)
            .map(|(e, _)| e.slot_bytes())
            .sum();
        data + self.params.bytes() + execs
    }

    /// The full-batch training executor (for plans and counters).
    pub fn step_executor(&self) -> &Executor {
        &self.steps[0].0
    }

    /// Run `n` full-batch steps from the start of a fresh permutation (benchmarks).
    pub fn run_steps(&mut self, n: usize) -> Result<()> {
        self.ctx.write(
            &GpuSlice {
                buffer: self.state.buffer.clone(),
                offset: 4,
                len: 1,
            },
            &[0u32],
        );
        let (exec, _) = &self.steps[0];
        exec.run_steps(self.ctx, n);
        self.ctx
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(e.to_string()))?;
        self.step += n as u32;
        self.ctx.check()
    }

    /// Train one epoch, calling `progress(images done)` after each submit, and
    /// evaluate on the test set. `stop` is checked between submits: when it is
    /// set the epoch stops after the current submit and `Ok(None)` is returned;
    /// [`Trainer::checkpoint`] then saves a checkpoint that resumes mid-epoch.
    pub fn train_epoch(
        &mut self,
        progress: &mut dyn FnMut(usize),
        stop: &AtomicBool,
    ) -> Result<Option<EpochReport>> {
        let ctx = self.ctx;
        let epoch = self.epoch + 1;
        let mut perm: Vec<u32> = (0..self.train.len as u32).collect();
        Rng::new(self.settings.seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .shuffle(&mut perm);
        let started = Instant::now();
        let (b, n_full) = (self.steps[0].1, self.train.len / self.steps[0].1);
        let resumed_at = self.batches_done;
        ctx.write(&self.train.perm, &perm);
        ctx.write(
            &GpuSlice {
                buffer: self.state.buffer.clone(),
                offset: 4,
                len: 1,
            },
            &[(resumed_at * b) as u32],
        );
        if resumed_at == 0 {
            for (e, _) in &self.steps {
                e.reset_loss(ctx);
            }
        } else if let Some((tail, _)) = self.steps.get(1) {
            tail.reset_loss(ctx);
        }
        let step_before_epoch = self.step - resumed_at as u32;
        while self.batches_done < n_full {
            if stop.load(Ordering::Relaxed) {
                return Ok(None);
            }
            let k = STEPS_PER_SUBMIT.min(n_full - self.batches_done);
            self.steps[0].0.run_steps(ctx, k);
            ctx.device
                .poll(wgpu::PollType::wait_indefinitely())
                .map_err(|e| Error::Gpu(e.to_string()))?;
            ctx.check()?;
            self.batches_done += k;
            self.step += k as u32;
            progress(self.batches_done * b);
        }
        if self.steps.len() == 1 && !self.train.len.is_multiple_of(b) {
            let tail = self.train.len % b;
            let exec = self.executor(tail, true)?;
            self.steps.push((exec, tail));
        }
        if let Some((tail, _)) = self.steps.get(1) {
            tail.run_steps(ctx, 1);
            self.step += 1;
        }
        let mut total = 0.0;
        for (e, _) in &self.steps {
            total += e.read_loss(ctx)?.iter().map(|&v| v as f64).sum::<f64>();
        }
        let seconds = started.elapsed().as_secs_f64();
        progress(self.train.len);
        let train_loss = total / self.train.len as f64;
        if !train_loss.is_finite() {
            let flag: Vec<u32> = ctx.download(&self.nan_flag)?;
            let step = (flag[0] as usize)
                .saturating_sub(step_before_epoch as usize)
                .max(1);
            return Err(Error::NonFinite {
                value: train_loss as f32,
                epoch,
                step,
            });
        }
        self.batches_done = 0;
        self.epoch = epoch;
        let test_loss = self.evaluate()?;
        let images = self.train.len - resumed_at * b;
        Ok(Some(EpochReport {
            epoch,
            train_loss,
            test_loss,
            images_per_s: images as f64 / seconds,
            seconds,
        }))
    }

    /// Mean −ELBO per test image (one ε draw per image, seeded by the epoch).
    pub fn evaluate(&mut self) -> Result<f64> {
        let ctx = self.ctx;
        if self.evals.is_empty() {
            let eb = self.test.len.min(1000);
            let exec = self.executor(eb, false)?;
            self.evals.push((exec, eb));
            if !self.test.len.is_multiple_of(eb) {
                let tail = self.test.len % eb;
                let exec = self.executor(tail, false)?;
                self.evals.push((exec, tail));
            }
        }
        ctx.write(&self.eval_state, &[self.epoch as u32, 0u32]);
        let mut total = 0.0;
        for (e, batch) in &self.evals {
            e.reset_loss(ctx);
            let runs = if *batch == self.evals[0].1 {
                self.test.len / batch
            } else {
                1
            };
            e.run_steps(ctx, runs);
            total += e.read_loss(ctx)?.iter().map(|&v| v as f64).sum::<f64>();
        }
        Ok(total / self.test.len as f64)
    }

    /// Everything needed to resume: parameters, Adam moments, epoch and step.
    pub fn checkpoint(&self) -> Result<Checkpoint> {
        let ctx = self.ctx;
        let down = |v: &[GpuSlice]| -> Result<Vec<Vec<f32>>> {
            v.iter().map(|s| ctx.download(s)).collect()
        };
        let values = down(&self.params.values)?;
        let params = self
            .params
            .names
            .iter()
            .zip(&self.params.shapes)
            .zip(values)
            .map(|((n, s), v)| (n.clone(), s.clone(), v))
            .collect();
        Ok(Checkpoint {
            config: self.config.clone(),
            train: self.settings.clone(),
            epoch: self.epoch,
            step: self.step,
            partial: match self.batches_done {
                0 => None,
                n => Some((n, self.steps[0].0.read_loss(ctx)?)),
            },
            params,
            moments: Some((down(&self.params.m)?, down(&self.params.v)?)),
        })
    }
}
