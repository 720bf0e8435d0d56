//! The executor: turns a planned graph into buffers, bind groups and
//! dispatches once, then records and submits them every step.

use std::collections::HashMap;

use super::plan::{self, Plan};
use super::{Graph, Node, Op, TensorId, TensorKind};
use crate::buffers::{Dispatch, GpuSlice};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::kernels::adam::{self, AdamConfig};
use crate::kernels::matmul::MatmulShape;
use crate::kernels::{activations, conv2d, conv_transpose2d, data, matmul, reduce, vae};
use crate::rng::Rng;

/// Elements between two loss values in the loss buffer: 256 bytes, the
/// storage-offset alignment, so each loss is its own binding.
pub const LOSS_STRIDE: usize = 64;

/// Parameters with their Adam moments, on the GPU, in a fixed order.
#[derive(Debug)]
pub struct ParamStore {
    /// Checkpoint names, e.g. `fc1.weight`.
    pub names: Vec<String>,
    /// PyTorch shapes.
    pub shapes: Vec<Vec<usize>>,
    /// Values.
    pub values: Vec<GpuSlice>,
    /// Adam's first moments.
    pub m: Vec<GpuSlice>,
    /// Adam's second moments.
    pub v: Vec<GpuSlice>,
}

impl ParamStore {
    /// Parameters initialised as PyTorch does, U(−1/√fan_in, 1/√fan_in), from `seed`;
    /// `specs` are (name, shape, fan_in).
    pub fn init(ctx: &Context, specs: &[(String, Vec<usize>, usize)], seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let values: Vec<Vec<f32>> = specs
            .iter()
            .map(|(_, shape, fan_in)| {
                let bound = 1.0 / (*fan_in as f64).sqrt();
                let n = shape.iter().product();
                (0..n).map(|_| rng.range(-bound, bound) as f32).collect()
            })
            .collect();
        Self::from_values(ctx, specs, &values, None)
    }

    /// Parameters from given values (and Adam moments, zero when None).
    pub fn from_values(
        ctx: &Context,
        specs: &[(String, Vec<usize>, usize)],
        values: &[Vec<f32>],
        moments: Option<&crate::checkpoint::Moments>,
    ) -> Self {
        let upload = |label: &str, v: &[f32]| ctx.upload(label, v);
        Self {
            names: specs.iter().map(|s| s.0.clone()).collect(),
            shapes: specs.iter().map(|s| s.1.clone()).collect(),
            values: specs
                .iter()
                .zip(values)
                .map(|(s, v)| upload(&s.0, v))
                .collect(),
            m: match moments {
                Some((m, _)) => m.iter().map(|v| upload("adam m", v)).collect(),
                None => specs
                    .iter()
                    .map(|s| ctx.zeros("adam m", s.1.iter().product()))
                    .collect(),
            },
            v: match moments {
                Some((_, v)) => v.iter().map(|v| upload("adam v", v)).collect(),
                None => specs
                    .iter()
                    .map(|s| ctx.zeros("adam v", s.1.iter().product()))
                    .collect(),
            },
        }
    }

    /// Parameters for every `Param` tensor of `graph`, initialised as PyTorch
    /// does: U(−1/√fan_in, 1/√fan_in), where a weight's fan_in is the product of
    /// its dimensions after the first, and a bias `x.bias` uses the fan_in of `x.weight`.
    pub fn init_for_graph(ctx: &Context, graph: &Graph, seed: u64) -> Self {
        let params = graph.params();
        let fan_in = |shape: &[usize]| shape[1..].iter().product::<usize>().max(1);
        let specs: Vec<(String, Vec<usize>, usize)> = params
            .iter()
            .map(|(_, name, shape)| {
                let weight = name.strip_suffix(".bias").map(|p| format!("{p}.weight"));
                let from_weight = weight
                    .and_then(|w| params.iter().find(|(_, n, _)| *n == w))
                    .map(|(_, _, s)| fan_in(s));
                (
                    name.clone(),
                    shape.clone(),
                    from_weight.unwrap_or_else(|| fan_in(shape)),
                )
            })
            .collect();
        Self::init(ctx, &specs, seed)
    }

    /// Index of parameter `name`.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// Bytes of values and moments.
    pub fn bytes(&self) -> u64 {
        self.values.iter().map(|v| v.bytes()).sum::<u64>() * 3
    }
}

