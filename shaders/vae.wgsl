// The VAE's own pieces: reconstruction loss, KL term, reparameterisation and
// its counter-based normal generator.
//
// Legend: N images, D pixels per image, L latent size.
//   bce_forward      rows[n] = Σ_d max(l,0) − l·x + log(1 + e^−|l|)     (BCE with logits, summed)
//   bce_backward     dl[n,d] = scale · (σ(l) − x)
//   kl_forward       rows[n] = −½ Σ_j (1 + lv − μ² − e^lv)
//   kl_backward      dμ = scale · μ;  dlv = scale · ½ (e^lv − 1)
//   reparam_forward  ε = N(0,1) from (seed, step, index); z = μ + e^{½ lv} · ε
//   reparam_backward dlv = dz · ½ e^{½ lv} · ε   (dμ = dz needs no kernel)
// The step comes from state[0], a counter on the GPU advanced once per training
// step (adam.wgsl), so a recorded step draws fresh noise on every replay.
// Row sums use one workgroup per row and a fixed tree: deterministic.

struct Params {
    rows: u32,
    cols: u32,
    seed: u32,
    scale: f32,
}

const WG: u32 = 64u;
var<workgroup> partial: array<f32, WG>;

// Sum `value` over the workgroup in a fixed order; valid in invocation 0.
fn workgroup_sum(lid: u32, value: f32) -> f32 {
    partial[lid] = value;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
        if lid < stride {
            partial[lid] += partial[lid + stride];
        }
        workgroupBarrier();
    }
    return partial[0];
}

// bce_forward: 0 logits (N, D), 1 x (N, D), 2 rows (N), 3 p
@group(0) @binding(0) var<storage, read> bf_logits: array<f32>;
@group(0) @binding(1) var<storage, read> bf_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> bf_rows: array<f32>;
@group(0) @binding(3) var<uniform> bf_p: Params;

@compute @workgroup_size(WG, 1, 1)
fn bce_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = wid.x;
    var sum = 0.0;
    for (var d = lid; d < bf_p.cols; d += WG) {
        let i = row * bf_p.cols + d;
        let l = bf_logits[i];
        sum += max(l, 0.0) - l * bf_x[i] + log(1.0 + exp(-abs(l)));
    }
    let total = workgroup_sum(lid, sum);
    if lid == 0u {
        bf_rows[row] = total;
    }
}

// bce_backward: 0 logits, 1 x, 2 dlogits (N, D), 3 p
@group(0) @binding(0) var<storage, read> bb_logits: array<f32>;
@group(0) @binding(1) var<storage, read> bb_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> bb_dlogits: array<f32>;
@group(0) @binding(3) var<uniform> bb_p: Params;

@compute @workgroup_size(256, 1, 1)
fn bce_backward(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.y * 65535u * 256u + gid.x;
    if i >= bb_p.rows * bb_p.cols {
        return;
    }
    let s = 1.0 / (1.0 + exp(-bb_logits[i]));
    bb_dlogits[i] = bb_p.scale * (s - bb_x[i]);
}

// The same four values at a time where D is a multiple of 4: on llvmpipe
// every storage access is a loop over the lanes, about as costly for a vec4
// as for one float.
@group(0) @binding(0) var<storage, read> bf_logits4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> bf_x4: array<vec4<f32>>;

@compute @workgroup_size(WG, 1, 1)
fn bce_forward_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = wid.x;
    let cols4 = bf_p.cols / 4u;
    var sum = vec4<f32>(0.0);
    for (var d = lid; d < cols4; d += WG) {
        let i = row * cols4 + d;
        let l = bf_logits4[i];
        sum += max(l, vec4<f32>(0.0)) - l * bf_x4[i] + log(1.0 + exp(-abs(l)));
    }
    let total = workgroup_sum(lid, (sum.x + sum.y) + (sum.z + sum.w));
    if lid == 0u {
        bf_rows[row] = total;
    }
}

@group(0) @binding(0) var<storage, read> bb_logits4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> bb_x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> bb_dlogits4: array<vec4<f32>>;

@compute @workgroup_size(256, 1, 1)
fn bce_backward_vec4(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.y * 65535u * 256u + gid.x;
    if i >= bb_p.rows * bb_p.cols / 4u {
        return;
    }
    let s = 1.0 / (1.0 + exp(-bb_logits4[i]));
    bb_dlogits4[i] = bb_p.scale * (s - bb_x4[i]);
}

