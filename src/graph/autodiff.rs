//! Reverse-mode autodiff: appends the backward nodes of a graph's loss terms.
//!
//! Every op's gradient rule is one arm of `backward_of`'s exhaustive match,
//! so a new op without one does not compile. Where a tensor feeds several ops
//! its gradient contributions are summed with `Add` nodes. Gradients flow to
//! the root of a reshape (same memory, same element order).

use std::collections::HashMap;

use super::{Graph, Node, Op, TensorId, TensorKind};
use crate::error::{Error, Result};
use crate::kernels::activations::Activation;
use crate::kernels::matmul::MatmulShape;

/// Gradient bookkeeping during the reverse sweep.
struct Sweep {
    requires_grad: Vec<bool>,
    contributions: HashMap<TensorId, Vec<TensorId>>,
}

impl Sweep {
    fn needs(&self, g: &Graph, t: TensorId) -> bool {
        self.requires_grad[g.root(t).0]
    }

    fn contribute(&mut self, g: &Graph, t: TensorId, grad: TensorId) {
        if self.needs(g, t) {
            self.contributions.entry(g.root(t)).or_default().push(grad);
        }
    }

    /// The summed gradient of `t`, if anything contributed one.
    fn total(&mut self, g: &mut Graph, t: TensorId) -> Option<TensorId> {
        let parts = self.contributions.remove(&g.root(t))?;
        let mut sum = parts[0];
        for &p in &parts[1..] {
            let shape = g.shape(sum).to_vec();
            sum = g.push(Op::Add, &[sum, p], &[shape])[0];
        }
        Some(sum)
    }
}

/// Append the backward graph of `g`'s loss terms (each seeded with gradient 1)
/// and return (parameter, gradient) for every parameter the losses depend on.
/// The gradients are marked as outputs so they live until the optimizer runs.
pub fn backward(g: &mut Graph) -> Result<Vec<(TensorId, TensorId)>> {
    if g.losses.is_empty() {
        return Err(Error::Invalid(
            "autodiff: the graph has no loss term".into(),
        ));
    }
    let mut requires_grad: Vec<bool> = g
        .tensors
        .iter()
        .map(|t| matches!(t.kind, TensorKind::Param(_)))
        .collect();
    for node in &g.nodes {
        let any = node.inputs.iter().any(|&i| requires_grad[g.root(i).0]);
        for &o in &node.outputs {
            requires_grad[o.0] = any;
        }
    }
    for (i, t) in g.tensors.iter().enumerate() {
        if let Some(root) = t.alias_of {
            requires_grad[i] = requires_grad[root.0];
        }
    }
    let mut sweep = Sweep {
        requires_grad,
        contributions: HashMap::new(),
    };
    let forward: Vec<Node> = g.nodes.clone();
    for node in forward.iter().rev() {
        let upstream: Vec<Option<TensorId>> =
            node.outputs.iter().map(|&o| sweep.total(g, o)).collect();
        if !node.op.is_loss() && upstream.iter().all(Option::is_none) {
            continue;
        }
        backward_of(g, &mut sweep, node, &upstream)?;
    }
    let mut grads = Vec::new();
    for (param, _, _) in g.params() {
        if let Some(grad) = sweep.total(g, param) {
            g.mark_output(grad);
            grads.push((param, grad));
        }
    }
    Ok(grads)
}

/// The gradient of a fused ReLU: dy masked where the output was 0.
fn unfuse_relu(g: &mut Graph, relu: bool, y: TensorId, dy: TensorId) -> TensorId {
    if !relu {
        return dy;
    }
    let shape = g.shape(y).to_vec();
    g.push(Op::ActivationBackward(Activation::Relu), &[y, dy], &[shape])[0]
}

/// A new output of the node whose first output is `out`, named after the
/// node and the output's place (`bce_loss#3.1`): how a loss kernel that
/// also computes its gradients gets them into the graph.
fn extra_output(g: &mut Graph, out: TensorId, shape: Vec<usize>) -> TensorId {
    let k = g.nodes.iter().position(|n| n.outputs[0] == out).unwrap();
    let name = format!("{}#{k}.{}", g.nodes[k].op.name(), g.nodes[k].outputs.len());
    let t = g.add_tensor(name, shape, TensorKind::Computed);
    g.nodes[k].outputs.push(t);
    t
}

