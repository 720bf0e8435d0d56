//! The graph passes: autodiff against the CPU interpreter and finite
//! differences, planner safety, replay equivalence and step counters.

mod common;

use std::collections::HashMap;

use latent_engine::graph::exec::{ExecOptions, Executor, ParamStore, TrainSpec};
use latent_engine::graph::{autodiff, cpu, plan, Graph, TensorId, TensorKind};
use latent_engine::kernels::adam::AdamConfig;
use latent_engine::kernels::vae::normal_reference;
use latent_engine::model::{Arch, ModelConfig};
use latent_engine::rng::{to_f64, Rng};
use latent_engine::Context;
use proptest::prelude::*;

const SEED: u32 = 9;

fn tiny_mlp() -> ModelConfig {
    ModelConfig {
        arch: Arch::Mlp,
        input: (1, 3, 3),
        latent: 2,
        hidden: 5,
        channels: (0, 0),
    }
}

fn tiny_conv() -> ModelConfig {
    ModelConfig {
        arch: Arch::Conv,
        input: (1, 8, 4),
        latent: 3,
        hidden: 6,
        channels: (2, 3),
    }
}

/// CPU values for the graph's inputs and parameters.
fn leaf_values(
    g: &Graph,
    params: &[Vec<f32>],
    names: &[String],
    x_id: TensorId,
    x: &[f32],
) -> HashMap<TensorId, Vec<f64>> {
    let mut values = HashMap::new();
    for (i, t) in g.tensors.iter().enumerate() {
        if let TensorKind::Param(name) = &t.kind {
            let k = names.iter().position(|n| n == name).unwrap();
            values.insert(TensorId(i), to_f64(&params[k]));
        }
    }
    values.insert(x_id, to_f64(x));
    values
}

fn noise(i: usize) -> f64 {
    normal_reference(SEED, 0, i as u32) as f32 as f64
}

/// GPU gradients of a model's training graph equal the CPU interpreter's,
/// and (if `fd`) the CPU interpreter's equal finite differences of its loss.
fn check_gradients(ctx: &Context, config: ModelConfig, batch: usize) {
    check_gradients_fd(ctx, config, batch, true);
}

/// Returns how many matmul operands reused a packed copy. Without `fd` the
/// step also runs Adam, whose update is checked against the reference.
fn check_gradients_fd(ctx: &Context, config: ModelConfig, batch: usize, fd: bool) -> usize {
    let specs = config.param_specs();
    let names: Vec<String> = specs.iter().map(|s| s.0.clone()).collect();
    let store = ParamStore::init(ctx, &specs, 3);
    let params: Vec<Vec<f32>> = store
        .values
        .iter()
        .map(|v| ctx.download(v).unwrap())
        .collect();
    let mut rng = Rng::new(4);
    let x: Vec<f32> = (0..batch * config.dim())
        .map(|_| rng.uniform() as f32)
        .collect();

    let (forward, x_id, ..) = config.training_graph(batch, SEED).unwrap();
    let mut g = forward.clone();
    let grads = autodiff::backward(&mut g).unwrap();
    assert_eq!(grads.len(), specs.len(), "every parameter gets a gradient");

    let state = ctx.zeros("state", 2);
    let xb = ctx.upload("x", &x);
    let opts = ExecOptions {
        params: &store,
        state: &state,
        inputs: [(x_id, xb)].into_iter().collect(),
        prologue: vec![],
        // The full-size graphs also run Adam: on CPU adapters it stages its
        // copies in a slot that must hold no gradient (checked below).
        train: (!fd).then(|| TrainSpec {
            adam: AdamConfig::default(),
            grads: grads.clone(),
            batch,
        }),
    };
    let exec = Executor::new(ctx, g.clone(), opts).unwrap();
    exec.run_steps(ctx, 1);

    let (cpu_values, cpu_losses) = cpu::run(&g, leaf_values(&g, &params, &names, x_id, &x), &noise);
    let gpu_losses = exec.read_loss(ctx).unwrap();
    for (gl, cl) in gpu_losses.iter().zip(&cpu_losses) {
        assert!(
            (*gl as f64 - cl).abs() < 1e-3 * cl.abs().max(1.0),
            "loss: GPU {gl}, CPU {cl}"
        );
    }
    for &(param, grad) in &grads {
        let got: Vec<f32> = ctx.download(exec.buf(grad)).unwrap();
        let want = &cpu_values[&grad];
        let cmp = latent_engine::kernels::compare::compare(&got, want, 1e-3, 1e-3);
        assert!(cmp.pass(), "gradient of {}: {cmp}", g.tensor(param).name);
    }
    if !fd {
        // One Adam step (t = 1) from zero moments, applied to the gradients
        // the GPU computed (compared with the CPU's above).
        for &(param, grad) in &grads {
            let TensorKind::Param(name) = &g.tensor(param).kind else {
                unreachable!()
            };
            let k = names.iter().position(|n| n == name).unwrap();
            let grad: Vec<f32> = ctx.download(exec.buf(grad)).unwrap();
            let mut want = to_f64(&params[k]);
            let (mut m, mut v) = (vec![0.0; want.len()], vec![0.0; want.len()]);
            let cfg = AdamConfig::default();
            latent_engine::kernels::adam::reference(
                cfg,
                1,
                &mut want,
                &to_f64(&grad),
                &mut m,
                &mut v,
            );
            let got: Vec<f32> = ctx.download(&store.values[k]).unwrap();
            let cmp = latent_engine::kernels::compare::compare(&got, &want, 1e-6, 1e-5);
            assert!(cmp.pass(), "{name} after one Adam step: {cmp}");
        }
        return exec.packs_reused;
    }
    // Finite differences of the CPU loss for a few elements of every parameter.
    let total = |values: HashMap<TensorId, Vec<f64>>| {
        cpu::run(&forward, values, &noise).1.iter().sum::<f64>()
    };
    for &(param, grad) in &grads {
        let base = leaf_values(&forward, &params, &names, x_id, &x);
        let n = base[&param].len();
        for i in [0, n / 2, n - 1] {
            let h = 1e-5;
            let mut up = base.clone();
            up.get_mut(&param).unwrap()[i] += h;
            let mut down = base.clone();
            down.get_mut(&param).unwrap()[i] -= h;
            let numeric = (total(up) - total(down)) / (2.0 * h);
            let analytic = cpu_values[&grad][i];
            assert!(
                (numeric - analytic).abs() < 1e-4 + 1e-4 * numeric.abs(),
                "{}[{i}]: analytic {analytic}, numeric {numeric}",
                g.tensor(param).name
            );
        }
    }
    exec.packs_reused
}

