//! GPU-vs-CPU-reference checks of every kernel on awkward shapes.
//!
//! `latent selftest` runs them on the user's adapter; the test suite runs the
//! same list on the software adapter. Inputs are seeded, rounded to f32 before
//! the reference sees them, and compared within `atol + rtol·|reference|`.

use crate::buffers::{BufferCopy, CopyTarget, Dispatch, GpuSlice};
use crate::context::Context;
use crate::error::Result;
use crate::kernels::activations::{self, Activation};
use crate::kernels::adam::{self, AdamConfig};
use crate::kernels::compare::{compare, Comparison};
use crate::kernels::conv2d::{self, ConvShape};
use crate::kernels::conv_transpose2d::{self, ConvTransposeShape};
use crate::kernels::matmul::{self, MatmulShape, Variant};
use crate::kernels::{data, reduce, vae};
use crate::rng::{to_f32, to_f64, Rng};

/// One check's outcome.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CheckResult {
    /// Kernel (entry point) name, e.g. `conv2d_backward_weight`.
    pub kernel: String,
    /// The shape it ran on.
    pub shape: String,
    /// Largest absolute difference from the reference.
    pub max_error: f64,
    /// Whether every element was within tolerance.
    pub pass: bool,
    /// "ok" or the first bad index with both values.
    #[serde(skip)]
    pub detail: String,
}

/// Absolute and relative tolerance of f32 kernels against f64 references.
const ATOL: f64 = 2e-4;
const RTOL: f64 = 1e-4;

struct Checker<'a> {
    ctx: &'a Context,
    rng: Rng,
    results: Vec<CheckResult>,
}

impl Checker<'_> {
    /// Random f32-representable values in [lo, hi), and their upload.
    fn input(&mut self, n: usize, lo: f64, hi: f64) -> (Vec<f64>, GpuSlice) {
        let v = to_f64(&to_f32(&self.rng.vec(n, lo, hi)));
        let g = self.ctx.upload("selftest input", &to_f32(&v));
        (v, g)
    }

    fn record(&mut self, kernel: &str, shape: String, cmp: Comparison) {
        self.results.push(CheckResult {
            kernel: kernel.to_string(),
            shape,
            max_error: cmp.max_error,
            pass: cmp.pass(),
            detail: cmp.to_string(),
        });
    }

    fn check(&mut self, kernel: &str, shape: String, out: &GpuSlice, want: &[f64]) -> Result<()> {
        let got: Vec<f32> = self.ctx.download(out)?;
        self.record(kernel, shape, compare(&got, want, ATOL, RTOL));
        Ok(())
    }
}

/// Matmul shapes (m, n, k): sizes 1, 3, 17, 129, a batch of 130 and a model layer.
const MATMUL_SHAPES: &[(usize, usize, usize)] = &[
    (1, 1, 1),
    (3, 17, 129),
    (129, 3, 17),
    (17, 129, 3),
    (130, 20, 129),
    (65, 67, 66),
    (3, 129, 20),
    (129, 17, 132),
    (130, 1, 4),
    (17, 830, 20),
    (9, 300, 2100),
    (130, 21, 2052),
    (128, 400, 784),
];

/// Shapes for the texture variant: m of 1, 3, 17, 129, 130 and multiples of
/// 4 (a transposed A needs them), n and k multiples of 4 from 4 to 784.
const TEXTURE_SHAPES: &[(usize, usize, usize)] = &[
    (1, 4, 4),
    (4, 4, 8),
    (3, 20, 132),
    (129, 36, 20),
    (132, 36, 20),
    (17, 132, 400),
    (130, 400, 128),
    (20, 784, 400),
];

/// Convolution shapes ((N, C, H, W), D, K, S, P): kernels 1..5, strides 1 and 2,
/// padding 0..2, non-square images, batch 1 and 130.
/// ((N, C, H, W), D, K, S, P)
type ConvCase = ((usize, usize, usize, usize), usize, usize, usize, usize);

