//! A CPU interpreter of graphs built from the kernels' f64 references: the
//! specification the GPU executor is tested against, op for op.

use std::collections::HashMap;

use super::{Graph, Op, TensorId};
use crate::kernels::matmul::MatmulShape;
use crate::kernels::{activations, conv2d, conv_transpose2d, matmul, reduce, vae};

/// Run every node of `g` on the CPU. `values` must hold every input and
/// parameter (by tensor id); `noise(i)` gives ε number i of a reparam node.
/// Returns the values of every tensor (reshapes included) and the loss terms.
pub fn run(
    g: &Graph,
    mut values: HashMap<TensorId, Vec<f64>>,
    noise: &dyn Fn(usize) -> f64,
) -> (HashMap<TensorId, Vec<f64>>, Vec<f64>) {
    let mut losses = vec![0.0; g.losses.len()];
    let get = |values: &HashMap<TensorId, Vec<f64>>, t: TensorId| -> Vec<f64> {
        values
            .get(&g.root(t))
            .or_else(|| values.get(&t))
            .unwrap_or_else(|| panic!("no value for {}", g.tensor(t).name))
            .clone()
    };
    for node in &g.nodes {
        let x: Vec<Vec<f64>> = node.inputs.iter().map(|&t| get(&values, t)).collect();
        let shape = |k: usize| g.shape(node.inputs[k]).to_vec();
        let bias = x.get(2).map(|b| &b[..]);
        let outs: Vec<Vec<f64>> = match &node.op {
            Op::Dense { relu } => {
                let (xs, ws) = (shape(0), shape(1));
                let s = MatmulShape {
                    m: xs[0],
                    n: ws[0],
                    k: xs[1],
                    trans_a: false,
                    trans_b: true,
                };
                vec![matmul::reference(s, &x[0], &x[1], bias, *relu)]
            }
            Op::Conv2d { shape, relu } => {
                vec![conv2d::reference(*shape, &x[0], &x[1], bias, *relu)]
            }
            Op::ConvTranspose2d { shape, relu } => vec![conv_transpose2d::reference(
                *shape, &x[0], &x[1], bias, *relu,
            )],
            Op::Activation(act) => vec![activations::reference(*act, &x[0])],
            Op::Add => vec![x[0].iter().zip(&x[1]).map(|(a, b)| a + b).collect()],
            Op::Reparam { .. } => {
                let eps: Vec<f64> = (0..x[0].len()).map(noise).collect();
                vec![vae::reparam_reference(&x[0], &x[1], &eps), eps]
            }
            Op::BceLoss | Op::KlLoss => {
                let s = shape(0);
                let per_row: usize = s[1..].iter().product();
                let rows = if node.op == Op::BceLoss {
                    vae::bce_reference(&x[0], &x[1], per_row)
                } else {
                    vae::kl_reference(&x[0], &x[1], per_row)
                };
                let j = g.losses.iter().position(|&l| l == node.outputs[0]).unwrap();
                losses[j] = rows.iter().sum();
                let mut outs = vec![rows];
                if node.op == Op::BceLoss && node.outputs.len() == 2 {
                    // BCE's gradient, added by autodiff.
                    outs.push(vae::bce_backward_reference(&x[0], &x[1], 1.0));
                }
                if node.op == Op::KlLoss && node.outputs.len() == 3 {
                    // KL's two gradients, added by autodiff.
                    let (dmu, dlv) = vae::kl_backward_reference(&x[0], &x[1], 1.0);
                    outs.extend([dmu, dlv]);
                }
                outs
            }
            Op::MatMul(s) => vec![matmul::reference(*s, &x[0], &x[1], None, false)],
            Op::SumAxes(a, c, b) => vec![reduce::reference(&x[0], (*a, *c, *b), 1.0)],
            Op::ActivationBackward(act) => {
                vec![activations::backward_reference(*act, &x[0], &x[1])]
            }
            Op::Conv2dBackwardInput(s) => {
                // dx of a conv with dy given: the reference computes all three; take dx.
                let xs = vec![0.0; s.sizes().0];
                vec![conv2d::backward_reference(*s, &xs, &x[1], &x[0]).0]
            }
            Op::Conv2dBackwardWeight(s) => {
                let w = vec![0.0; s.sizes().1];
                vec![conv2d::backward_reference(*s, &x[0], &w, &x[1]).1]
            }
            Op::ReparamBackward => vec![vae::reparam_backward_reference(&x[0], &x[1], &x[2])],
        };
        for (&t, v) in node.outputs.iter().zip(outs) {
            values.insert(t, v);
        }
    }
    (values, losses)
}