// kl_forward: 0 mu (N, L), 1 logvar (N, L), 2 rows (N), 3 p
@group(0) @binding(0) var<storage, read> kf_mu: array<f32>;
@group(0) @binding(1) var<storage, read> kf_lv: array<f32>;
@group(0) @binding(2) var<storage, read_write> kf_rows: array<f32>;
@group(0) @binding(3) var<uniform> kf_p: Params;

@compute @workgroup_size(WG, 1, 1)
fn kl_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = wid.x;
    var sum = 0.0;
    for (var j = lid; j < kf_p.cols; j += WG) {
        let i = row * kf_p.cols + j;
        let m = kf_mu[i];
        let lv = kf_lv[i];
        sum += -0.5 * (1.0 + lv - m * m - exp(lv));
    }
    let total = workgroup_sum(lid, sum);
    if lid == 0u {
        kf_rows[row] = total;
    }
}

// kl_backward: 0 mu, 1 logvar, 2 dmu, 3 dlogvar (N, L), 4 p
@group(0) @binding(0) var<storage, read> kb_mu: array<f32>;
@group(0) @binding(1) var<storage, read> kb_lv: array<f32>;
@group(0) @binding(2) var<storage, read_write> kb_dmu: array<f32>;
@group(0) @binding(3) var<storage, read_write> kb_dlv: array<f32>;
@group(0) @binding(4) var<uniform> kb_p: Params;

@compute @workgroup_size(256, 1, 1)
fn kl_backward(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.y * 65535u * 256u + gid.x;
    if i >= kb_p.rows * kb_p.cols {
        return;
    }
    kb_dmu[i] = kb_p.scale * kb_mu[i];
    kb_dlv[i] = kb_p.scale * 0.5 * (exp(kb_lv[i]) - 1.0);
}

// PCG hash (O'Neill's permuted congruential step + output permutation).
fn pcg(v: u32) -> u32 {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

// The standard normal number `index` of stream (seed, step): two hashed
// uniforms from a counter, then Box–Muller.
fn normal(seed: u32, step: u32, index: u32) -> f32 {
    let key = pcg(seed ^ pcg(step + 0x9e3779b9u));
    let h1 = pcg(key ^ pcg(index));
    let h2 = pcg(h1 ^ 0x85ebca6bu);
    // u1 in (0, 1]: never 0, so the log is finite.
    let u1 = (f32(h1 >> 8u) + 1.0) / 16777216.0;
    let u2 = f32(h2 >> 8u) / 16777216.0;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

// reparam_forward: 0 mu, 1 logvar, 2 state (u32 counters), 3 eps, 4 z, 5 p
@group(0) @binding(0) var<storage, read> rf_mu: array<f32>;
@group(0) @binding(1) var<storage, read> rf_lv: array<f32>;
@group(0) @binding(2) var<storage, read> rf_state: array<u32>;
@group(0) @binding(3) var<storage, read_write> rf_eps: array<f32>;
@group(0) @binding(4) var<storage, read_write> rf_z: array<f32>;
@group(0) @binding(5) var<uniform> rf_p: Params;

@compute @workgroup_size(256, 1, 1)
fn reparam_forward(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.y * 65535u * 256u + gid.x;
    if i >= rf_p.rows * rf_p.cols {
        return;
    }
    let e = normal(rf_p.seed, rf_state[0], i);
    rf_eps[i] = e;
    rf_z[i] = rf_mu[i] + exp(0.5 * rf_lv[i]) * e;
}

// reparam_backward: 0 dz, 1 logvar, 2 eps, 3 dlogvar, 4 p
@group(0) @binding(0) var<storage, read> rb_dz: array<f32>;
@group(0) @binding(1) var<storage, read> rb_lv: array<f32>;
@group(0) @binding(2) var<storage, read> rb_eps: array<f32>;
@group(0) @binding(3) var<storage, read_write> rb_dlv: array<f32>;
@group(0) @binding(4) var<uniform> rb_p: Params;

@compute @workgroup_size(256, 1, 1)
fn reparam_backward(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.y * 65535u * 256u + gid.x;
    if i >= rb_p.rows * rb_p.cols {
        return;
    }
    rb_dlv[i] = rb_dz[i] * 0.5 * exp(0.5 * rb_lv[i]) * rb_eps[i];
}