const CONV_SHAPES: &[ConvCase] = &[
    ((1, 1, 1, 1), 1, 1, 1, 0),
    ((2, 3, 5, 7), 4, 1, 1, 0),
    ((1, 3, 9, 6), 5, 3, 1, 1),
    ((3, 2, 7, 9), 17, 4, 2, 1),
    ((1, 4, 11, 8), 3, 5, 2, 2),
    ((130, 1, 6, 5), 3, 3, 2, 0),
    ((2, 17, 7, 7), 3, 4, 2, 1),
    ((3, 8, 14, 13), 20, 4, 2, 1),
    ((2, 4, 7, 9), 36, 3, 2, 2),
    ((1, 4, 9, 9), 8, 3, 3, 1),
    // Over four input and a multiple of four output channels (the subgroup
    // input gradient) with strides 1 and 3, kernel 5, padding 2.
    ((2, 5, 9, 7), 8, 3, 1, 1),
    ((3, 6, 11, 10), 4, 5, 3, 2),
    // The texture kernels (K a multiple of 4): batch 130, stride 1 and 3,
    // padding 0 and 2, K 8, pixels not a multiple of 4 (forward only).
    ((130, 4, 5, 5), 4, 4, 1, 1),
    ((3, 5, 9, 11), 12, 4, 1, 2),
    ((1, 3, 17, 13), 8, 8, 3, 0),
    ((1, 2, 9, 7), 20, 4, 3, 2),
    // Six output pixels an image: a block of 16 rows spans three images.
    ((5, 4, 6, 5), 8, 4, 2, 1),
    // One input channel with K = 2·stride (the single-channel input gradient).
    ((3, 1, 9, 7), 8, 4, 2, 1),
    ((2, 1, 10, 9), 4, 2, 1, 0),
    ((1, 1, 11, 12), 12, 6, 3, 2),
    ((130, 1, 9, 11), 5, 4, 2, 1),
    ((2, 1, 13, 10), 33, 4, 2, 0),
    ((1, 1, 7, 9), 3, 4, 2, 2),
    // The single-channel forward (K = 4, Ho·Wo a multiple of 4): stride 1
    // with padding 2, stride 3 without padding.
    ((2, 1, 5, 7), 7, 4, 1, 2),
    ((3, 1, 10, 13), 4, 4, 3, 0),
    // Two blocks of channels, the second partial, at batch 130 (the
    // weight gradient with taps as rows: slices cross images).
    ((130, 1, 8, 8), 36, 4, 2, 1),
    // Weights past the single-channel texture kernels' uniform buffers.
    ((1, 1, 6, 6), 300, 4, 2, 1),
    // The texture input gradient (K = 2·stride, C a multiple of 4): batch
    // 130, padding 0 and 2, strides 1 and 3, odd sizes, a one-row image.
    ((130, 4, 9, 7), 3, 4, 2, 1),
    ((2, 12, 9, 11), 7, 4, 2, 0),
    ((1, 4, 13, 10), 17, 4, 2, 2),
    ((3, 4, 5, 6), 3, 2, 1, 0),
    ((2, 8, 11, 10), 5, 6, 3, 2),
    ((1, 4, 1, 3), 1, 4, 2, 2),
    // Several uniform windows (weights of 32K floats) and several dy chunks.
    ((2, 32, 14, 14), 64, 4, 2, 1),
    ((8, 4, 14, 14), 64, 4, 2, 1),
    // Weight gradients summed over three and four windows of images through
    // the alternating partial sums: two windows of them, and one and a quarter.
    ((5, 32, 14, 14), 64, 4, 2, 1),
    ((7, 32, 14, 14), 40, 4, 2, 1),
    // A decoder's last layer: one output channel, dy read two images per window.
    ((5, 32, 14, 14), 1, 4, 2, 1),
];

/// Run every check. `quick` skips the largest shapes.
pub fn run(ctx: &Context, quick: bool) -> Result<Vec<CheckResult>> {
    let mut c = Checker {
        ctx,
        rng: Rng::new(20261128),
        results: Vec::new(),
    };
    check_matmul(&mut c, quick)?;
    check_conv(&mut c)?;
    check_conv_transpose(&mut c)?;
    check_activations(&mut c)?;
    check_vae(&mut c)?;
    check_adam(&mut c)?;
    check_reduce_and_gather(&mut c)?;
    Ok(c.results)
}