#[test]
fn mlp_gradients_match_cpu_reference_and_finite_differences() {
    let ctx = common::context();
    check_gradients(&ctx, tiny_mlp(), 3);
}

#[test]
fn conv_gradients_match_cpu_reference_and_finite_differences() {
    let ctx = common::context();
    check_gradients(&ctx, tiny_conv(), 2);
}

#[test]
fn full_size_conv_gradients_match_cpu_reference() {
    // The real preset at batch 2: every kernel variant and window split it uses.
    let ctx = common::context();
    check_gradients_fd(
        &ctx,
        ModelConfig::preset(Arch::Conv, (1, 28, 28), None),
        2,
        false,
    );
}

#[test]
fn full_size_mlp_gradients_match_cpu_reference() {
    let ctx = common::context();
    let reused = check_gradients_fd(
        &ctx,
        ModelConfig::preset(Arch::Mlp, (1, 28, 28), None),
        3,
        false,
    );
    // Where products copy their operands (packed chunks, textures), weights
    // copied for the forward pass are reused by the input gradients: this
    // test then covers that sharing.
    use latent_engine::kernels::matmul::{subgroups_of_8, Variant};
    if matches!(
        Variant::for_context(&ctx),
        Variant::Subgroup | Variant::Texture
    ) && subgroups_of_8(&ctx)
    {
        assert!(
            reused >= 2,
            "fc4 and fc3 weights were packed again ({reused} reused)"
        );
    }
}

/// A training executor for the tiny mlp on fixed data.
fn trainer_parts(ctx: &Context) -> (ParamStore, latent_engine::buffers::GpuSlice, Executor) {
    let config = tiny_mlp();
    let store = ParamStore::init(ctx, &config.param_specs(), 5);
    let state = ctx.zeros("state", 2);
    let (mut g, x_id, ..) = config.training_graph(4, SEED).unwrap();
    let grads = autodiff::backward(&mut g).unwrap();
    let x: Vec<f32> = (0..4 * config.dim())
        .map(|i| (i % 7) as f32 / 7.0)
        .collect();
    let xb = ctx.upload("x", &x);
    let opts = ExecOptions {
        params: &store,
        state: &state,
        inputs: [(x_id, xb)].into_iter().collect(),
        prologue: vec![],
        train: Some(TrainSpec {
            adam: AdamConfig::default(),
            grads,
            batch: 4,
        }),
    };
    let exec = Executor::new(ctx, g, opts).unwrap();
    (store, state, exec)
}

#[test]
fn replaying_a_recorded_step_equals_running_steps_one_by_one() {
    let ctx = common::context();
    let (a, _, exec_a) = trainer_parts(&ctx);
    exec_a.run_steps(&ctx, 5);
    let (b, _, exec_b) = trainer_parts(&ctx);
    for _ in 0..5 {
        exec_b.run_steps(&ctx, 1);
        ctx.device
            .poll(wgpu::PollType::wait_indefinitely())
            .unwrap();
    }
    let mut changed = false;
    for (k, (va, vb)) in a.values.iter().zip(&b.values).enumerate() {
        let (pa, pb): (Vec<f32>, Vec<f32>) = (ctx.download(va).unwrap(), ctx.download(vb).unwrap());
        assert_eq!(pa, pb, "parameter {} differs", a.names[k]);
        let init = ParamStore::init(&ctx, &tiny_mlp().param_specs(), 5);
        changed |= ctx.download::<f32>(&init.values[k]).unwrap() != pa;
    }
    assert!(changed, "five Adam steps changed no parameter");
}

