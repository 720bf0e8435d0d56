// Batches built on the GPU from a dataset that lives there, and the step state.
//
// state (u32): [0] training steps taken, [1] position of the next batch in the
// epoch's permutation. The CPU writes a new permutation and resets state[1]
// once per epoch; state_advance moves both on at the end of every step, so a
// recorded step can be replayed with no upload at all.
//   gather_rows  out[b, j] = data[perm[state[1] + b], j]   (rows past the end of perm are 0)
//
// gather_rows bindings: 0 data (R, D), 1 perm (P, u32), 2 state, 3 out (B, D), 4 p
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

@group(0) @binding(0) var<storage, read_write> sa_state: array<u32>;
@group(0) @binding(1) var<uniform> sa_p: Params;

@compute @workgroup_size(1, 1, 1)
fn state_advance() {
    sa_state[0] += 1u;
    sa_state[1] += sa_p.batch;
}