fn check_matmul(c: &mut Checker, quick: bool) -> Result<()> {
    let shapes = if quick {
        &MATMUL_SHAPES[..MATMUL_SHAPES.len() - 1]
    } else {
        MATMUL_SHAPES
    };
    for (i, &(m, n, k)) in shapes.iter().enumerate() {
        let trans_a = i % 2 == 1;
        let trans_b = i % 3 != 0;
        let shape = MatmulShape {
            m,
            n,
            k,
            trans_a,
            trans_b,
        };
        let (a, ga) = c.input(m * k, -1.0, 1.0);
        let (b, gb) = c.input(k * n, -1.0, 1.0);
        let (bias, gbias) = c.input(n, -1.0, 1.0);
        let relu = i % 2 == 0;
        let want = matmul::reference(shape, &a, &b, Some(&bias), relu);
        let mut variants = vec![
            (Variant::Window, "matmul_forward_window"),
            (Variant::Vec4, "matmul_forward_vec4"),
            (Variant::Blocked, "matmul_forward"),
            (Variant::Tiled, "matmul_forward_tiled"),
        ];
        if matmul::subgroups_of_8(c.ctx) {
            variants.push((Variant::Subgroup, "matmul_forward_subgroup"));
            variants.push((Variant::Texture, "matmul_forward_texture"));
        }
        for (variant, name) in variants {
            let out = c.ctx.zeros("selftest out", m * n);
            let d =
                matmul::forward_variant(c.ctx, variant, shape, &ga, &gb, Some(&gbias), &out, relu)?;
            // Where the texture variant does not fit the shape it runs the
            // subgroup variant, which has its own check.
            let textured = d.iter().any(|d| d.label.starts_with("matmul_texture"));
            if variant == Variant::Texture && !textured {
                continue;
            }
            c.ctx.run(&d)?;
            // The subgroup variant stores two columns at a time where N is even.
            let name = if d.iter().any(|d| d.label == "matmul_subgroup_pairs") {
                "matmul_forward_subgroup_pairs"
            } else {
                name
            };
            c.check(name, shape.to_string(), &out, &want)?;
        }
    }
    // The texture variant (k, n and a transposed A's m multiples of 4) in its
    // four layouts, at sizes around its 16 × 32 blocks.
    if matmul::subgroups_of_8(c.ctx) {
        for &(m, n, k) in TEXTURE_SHAPES {
            for (trans_a, trans_b) in [(false, false), (false, true), (true, false), (true, true)] {
                let shape = MatmulShape {
                    m,
                    n,
                    k,
                    trans_a,
                    trans_b,
                };
                let (a, ga) = c.input(m * k, -1.0, 1.0);
                let (b, gb) = c.input(k * n, -1.0, 1.0);
                let bias = (trans_b || m % 3 == 0).then(|| c.input(n, -1.0, 1.0));
                let relu = trans_a;
                let want = matmul::reference(shape, &a, &b, bias.as_ref().map(|b| &b.0[..]), relu);
                let out = c.ctx.zeros("selftest out", m * n);
                let d = matmul::forward_variant(
                    c.ctx,
                    Variant::Texture,
                    shape,
                    &ga,
                    &gb,
                    bias.as_ref().map(|b| &b.1),
                    &out,
                    relu,
                )?;
                if !d.iter().any(|d| d.label.starts_with("matmul_texture")) {
                    continue;
                }
                c.ctx.run(&d)?;
                c.check("matmul_forward_texture", shape.to_string(), &out, &want)?;
            }
        }
    }
    // A dense layer's three backward products, at awkward sizes.
    for &(n, i, o) in &[
        (1, 1, 1),
        (3, 17, 129),
        (130, 129, 3),
        (128, 20, 400),
        (40, 784, 20),
    ] {
        let (x, gx) = c.input(n * i, -1.0, 1.0);
        let (w, gw) = c.input(o * i, -1.0, 1.0);
        let (dy, gdy) = c.input(n * o, -1.0, 1.0);
        let (dx, dw, db) = matmul::dense_backward_reference(&x, &w, &dy, n, i, o);
        let shape = format!("dense n{n} in{i} out{o}");
        let out = c.ctx.zeros("dx", n * i);
        let s = MatmulShape {
            m: n,
            n: i,
            k: o,
            trans_a: false,
            trans_b: false,
        };
        c.ctx
            .run(&matmul::forward(c.ctx, s, &gdy, &gw, None, &out, false)?)?;
        c.check("matmul_backward_input", shape.clone(), &out, &dx)?;
        let out = c.ctx.zeros("dw", o * i);
        let s = MatmulShape {
            m: o,
            n: i,
            k: n,
            trans_a: true,
            trans_b: false,
        };
        c.ctx
            .run(&matmul::forward(c.ctx, s, &gdy, &gx, None, &out, false)?)?;
        c.check("matmul_backward_weight", shape.clone(), &out, &dw)?;
        let out = c.ctx.zeros("db", o);
        c.ctx
            .run(&reduce::sum(c.ctx, &gdy, &out, (n, o, 1), 1, 1.0)?)?;
        c.check("matmul_backward_bias", shape, &out, &db)?;
    }
    Ok(())
}