#[test]
fn a_training_step_is_one_submit_and_no_readback() {
    let ctx = common::context();
    let (_, state, exec) = trainer_parts(&ctx);
    let (d0, s0, r0) = ctx.counters.snapshot();
    exec.run_steps(&ctx, 3);
    ctx.device
        .poll(wgpu::PollType::wait_indefinitely())
        .unwrap();
    let (d1, s1, r1) = ctx.counters.snapshot();
    assert_eq!(s1 - s0, 1, "three recorded steps are one submit");
    assert_eq!(r1 - r0, 0, "no readback unless the loss is asked for");
    assert_eq!(d1 - d0, 3 * exec.dispatches.len() as u64);
    // The GPU step counter moved on by three steps.
    assert_eq!(ctx.download::<u32>(&state).unwrap(), vec![3, 12]);
    let r2 = ctx.counters.snapshot().2;
    exec.read_loss(&ctx).unwrap();
    assert_eq!(
        ctx.counters.snapshot().2 - r2,
        1,
        "reading the loss is one readback"
    );
}

#[test]
fn planned_memory_is_smaller_than_the_naive_sum() {
    let config = ModelConfig::preset(Arch::Conv, (1, 28, 28), None);
    let (mut g, ..) = config.training_graph(128, 0).unwrap();
    autodiff::backward(&mut g).unwrap();
    let p = plan::plan(&g);
    assert!(plan::conflicts(&p).is_empty());
    let computed = plan::naive_bytes(&g) - plan::fixed_bytes(&g);
    assert!(
        p.planned_bytes() < computed,
        "planned {} vs naive {}",
        p.planned_bytes(),
        computed
    );
    // Issue #9's aim, as `latent plan` reports it: the planned slots at most
    // 60% of every tensor in its own buffer (57% when this was written).
    let naive = plan::naive_bytes(&g);
    assert!(
        p.planned_bytes() * 10 <= naive * 6,
        "planned {} is {:.0}% of the naive {}",
        p.planned_bytes(),
        100.0 * p.planned_bytes() as f64 / naive as f64,
        naive
    );
}

/// A random graph of elementwise ops and dense layers over a few inputs.
fn random_graph(ops: &[(u8, usize, usize)]) -> Graph {
    let mut g = Graph::new();
    let w = g.param("w", &[4, 4]);
    let mut live = vec![g.input("a", &[3, 4]), g.input("b", &[3, 4])];
    for &(kind, i, j) in ops {
        let (a, b) = (live[i % live.len()], live[j % live.len()]);
        let t = match kind % 4 {
            0 => g.add(a, b).unwrap(),
            1 => g.relu(a),
            2 => g.dense(a, w, None, kind % 8 == 2).unwrap(),
            _ => g.sigmoid(b),
        };
        live.push(t);
    }
    let last = *live.last().unwrap();
    let rows = g.input("target", &[3, 4]);
    g.bce_loss(last, rows).unwrap();
    g
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn planner_never_shares_a_buffer_between_live_tensors(ops in prop::collection::vec((0u8..8, 0usize..50, 0usize..50), 1..30), diff in any::<bool>()) {
        let mut g = random_graph(&ops);
        if diff {
            autodiff::backward(&mut g).unwrap();
        }
        let p = plan::plan(&g);
        prop_assert!(plan::conflicts(&p).is_empty());
        for (t, slot) in p.slot_of.iter().enumerate() {
            if let Some(s) = slot {
                prop_assert!(p.slot_len[*s] >= g.tensors[t].numel());
            }
        }
        // No node writes a slot it reads.
        for node in &g.nodes {
            for &o in &node.outputs {
                for &i in &node.inputs {
                    let (so, si) = (p.slot_of[o.0], p.slot_of[g.root(i).0]);
                    prop_assert!(so.is_none() || so != si);
                }
            }
        }
    }
}

#[test]
fn conflict_check_catches_a_bad_plan() {
    let mut g = Graph::new();
    let a = g.input("a", &[2]);
    let b = g.relu(a);
    let c = g.relu(b);
    let d = g.add(b, c).unwrap();
    g.mark_output(d);
    let mut p = plan::plan(&g);
    assert!(plan::conflicts(&p).is_empty());
    // b and c are both live at the add: forcing them into one slot must be caught.
    p.slot_of[c.0] = p.slot_of[b.0];
    assert!(!plan::conflicts(&p).is_empty());
}
