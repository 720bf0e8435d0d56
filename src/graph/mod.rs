//! Models as graphs of ops, and the passes that turn them into a replayable step:
//! build ([`Graph`]) → autodiff ([`autodiff`]) → plan ([`plan`]) → record ([`exec`]).
//! Only the last pass touches wgpu.
//!
//! Shapes are checked when an op is added; errors name the op and the shapes.
//!
//! ```
//! use latent_engine::graph::{autodiff, plan, Graph};
//!
//! let mut g = Graph::new();
//! let x = g.input("x", &[8, 4]);
//! let w = g.param("fc.weight", &[2, 4]);
//! let b = g.param("fc.bias", &[2]);
//! let logits = g.dense(x, w, Some(b), false)?;
//! let target = g.input("target", &[8, 2]);
//! g.bce_loss(logits, target)?;
//! let grads = autodiff::backward(&mut g)?; // appends the backward nodes
//! assert_eq!(grads.len(), 2);
//! let p = plan::plan(&g); // buffers shared by tensors never live together
//! assert!(plan::conflicts(&p).is_empty());
//! // A shape error names the op and the shapes.
//! let bad = g.dense(x, b, None, false).unwrap_err().to_string();
//! assert!(bad.starts_with("dense:"));
//! # Ok::<(), latent_engine::Error>(())
//! ```

pub mod autodiff;
pub mod cpu;
pub mod exec;
pub mod plan;

use crate::error::{Error, Result};
use crate::kernels::activations::Activation;
use crate::kernels::conv2d::ConvShape;
use crate::kernels::conv_transpose2d::ConvTransposeShape;
use crate::kernels::matmul::MatmulShape;

/// A tensor of a graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TensorId(pub usize);

/// Where a tensor's memory comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TensorKind {
    /// Data fed in from outside each step (a batch of images, latent codes).
    Input,
    /// A trainable parameter, by its checkpoint name (`fc1.weight`).
    Param(String),
    /// Computed by an op; its memory is planned.
    Computed,
}

/// A tensor's description.
#[derive(Clone, Debug)]
pub struct Tensor {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Where its memory comes from.
    pub kind: TensorKind,
    /// For a reshape: the tensor whose memory this one shares.
    pub alias_of: Option<TensorId>,
    /// Name for labels and errors.
    pub name: String,
}

impl Tensor {
    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// The closed set of ops. Forward ops come from the builder; the others are
/// made by autodiff. Every op's gradient is one arm of `autodiff::backward_of`.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// inputs [x (N, I), w (O, I), b (O)?] → y (N, O) = x·Wᵀ + b, then ReLU if `relu`.
    Dense {
        /// Fused ReLU.
        relu: bool,
    },
    /// inputs [x, w (D, C, K, K), b (D)?] → y; conv2d, then ReLU if `relu`.
    Conv2d {
        /// Shape.
        shape: ConvShape,
        /// Fused ReLU.
        relu: bool,
    },
    /// inputs [x, w (C, D, K, K), b (D)?] → y; transposed conv, then ReLU if `relu`.
    ConvTranspose2d {
        /// Shape.
        shape: ConvTransposeShape,
        /// Fused ReLU.
        relu: bool,
    },
    /// inputs `[x]` → y = f(x).
    Activation(Activation),
    /// inputs [a, b] → a + b.
    Add,
    /// inputs [μ, log σ²] → [z, ε]; z = μ + e^{½ log σ²}·ε, ε from the GPU generator.
    Reparam {
        /// Generator seed (the step number comes from the GPU state).
        seed: u32,
    },
    /// inputs [logits (N, D), target (N, D)] → per-image BCE-with-logits sums (N).
    /// A loss term: its total is written to the loss buffer. Autodiff gives
    /// it a second output, its gradient σ(logits) − target (N, D), made in
    /// the same pass.
    BceLoss,
    /// inputs [μ, log σ²] (N, L) → per-image KL sums (N). A loss term.
    /// Autodiff gives it two more outputs, its gradients dμ = μ and dlog σ²
    /// = ½(e^{log σ²} − 1) (N, L), made in the same pass.
    KlLoss,
    /// inputs [a, b] → op(a)·op(b).
    MatMul(MatmulShape),
    /// inputs [x (A, C, B)] → (C): Σ over A and B (bias gradients).
    SumAxes(usize, usize, usize),
    /// inputs [y, dy] → dx = dy·f'(x), from y.
    ActivationBackward(Activation),
    /// inputs [dy, w] → dx of a conv2d.
    Conv2dBackwardInput(ConvShape),
    /// inputs [x, dy] → dw of a conv2d.
    Conv2dBackwardWeight(ConvShape),
    /// inputs [dz, log σ², ε] → dlog σ².
    ReparamBackward,
}

