// Deterministic sums over all but one axis.
//
// The input is viewed as (A, C, B); out[c] = Σ_a Σ_b x[a, c, b]. One workgroup
// per c: each of its 64 invocations sums a fixed strided subset in order, then
// a fixed tree adds the 64 partial sums. No atomics, so the result is the same
// on every run.
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
        var v = p.scale * partial[0];
        if p.accumulate == 1u {
            v += out[c * p.out_stride];
        }
        out[c * p.out_stride] = v;
    }
}