/// A graph made ready to run: every buffer, bind group and dispatch exists.
pub struct Executor {
    /// The graph, backward nodes included.
    pub graph: Graph,
    /// Its buffer plan.
    pub plan: Plan,
    buffers: Vec<Option<GpuSlice>>,
    slots: Vec<wgpu::Buffer>,
    /// Dispatches of one step, in order (prologue, forward, backward, optimizer).
    pub dispatches: Vec<Dispatch>,
    /// Loss sums: loss j at element j · LOSS_STRIDE, added to on every step.
    pub loss: GpuSlice,
    /// Matmul operands that reused a packed copy made earlier in the step.
    pub packs_reused: usize,
}

/// What an executor needs besides its graph.
pub struct ExecOptions<'a> {
    /// The parameters the graph's `Param` tensors bind to (by name).
    pub params: &'a ParamStore,
    /// The step state buffer (2 × u32) that the generator and Adam read.
    pub state: &'a GpuSlice,
    /// Buffers for `Input` tensors the caller owns; others are allocated.
    pub inputs: HashMap<TensorId, GpuSlice>,
    /// Dispatches to run first every step (e.g. gathering the batch).
    pub prologue: Vec<Dispatch>,
    /// Train: append Adam for every parameter gradient, then advance the state.
    pub train: Option<TrainSpec>,
}

/// What a training executor appends after the backward pass.
pub struct TrainSpec {
    /// Adam's settings.
    pub adam: AdamConfig,
    /// (parameter, gradient) pairs from [`super::autodiff::backward`].
    pub grads: Vec<(TensorId, TensorId)>,
    /// Images per step, by which the batch position advances.
    pub batch: usize,
}

impl Executor {
    /// Plan `graph`, allocate its slots and make every dispatch.
    pub fn new(ctx: &Context, graph: Graph, opts: ExecOptions) -> Result<Self> {
        // Every tensor must fit one binding: check before allocating anything.
        let max_binding = ctx.limits.max_storage_buffer_binding_size;
        for t in &graph.tensors {
            if t.numel() as u64 * 4 > max_binding {
                return Err(Error::Limit {
                    what: format!("tensor {} {:?}", t.name, t.shape),
                    needed: t.numel() as u64 * 4,
                    limit: max_binding,
                    hint: "use a smaller batch (--batch) or a smaller model",
                });
            }
        }
        let plan = plan::plan(&graph);
        let slots: Vec<wgpu::Buffer> = plan
            .slot_len
            .iter()
            .enumerate()
            .map(|(i, &len)| ctx.zeros(&format!("slot {i}"), len).buffer)
            .collect();
        let mut buffers: Vec<Option<GpuSlice>> = vec![None; graph.tensors.len()];
        for (i, t) in graph.tensors.iter().enumerate() {
            let root = graph.root(TensorId(i));
            let len = t.numel();
            let buffer = match &graph.tensor(root).kind {
                TensorKind::Computed => plan.slot_of[root.0].map(|s| slots[s].clone()),
                TensorKind::Param(name) => {
                    let k = opts
                        .params
                        .index(name)
                        .ok_or_else(|| Error::Invalid(format!("no parameter named {name}")))?;
                    Some(opts.params.values[k].buffer.clone())
                }
                TensorKind::Input => {
                    let b = match opts.inputs.get(&root) {
                        Some(b) => b.buffer.clone(),
                        None => {
                            ctx.zeros(&graph.tensor(root).name, graph.tensor(root).numel())
                                .buffer
                        }
                    };
                    Some(b)
                }
            };
            buffers[i] = buffer.map(|buffer| GpuSlice {
                buffer,
                offset: 0,
                len,
            });
        }
        // Inputs allocated here are shared by their aliases: fix the alias entries.
        for i in 0..graph.tensors.len() {
            let root = graph.root(TensorId(i));
            if root.0 != i {
                if let (Some(r), Some(b)) = (buffers[root.0].clone(), buffers[i].as_mut()) {
                    b.buffer = r.buffer;
                }
            }
        }
        let loss = ctx.zeros("loss", graph.losses.len().max(1) * LOSS_STRIDE);
        let mut exec = Self {
            graph,
            plan,
            buffers,
            slots,
            dispatches: opts.prologue,
            loss,
            packs_reused: 0,
        };
        let mut packs = matmul::Packs::default();
        for i in 0..exec.graph.nodes.len() {
            let node = exec.graph.nodes[i].clone();
            let ds = exec.dispatches_for(ctx, &node, opts.state, &mut packs)?;
            exec.dispatches.extend(ds);
        }
        exec.packs_reused = packs.reused;
        if let Some(TrainSpec {
            adam: cfg,
            grads,
            batch,
        }) = &opts.train
        {
            // On CPU adapters Adam reads its inputs from textures it copies
            // them into, else through uniform windows of staged copies (both
            // far cheaper on llvmpipe than storage loads; see adam.wgsl).
            let largest = grads
                .iter()
                .map(|&(p, _)| exec.graph.tensor(p).numel())
                .max();
            let textures = largest
                .filter(|_| ctx.is_software())
                .map(|n| adam::AdamTextures::new(ctx, n));
            let stage = if ctx.is_software() && textures.is_none() {
                exec.adam_stage(ctx, grads)
            } else {
                None
            };
            if textures.is_some() {
                exec.dispatches
                    .push(adam::corrections(ctx, *cfg, opts.state)?);
            }
            for (param, grad) in grads {
                let TensorKind::Param(name) = &exec.graph.tensor(*param).kind else {
                    unreachable!()
                };
                let k = opts.params.index(name).unwrap();
                let (g, p) = (exec.buf(*grad), &opts.params.values[k]);
                let (m, v) = (&opts.params.m[k], &opts.params.v[k]);
                match (&textures, &stage) {
                    (Some(t), _) if t.fit(ctx, g, opts.state, [p, m, v]) => {
                        // θ's copy from a texture matmul of this step, if
                        // any: it holds θ until this update writes it.
                        let theta = packs.texture(exec.graph.root(*param).0);
                        let d =
                            adam::update_texture(ctx, *cfg, g, opts.state, (p, m, v), t, theta)?;
                        exec.dispatches.extend(d);
                    }
                    (_, Some((stage, chunk))) if adam::staged_fits(ctx, g, p) => {
                        let ds = adam::update_staged(
                            ctx,
                            *cfg,
                            g,
                            opts.state,
                            (p, m, v),
                            stage,
                            *chunk,
                        )?;
                        exec.dispatches.extend(ds);
                    }
                    _ => {
                        let d = adam::update(ctx, *cfg, g, opts.state, p, m, v)?;
                        exec.dispatches.push(d);
                    }
                }
            }
            exec.dispatches
                .push(data::state_advance(ctx, opts.state, *batch)?);
        }
        Ok(exec)
    }

