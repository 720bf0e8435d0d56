// Batches built on the GPU from a dataset that lives there, and the step state.
//
// state (u32): [0] training steps taken, [1] position of the next batch in the
// epoch's permutation ([2], [3]: Adam's bias corrections, see step_state).
// The CPU writes a new permutation and resets state[1]
// once per epoch; step_state moves both on at the end of every step, so a
// recorded step can be replayed with no upload at all.
//   gather_rows  out[b, j] = data[perm[state[1] + b], j]   (rows past the end of perm are 0)
//
// gather_rows bindings: 0 data (R, D; or R·D bytes, packed), 1 perm (P, u32), 2 state, 3 out (B, D), 4 p
// step_state bindings: see step_state below

struct Params {
    batch: u32,
    dim: u32,
    perm_len: u32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> data: array<f32>;
@group(0) @binding(1) var<storage, read> perm: array<u32>;
@group(0) @binding(2) var<storage, read> state: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(256, 1, 1)
fn gather_rows(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.y * 65535u * 256u + gid.x;
    if i >= p.batch * p.dim {
        return;
    }
    let b = i / p.dim;
    let j = i % p.dim;
    let pos = state[1] + b;
    var value = 0.0;
    if pos < p.perm_len {
        value = data[perm[pos] * p.dim + j];
    }
    out[i] = value;
}

// The same four values at a time, where D is a multiple of 4: on llvmpipe
// every storage access is a loop over the lanes, about as costly for a vec4
// as for one float, so this makes a quarter of the accesses.
@group(0) @binding(0) var<storage, read> data4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out4: array<vec4<f32>>;

@compute @workgroup_size(256, 1, 1)
fn gather_rows_vec4(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.y * 65535u * 256u + gid.x;
    let dim4 = p.dim / 4u;
    if i >= p.batch * dim4 {
        return;
    }
    let b = i / dim4;
    let j = i % dim4;
    let pos = state[1] + b;
    var value = vec4<f32>(0.0);
    if pos < p.perm_len {
        value = data4[perm[pos] * dim4 + j];
    }
    out4[i] = value;
}

// The same from a dataset stored as bytes, four pixels a u32 (pixel k of
// the set in bits 8(k % 4).. of word k / 4): a quarter of the memory and of
// the upload, for data whose pixels are bytes / 255 (every loader's). Each
// becomes f32(byte) / 255, as the loader computes it on the CPU: a correctly
// rounded division on llvmpipe (WGSL allows real GPUs 2.5 ulp).
@group(0) @binding(0) var<storage, read> bytes: array<u32>;

@compute @workgroup_size(256, 1, 1)
fn gather_rows_bytes(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.y * 65535u * 256u + gid.x;
    if i >= p.batch * p.dim {
        return;
    }
    let b = i / p.dim;
    let j = i % p.dim;
    let pos = state[1] + b;
    var value = 0.0;
    if pos < p.perm_len {
        let k = perm[pos] * p.dim + j;
        value = f32((bytes[k / 4u] >> (8u * (k % 4u))) & 255u) / 255.0;
    }
    out[i] = value;
}

// Four pixels (one word) at a time, where D is a multiple of 4.
@compute @workgroup_size(256, 1, 1)
fn gather_rows_bytes_vec4(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.y * 65535u * 256u + gid.x;
    let dim4 = p.dim / 4u;
    if i >= p.batch * dim4 {
        return;
    }
    let b = i / dim4;
    let j = i % dim4;
    let pos = state[1] + b;
    var value = vec4<f32>(0.0);
    if pos < p.perm_len {
        let w = bytes[perm[pos] * dim4 + j];
        let each = vec4<u32>(w, w >> 8u, w >> 16u, w >> 24u) & vec4<u32>(255u);
        value = vec4<f32>(each) / 255.0;
    }
    out4[i] = value;
}

// The step state's bookkeeping, one invocation: both of a training step's
// bookkeeping dispatches (before its first texture Adam update, and its
// last) are this one kernel (on llvmpipe each kernel costs 20-30 ms of JIT
// at a cold start, however small; these were three).
//   mode 0, before the step's first texture Adam update (adam_update_texture):
//     state[2] = 1 / (1 - beta1^t), state[3] = 1 / (1 - beta2^t) as f32 bits,
//     t = state[0] + 1 (there the update's pow and division ran for every 8
//     lanes of every dispatch: 10-15% of its time).
//   mode 1, the step's last dispatch: with `check`, flag[0] = state[0] + 1 at
//     the first step whose running loss sums (loss[0], loss[64]: bce and kl,
//     see the executor's loss buffer) are not finite; then state[0] += 1 and
//     state[1] += batch.
// Bindings: 0 ss_state (the state buffer's first 16 bytes), 1 ss_p, 2 ss_loss,
// 3 ss_flag. Unused bindings take the state buffer again: read_write, so
// that binding one buffer twice is allowed.
struct StepParams {
    mode: u32,
    batch: u32,
    check: u32,
    _pad: u32,
    beta1: f32,
    beta2: f32,
    _pad2: u32,
    _pad3: u32,
}

@group(0) @binding(0) var<storage, read_write> ss_state: array<u32, 4>;
@group(0) @binding(1) var<uniform> ss_p: StepParams;
@group(0) @binding(2) var<storage, read_write> ss_loss: array<f32>;
@group(0) @binding(3) var<storage, read_write> ss_flag: array<u32>;

fn finite(v: f32) -> bool {
    // No isnan in WGSL: NaN is the one value unequal to itself.
    return v == v && abs(v) <= 3.4028235e38;
}

@compute @workgroup_size(1, 1, 1)
fn step_state() {
    if ss_p.mode == 0u {
        let t = f32(ss_state[0] + 1u);
        ss_state[2] = bitcast<u32>(1.0 / (1.0 - pow(ss_p.beta1, t)));
        ss_state[3] = bitcast<u32>(1.0 / (1.0 - pow(ss_p.beta2, t)));
        return;
    }
    if ss_p.check == 1u && ss_flag[0] == 0u && !(finite(ss_loss[0]) && finite(ss_loss[64])) {
        ss_flag[0] = ss_state[0] + 1u;
    }
    ss_state[0] += 1u;
    ss_state[1] += ss_p.batch;
}