/// The kernel family `dispatches` used, as a check-name suffix: the window
/// families fall back to the plain kernels on shapes their windows do not
/// fit, so a check is named for what ran.
fn family(dispatches: &[Dispatch]) -> &'static str {
    if dispatches
        .iter()
        .any(|d| d.label.ends_with("_c1s2_texture"))
    {
        "_c1s2_texture"
    } else if dispatches
        .iter()
        .any(|d| d.label.ends_with("_taps_texture"))
    {
        "_taps_texture"
    } else if dispatches.iter().any(|d| d.label.ends_with("_c1_texture")) {
        "_c1_texture"
    } else if dispatches.iter().any(|d| d.label.ends_with("_texture")) {
        "_texture"
    } else if dispatches.iter().any(|d| d.label.contains("subgroup")) {
        "_subgroup"
    } else if dispatches.iter().any(|d| d.label.ends_with("_c1")) {
        "_window_c1"
    } else if dispatches.iter().any(|d| d.label.contains("window")) {
        "_window"
    } else {
        ""
    }
}

fn check_conv(c: &mut Checker) -> Result<()> {
    for (i, &(x_shape, d, k, s, p)) in CONV_SHAPES.iter().enumerate() {
        let shape = ConvShape::new(x_shape, d, k, s, p)?;
        let (nx, nw, ny) = shape.sizes();
        let (x, gx) = c.input(nx, -1.0, 1.0);
        let (w, gw) = c.input(nw, -1.0, 1.0);
        let (b, gb) = c.input(d, -1.0, 1.0);
        let (dy, gdy) = c.input(ny, -1.0, 1.0);
        let (b2, gb2) = c.input(shape.c, -1.0, 1.0);
        let relu = i % 2 == 1;
        let name = shape.to_string();
        let (dx, dw, db) = conv2d::backward_reference(shape, &x, &w, &dy);
        let want_y = conv2d::reference(shape, &x, &w, Some(&b), relu);
        // The bias and ReLU epilogue of backward_input serve the transposed conv.
        let mut want_dx_epi = dx.clone();
        for (i, v) in want_dx_epi.iter_mut().enumerate() {
            let ch = (i / (shape.h * shape.w)) % shape.c;
            *v = (*v + b2[ch]).max(0.0);
        }
        for kernels in conv2d::Kernels::available(c.ctx) {
            let out = c.ctx.zeros("y", ny);
            let run = conv2d::forward_with(c.ctx, kernels, shape, &gx, &gw, Some(&gb), &out, relu)?;
            c.ctx.run(&run)?;
            c.check(
                &format!("conv2d_forward{}", family(&run)),
                name.clone(),
                &out,
                &want_y,
            )?;
            let out = c.ctx.zeros("dx", nx);
            let run =
                conv2d::backward_input_with(c.ctx, kernels, shape, &gdy, &gw, None, &out, false)?;
            c.ctx.run(&run)?;
            c.check(
                &format!("conv2d_backward_input{}", family(&run)),
                name.clone(),
                &out,
                &dx,
            )?;
            let out = c.ctx.zeros("dx", nx);
            let run = conv2d::backward_input_with(
                c.ctx,
                kernels,
                shape,
                &gdy,
                &gw,
                Some(&gb2),
                &out,
                true,
            )?;
            c.ctx.run(&run)?;
            c.check(
                &format!("conv2d_backward_input{}_bias_relu", family(&run)),
                name.clone(),
                &out,
                &want_dx_epi,
            )?;
        }
        for kernels in conv2d::Kernels::available(c.ctx) {
            let out = c.ctx.zeros("dw", nw);
            let run = conv2d::backward_weight_with(c.ctx, kernels, shape, &gx, &gdy, &out)?;
            c.ctx.run(&run)?;
            c.check(
                &format!("conv2d_backward_weight{}", family(&run)),
                name.clone(),
                &out,
                &dw,
            )?;
        }
        let out = c.ctx.zeros("db", d);
        c.ctx
            .run(&conv2d::backward_bias(c.ctx, shape, &gdy, &out)?)?;
        c.check("conv2d_backward_bias", name, &out, &db)?;
    }
    Ok(())
}

