// 2-D convolution, NCHW, any kernel size K, stride S and padding P; square kernels.
//
// Legend: N batch, C input channels (ci), D output channels (co), H×W input,
// Ho×Wo output with Ho = (H + 2P − K) / S + 1.
//   forward          y[n,d,oh,ow] = b[d] + Σ_{c,kh,kw} w[d,c,kh,kw] · x[n,c,oh·S−P+kh, ow·S−P+kw]
//   backward_input   dx[n,c,ih,iw] = Σ_{d,kh,kw : ih = oh·S−P+kh} w[d,c,kh,kw] · dy[n,d,oh,ow]
//   backward_weight  dw[d,c,kh,kw] = Σ_{n,oh,ow} dy[n,d,oh,ow] · x[n,c,oh·S−P+kh, ow·S−P+kw]
// The transposed convolution reuses these: its forward is backward_input (with
// bias and ReLU), its input gradient is forward, its weight gradient is
// backward_weight with x and dy swapped. The bias gradient is in reduce.wgsl.
//
// Every entry point is an implicit GEMM: each invocation computes a 4×4 block
// (4 channels × 4 pixels) with no shared memory.
//
// Bindings of forward and backward_input (inputs → outputs → params):
//   0 src  : forward x (N, C, H, W); backward_input dy (N, D, Ho, Wo)
//   1 w    : (D, C, K, K)
//   2 bias : forward (D); backward_input (C); read only when has_bias = 1
//   3 dst  : forward y (N, D, Ho, Wo); backward_input dx (N, C, H, W)
//   4 p    : Params
// Bindings of backward_weight: 0 bw_x (N, C, H, W), 1 bw_dy (N, D, Ho, Wo),
//   2 bw_dw (D, C, K, K), 3 bw_p.

