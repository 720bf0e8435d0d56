// Batches built on the GPU from a dataset that lives there, and the step state.
//
// state (u32): [0] training steps taken, [1] position of the next batch in the
// epoch's permutation. The CPU writes a new permutation and resets state[1]
// once per epoch; state_advance moves both on at the end of every step, so a
// recorded step can be replayed with no upload at all.
//   gather_rows  out[b, j] = data[perm[state[1] + b], j]   (rows past the end of perm are 0)
//
// gather_rows bindings: 0 data (R, D; or R·D bytes, packed), 1 perm (P, u32), 2 state, 3 out (B, D), 4 p
// state_advance bindings: 0 state (read_write), 1 p

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

@group(0) @binding(0) var<storage, read_write> sa_state: array<u32>;
@group(0) @binding(1) var<uniform> sa_p: Params;

@compute @workgroup_size(1, 1, 1)
fn state_advance() {
    sa_state[0] += 1u;
    sa_state[1] += sa_p.batch;
}