    /// Where Adam stages its copies, and how many values of each of m, v and θ
    /// at a time: the largest slot that holds no graph output and no gradient
    /// (everything else in it is dead once the graph has run), else a buffer
    /// of its own. None without parameters.
    fn adam_stage(
        &self,
        ctx: &Context,
        grads: &[(TensorId, TensorId)],
    ) -> Option<(GpuSlice, usize)> {
        let window = crate::kernels::WINDOW;
        let largest = grads
            .iter()
            .map(|&(p, _)| self.graph.tensor(p).numel())
            .max()?;
        // Up to 16 windows (1 MiB) of each at a time: larger chunks save only
        // a few pass breaks.
        let want = largest.next_multiple_of(window).min(16 * window);
        let n_nodes = self.graph.nodes.len();
        let mut busy = vec![false; self.slots.len()];
        for (t, life) in self.plan.lifetime.iter().enumerate() {
            let kept = life.is_some_and(|(_, last)| last >= n_nodes);
            let grad = grads.iter().any(|&(_, g)| self.graph.root(g).0 == t);
            if let (true, Some(s)) = (kept || grad, self.plan.slot_of[t]) {
                busy[s] = true;
            }
        }
        let free = (0..self.slots.len())
            .filter(|&s| !busy[s])
            .max_by_key(|&s| self.plan.slot_len[s]);
        if let Some(s) = free {
            let chunk = (self.plan.slot_len[s] / 3 / window * window).min(want);
            if chunk >= window {
                return Some((GpuSlice::whole(self.slots[s].clone()), chunk));
            }
        }
        Some((ctx.zeros("adam stage", 3 * want), want))
    }

    /// The buffer of tensor `t`.
    pub fn buf(&self, t: TensorId) -> &GpuSlice {
        self.buffers[t.0]
            .as_ref()
            .expect("every tensor has a buffer")
    }

    /// Bytes of the planned slots.
    pub fn planned_bytes(&self) -> u64 {
        self.plan.planned_bytes()
    }

    /// Bytes of the slot buffers actually allocated.
    pub fn slot_bytes(&self) -> u64 {
        self.slots.iter().map(|b| b.size()).sum()
    }

