// The VAE's row sums (vae.wgsl's bce_forward and kl_forward) on CPU adapters
// with 8-lane subgroups (llvmpipe): one subgroup per row and a sum over its
// lanes in a fixed order (lane 0 + 1, 2 + 3, … as a tree), so no workgroup
// barrier. On llvmpipe every barrier suspends and resumes each invocation;
// vae.wgsl's 64-invocation tree has seven of them per row. Same results as
// there up to the order of the sums; deterministic.

// The first four fields of vae.wgsl's Params.
struct Params {
    rows: u32,
    cols: u32,
    seed: u32,
    scale: f32,
}

// `value` summed over the subgroup's 8 lanes in a fixed tree; every lane
// gets it.
fn lanes_sum(value: f32) -> f32 {
    let a = subgroupBroadcast(value, 0u) + subgroupBroadcast(value, 1u);
    let b = subgroupBroadcast(value, 2u) + subgroupBroadcast(value, 3u);
    let c = subgroupBroadcast(value, 4u) + subgroupBroadcast(value, 5u);
    let d = subgroupBroadcast(value, 6u) + subgroupBroadcast(value, 7u);
    return (a + b) + (c + d);
}

// bce_forward_lanes: 0 logits (N, D), 1 x (N, D), 2 rows (N), 3 p; D a
// multiple of 4, read four values at a time.
@group(0) @binding(0) var<storage, read> bf_logits4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> bf_x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> bf_rows: array<f32>;
@group(0) @binding(3) var<uniform> bf_p: Params;

@compute @workgroup_size(8, 1, 1)
fn bce_forward_lanes(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let row = wid.x;
    let cols4 = bf_p.cols / 4u;
    var sum = vec4<f32>(0.0);
    for (var d = lane; d < cols4; d += 8u) {
        let i = row * cols4 + d;
        let l = bf_logits4[i];
        sum += max(l, vec4<f32>(0.0)) - l * bf_x4[i] + log(1.0 + exp(-abs(l)));
    }
    let total = lanes_sum((sum.x + sum.y) + (sum.z + sum.w));
    if lane == 0u {
        bf_rows[row] = total;
    }
}

// bce_forward_backward_lanes: bce_forward_lanes that also writes the loss's
// gradient dlogits = σ(logits) − x (vae.wgsl's bce_backward_vec4, the same
// arithmetic) while it has each value loaded: one pass over logits and x
// instead of two, and one dispatch fewer a training step. Bindings: 0
// logits, 1 x, 2 rows as bce_forward_lanes, 3 dlogits (N, D), 4 p.
@group(0) @binding(3) var<storage, read_write> bfb_dlogits4: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> bfb_p: Params;

@compute @workgroup_size(8, 1, 1)
fn bce_forward_backward_lanes(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let row = wid.x;
    let cols4 = bfb_p.cols / 4u;
    var sum = vec4<f32>(0.0);
    for (var d = lane; d < cols4; d += 8u) {
        let i = row * cols4 + d;
        let l = bf_logits4[i];
        let x = bf_x4[i];
        sum += max(l, vec4<f32>(0.0)) - l * x + log(1.0 + exp(-abs(l)));
        bfb_dlogits4[i] = 1.0 / (1.0 + exp(-l)) - x;
    }
    let total = lanes_sum((sum.x + sum.y) + (sum.z + sum.w));
    if lane == 0u {
        bf_rows[row] = total;
    }
}

// kl_forward_lanes: 0 mu (N, L), 1 logvar (N, L), 2 rows (N), 3 p.
@group(0) @binding(0) var<storage, read> kf_mu: array<f32>;
@group(0) @binding(1) var<storage, read> kf_lv: array<f32>;

@compute @workgroup_size(8, 1, 1)
fn kl_forward_lanes(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let row = wid.x;
    var sum = 0.0;
    for (var j = lane; j < bf_p.cols; j += 8u) {
        let i = row * bf_p.cols + j;
        let m = kf_mu[i];
        let lv = kf_lv[i];
        sum += -0.5 * (1.0 + lv - m * m - exp(lv));
    }
    let total = lanes_sum(sum);
    if lane == 0u {
        bf_rows[row] = total;
    }
}

// kl_forward_backward_lanes: kl_forward_lanes that also writes the term's
// gradients dμ = μ and dlog σ² = ½(e^{log σ²} − 1) (vae.wgsl's kl_backward
// at scale 1, the same arithmetic) while it has each value loaded: one
// kernel and one dispatch fewer a training step. Bindings: 0 mu, 1 logvar,
// 2 rows as kl_forward_lanes, 3 dmu, 4 dlogvar (N, L), 5 p.
@group(0) @binding(3) var<storage, read_write> kfb_dmu: array<f32>;
@group(0) @binding(4) var<storage, read_write> kfb_dlv: array<f32>;
@group(0) @binding(5) var<uniform> kfb_p: Params;

@compute @workgroup_size(8, 1, 1)
fn kl_forward_backward_lanes(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let row = wid.x;
    var sum = 0.0;
    for (var j = lane; j < kfb_p.cols; j += 8u) {
        let i = row * kfb_p.cols + j;
        let m = kf_mu[i];
        let lv = kf_lv[i];
        let e = exp(lv);
        sum += -0.5 * (1.0 + lv - m * m - e);
        kfb_dmu[i] = m;
        kfb_dlv[i] = 0.5 * (e - 1.0);
    }
    let total = lanes_sum(sum);
    if lane == 0u {
        bf_rows[row] = total;
    }
}