fn check_conv_transpose(c: &mut Checker) -> Result<()> {
    for (i, &(x_shape, d, k, s, p)) in CONV_SHAPES.iter().enumerate() {
        let Ok(shape) = ConvTransposeShape::new(x_shape, d, k, s, p) else {
            continue;
        };
        let (nx, nw, ny) = shape.sizes();
        let (x, gx) = c.input(nx, -1.0, 1.0);
        let (w, gw) = c.input(nw, -1.0, 1.0);
        let (b, gb) = c.input(d, -1.0, 1.0);
        let (dy, gdy) = c.input(ny, -1.0, 1.0);
        let relu = i % 2 == 0;
        let name = format!("{shape:?}");
        let out = c.ctx.zeros("y", ny);
        c.ctx.run(&conv_transpose2d::forward(
            c.ctx,
            shape,
            &gx,
            &gw,
            Some(&gb),
            &out,
            relu,
        )?)?;
        let want = conv_transpose2d::reference(shape, &x, &w, Some(&b), relu);
        c.check("conv_transpose2d_forward", name.clone(), &out, &want)?;
        let (dx, dw, db) = conv_transpose2d::backward_reference(shape, &x, &w, &dy);
        let out = c.ctx.zeros("dx", nx);
        c.ctx.run(&conv_transpose2d::backward_input(
            c.ctx, shape, &gdy, &gw, &out,
        )?)?;
        c.check("conv_transpose2d_backward_input", name.clone(), &out, &dx)?;
        let out = c.ctx.zeros("dw", nw);
        c.ctx.run(&conv_transpose2d::backward_weight(
            c.ctx, shape, &gx, &gdy, &out,
        )?)?;
        c.check("conv_transpose2d_backward_weight", name.clone(), &out, &dw)?;
        let out = c.ctx.zeros("db", d);
        c.ctx
            .run(&conv_transpose2d::backward_bias(c.ctx, shape, &gdy, &out)?)?;
        c.check("conv_transpose2d_backward_bias", name, &out, &db)?;
    }
    Ok(())
}

fn check_activations(c: &mut Checker) -> Result<()> {
    let acts = [
        Activation::Relu,
        Activation::LeakyRelu(0.1),
        Activation::Sigmoid,
        Activation::Tanh,
    ];
    // 32900: several uniform windows and a partial one, where CPU adapters use them.
    for &n in &[1, 3, 17, 129, 130 * 20, 32900] {
        for act in acts {
            let (x, gx) = c.input(n, -4.0, 4.0);
            let (dy, gdy) = c.input(n, -1.0, 1.0);
            let y = c.ctx.zeros("y", n);
            c.ctx.run(&[activations::forward(c.ctx, act, &gx, &y)?])?;
            let want = activations::reference(act, &x);
            c.check(&format!("{}_forward", act.name()), n.to_string(), &y, &want)?;
            // The backward reads the GPU's y, so both sides use the same y.
            let y_gpu = to_f64(&c.ctx.download::<f32>(&y)?);
            let want = activations::backward_reference(act, &y_gpu, &dy);
            // Each way of reading y and dy this adapter has (named for the
            // kernel that ran: the sizes pick the fallbacks).
            let mut ran = Vec::new();
            for reads in activations::Reads::available(c.ctx) {
                let dx = c.ctx.zeros("dx", n);
                let backward = activations::backward_with(c.ctx, reads, act, &y, &gdy, &dx)?;
                if ran.contains(&backward[0].label) {
                    continue;
                }
                ran.push(backward[0].label.clone());
                let shape = format!("{n} ({})", backward[0].label);
                c.ctx.run(&backward)?;
                c.check(&format!("{}_backward", act.name()), shape, &dx, &want)?;
            }
        }
        let (a, ga) = c.input(n, -1.0, 1.0);
        let (b, gb) = c.input(n, -1.0, 1.0);
        let out = c.ctx.zeros("c", n);
        // Named for the kernel that ran: the vec4 one where n is a multiple of 4.
        let d = activations::add(c.ctx, &ga, &gb, &out, 0.5, -2.0)?;
        let name = d.label.clone();
        c.ctx.run(&[d])?;
        let want: Vec<f64> = a.iter().zip(&b).map(|(a, b)| 0.5 * a - 2.0 * b).collect();
        c.check(&name, n.to_string(), &out, &want)?;
        c.ctx
            .run(&[activations::mul(c.ctx, &ga, &gb, &out, 3.0)?])?;
        let want: Vec<f64> = a.iter().zip(&b).map(|(a, b)| 3.0 * a * b).collect();
        c.check("elementwise_mul", n.to_string(), &out, &want)?;
    }
    Ok(())
}

/// The kernels a recording runs, as a check's name: "a+b" where a fused
/// kernel fell back to two.
fn labels(dispatches: &[Dispatch]) -> String {
    let names: Vec<&str> = dispatches.iter().map(|d| d.label.as_str()).collect();
    names.join("+")
}

