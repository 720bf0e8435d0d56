// Deterministic sums over all but one axis.
//
// The input is viewed as (A, C, B); out[c] = Σ_a Σ_b x[a, c, b]. Three
// kernels, each summing in a fixed order (no atomics, so the result is the
// same on every run); reduce.rs picks by shape:
//   reduce_sum      one workgroup per c: each of its 64 invocations sums a
//                   fixed strided subset, then a fixed tree adds the 64
//                   partial sums. For few, long sums (a loss total).
//   reduce_rows     one invocation per (a, c) sums over b; its output is
//                   either the result (A = 1) or partial sums (A, C) ...
//   reduce_columns  ... that one invocation per c sums over a (B = 1).
// The last two keep every lane busy and need no barriers, which on CPU
// adapters cost more than the sums themselves.
//   dense bias gradient: x = dY (M, N)        → A = M, C = N, B = 1
//   conv bias gradient:  x = dY (N, C, H·W)   → A = N, C = C, B = H·W
//   row sums (losses):   x = (R, D)           → A = 1, C = R, B = D
//
// Bindings: 0 x (A·C·B), 1 out (C, written at out[c * out_stride]), 2 p.
// With accumulate = 1 the sum is added to what out holds.

struct Params {
    a: u32,
    c: u32,
    b: u32,
    out_stride: u32,
    // out[c] = scale * sum; lets a loss be reported per image.
    scale: f32,
    // 1: out[c] += scale * sum (a loss summed over the steps of an epoch).
    accumulate: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

const WG: u32 = 64u;
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG, 1, 1)
fn reduce_sum(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    // Large C is spread over x and y so the grid stays within limits.
    let c = wid.y * 65535u + wid.x;
    let in_range = c < p.c;
    var sum = 0.0;
    // Two loop shapes, neither dividing per element (integer division is
    // slow on CPU adapters): B = 1 strides over A, otherwise over B.
    if in_range && p.b == 1u {
        for (var ai = lid; ai < p.a; ai += WG) {
            sum += x[ai * p.c + c];
        }
    } else if in_range {
        for (var ai = 0u; ai < p.a; ai++) {
            let base = (ai * p.c + c) * p.b;
            for (var bi = lid; bi < p.b; bi += WG) {
                sum += x[base + bi];
            }
        }
    }
    partial[lid] = sum;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
        if lid < stride {
            partial[lid] += partial[lid + stride];
        }
        workgroupBarrier();
    }
    if in_range && lid == 0u {
        finish(c, partial[0]);
    }
}

fn finish(c: u32, sum: f32) {
    var v = p.scale * sum;
    if p.accumulate == 1u {
        v += out[c * p.out_stride];
    }
    out[c * p.out_stride] = v;
}

// Here the (A, C) pairs are spread over x and y as one index i = a·C + c.
@compute @workgroup_size(64, 1, 1)
fn reduce_rows(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.y * 65535u * 64u + gid.x;
    if i >= p.a * p.c {
        return;
    }
    var sum = 0.0;
    let base = i * p.b;
    for (var bi = 0u; bi < p.b; bi++) {
        sum += x[base + bi];
    }
    finish(i, sum);
}

// reduce_rows with x copied into an RGBA32F texture (64 texels a row, as in
// matmul_texture.wgsl) and read as a storage texture, for CPU adapters,
// where a storage load costs about three times as much per float as a
// texel load. Row i is floats i·B .. (i + 1)·B: texels masked at its ends
// (rows need not start on a texel). Bindings: 0 tx, 1 out, 2 p.
@group(0) @binding(0) var tx: texture_storage_2d<rgba32float, read>;

@compute @workgroup_size(64, 1, 1)
fn reduce_rows_texture(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.y * 65535u * 64u + gid.x;
    if i >= p.a * p.c {
        return;
    }
    let start = i * p.b;
    let end = start + p.b;
    var sum = 0.0;
    for (var t = start / 4u; 4u * t < end; t++) {
        let at = vec4<u32>(4u * t) + vec4<u32>(0u, 1u, 2u, 3u);
        let keep = (at >= vec4<u32>(start)) & (at < vec4<u32>(end));
        let v = select(vec4<f32>(0.0), textureLoad(tx, vec2<u32>(t & 63u, t >> 6u)), keep);
        sum += (v.x + v.y) + (v.z + v.w);
    }
    finish(i, sum);
}

@compute @workgroup_size(64, 1, 1)
fn reduce_columns(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c = gid.y * 65535u * 64u + gid.x;
    if c >= p.c {
        return;
    }
    var sum = 0.0;
    for (var ai = 0u; ai < p.a; ai++) {
        sum += x[ai * p.c + c];
    }
    finish(c, sum);
}

// reduce_columns with x copied into an RGBA32F texture (as
// reduce_rows_texture), C a multiple of 4: each invocation sums four
// neighbouring columns, one texel a row, in the same order as
// reduce_columns. Bindings: 0 tx, 1 out, 2 p.
@compute @workgroup_size(64, 1, 1)
fn reduce_columns_texture(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c4 = gid.y * 65535u * 64u + gid.x;
    let cols4 = p.c / 4u;
    if c4 >= cols4 {
        return;
    }
    var sum = vec4<f32>(0.0);
    var t = c4;
    for (var ai = 0u; ai < p.a; ai++) {
        sum += textureLoad(tx, vec2<u32>(t & 63u, t >> 6u));
        t += cols4;
    }
    for (var j = 0u; j < 4u; j++) {
        finish(4u * c4 + j, sum[j]);
    }
}