impl Op {
    /// Whether this op is a loss term whose gradient is seeded with 1.
    pub fn is_loss(&self) -> bool {
        matches!(self, Op::BceLoss | Op::KlLoss)
    }

    /// Short name for labels.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Dense { .. } => "dense",
            Op::Conv2d { .. } => "conv2d",
            Op::ConvTranspose2d { .. } => "conv_transpose2d",
            Op::Activation(_) => "activation",
            Op::Add => "add",
            Op::Reparam { .. } => "reparam",
            Op::BceLoss => "bce_loss",
            Op::KlLoss => "kl_loss",
            Op::MatMul(_) => "matmul",
            Op::SumAxes(..) => "sum_axes",
            Op::ActivationBackward(_) => "activation_backward",
            Op::Conv2dBackwardInput(_) => "conv2d_backward_input",
            Op::Conv2dBackwardWeight(_) => "conv2d_backward_weight",
            Op::ReparamBackward => "reparam_backward",
        }
    }
}

/// One op applied to tensors.
#[derive(Clone, Debug)]
pub struct Node {
    /// The op.
    pub op: Op,
    /// Its inputs, in the op's order.
    pub inputs: Vec<TensorId>,
    /// Its outputs.
    pub outputs: Vec<TensorId>,
}

/// A model or training step as a list of nodes in execution order.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    /// Every tensor.
    pub tensors: Vec<Tensor>,
    /// Every node, in order (each input produced before it is used).
    pub nodes: Vec<Node>,
    /// Loss-term nodes' outputs, in the order of the loss buffer.
    pub losses: Vec<TensorId>,
    /// Tensors the caller reads after a run (kept alive to the end).
    pub outputs: Vec<TensorId>,
}

