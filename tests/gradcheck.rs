//! Finite-difference checks, in f64, of every CPU reference backward.
//! The GPU backward kernels are checked against these references in kernels.rs.

use latent_engine::kernels::activations::{self, Activation};
use latent_engine::kernels::conv2d::{self, ConvShape};
use latent_engine::kernels::conv_transpose2d::{self, ConvTransposeShape};
use latent_engine::kernels::{matmul, vae};
use latent_engine::rng::Rng;

/// Compare `analytic` with central differences of `loss` at `x`; returns the
/// first disagreeing index with both values.
fn gradcheck(loss: impl Fn(&[f64]) -> f64, x: &[f64], analytic: &[f64]) -> Result<(), String> {
    assert_eq!(x.len(), analytic.len());
    let h = 1e-6;
    let mut xp = x.to_vec();
    for i in 0..x.len() {
        xp[i] = x[i] + h;
        let up = loss(&xp);
        xp[i] = x[i] - h;
        let down = loss(&xp);
        xp[i] = x[i];
        let numeric = (up - down) / (2.0 * h);
        let err = (numeric - analytic[i]).abs();
        if err > 1e-6 + 1e-5 * numeric.abs() {
            return Err(format!(
                "index {i}: analytic {}, numeric {numeric}",
                analytic[i]
            ));
        }
    }
    Ok(())
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// Values in [lo, hi) kept at least 0.01 away from 0, where ReLU has its kink.
fn away_from_zero(rng: &mut Rng, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    (0..n)
        .map(|_| loop {
            let v = rng.range(lo, hi);
            if v.abs() > 0.01 {
                break v;
            }
        })
        .collect()
}

#[test]
fn checker_catches_a_wrong_gradient() {
    let mut rng = Rng::new(1);
    let x = rng.vec(5, -1.0, 1.0);
    let loss = |x: &[f64]| x.iter().map(|v| v * v * v).sum::<f64>();
    let right: Vec<f64> = x.iter().map(|v| 3.0 * v * v).collect();
    assert!(gradcheck(loss, &x, &right).is_ok());
    // A classic slip: forgetting the factor of the power rule.
    let wrong: Vec<f64> = x.iter().map(|v| v * v).collect();
    assert!(gradcheck(loss, &x, &wrong).is_err());
    // Off by a little in one element only.
    let mut nearly = right.clone();
    nearly[3] *= 1.001;
    assert!(gradcheck(loss, &x, &nearly).is_err());
}

#[test]
fn dense_backward_matches_finite_differences() {
    let mut rng = Rng::new(2);
    let (n, i, o) = (3, 5, 4);
    let x = rng.vec(n * i, -1.0, 1.0);
    let w = rng.vec(o * i, -1.0, 1.0);
    let b = rng.vec(o, -1.0, 1.0);
    let dy = rng.vec(n * o, -1.0, 1.0);
    let shape = matmul::MatmulShape {
        m: n,
        n: o,
        k: i,
        trans_a: false,
        trans_b: true,
    };
    let y = |x: &[f64], w: &[f64], b: &[f64]| matmul::reference(shape, x, w, Some(b), false);
    let (dx, dw, db) = matmul::dense_backward_reference(&x, &w, &dy, n, i, o);
    gradcheck(|v| dot(&dy, &y(v, &w, &b)), &x, &dx).unwrap();
    gradcheck(|v| dot(&dy, &y(&x, v, &b)), &w, &dw).unwrap();
    gradcheck(|v| dot(&dy, &y(&x, &w, v)), &b, &db).unwrap();
}

#[test]
fn conv2d_backward_matches_finite_differences() {
    let mut rng = Rng::new(3);
    for (xs, d, k, s, p) in [
        ((2, 3, 5, 4), 2, 3, 1, 1),
        ((1, 2, 7, 6), 3, 4, 2, 1),
        ((1, 1, 6, 7), 2, 5, 2, 2),
    ] {
        let shape = ConvShape::new(xs, d, k, s, p).unwrap();
        let (nx, nw, ny) = shape.sizes();
        let x = rng.vec(nx, -1.0, 1.0);
        let w = rng.vec(nw, -1.0, 1.0);
        let b = rng.vec(d, -1.0, 1.0);
        let dy = rng.vec(ny, -1.0, 1.0);
        let y = |x: &[f64], w: &[f64], b: &[f64]| conv2d::reference(shape, x, w, Some(b), false);
        let (dx, dw, db) = conv2d::backward_reference(shape, &x, &w, &dy);
        gradcheck(|v| dot(&dy, &y(v, &w, &b)), &x, &dx).unwrap();
        gradcheck(|v| dot(&dy, &y(&x, v, &b)), &w, &dw).unwrap();
        gradcheck(|v| dot(&dy, &y(&x, &w, v)), &b, &db).unwrap();
    }
}

#[test]
fn conv_transpose2d_backward_matches_finite_differences() {
    let mut rng = Rng::new(4);
    for (xs, d, k, s, p) in [
        ((2, 3, 3, 4), 2, 3, 1, 1),
        ((1, 2, 4, 3), 3, 4, 2, 1),
        ((1, 1, 3, 2), 2, 5, 2, 2),
    ] {
        let shape = ConvTransposeShape::new(xs, d, k, s, p).unwrap();
        let (nx, nw, ny) = shape.sizes();
        let x = rng.vec(nx, -1.0, 1.0);
        let w = rng.vec(nw, -1.0, 1.0);
        let b = rng.vec(d, -1.0, 1.0);
        let dy = rng.vec(ny, -1.0, 1.0);
        let y = |x: &[f64], w: &[f64], b: &[f64]| {
            conv_transpose2d::reference(shape, x, w, Some(b), false)
        };
        let (dx, dw, db) = conv_transpose2d::backward_reference(shape, &x, &w, &dy);
        gradcheck(|v| dot(&dy, &y(v, &w, &b)), &x, &dx).unwrap();
        gradcheck(|v| dot(&dy, &y(&x, v, &b)), &w, &dw).unwrap();
        gradcheck(|v| dot(&dy, &y(&x, &w, v)), &b, &db).unwrap();
    }
}

#[test]
fn activation_backward_matches_finite_differences() {
    let mut rng = Rng::new(5);
    for act in [
        Activation::Relu,
        Activation::LeakyRelu(0.2),
        Activation::Sigmoid,
        Activation::Tanh,
    ] {
        let x = away_from_zero(&mut rng, 17, -3.0, 3.0);
        let dy = rng.vec(17, -1.0, 1.0);
        let y = activations::reference(act, &x);
        let dx = activations::backward_reference(act, &y, &dy);
        gradcheck(|v| dot(&dy, &activations::reference(act, v)), &x, &dx)
            .unwrap_or_else(|e| panic!("{}: {e}", act.name()));
    }
}

#[test]
fn vae_loss_backward_matches_finite_differences() {
    let mut rng = Rng::new(6);
    let (n, d, l) = (3, 7, 4);
    let logits = rng.vec(n * d, -4.0, 4.0);
    let x = rng.vec(n * d, 0.0, 1.0);
    let bce = |v: &[f64]| vae::bce_reference(v, &x, d).iter().sum::<f64>();
    gradcheck(bce, &logits, &vae::bce_backward_reference(&logits, &x, 1.0)).unwrap();

    let mu = rng.vec(n * l, -2.0, 2.0);
    let lv = rng.vec(n * l, -2.0, 2.0);
    let (dmu, dlv) = vae::kl_backward_reference(&mu, &lv, 1.0);
    gradcheck(|v| vae::kl_reference(v, &lv, l).iter().sum(), &mu, &dmu).unwrap();
    gradcheck(|v| vae::kl_reference(&mu, v, l).iter().sum(), &lv, &dlv).unwrap();

    let eps = rng.vec(n * l, -2.0, 2.0);
    let dz = rng.vec(n * l, -1.0, 1.0);
    let want = vae::reparam_backward_reference(&dz, &lv, &eps);
    gradcheck(
        |v| dot(&dz, &vae::reparam_reference(&mu, v, &eps)),
        &lv,
        &want,
    )
    .unwrap();
    // ∂z/∂μ is the identity: the graph passes dz straight through.
    gradcheck(
        |v| dot(&dz, &vae::reparam_reference(v, &lv, &eps)),
        &mu,
        &dz,
    )
    .unwrap();
}