struct Params {
    n: u32,
    c: u32,
    h: u32,
    w: u32,
    d: u32,
    ho: u32,
    wo: u32,
    k: u32,
    stride: u32,
    pad: u32,
    has_bias: u32,
    relu: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

fn epilogue(channel: u32, value: f32) -> f32 {
    var v = value;
    if p.has_bias == 1u {
        v += bias[channel];
    }
    if p.relu == 1u {
        v = max(v, 0.0);
    }
    return v;
}

@compute @workgroup_size(8, 8, 1)
fn conv2d_forward(@builtin(global_invocation_id) gid: vec3<u32>) {
    let hw_out = p.ho * p.wo;
    let total = p.n * hw_out;
    let pix0 = gid.x * 4u;
    let d0 = gid.y * 4u;
    if pix0 >= total || d0 >= p.d {
        return;
    }
    let kk = p.k * p.k;
    let hw = p.h * p.w;
    var x_base: vec4<u32>;
    var iy0: vec4<i32>;
    var ix0: vec4<i32>;
    var w_base: vec4<u32>;
    for (var i = 0u; i < 4u; i++) {
        let pix = min(pix0 + i, total - 1u);
        let n = pix / hw_out;
        let r = pix % hw_out;
        x_base[i] = n * p.c * hw;
        iy0[i] = i32((r / p.wo) * p.stride) - i32(p.pad);
        ix0[i] = i32((r % p.wo) * p.stride) - i32(p.pad);
        w_base[i] = min(d0 + i, p.d - 1u) * p.c * kk;
    }
    var acc: array<vec4<f32>, 4>; // acc[channel i][pixel j]
    for (var c = 0u; c < p.c; c++) {
        for (var kh = 0u; kh < p.k; kh++) {
            for (var kw = 0u; kw < p.k; kw++) {
                var xv: vec4<f32>;
                for (var j = 0u; j < 4u; j++) {
                    let iy = iy0[j] + i32(kh);
                    let ix = ix0[j] + i32(kw);
                    let inside = iy >= 0 && iy < i32(p.h) && ix >= 0 && ix < i32(p.w);
                    let idx = x_base[j] + c * hw + u32(clamp(iy, 0, i32(p.h) - 1)) * p.w
                        + u32(clamp(ix, 0, i32(p.w) - 1));
                    xv[j] = select(0.0, src[idx], inside);
                }
                let wi = c * kk + kh * p.k + kw;
                for (var i = 0u; i < 4u; i++) {
                    acc[i] += w[w_base[i] + wi] * xv;
                }
            }
        }
    }
    for (var i = 0u; i < 4u; i++) {
        let d = d0 + i;
        if d >= p.d {
            break;
        }
        for (var j = 0u; j < 4u; j++) {
            let pix = pix0 + j;
            if pix < total {
                let n = pix / hw_out;
                let r = pix % hw_out;
                dst[(n * p.d + d) * hw_out + r] = epilogue(d, acc[i][j]);
            }
        }
    }
}

@compute @workgroup_size(8, 8, 1)
fn conv2d_backward_input(@builtin(global_invocation_id) gid: vec3<u32>) {
    let hw = p.h * p.w;
    let total = p.n * hw;
    let pix0 = gid.x * 4u;
    let c0 = gid.y * 4u;
    if pix0 >= total || c0 >= p.c {
        return;
    }
    let hw_out = p.ho * p.wo;
    let kk = p.k * p.k;
    let s = i32(p.stride);
    var n_base: vec4<u32>;
    var ty0: vec4<i32>;
    var tx0: vec4<i32>;
    for (var j = 0u; j < 4u; j++) {
        let pix = min(pix0 + j, total - 1u);
        let n = pix / hw;
        let r = pix % hw;
        n_base[j] = n * p.d * hw_out;
        ty0[j] = i32(r / p.w) + i32(p.pad);
        tx0[j] = i32(r % p.w) + i32(p.pad);
    }
    var acc: array<vec4<f32>, 4>; // acc[channel i][pixel j]
    for (var kh = 0u; kh < p.k; kh++) {
        for (var kw = 0u; kw < p.k; kw++) {
            // Which output pixel (if any) each input pixel meets through tap (kh, kw).
            var dy_base: vec4<u32>;
            var hit: vec4<bool>;
            for (var j = 0u; j < 4u; j++) {
                let ty = ty0[j] - i32(kh);
                let tx = tx0[j] - i32(kw);
                let oh = ty / s;
                let ow = tx / s;
                hit[j] = ty >= 0 && tx >= 0 && ty % s == 0 && tx % s == 0
                    && oh < i32(p.ho) && ow < i32(p.wo);
                dy_base[j] = n_base[j] + select(0u, u32(oh) * p.wo + u32(ow), hit[j]);
            }
            if !any(hit) {
                continue;
            }
            let tap = kh * p.k + kw;
            for (var d = 0u; d < p.d; d++) {
                var dv: vec4<f32>;
                for (var j = 0u; j < 4u; j++) {
                    dv[j] = select(0.0, src[dy_base[j] + d * hw_out], hit[j]);
                }
                let wd = d * p.c * kk + tap;
                for (var i = 0u; i < 4u; i++) {
                    acc[i] += w[wd + min(c0 + i, p.c - 1u) * kk] * dv;
                }
            }
        }
    }
    for (var i = 0u; i < 4u; i++) {
        let c = c0 + i;
        if c >= p.c {
            break;
        }
        for (var j = 0u; j < 4u; j++) {
            let pix = pix0 + j;
            if pix < total {
                let n = pix / hw;
                let r = pix % hw;
                dst[(n * p.c + c) * hw + r] = epilogue(c, acc[i][j]);
            }
        }
    }
}

@group(0) @binding(0) var<storage, read> bw_x: array<f32>;
@group(0) @binding(1) var<storage, read> bw_dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> bw_dw: array<f32>;
@group(0) @binding(3) var<uniform> bw_p: Params;

@compute @workgroup_size(8, 8, 1)
fn conv2d_backward_weight(@builtin(global_invocation_id) gid: vec3<u32>) {
    let kk = bw_p.k * bw_p.k;
    let taps = bw_p.c * kk; // r = (c, kh, kw) flattened
    let r0 = gid.x * 4u;
    let d0 = gid.y * 4u;
    if r0 >= taps || d0 >= bw_p.d {
        return;
    }
    let hw = bw_p.h * bw_p.w;
    let hw_out = bw_p.ho * bw_p.wo;
    var x_off: vec4<u32>;
    var kh: vec4<i32>;
    var kw: vec4<i32>;
    for (var j = 0u; j < 4u; j++) {
        let r = min(r0 + j, taps - 1u);
        x_off[j] = (r / kk) * hw;
        kh[j] = i32((r % kk) / bw_p.k) - i32(bw_p.pad);
        kw[j] = i32(r % bw_p.k) - i32(bw_p.pad);
    }
    var dy_off: vec4<u32>;
    for (var i = 0u; i < 4u; i++) {
        dy_off[i] = min(d0 + i, bw_p.d - 1u) * hw_out;
    }
    var acc: array<vec4<f32>, 4>; // acc[channel i][tap j]
    for (var n = 0u; n < bw_p.n; n++) {
        let xn = n * bw_p.c * hw;
        let dyn_ = n * bw_p.d * hw_out;
        for (var oh = 0u; oh < bw_p.ho; oh++) {
            for (var ow = 0u; ow < bw_p.wo; ow++) {
                let oy = i32(oh * bw_p.stride);
                let ox = i32(ow * bw_p.stride);
                var xv: vec4<f32>;
                for (var j = 0u; j < 4u; j++) {
                    let iy = oy + kh[j];
                    let ix = ox + kw[j];
                    let inside = iy >= 0 && iy < i32(bw_p.h) && ix >= 0 && ix < i32(bw_p.w);
                    let idx = xn + x_off[j] + u32(clamp(iy, 0, i32(bw_p.h) - 1)) * bw_p.w
                        + u32(clamp(ix, 0, i32(bw_p.w) - 1));
                    xv[j] = select(0.0, bw_x[idx], inside);
                }
                let o = dyn_ + oh * bw_p.wo + ow;
                for (var i = 0u; i < 4u; i++) {
                    acc[i] += bw_dy[o + dy_off[i]] * xv;
                }
            }
        }
    }
    for (var i = 0u; i < 4u; i++) {
        let d = d0 + i;
        if d >= bw_p.d {
            break;
        }
        for (var j = 0u; j < 4u; j++) {
            let r = r0 + j;
            if r < taps {
                bw_dw[d * taps + r] = acc[i][j];
            }
        }
    }
}