fn shape_err(op: &'static str, msg: String) -> Error {
    Error::Shape { op, msg }
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// The description of `t`.
    pub fn tensor(&self, t: TensorId) -> &Tensor {
        &self.tensors[t.0]
    }

    /// The shape of `t`.
    pub fn shape(&self, t: TensorId) -> &[usize] {
        &self.tensors[t.0].shape
    }

    fn add_tensor(&mut self, name: String, shape: Vec<usize>, kind: TensorKind) -> TensorId {
        self.tensors.push(Tensor {
            shape,
            kind,
            alias_of: None,
            name,
        });
        TensorId(self.tensors.len() - 1)
    }

    /// A tensor fed from outside.
    pub fn input(&mut self, name: &str, shape: &[usize]) -> TensorId {
        self.add_tensor(name.into(), shape.to_vec(), TensorKind::Input)
    }

    /// A trainable parameter named as in checkpoints; the same name gives the same tensor.
    pub fn param(&mut self, name: &str, shape: &[usize]) -> TensorId {
        let existing = self
            .tensors
            .iter()
            .position(|t| t.kind == TensorKind::Param(name.into()));
        match existing {
            Some(i) => TensorId(i),
            None => self.add_tensor(name.into(), shape.to_vec(), TensorKind::Param(name.into())),
        }
    }

    /// Every parameter: (tensor, name, shape).
    pub fn params(&self) -> Vec<(TensorId, String, Vec<usize>)> {
        self.tensors
            .iter()
            .enumerate()
            .filter_map(|(i, t)| match &t.kind {
                TensorKind::Param(name) => Some((TensorId(i), name.clone(), t.shape.clone())),
                _ => None,
            })
            .collect()
    }

    /// Append a node with outputs of the given shapes (already checked).
    pub fn push(
        &mut self,
        op: Op,
        inputs: &[TensorId],
        out_shapes: &[Vec<usize>],
    ) -> Vec<TensorId> {
        let name = op.name();
        let outputs: Vec<TensorId> = out_shapes
            .iter()
            .enumerate()
            .map(|(i, s)| {
                self.add_tensor(
                    format!("{name}#{}.{i}", self.nodes.len()),
                    s.clone(),
                    TensorKind::Computed,
                )
            })
            .collect();
        if op.is_loss() {
            self.losses.push(outputs[0]);
        }
        self.nodes.push(Node {
            op,
            inputs: inputs.to_vec(),
            outputs: outputs.clone(),
        });
        outputs
    }

    fn expect(&self, op: &'static str, what: &str, t: TensorId, shape: &[usize]) -> Result<()> {
        if self.shape(t) != shape {
            return Err(shape_err(
                op,
                format!("{what} has shape {:?}, expected {shape:?}", self.shape(t)),
            ));
        }
        Ok(())
    }

    /// y = x·Wᵀ + b (then ReLU): x (N, I), w (O, I), b (O).
    pub fn dense(
        &mut self,
        x: TensorId,
        w: TensorId,
        b: Option<TensorId>,
        relu: bool,
    ) -> Result<TensorId> {
        let (xs, ws) = (self.shape(x).to_vec(), self.shape(w).to_vec());
        if xs.len() != 2 || ws.len() != 2 || xs[1] != ws[1] {
            return Err(shape_err(
                "dense",
                format!("x {xs:?} and weight {ws:?} do not fit: need x (N, I), weight (O, I)"),
            ));
        }
        let mut inputs = vec![x, w];
        if let Some(b) = b {
            self.expect("dense", "bias", b, &[ws[0]])?;
            inputs.push(b);
        }
        Ok(self.push(Op::Dense { relu }, &inputs, &[vec![xs[0], ws[0]]])[0])
    }

    /// Conv2d (then ReLU): x (N, C, H, W), w (D, C, K, K), b (D).
    pub fn conv2d(
        &mut self,
        x: TensorId,
        w: TensorId,
        b: Option<TensorId>,
        stride: usize,
        pad: usize,
        relu: bool,
    ) -> Result<TensorId> {
        let (xs, ws) = (self.shape(x).to_vec(), self.shape(w).to_vec());
        if xs.len() != 4 || ws.len() != 4 || xs[1] != ws[1] || ws[2] != ws[3] {
            return Err(shape_err("conv2d", format!("x {xs:?} and weight {ws:?} do not fit: need x (N, C, H, W), weight (D, C, K, K)")));
        }
        let shape = ConvShape::new((xs[0], xs[1], xs[2], xs[3]), ws[0], ws[2], stride, pad)?;
        let mut inputs = vec![x, w];
        if let Some(b) = b {
            self.expect("conv2d", "bias", b, &[ws[0]])?;
            inputs.push(b);
        }
        let out = vec![xs[0], ws[0], shape.ho(), shape.wo()];
        Ok(self.push(Op::Conv2d { shape, relu }, &inputs, &[out])[0])
    }

    /// ConvTranspose2d (then ReLU): x (N, C, H, W), w (C, D, K, K), b (D).
    pub fn conv_transpose2d(
        &mut self,
        x: TensorId,
        w: TensorId,
        b: Option<TensorId>,
        stride: usize,
        pad: usize,
        relu: bool,
    ) -> Result<TensorId> {
        let (xs, ws) = (self.shape(x).to_vec(), self.shape(w).to_vec());
        if xs.len() != 4 || ws.len() != 4 || xs[1] != ws[0] || ws[2] != ws[3] {
            return Err(shape_err("conv_transpose2d", format!("x {xs:?} and weight {ws:?} do not fit: need x (N, C, H, W), weight (C, D, K, K)")));
        }
        let shape =
            ConvTransposeShape::new((xs[0], xs[1], xs[2], xs[3]), ws[1], ws[2], stride, pad)?;
        let mut inputs = vec![x, w];
        if let Some(b) = b {
            self.expect("conv_transpose2d", "bias", b, &[ws[1]])?;
            inputs.push(b);
        }
        let out = vec![xs[0], ws[1], shape.ho(), shape.wo()];
        Ok(self.push(Op::ConvTranspose2d { shape, relu }, &inputs, &[out])[0])
    }

    /// y = f(x), elementwise.
    pub fn activation(&mut self, x: TensorId, act: Activation) -> TensorId {
        let s = self.shape(x).to_vec();
        self.push(Op::Activation(act), &[x], &[s])[0]
    }

    /// ReLU.
    pub fn relu(&mut self, x: TensorId) -> TensorId {
        self.activation(x, Activation::Relu)
    }

    /// Sigmoid.
    pub fn sigmoid(&mut self, x: TensorId) -> TensorId {
        self.activation(x, Activation::Sigmoid)
    }

    /// a + b (same shapes).
    pub fn add(&mut self, a: TensorId, b: TensorId) -> Result<TensorId> {
        let s = self.shape(a).to_vec();
        self.expect("add", "b", b, &s)?;
        Ok(self.push(Op::Add, &[a, b], &[s])[0])
    }

    /// The same memory seen with another shape of the same size (no copy).
    pub fn reshape(&mut self, x: TensorId, shape: &[usize]) -> Result<TensorId> {
        let t = self.tensor(x);
        if t.numel() != shape.iter().product::<usize>() {
            return Err(shape_err(
                "reshape",
                format!(
                    "{:?} has {} elements, {shape:?} has {}",
                    t.shape,
                    t.numel(),
                    shape.iter().product::<usize>()
                ),
            ));
        }
        let root = t.alias_of.unwrap_or(x);
        let kind = t.kind.clone();
        let id = self.add_tensor(format!("{}.reshape", t.name), shape.to_vec(), kind);
        self.tensors[id.0].alias_of = Some(root);
        Ok(id)
    }

    /// z = μ + e^{½ log σ²}·ε with ε drawn on the GPU; returns z.
    pub fn reparam(&mut self, mu: TensorId, logvar: TensorId, seed: u32) -> Result<TensorId> {
        let s = self.shape(mu).to_vec();
        self.expect("reparam", "logvar", logvar, &s)?;
        Ok(self.push(Op::Reparam { seed }, &[mu, logvar], &[s.clone(), s])[0])
    }

    /// Σ BCE-with-logits(logits, target) as a loss term; returns the per-image sums.
    pub fn bce_loss(&mut self, logits: TensorId, target: TensorId) -> Result<TensorId> {
        let s = self.shape(logits).to_vec();
        if self.tensor(target).numel() != self.tensor(logits).numel() || s.is_empty() {
            return Err(shape_err(
                "bce_loss",
                format!(
                    "logits {s:?} and target {:?} differ in size",
                    self.shape(target)
                ),
            ));
        }
        Ok(self.push(Op::BceLoss, &[logits, target], &[vec![s[0]]])[0])
    }

    /// Σ KL(N(μ, σ²) ‖ N(0, I)) as a loss term; returns the per-image sums.
    pub fn kl_loss(&mut self, mu: TensorId, logvar: TensorId) -> Result<TensorId> {
        let s = self.shape(mu).to_vec();
        self.expect("kl_loss", "logvar", logvar, &s)?;
        if s.len() != 2 {
            return Err(shape_err("kl_loss", format!("μ must be (N, L), got {s:?}")));
        }
        Ok(self.push(Op::KlLoss, &[mu, logvar], &[vec![s[0]]])[0])
    }

    /// Keep `t` alive to the end of a run so the caller can read it.
    pub fn mark_output(&mut self, t: TensorId) {
        if !self.outputs.contains(&t) {
            self.outputs.push(t);
        }
    }

    /// The tensor whose memory `t` uses (itself unless it is a reshape).
    pub fn root(&self, t: TensorId) -> TensorId {
        self.tensors[t.0].alias_of.unwrap_or(t)
    }
}