fn check_vae(c: &mut Checker) -> Result<()> {
    for &(n, d) in &[(1, 1), (3, 17), (17, 12), (130, 784)] {
        let shape = format!("{n}x{d}");
        let (l, gl) = c.input(n * d, -6.0, 6.0);
        let (x, gx) = c.input(n * d, 0.0, 1.0);
        let rows = c.ctx.zeros("rows", n);
        // Named for the kernel that ran: the vec4 ones where d is a multiple
        // of 4, the lane sums where the device has 8-lane subgroups.
        for lanes in [false, true] {
            let forward = vae::bce_forward_with(c.ctx, lanes, &gl, &gx, &rows, d)?;
            let name = forward.label.clone();
            c.ctx.run(&[forward])?;
            c.check(&name, shape.clone(), &rows, &vae::bce_reference(&l, &x, d))?;
        }
        let out = c.ctx.zeros("dl", n * d);
        let backward = vae::bce_backward(c.ctx, &gl, &gx, &out, 0.5)?;
        let name = backward.label.clone();
        c.ctx.run(&[backward])?;
        c.check(
            &name,
            shape.clone(),
            &out,
            &vae::bce_backward_reference(&l, &x, 0.5),
        )?;
        // The loss and its gradient together, as a training step records
        // them: one kernel where d is a multiple of 4 and the device has
        // 8-lane subgroups, else the two above.
        let (rows2, dl2) = (c.ctx.zeros("rows", n), c.ctx.zeros("dl", n * d));
        let both = vae::bce_forward_backward(c.ctx, &gl, &gx, &rows2, &dl2, d)?;
        let name = labels(&both);
        c.ctx.run(&both)?;
        c.check(
            &format!("{name} (rows)"),
            shape.clone(),
            &rows2,
            &vae::bce_reference(&l, &x, d),
        )?;
        c.check(
            &format!("{name} (gradient)"),
            shape.clone(),
            &dl2,
            &vae::bce_backward_reference(&l, &x, 1.0),
        )?;
    }
    for &(n, l) in &[(1, 1), (3, 17), (17, 3), (130, 20)] {
        let shape = format!("{n}x{l}");
        let (mu, gmu) = c.input(n * l, -2.0, 2.0);
        let (lv, glv) = c.input(n * l, -3.0, 2.0);
        let rows = c.ctx.zeros("rows", n);
        for lanes in [false, true] {
            let forward = vae::kl_forward_with(c.ctx, lanes, &gmu, &glv, &rows, l)?;
            let name = forward.label.clone();
            c.ctx.run(&[forward])?;
            c.check(&name, shape.clone(), &rows, &vae::kl_reference(&mu, &lv, l))?;
        }
        let (dmu, dlv) = (c.ctx.zeros("dmu", n * l), c.ctx.zeros("dlv", n * l));
        c.ctx
            .run(&[vae::kl_backward(c.ctx, &gmu, &glv, &dmu, &dlv, 2.0)?])?;
        let (want_mu, want_lv) = vae::kl_backward_reference(&mu, &lv, 2.0);
        c.check("kl_backward_mu", shape.clone(), &dmu, &want_mu)?;
        c.check("kl_backward_logvar", shape.clone(), &dlv, &want_lv)?;
        // The term and its gradients together, as a training step records
        // them: one kernel where the device has 8-lane subgroups, else the
        // two above.
        let rows2 = c.ctx.zeros("rows", n);
        let (dmu2, dlv2) = (c.ctx.zeros("dmu", n * l), c.ctx.zeros("dlv", n * l));
        let both = vae::kl_forward_backward(c.ctx, &gmu, &glv, &rows2, (&dmu2, &dlv2), l)?;
        let name = labels(&both);
        c.ctx.run(&both)?;
        let (want_mu, want_lv) = vae::kl_backward_reference(&mu, &lv, 1.0);
        let want_rows = vae::kl_reference(&mu, &lv, l);
        c.check(&format!("{name} (rows)"), shape.clone(), &rows2, &want_rows)?;
        c.check(&format!("{name} (dmu)"), shape.clone(), &dmu2, &want_mu)?;
        c.check(&format!("{name} (dlogvar)"), shape.clone(), &dlv2, &want_lv)?;
        // The generator: the GPU's ε equals the CPU twin's, for a given seed and step.
        let step = 7u32;
        let state = c.ctx.upload("state", &[step, 0u32]);
        let (eps, z) = (c.ctx.zeros("eps", n * l), c.ctx.zeros("z", n * l));
        c.ctx.run(&[vae::reparam_forward(
            c.ctx, &gmu, &glv, &state, &eps, &z, 42,
        )?])?;
        let want_eps: Vec<f64> = (0..n * l)
            .map(|i| vae::normal_reference(42, step, i as u32))
            .collect();
        c.check("reparam_noise", shape.clone(), &eps, &want_eps)?;
        let eps_gpu = to_f64(&c.ctx.download::<f32>(&eps)?);
        c.check(
            "reparam_forward",
            shape.clone(),
            &z,
            &vae::reparam_reference(&mu, &lv, &eps_gpu),
        )?;
        let (dz, gdz) = c.input(n * l, -1.0, 1.0);
        let out = c.ctx.zeros("dlv", n * l);
        c.ctx
            .run(&[vae::reparam_backward(c.ctx, &gdz, &glv, &eps, &out)?])?;
        let want = vae::reparam_backward_reference(&dz, &lv, &eps_gpu);
        c.check("reparam_backward", shape, &out, &want)?;
    }
    Ok(())
}

