// Adam with bias correction (Kingma & Ba), one invocation per parameter.
//   t  = state[0] + 1                (steps already taken, counted on the GPU)
//   m  = β₁ m + (1 − β₁) g
//   v  = β₂ v + (1 − β₂) g²
//   θ -= lr · (m / (1 − β₁ᵗ)) / (sqrt(v / (1 − β₂ᵗ)) + ε)
// Reading t from the GPU lets one recorded step be replayed without rewriting
// any uniform.
//
// Bindings: 0 grad (n), 1 state (u32), 2 param (n), 3 m (n), 4 v (n), 5 p.

struct Params {
    n: u32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    // adam_update_texture: the row of tp where this chunk's θ starts.
    tp_row: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> grad: array<f32>;
@group(0) @binding(1) var<storage, read> state: array<u32>;
@group(0) @binding(2) var<storage, read_write> param: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(256, 1, 1)
fn adam_update(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.y * 65535u * 256u + gid.x;
    if i >= p.n {
        return;
    }
    let t = f32(state[0] + 1u);
    let g = grad[i];
    let mi = p.beta1 * m[i] + (1.0 - p.beta1) * g;
    let vi = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    let m_hat = mi / (1.0 - pow(p.beta1, t));
    let v_hat = vi / (1.0 - pow(p.beta2, t));
    param[i] -= p.lr * m_hat / (sqrt(v_hat) + p.eps);
}

// The same four parameters at a time (n a multiple of 4): on llvmpipe each
// storage access costs about as much for a vec4 as for one float.
@group(0) @binding(0) var<storage, read> grad4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> param4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> m4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> v4: array<vec4<f32>>;

@compute @workgroup_size(256, 1, 1)
fn adam_update_vec4(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.y * 65535u * 256u + gid.x;
    if i >= p.n / 4u {
        return;
    }
    store4(i, adam4(grad4[i], m4[i], v4[i], param4[i]));
}

struct Adam4 {
    m: vec4<f32>,
    v: vec4<f32>,
    param: vec4<f32>,
}

// One step of four parameters from their gradient, moments and values.
fn adam4(g: vec4<f32>, m: vec4<f32>, v: vec4<f32>, param: vec4<f32>) -> Adam4 {
    let t = f32(state[0] + 1u);
    let mi = p.beta1 * m + (1.0 - p.beta1) * g;
    let vi = p.beta2 * v + (1.0 - p.beta2) * g * g;
    let m_hat = mi / (1.0 - pow(p.beta1, t));
    let v_hat = vi / (1.0 - pow(p.beta2, t));
    return Adam4(mi, vi, param - p.lr * m_hat / (sqrt(v_hat) + p.eps));
}

fn store4(i: u32, s: Adam4) {
    m4[i] = s.m;
    v4[i] = s.v;
    param4[i] = s.param;
}

// The vec4 update reading g, m, v and θ through 64 KiB uniform windows, for
// llvmpipe: there a storage load costs about 4 ns per float and a uniform
// gather about 0.4, so this runs about three times as fast (probe: 19 → 6.5
// ns per parameter) even after m, v and θ are first copied to a staging slot
// (they cannot be read as uniforms in the dispatch that writes them; copies
// are memcpys, about 0.7 ns per float). One dispatch per window of 16384
// values; p.n is how many of them are real. Bindings: 0 wg (gradient window),
// 1 state, 2 param4, 3 m4, 4 v4 (this window's range), 5 p, 6 wm, 7 wv, 8 wp
// (staged windows).
@group(0) @binding(0) var<uniform> wg: array<vec4<f32>, 4096>;
@group(0) @binding(6) var<uniform> wm: array<vec4<f32>, 4096>;
@group(0) @binding(7) var<uniform> wv: array<vec4<f32>, 4096>;
@group(0) @binding(8) var<uniform> wp: array<vec4<f32>, 4096>;

@compute @workgroup_size(256, 1, 1)
fn adam_update_window(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if i >= p.n / 4u {
        return;
    }
    store4(i, adam4(wg[i], wm[i], wv[i], wp[i]));
}

// The vec4 update reading g, m, v and θ from RGBA32F textures (64 texels a
// row, texel i at (i % 64, i / 64)), for llvmpipe: a texel fetch brings four
// floats per lane for about 1.3 ns, where a storage load of a vec4 is a loop
// over the lanes and a uniform window is capped at 64 KiB (16,384 values a
// dispatch). The values are first copied into the textures (memcpys), four
// textures that every parameter of a step reuses in turn; θ is read instead
// from the copy a texture matmul made of it earlier in the step, where there
// is one (tp_row: where this chunk starts in it); the step count
// comes through a uniform binding of the state buffer, which llvmpipe reads
// once for all lanes, with the step's bias corrections that step_state (data.wgsl)
// wrote there (state[2], state[3]). Bindings: 0 tg, 1 ustate, 2 param4, 3 m4, 4 v4 (this
// parameter), 5 p, 6 tm, 7 tv, 8 tp.
@group(0) @binding(0) var tg: texture_storage_2d<rgba32float, read>;
@group(0) @binding(1) var<uniform> ustate: vec4<u32>;
@group(0) @binding(6) var tm: texture_storage_2d<rgba32float, read>;
@group(0) @binding(7) var tv: texture_storage_2d<rgba32float, read>;
@group(0) @binding(8) var tp: texture_storage_2d<rgba32float, read>;

@compute @workgroup_size(64, 1, 1)
fn adam_update_texture(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.y * 65535u * 64u + gid.x;
    // A last group of fewer than four values is stored whole: the Rust side
    // binds θ, m and v padded to a multiple of 4 (the padding is theirs).
    if i >= (p.n + 3u) / 4u {
        return;
    }
    let at = vec2<u32>(i & 63u, i >> 6u);
    let g = textureLoad(tg, at);
    let m = textureLoad(tm, at);
    let v = textureLoad(tv, at);
    let param = textureLoad(tp, at + vec2<u32>(0u, p.tp_row));
    let mi = p.beta1 * m + (1.0 - p.beta1) * g;
    let vi = p.beta2 * v + (1.0 - p.beta2) * g * g;
    let m_hat = mi * bitcast<f32>(ustate.z);
    let v_hat = vi * bitcast<f32>(ustate.w);
    m4[i] = mi;
    v4[i] = vi;
    param4[i] = param - p.lr * m_hat / (sqrt(v_hat) + p.eps);
}
