// Elementwise activations and arithmetic, one invocation per element.
//
// kind: 0 ReLU, 1 LeakyReLU(alpha), 2 sigmoid, 3 tanh.
//   forward   y = f(x)
//   backward  dx = dy · f'(x), written from y alone:
//     ReLU 1[y > 0]; LeakyReLU 1 or alpha by the sign of y (alpha > 0);
//     sigmoid y(1 − y); tanh 1 − y².
// elementwise_add  c = alpha · a + beta · b   (add, subtract, scale with b = a, beta = 0)
// elementwise_mul  c = alpha · a · b
//
// Bindings: activation_forward: 0 x, 1 y, 2 p. activation_backward: 0 y, 1 dy, 2 dx, 3 p.
// elementwise_*: 0 a, 1 b, 2 c, 3 p. All arrays have n elements.

struct Params {
    n: u32,
    kind: u32,
    alpha: f32,
    beta: f32,
}

const WG: u32 = 256u;

fn index(gid: vec3<u32>) -> u32 {
    // 2-D grid so that more than 65535 workgroups' worth of elements fit.
    return gid.y * 65535u * WG + gid.x;
}

@group(0) @binding(0) var<storage, read> fx: array<f32>;
@group(0) @binding(1) var<storage, read_write> fy: array<f32>;
@group(0) @binding(2) var<uniform> fp: Params;

@compute @workgroup_size(WG, 1, 1)
fn activation_forward(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = index(gid);
    if i >= fp.n {
        return;
    }
    let x = fx[i];
    var y: f32;
    switch fp.kind {
        case 0u: { y = max(x, 0.0); }
        case 1u: { y = select(fp.alpha * x, x, x > 0.0); }
        case 2u: { y = 1.0 / (1.0 + exp(-x)); }
        default: { y = tanh(x); }
    }
    fy[i] = y;
}

@group(0) @binding(0) var<storage, read> by: array<f32>;
@group(0) @binding(1) var<storage, read> bdy: array<f32>;
@group(0) @binding(2) var<storage, read_write> bdx: array<f32>;
@group(0) @binding(3) var<uniform> bp: Params;

@compute @workgroup_size(WG, 1, 1)
fn activation_backward(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = index(gid);
    if i >= bp.n {
        return;
    }
    let y = by[i];
    var slope: f32;
    switch bp.kind {
        case 0u: { slope = select(0.0, 1.0, y > 0.0); }
        case 1u: { slope = select(bp.alpha, 1.0, y > 0.0); }
        case 2u: { slope = y * (1.0 - y); }
        default: { slope = 1.0 - y * y; }
    }
    bdx[i] = bdy[i] * slope;
}

// The same four elements at a time (n a multiple of 4): on llvmpipe a vec4
// storage access costs about as much as a scalar one.
@group(0) @binding(0) var<storage, read> by4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> bdy4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> bdx4: array<vec4<f32>>;

@compute @workgroup_size(WG, 1, 1)
fn activation_backward_vec4(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = index(gid);
    if i >= bp.n / 4u {
        return;
    }
    bdx4[i] = bdy4[i] * slope4(by4[i]);
}

fn slope4(y: vec4<f32>) -> vec4<f32> {
    switch bp.kind {
        case 0u: { return select(vec4<f32>(0.0), vec4<f32>(1.0), y > vec4<f32>(0.0)); }
        case 1u: { return select(vec4<f32>(bp.alpha), vec4<f32>(1.0), y > vec4<f32>(0.0)); }
        case 2u: { return y * (1.0 - y); }
        default: { return 1.0 - y * y; }
    }
}

// The same with y and dy read through 64 KiB uniform windows, for CPU
// adapters where the tensors do not fit a texture (below): llvmpipe gathers a uniform float in about 0.4 ns and loads a
// storage one in about 4 (the conv step's ReLU gradients: 22–24 → 13–14
// ms). One dispatch per window of 16384 values; bp.n counts this
// window's. Bindings: 0 wy, 1 wdy, 2 bdx4 (this window's range), 3 bp.
@group(0) @binding(0) var<uniform> wy: array<vec4<f32>, 4096>;
@group(0) @binding(1) var<uniform> wdy: array<vec4<f32>, 4096>;

@compute @workgroup_size(WG, 1, 1)
fn activation_backward_window(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if i >= bp.n / 4u {
        return;
    }
    bdx4[i] = wdy[i] * slope4(wy[i]);
}

// The same with y and dy copied into RGBA32F textures (64 texels a row, as
// in matmul_texture.wgsl) and read as storage textures, for CPU adapters:
// one dispatch for any size, where the uniform windows took one per 16,384
// values (152 dispatches in a conv step). Bindings: 0 ty, 1 tdy, 2 bdx4, 3 bp.
@group(0) @binding(0) var ty: texture_storage_2d<rgba32float, read>;
@group(0) @binding(1) var tdy: texture_storage_2d<rgba32float, read>;

@compute @workgroup_size(WG, 1, 1)
fn activation_backward_texture(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = index(gid);
    if i >= bp.n / 4u {
        return;
    }
    let at = vec2<u32>(i & 63u, i >> 6u);
    bdx4[i] = textureLoad(tdy, at) * slope4(textureLoad(ty, at));
}

@group(0) @binding(0) var<storage, read> ea: array<f32>;
@group(0) @binding(1) var<storage, read> eb: array<f32>;
@group(0) @binding(2) var<storage, read_write> ec: array<f32>;
@group(0) @binding(3) var<uniform> ep: Params;

@compute @workgroup_size(WG, 1, 1)
fn elementwise_add(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = index(gid);
    if i >= ep.n {
        return;
    }
    ec[i] = ep.alpha * ea[i] + ep.beta * eb[i];
}

// The same four values at a time (n a multiple of 4).
@group(0) @binding(0) var<storage, read> ea4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> eb4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> ec4: array<vec4<f32>>;

@compute @workgroup_size(WG, 1, 1)
fn elementwise_add_vec4(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = index(gid);
    if i >= ep.n / 4u {
        return;
    }
    ec4[i] = ep.alpha * ea4[i] + ep.beta * eb4[i];
}

@compute @workgroup_size(WG, 1, 1)
fn elementwise_mul(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = index(gid);
    if i >= ep.n {
        return;
    }
    ec[i] = ep.alpha * ea[i] * eb[i];
}