fn check_adam(c: &mut Checker) -> Result<()> {
    let cfg = AdamConfig {
        lr: 0.01,
        ..Default::default()
    };
    // 132 takes the four-at-a-time kernel.
    for &n in &[1, 17, 129, 132] {
        let (mut p, gp) = c.input(n, -1.0, 1.0);
        let (gm, gv) = (c.ctx.zeros("m", n), c.ctx.zeros("v", n));
        let (mut m, mut v) = (vec![0.0; n], vec![0.0; n]);
        let state = c.ctx.zeros("state", 2);
        for t in 1..=3u32 {
            let (g, gg) = c.input(n, -1.0, 1.0);
            adam::reference(cfg, t, &mut p, &g, &mut m, &mut v);
            c.ctx.run(&[
                adam::update(c.ctx, cfg, &gg, &state, &gp, &gm, &gv)?,
                data::state_advance(c.ctx, &state, 1)?,
            ])?;
        }
        c.check("adam_update", format!("{n} params, 3 steps"), &gp, &p)?;
    }
    // The texture variant (CPU adapters): parameters of one and several
    // texture rows, lengths that are not multiples of 4, and two of two
    // chunks, sharing one set of textures, three steps in one recording.
    let sizes = [
        1,
        3,
        4,
        17,
        129,
        132,
        1028,
        65540,
        adam::TEXTURE_CHUNK + 129,
        adam::TEXTURE_CHUNK + 132,
    ];
    let textures = adam::AdamTextures::new(c.ctx, adam::TEXTURE_CHUNK + 132);
    let state = c.ctx.zeros("state", 2);
    let mut params = Vec::new();
    for &n in &sizes {
        let (p, gp) = c.input(n, -1.0, 1.0);
        let (m, gm) = c.input(n, -0.1, 0.1);
        let (v, gv) = c.input(n, 0.0, 0.1);
        params.push(((p, gp), (m, gm), (v, gv)));
    }
    // Every other parameter (the two-chunk one included) has θ in a texture
    // of its own, copied before its update as a texture matmul would.
    let thetas: Vec<Option<wgpu::Texture>> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            (i % 2 == 0).then(|| {
                c.ctx
                    .operand_texture("selftest θ", CopyTarget::texture_rows(n))
            })
        })
        .collect();
    let mut dispatches = Vec::new();
    let mut fits = true;
    for t in 1..=3u32 {
        dispatches.push(adam::corrections(c.ctx, cfg, &state)?);
        for (((p, gp), (m, gm), (v, gv)), theta) in params.iter_mut().zip(&thetas) {
            let (g, gg) = c.input(p.len(), -1.0, 1.0);
            fits &= textures.fit(c.ctx, &gg, &state, [gp, gm, gv]);
            if !fits {
                break;
            }
            adam::reference(cfg, t, p, &g, m, v);
            let mut ds = adam::update_texture(
                c.ctx,
                cfg,
                &gg,
                &state,
                (gp, gm, gv),
                &textures,
                theta.as_ref(),
            )?;
            if let Some(texture) = theta {
                ds[0].copies.insert(
                    0,
                    BufferCopy {
                        from: gp.clone(),
                        to: CopyTarget::Texture {
                            texture: texture.clone(),
                            rows: CopyTarget::texture_rows(gp.len),
                        },
                    },
                );
            }
            dispatches.extend(ds);
        }
        dispatches.push(data::state_advance(c.ctx, &state, 1)?);
    }
    if fits {
        c.ctx.run(&dispatches)?;
        for ((p, gp), (m, gm), (v, gv)) in &params {
            let shape = format!("{} params, 3 steps", p.len());
            c.check("adam_update_texture", shape.clone(), gp, p)?;
            c.check("adam_update_texture m", shape.clone(), gm, m)?;
            c.check("adam_update_texture v", shape, gv, v)?;
        }
    }
    // The staged variant (CPU adapters): one window, a partial last window,
    // several chunks with a partial last one.
    let w = crate::kernels::WINDOW;
    for &(n, chunk) in &[
        (4, w),
        (132, w),
        (w + 4, w),
        (2 * w + 132, 2 * w),
        (3 * w, w),
    ] {
        let (mut p, gp) = c.input(n, -1.0, 1.0);
        let (mut m, gm) = c.input(n, -0.1, 0.1);
        let (mut v, gv) = c.input(n, 0.0, 0.1);
        let state = c.ctx.zeros("state", 2);
        let stage = c.ctx.zeros("adam stage", 3 * chunk);
        let mut dispatches = Vec::new();
        for t in 1..=3u32 {
            let (g, gg) = c.input(n, -1.0, 1.0);
            if !adam::staged_fits(c.ctx, &gg, &gp) {
                return Ok(());
            }
            adam::reference(cfg, t, &mut p, &g, &mut m, &mut v);
            dispatches.extend(adam::update_staged(
                c.ctx,
                cfg,
                &gg,
                &state,
                (&gp, &gm, &gv),
                &stage,
                chunk,
            )?);
            dispatches.push(data::state_advance(c.ctx, &state, 1)?);
        }
        // All three steps in one recording: copies break the pass between them.
        c.ctx.run(&dispatches)?;
        let shape = format!("{n} params in chunks of {chunk}, 3 steps");
        c.check("adam_update_window", shape.clone(), &gp, &p)?;
        c.check("adam_update_window m", shape.clone(), &gm, &m)?;
        c.check("adam_update_window v", shape, &gv, &v)?;
    }
    Ok(())
}