    /// Record `steps` steps into one encoder and submit it once.
    pub fn run_steps(&self, ctx: &Context, steps: usize) {
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("step"),
            });
        for _ in 0..steps {
            ctx.record(&mut encoder, "step", &self.dispatches);
        }
        ctx.submit(encoder);
    }

    /// Zero the loss sums.
    pub fn reset_loss(&self, ctx: &Context) {
        ctx.write(&self.loss, &vec![0f32; self.loss.len]);
    }

    /// Read the loss sums back (one readback): one value per loss term.
    pub fn read_loss(&self, ctx: &Context) -> Result<Vec<f32>> {
        let all: Vec<f32> = ctx.download(&self.loss)?;
        Ok((0..self.graph.losses.len())
            .map(|j| all[j * LOSS_STRIDE])
            .collect())
    }

    fn loss_slot(&self, j: usize) -> GpuSlice {
        GpuSlice {
            buffer: self.loss.buffer.clone(),
            offset: (j * LOSS_STRIDE * 4) as u64,
            len: 1,
        }
    }

    fn dispatches_for(
        &self,
        ctx: &Context,
        node: &Node,
        state: &GpuSlice,
        packs: &mut matmul::Packs,
    ) -> Result<Vec<Dispatch>> {
        let i = |k: usize| self.buf(node.inputs[k]);
        // Matmul operands by the tensor whose memory they are (a reshape is
        // the same values), so that packed copies are shared (see `Packs`).
        let operand = |k: usize| (self.buf(node.inputs[k]), self.graph.root(node.inputs[k]).0);
        let o = |k: usize| self.buf(node.outputs[k]);
        let bias = || node.inputs.get(2).map(|&b| self.buf(b));
        let shape = |k: usize| self.graph.shape(node.inputs[k]).to_vec();
        let d = match &node.op {
            Op::Dense { relu } => {
                let (xs, ws) = (shape(0), shape(1));
                let s = MatmulShape {
                    m: xs[0],
                    n: ws[0],
                    k: xs[1],
                    trans_a: false,
                    trans_b: true,
                };
                matmul::forward_shared(ctx, s, operand(0), operand(1), bias(), o(0), *relu, packs)?
            }
            Op::Conv2d { shape, relu } => {
                conv2d::forward(ctx, *shape, i(0), i(1), bias(), o(0), *relu)?
            }
            Op::ConvTranspose2d { shape, relu } => {
                conv_transpose2d::forward(ctx, *shape, i(0), i(1), bias(), o(0), *relu)?
            }
            Op::Activation(act) => vec![activations::forward(ctx, *act, i(0), o(0))?],
            Op::Add => vec![activations::add(ctx, i(0), i(1), o(0), 1.0, 1.0)?],
            Op::Reparam { seed } => vec![vae::reparam_forward(
                ctx,
                i(0),
                i(1),
                state,
                o(1),
                o(0),
                *seed,
            )?],
            Op::BceLoss | Op::KlLoss => {
                let j = self
                    .graph
                    .losses
                    .iter()
                    .position(|&l| l == node.outputs[0])
                    .unwrap();
                let s = shape(0);
                let per_row = s[1..].iter().product();
                let mut out = match (&node.op, node.outputs.len()) {
                    // With its gradient (autodiff's second output).
                    (Op::BceLoss, 2) => {
                        vae::bce_forward_backward(ctx, i(0), i(1), o(0), o(1), per_row)?
                    }
                    (Op::BceLoss, _) => vec![vae::bce_forward(ctx, i(0), i(1), o(0), per_row)?],
                    // With its two gradients (autodiff's outputs 1 and 2).
                    (Op::KlLoss, 3) => {
                        vae::kl_forward_backward(ctx, i(0), i(1), o(0), (o(1), o(2)), per_row)?
                    }
                    _ => vec![vae::kl_forward(ctx, i(0), i(1), o(0), per_row)?],
                };
                // The batch's row sums as one column of s[0] rows: summed
                // in order by the column kernel the step already uses for
                // bias gradients, not by the barrier tree of reduce_sum (a
                // kernel of its own to compile: 64 ms of a cold start).
                out.extend(reduce::sum_into(
                    ctx,
                    o(0),
                    &self.loss_slot(j),
                    (s[0], 1, 1),
                    1,
                    1.0,
                    true,
                )?);
                out
            }
            Op::MatMul(s) => {
                matmul::forward_shared(ctx, *s, operand(0), operand(1), None, o(0), false, packs)?
            }
            Op::SumAxes(a, c, b) => reduce::sum(ctx, i(0), o(0), (*a, *c, *b), 1, 1.0)?,
            Op::ActivationBackward(act) => activations::backward(ctx, *act, i(0), i(1), o(0))?,
            Op::Conv2dBackwardInput(s) => {
                conv2d::backward_input(ctx, *s, i(0), i(1), None, o(0), false)?
            }
            Op::Conv2dBackwardWeight(s) => conv2d::backward_weight(ctx, *s, i(0), i(1), o(0))?,
            Op::ReparamBackward => vec![vae::reparam_backward(ctx, i(0), i(1), i(2), o(0))?],
        };
        Ok(d)
    }
}