/// Emit the gradient nodes of one node, given the gradients of its outputs.
fn backward_of(
    g: &mut Graph,
    s: &mut Sweep,
    node: &Node,
    upstream: &[Option<TensorId>],
) -> Result<()> {
    let ins = &node.inputs;
    let out = node.outputs[0];
    let dy = || upstream[0].expect("upstream gradient of a non-loss node");
    match &node.op {
        Op::Dense { relu } => {
            let g1 = unfuse_relu(g, *relu, out, dy());
            let (x, w) = (ins[0], ins[1]);
            let (n, i, o) = (g.shape(x)[0], g.shape(x)[1], g.shape(w)[0]);
            if s.needs(g, x) {
                let shape = MatmulShape {
                    m: n,
                    n: i,
                    k: o,
                    trans_a: false,
                    trans_b: false,
                };
                let dx = g.push(Op::MatMul(shape), &[g1, w], &[vec![n, i]])[0];
                s.contribute(g, x, dx);
            }
            if s.needs(g, w) {
                let shape = MatmulShape {
                    m: o,
                    n: i,
                    k: n,
                    trans_a: true,
                    trans_b: false,
                };
                let dw = g.push(Op::MatMul(shape), &[g1, x], &[vec![o, i]])[0];
                s.contribute(g, w, dw);
            }
            if let Some(&b) = ins.get(2) {
                let db = g.push(Op::SumAxes(n, o, 1), &[g1], &[vec![o]])[0];
                s.contribute(g, b, db);
            }
        }
        Op::Conv2d { shape, relu } => {
            let g1 = unfuse_relu(g, *relu, out, dy());
            let (x, w) = (ins[0], ins[1]);
            if s.needs(g, x) {
                let xs = g.shape(x).to_vec();
                let dx = g.push(Op::Conv2dBackwardInput(*shape), &[g1, w], &[xs])[0];
                s.contribute(g, x, dx);
            }
            if s.needs(g, w) {
                let ws = g.shape(w).to_vec();
                let dw = g.push(Op::Conv2dBackwardWeight(*shape), &[x, g1], &[ws])[0];
                s.contribute(g, w, dw);
            }
            if let Some(&b) = ins.get(2) {
                let dims = (shape.n, shape.d, shape.ho() * shape.wo());
                let db = g.push(Op::SumAxes(dims.0, dims.1, dims.2), &[g1], &[vec![shape.d]])[0];
                s.contribute(g, b, db);
            }
        }
        Op::ConvTranspose2d { shape, relu } => {
            // The transposed convolution is conv2d's input gradient, so its own
            // input gradient is a conv2d forward and its weight gradient a
            // conv2d weight gradient with x and dy swapped.
            let g1 = unfuse_relu(g, *relu, out, dy());
            let (x, w) = (ins[0], ins[1]);
            let conv = shape.as_conv();
            if s.needs(g, x) {
                let xs = g.shape(x).to_vec();
                let dx = g.push(
                    Op::Conv2d {
                        shape: conv,
                        relu: false,
                    },
                    &[g1, w],
                    &[xs],
                )[0];
                s.contribute(g, x, dx);
            }
            if s.needs(g, w) {
                let ws = g.shape(w).to_vec();
                let dw = g.push(Op::Conv2dBackwardWeight(conv), &[g1, x], &[ws])[0];
                s.contribute(g, w, dw);
            }
            if let Some(&b) = ins.get(2) {
                let db = g.push(
                    Op::SumAxes(shape.n, shape.d, shape.ho() * shape.wo()),
                    &[g1],
                    &[vec![shape.d]],
                )[0];
                s.contribute(g, b, db);
            }
        }
        Op::Activation(act) => {
            let shape = g.shape(out).to_vec();
            let dx = g.push(Op::ActivationBackward(*act), &[out, dy()], &[shape])[0];
            s.contribute(g, ins[0], dx);
        }
        Op::Add => {
            let d = dy();
            s.contribute(g, ins[0], d);
            s.contribute(g, ins[1], d);
        }
        Op::Reparam { .. } => {
            // ∂z/∂μ = 1: dz flows to μ unchanged.
            let Some(dz) = upstream[0] else { return Ok(()) };
            let (mu, logvar, eps) = (ins[0], ins[1], node.outputs[1]);
            s.contribute(g, mu, dz);
            if s.needs(g, logvar) {
                let shape = g.shape(logvar).to_vec();
                let dlv = g.push(Op::ReparamBackward, &[dz, logvar, eps], &[shape])[0];
                s.contribute(g, logvar, dlv);
            }
        }
        Op::BceLoss => {
            if s.needs(g, ins[1]) {
                return Err(Error::Invalid(
                    "autodiff: the BCE target must not depend on parameters".into(),
                ));
            }
            // The gradient comes out of the loss's own kernel, which has
            // logits and target loaded anyway: a second output of its node.
            let shape = g.shape(ins[0]).to_vec();
            let dl = extra_output(g, out, shape);
            s.contribute(g, ins[0], dl);
        }
        Op::KlLoss => {
            // As BCE's: the gradients come out of the loss's own kernel, as
            // its second and third outputs.
            let shape = g.shape(ins[0]).to_vec();
            for &input in &ins[..2] {
                let d = extra_output(g, out, shape.clone());
                s.contribute(g, input, d);
            }
        }
        Op::MatMul(_)
        | Op::SumAxes(..)
        | Op::ActivationBackward(_)
        | Op::Conv2dBackwardInput(_)
        | Op::Conv2dBackwardWeight(_)
        | Op::ReparamBackward => {
            return Err(Error::Invalid(format!(
                "autodiff: {} is a backward op; second-order gradients are not supported",
                node.op.name()
            )))
        }
    }
    Ok(())
}