fn check_reduce_and_gather(c: &mut Checker) -> Result<()> {
    // Each of the three kernels: workgroup per c, columns (B = 1), rows
    // alone (A = 1) and rows then columns.
    let shapes = [
        (1, 1, 1),
        (3, 17, 129),
        (130, 3, 1),
        (1, 129, 17),
        (1, 300, 5),
        (130, 17, 3),
        // Rows of 4 or more that CPU adapters read from a texture, starting
        // mid-texel: a conv2-like bias gradient, and rows of 129.
        (128, 64, 49),
        (3, 100, 129),
        // A one-channel bias gradient (rows on CPU adapters too) and too
        // few rows for them (the workgroup-per-c kernel everywhere).
        (128, 1, 784),
        (2, 3, 100),
        // Columns in fours that CPU adapters read from a texture (over 32
        // rows or more), and too few rows for it.
        (130, 20, 1),
        (32, 12, 1),
        (16, 12, 1),
    ];
    for &dims in &shapes {
        let (x, gx) = c.input(dims.0 * dims.1 * dims.2, -1.0, 1.0);
        let out = c.ctx.zeros("out", dims.1);
        let run = reduce::sum(c.ctx, &gx, &out, dims, 1, 0.5)?;
        let kernel = run[0].label.clone();
        c.ctx.run(&run)?;
        c.check(
            "reduce_sum",
            format!("{dims:?} ({kernel})"),
            &out,
            &reduce::reference(&x, dims, 0.5),
        )?;
        c.ctx
            .run(&reduce::sum_into(c.ctx, &gx, &out, dims, 1, 0.25, true)?)?;
        c.check(
            "reduce_sum_accumulate",
            format!("{dims:?}"),
            &out,
            &reduce::reference(&x, dims, 0.75),
        )?;
    }
    // Rows of 13 take the scalar kernel, rows of 16 the vec4 one.
    for (rows, dim, batch) in [(17, 13, 5), (17, 16, 5)] {
        let (x, gx) = c.input(rows * dim, -1.0, 1.0);
        let mut perm: Vec<u32> = (0..rows as u32).collect();
        c.rng.shuffle(&mut perm);
        let gperm = c.ctx.upload("perm", &perm);
        // Start at 15 of 17: the last 3 rows of the batch fall past the end and are 0.
        let state = c.ctx.upload("state", &[0u32, 15]);
        let out = c.ctx.zeros("out", batch * dim);
        let d = data::gather_rows(c.ctx, &gx, &gperm, &state, &out, dim)?;
        // The entry point's name: the vec4 kernel or the scalar one.
        let name = d.label.clone();
        c.ctx.run(&[d])?;
        let want = data::gather_reference(&x, &perm, 15, batch, dim);
        c.check(&name, format!("{rows}x{dim}, batch {batch}"), &out, &want)?;
        // The same from bytes (a dataset packed four pixels a word).
        let pixels: Vec<f32> = (0..rows * dim)
            .map(|_| c.rng.below(256) as f32 / 255.0)
            .collect();
        let words = data::pack_bytes(&pixels).expect("bytes / 255 pack");
        let gwords = c.ctx.upload("bytes", &words);
        let out = c.ctx.zeros("out", batch * dim);
        let d = data::gather_rows_bytes(c.ctx, &gwords, &gperm, &state, &out, dim)?;
        // The entry point's name: the vec4 kernel or the scalar one.
        let name = d.label.clone();
        c.ctx.run(&[d])?;
        let want = data::gather_reference(&to_f64(&pixels), &perm, 15, batch, dim);
        c.check(&name, format!("{rows}x{dim}, batch {batch}"), &out, &want)?;
    }
    Ok(())
}
