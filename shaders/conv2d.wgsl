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

// Uniform-window variants for CPU adapters (llvmpipe), where a storage load
// costs about ten times a uniform load: the weights go through 64 KiB uniform
// windows (one dispatch per window of channel blocks) and so do the
// activations, whole images at a time (one dispatch per window of images;
// images too large for a window take the plain kernels above). Each invocation
// computes 16 channels × 4 pixels, so one gathered input value feeds 16
// multiply-adds (conv2d_backward_input_window4x: 4 channels, for layers with
// very few output channels). All need their summed axis in groups of 4.
//
// conv2d_forward_xwindow: weight window = rows d0 .. d0+dc of w (D, C·K·K),
// C·K·K % 4 == 0; activation window = images n0 .. n0 + images of x.
// conv2d_backward_input_xwindow / _window4x: weight window = rows of the
// permuted weights wp[c, kh, kw, d] (see conv2d_weight_permute), D % 4 == 0;
// activation window = images of dy. Input pixels are taken in groups of 4 of
// the same stride phase, so the taps that reach them are the same for all
// four and the others are never visited.
// Bindings: 0 aw (activation window; conv2d_backward_weight_window reads x
// from storage as cx), 1 cw (weight window), 2 cbias, 3 cy (y or dx), 4 cp.

struct ConvWindowParams {
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
    // First output channel of the window, and how many it holds
    // (backward_weight: ch0 is the pixel chunk).
    ch0: u32,
    chs: u32,
    // backward_weight only: pixels per chunk, and whether to add to dw.
    kc: u32,
    accumulate: u32,
    // The *_xwindow kernels: the images n0 .. n0 + images in the activation window.
    n0: u32,
    images: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> cx: array<f32>;
@group(0) @binding(1) var<uniform> cw: array<vec4<f32>, 4096>;
@group(0) @binding(2) var<storage, read> cbias: array<f32>;
@group(0) @binding(3) var<storage, read_write> cy: array<f32>;
@group(0) @binding(4) var<uniform> cp: ConvWindowParams;

fn window_epilogue(channel: u32, value: f32) -> f32 {
    var v = value;
    if cp.has_bias == 1u {
        v += cbias[channel];
    }
    if cp.relu == 1u {
        v = max(v, 0.0);
    }
    return v;
}

fn conv_store(n_pix: u32, pix0: u32, j: u32, acc: vec4<f32>) {
    if j >= cp.chs {
        return;
    }
    let d = cp.ch0 + j;
    let hw_out = cp.ho * cp.wo;
    for (var e = 0u; e < 4u; e++) {
        let pix = pix0 + e;
        if pix < n_pix {
            cy[((pix / hw_out) * cp.d + d) * hw_out + pix % hw_out] = window_epilogue(d, acc[e]);
        }
    }
}

fn dx_store(n: u32, iy: u32, ixs: vec4<u32>, keep: vec4<bool>, j: u32, acc: vec4<f32>) {
    if j >= cp.chs {
        return;
    }
    let c = cp.ch0 + j;
    for (var e = 0u; e < 4u; e++) {
        if keep[e] {
            cy[((n * cp.c + c) * cp.h + iy) * cp.w + ixs[e]] = window_epilogue(c, acc[e]);
        }
    }
}

// Activations (x or dy) of whole images n0 .. n0 + images, as a uniform window.
@group(0) @binding(0) var<uniform> aw: array<vec4<f32>, 4096>;

fn act_at(i: u32) -> f32 {
    return aw[i >> 2u][i & 3u];
}

@compute @workgroup_size(16, 1, 1)
fn conv2d_backward_input_window4x(@builtin(global_invocation_id) gid: vec3<u32>) {
    let s = cp.stride;
    // Groups of 4 pixels per (image, row, phase): phase px, columns px + s·(4g + e).
    let groups = ((cp.w + s - 1u) / s + 3u) / 4u;
    let g = gid.x % groups;
    let t = gid.x / groups;
    let px = t % s;
    let iy = (t / s) % cp.h;
    let n = cp.n0 + t / (s * cp.h);
    let j0 = gid.y * 4u;
    if n >= cp.n || j0 >= cp.chs {
        return;
    }
    let ixs = vec4<u32>(px) + vec4<u32>(s) * (vec4<u32>(4u * g) + vec4<u32>(0u, 1u, 2u, 3u));
    let keep = ixs < vec4<u32>(cp.w);
    let d4 = cp.d / 4u;
    let row4 = cp.k * cp.k * d4;
    let last = cp.chs - 1u;
    let o0 = min(j0 + 0u, last) * row4;
    let o1 = min(j0 + 1u, last) * row4;
    let o2 = min(j0 + 2u, last) * row4;
    let o3 = min(j0 + 3u, last) * row4;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    let hw_out = cp.ho * cp.wo;
    let n_base = (n - cp.n0) * cp.d * hw_out;
    let ty = iy + cp.pad;
    // Only the taps kh ≡ ty (mod s), kw ≡ px + pad (mod s) reach these pixels.
    for (var kh = ty % s; kh < cp.k; kh += s) {
        if kh > ty || (ty - kh) / s >= cp.ho {
            continue;
        }
        let oy = (ty - kh) / s;
        for (var kw = (px + cp.pad) % s; kw < cp.k; kw += s) {
            let tx = vec4<i32>(ixs) + vec4<i32>(i32(cp.pad) - i32(kw));
            let ox = tx / vec4<i32>(i32(s));
            let hit = keep & (tx >= vec4<i32>(0)) & (ox < vec4<i32>(i32(cp.wo)));
            if !any(hit) {
                continue;
            }
            let off = vec4<u32>(n_base + oy * cp.wo) + vec4<u32>(clamp(ox, vec4<i32>(0), vec4<i32>(i32(cp.wo) - 1)));
            let tap4 = (kh * cp.k + kw) * d4;
            for (var q = 0u; q < d4; q++) {
                let d = q * 4u;
                let v0 = select(vec4<f32>(0.0), vec4<f32>(act_at(off.x + d * hw_out), act_at(off.y + d * hw_out), act_at(off.z + d * hw_out), act_at(off.w + d * hw_out)), hit);
                let v1 = select(vec4<f32>(0.0), vec4<f32>(act_at(off.x + (d + 1u) * hw_out), act_at(off.y + (d + 1u) * hw_out), act_at(off.z + (d + 1u) * hw_out), act_at(off.w + (d + 1u) * hw_out)), hit);
                let v2 = select(vec4<f32>(0.0), vec4<f32>(act_at(off.x + (d + 2u) * hw_out), act_at(off.y + (d + 2u) * hw_out), act_at(off.z + (d + 2u) * hw_out), act_at(off.w + (d + 2u) * hw_out)), hit);
                let v3 = select(vec4<f32>(0.0), vec4<f32>(act_at(off.x + (d + 3u) * hw_out), act_at(off.y + (d + 3u) * hw_out), act_at(off.z + (d + 3u) * hw_out), act_at(off.w + (d + 3u) * hw_out)), hit);
                    let w0 = cw[o0 + tap4 + q];
                    acc0 += w0.x * v0 + w0.y * v1 + w0.z * v2 + w0.w * v3;
                    let w1 = cw[o1 + tap4 + q];
                    acc1 += w1.x * v0 + w1.y * v1 + w1.z * v2 + w1.w * v3;
                    let w2 = cw[o2 + tap4 + q];
                    acc2 += w2.x * v0 + w2.y * v1 + w2.z * v2 + w2.w * v3;
                    let w3 = cw[o3 + tap4 + q];
                    acc3 += w3.x * v0 + w3.y * v1 + w3.z * v2 + w3.w * v3;
            }
        }
    }
    dx_store(n, iy, ixs, keep, j0 + 0u, acc0);
    dx_store(n, iy, ixs, keep, j0 + 1u, acc1);
    dx_store(n, iy, ixs, keep, j0 + 2u, acc2);
    dx_store(n, iy, ixs, keep, j0 + 3u, acc3);
}

// dx of single-channel images (a decoder's last layer) where K = 2·stride:
// every output pixel of a stride phase then receives exactly 2 × 2 taps, and
// the 4 × 4 block of one phase's pixels that a lane computes reads a 5 × 5
// patch of dy per channel d, so each gathered dy value feeds about 2.6
// multiply-adds instead of one (conv2d_backward_input_window4x: one).
// Weight window = the row of wp[0, kh, kw, d]; activation window = images of
// dy. gid.z = phase (iy mod s, ix mod s); gid.x = (image, block row, block
// column) of that phase's pixel grid.
fn w_at(i: u32) -> f32 {
    return cw[i >> 2u][i & 3u];
}

@compute @workgroup_size(16, 1, 1)
fn conv2d_backward_input_window_c1(@builtin(global_invocation_id) gid: vec3<u32>) {
    let s = cp.stride;
    let phase_y = gid.z / s;
    let phase_x = gid.z % s;
    let mb = ((cp.h + s - 1u) / s + 3u) / 4u;
    let tb = ((cp.w + s - 1u) / s + 3u) / 4u;
    let nl = gid.x / (mb * tb);
    if nl >= min(cp.images, cp.n - cp.n0) {
        return;
    }
    let m0 = ((gid.x / tb) % mb) * 4u;
    let t0 = (gid.x % tb) * 4u;
    // The two taps of each axis: k0 and k0 + s. Tap k0 reads patch row r + 1
    // for output row r, tap k0 + s row r.
    let kh0 = (phase_y + cp.pad) % s;
    let kw0 = (phase_x + cp.pad) % s;
    let oy0 = i32(m0 + (phase_y + cp.pad) / s) - 1;
    let ox0 = i32(t0 + (phase_x + cp.pad) / s) - 1;
    let ho = i32(cp.ho);
    let wo = i32(cp.wo);
    let ry0 = u32(clamp(oy0 + 0, 0, ho - 1)) * cp.wo;
    let vy0 = oy0 + 0 >= 0 && oy0 + 0 < ho;
    let ry1 = u32(clamp(oy0 + 1, 0, ho - 1)) * cp.wo;
    let vy1 = oy0 + 1 >= 0 && oy0 + 1 < ho;
    let ry2 = u32(clamp(oy0 + 2, 0, ho - 1)) * cp.wo;
    let vy2 = oy0 + 2 >= 0 && oy0 + 2 < ho;
    let ry3 = u32(clamp(oy0 + 3, 0, ho - 1)) * cp.wo;
    let vy3 = oy0 + 3 >= 0 && oy0 + 3 < ho;
    let ry4 = u32(clamp(oy0 + 4, 0, ho - 1)) * cp.wo;
    let vy4 = oy0 + 4 >= 0 && oy0 + 4 < ho;
    let cx0 = u32(clamp(ox0 + 0, 0, wo - 1));
    let vx0 = ox0 + 0 >= 0 && ox0 + 0 < wo;
    let cx1 = u32(clamp(ox0 + 1, 0, wo - 1));
    let vx1 = ox0 + 1 >= 0 && ox0 + 1 < wo;
    let cx2 = u32(clamp(ox0 + 2, 0, wo - 1));
    let vx2 = ox0 + 2 >= 0 && ox0 + 2 < wo;
    let cx3 = u32(clamp(ox0 + 3, 0, wo - 1));
    let vx3 = ox0 + 3 >= 0 && ox0 + 3 < wo;
    let cx4 = u32(clamp(ox0 + 4, 0, wo - 1));
    let vx4 = ox0 + 4 >= 0 && ox0 + 4 < wo;
    var a00 = 0.0;
    var a01 = 0.0;
    var a02 = 0.0;
    var a03 = 0.0;
    var a10 = 0.0;
    var a11 = 0.0;
    var a12 = 0.0;
    var a13 = 0.0;
    var a20 = 0.0;
    var a21 = 0.0;
    var a22 = 0.0;
    var a23 = 0.0;
    var a30 = 0.0;
    var a31 = 0.0;
    var a32 = 0.0;
    var a33 = 0.0;
    let hw_out = cp.ho * cp.wo;
    var plane = nl * cp.d * hw_out;
    let t00 = (kh0 * cp.k + kw0) * cp.d;
    let t01 = (kh0 * cp.k + kw0 + s) * cp.d;
    let t10 = ((kh0 + s) * cp.k + kw0) * cp.d;
    let t11 = ((kh0 + s) * cp.k + kw0 + s) * cp.d;
    for (var d = 0u; d < cp.d; d++) {
        let w00 = w_at(t00 + d);
        let w01 = w_at(t01 + d);
        let w10 = w_at(t10 + d);
        let w11 = w_at(t11 + d);
        let p00 = select(0.0, act_at(plane + ry0 + cx0), vy0 && vx0);
        let p01 = select(0.0, act_at(plane + ry0 + cx1), vy0 && vx1);
        let p02 = select(0.0, act_at(plane + ry0 + cx2), vy0 && vx2);
        let p03 = select(0.0, act_at(plane + ry0 + cx3), vy0 && vx3);
        let p04 = select(0.0, act_at(plane + ry0 + cx4), vy0 && vx4);
        let p10 = select(0.0, act_at(plane + ry1 + cx0), vy1 && vx0);
        let p11 = select(0.0, act_at(plane + ry1 + cx1), vy1 && vx1);
        let p12 = select(0.0, act_at(plane + ry1 + cx2), vy1 && vx2);
        let p13 = select(0.0, act_at(plane + ry1 + cx3), vy1 && vx3);
        let p14 = select(0.0, act_at(plane + ry1 + cx4), vy1 && vx4);
        let p20 = select(0.0, act_at(plane + ry2 + cx0), vy2 && vx0);
        let p21 = select(0.0, act_at(plane + ry2 + cx1), vy2 && vx1);
        let p22 = select(0.0, act_at(plane + ry2 + cx2), vy2 && vx2);
        let p23 = select(0.0, act_at(plane + ry2 + cx3), vy2 && vx3);
        let p24 = select(0.0, act_at(plane + ry2 + cx4), vy2 && vx4);
        let p30 = select(0.0, act_at(plane + ry3 + cx0), vy3 && vx0);
        let p31 = select(0.0, act_at(plane + ry3 + cx1), vy3 && vx1);
        let p32 = select(0.0, act_at(plane + ry3 + cx2), vy3 && vx2);
        let p33 = select(0.0, act_at(plane + ry3 + cx3), vy3 && vx3);
        let p34 = select(0.0, act_at(plane + ry3 + cx4), vy3 && vx4);
        let p40 = select(0.0, act_at(plane + ry4 + cx0), vy4 && vx0);
        let p41 = select(0.0, act_at(plane + ry4 + cx1), vy4 && vx1);
        let p42 = select(0.0, act_at(plane + ry4 + cx2), vy4 && vx2);
        let p43 = select(0.0, act_at(plane + ry4 + cx3), vy4 && vx3);
        let p44 = select(0.0, act_at(plane + ry4 + cx4), vy4 && vx4);
        a00 += w00 * p11 + w01 * p10 + w10 * p01 + w11 * p00;
        a01 += w00 * p12 + w01 * p11 + w10 * p02 + w11 * p01;
        a02 += w00 * p13 + w01 * p12 + w10 * p03 + w11 * p02;
        a03 += w00 * p14 + w01 * p13 + w10 * p04 + w11 * p03;
        a10 += w00 * p21 + w01 * p20 + w10 * p11 + w11 * p10;
        a11 += w00 * p22 + w01 * p21 + w10 * p12 + w11 * p11;
        a12 += w00 * p23 + w01 * p22 + w10 * p13 + w11 * p12;
        a13 += w00 * p24 + w01 * p23 + w10 * p14 + w11 * p13;
        a20 += w00 * p31 + w01 * p30 + w10 * p21 + w11 * p20;
        a21 += w00 * p32 + w01 * p31 + w10 * p22 + w11 * p21;
        a22 += w00 * p33 + w01 * p32 + w10 * p23 + w11 * p22;
        a23 += w00 * p34 + w01 * p33 + w10 * p24 + w11 * p23;
        a30 += w00 * p41 + w01 * p40 + w10 * p31 + w11 * p30;
        a31 += w00 * p42 + w01 * p41 + w10 * p32 + w11 * p31;
        a32 += w00 * p43 + w01 * p42 + w10 * p33 + w11 * p32;
        a33 += w00 * p44 + w01 * p43 + w10 * p34 + w11 * p33;
        plane += hw_out;
    }
    let n = cp.n0 + nl;
    let ix0 = phase_x + s * (t0 + 0u);
    let ix1 = phase_x + s * (t0 + 1u);
    let ix2 = phase_x + s * (t0 + 2u);
    let ix3 = phase_x + s * (t0 + 3u);
    // Four store sites in a loop over the rows, not 16 spelled out: llvmpipe
    // compiles every storage access as a loop over the lanes, and those were
    // most of this kernel's JIT time.
    for (var r = 0u; r < 4u; r++) {
        let iy = phase_y + s * (m0 + r);
        if iy >= cp.h {
            break;
        }
        let a = pick_row(r, vec4<f32>(a00, a01, a02, a03), vec4<f32>(a10, a11, a12, a13),
            vec4<f32>(a20, a21, a22, a23), vec4<f32>(a30, a31, a32, a33));
        let row = (n * cp.h + iy) * cp.w;
        if ix0 < cp.w {
            cy[row + ix0] = window_epilogue(0u, a.x);
        }
        if ix1 < cp.w {
            cy[row + ix1] = window_epilogue(0u, a.y);
        }
        if ix2 < cp.w {
            cy[row + ix2] = window_epilogue(0u, a.z);
        }
        if ix3 < cp.w {
            cy[row + ix3] = window_epilogue(0u, a.w);
        }
    }
}

// Row r of a 4 × 4 block, by selects (a private array indexed by r is slower
// on llvmpipe).
fn pick_row(r: u32, a: vec4<f32>, b: vec4<f32>, c: vec4<f32>, d: vec4<f32>) -> vec4<f32> {
    return select(select(a, b, r == 1u), select(c, d, r == 3u), r >= 2u);
}

// wp[c, kh, kw, d] = w[d, c, kh, kw]: the layout the backward window reads.
// Bindings: 0 pw_in (D, C, K, K), 1 pw_out (C, K, K, D), 2 pw_p.
@group(0) @binding(0) var<storage, read> pw_in: array<f32>;
@group(0) @binding(1) var<storage, read_write> pw_out: array<f32>;
@group(0) @binding(2) var<uniform> pw_p: Params;

@compute @workgroup_size(64, 1, 1)
fn conv2d_weight_permute(@builtin(global_invocation_id) gid: vec3<u32>) {
    let kk = pw_p.k * pw_p.k;
    let i = gid.x;
    if i >= pw_p.d * pw_p.c * kk {
        return;
    }
    let d = i % pw_p.d;
    let tap = (i / pw_p.d) % kk;
    let c = i / (pw_p.d * kk);
    pw_out[i] = pw_in[(d * pw_p.c + c) * kk + tap];
}

// conv2d_backward_weight_window: dw[d, r] += Σ over one chunk of pixels k = (n, oh, ow)
// of dy[n, d, oh, ow] · x[n, c, tap], with dy read through a uniform window.
// dy is first laid out chunk by chunk, dyc[chunk, d, kk] (conv2d_dy_chunks),
// so that one chunk of every channel is one contiguous window. Each invocation
// computes 4 taps r × 16 channels over chunk `ch0` of `kc` pixels, and adds
// to what earlier chunks wrote when `accumulate` is 1.
// Bindings: 0 cx (x), 1 cw (window: one chunk of dyc), 2 cbias (unused),
// 3 cy (dw (D, C·K·K)), 4 cp.

fn dw_store(r0: u32, d: u32, acc: vec4<f32>) {
    if d >= cp.d {
        return;
    }
    let taps = cp.c * cp.k * cp.k;
    for (var e = 0u; e < 4u; e++) {
        let r = r0 + e;
        if r < taps {
            let i = d * taps + r;
            var v = acc[e];
            if cp.accumulate == 1u {
                v += cy[i];
            }
            cy[i] = v;
        }
    }
}

@compute @workgroup_size(16, 1, 1)
fn conv2d_backward_weight_window(@builtin(global_invocation_id) gid: vec3<u32>) {
    let kk = cp.k * cp.k;
    let taps = cp.c * kk;
    let r0 = gid.x * 4u;
    let j0 = gid.y * 16u;
    if r0 >= taps || j0 >= cp.d {
        return;
    }
    // The four taps of this invocation: input channel offset and (kh, kw) − pad.
    var c_off: vec4<u32>;
    var th: vec4<i32>;
    var tw: vec4<i32>;
    for (var e = 0u; e < 4u; e++) {
        let r = min(r0 + e, taps - 1u);
        c_off[e] = (r / kk) * cp.h * cp.w;
        th[e] = i32((r % kk) / cp.k) - i32(cp.pad);
        tw[e] = i32(r % cp.k) - i32(cp.pad);
    }
    let hw_out = cp.ho * cp.wo;
    let n_pix = cp.n * hw_out;
    // cw holds cp.d rows of kc pixels.
    let kc = cp.kc;
    let kc4 = kc / 4u;
    let last = cp.d - 1u;
    let o0 = min(j0 + 0u, last) * kc4;
    let o1 = min(j0 + 1u, last) * kc4;
    let o2 = min(j0 + 2u, last) * kc4;
    let o3 = min(j0 + 3u, last) * kc4;
    let o4 = min(j0 + 4u, last) * kc4;
    let o5 = min(j0 + 5u, last) * kc4;
    let o6 = min(j0 + 6u, last) * kc4;
    let o7 = min(j0 + 7u, last) * kc4;
    let o8 = min(j0 + 8u, last) * kc4;
    let o9 = min(j0 + 9u, last) * kc4;
    let o10 = min(j0 + 10u, last) * kc4;
    let o11 = min(j0 + 11u, last) * kc4;
    let o12 = min(j0 + 12u, last) * kc4;
    let o13 = min(j0 + 13u, last) * kc4;
    let o14 = min(j0 + 14u, last) * kc4;
    let o15 = min(j0 + 15u, last) * kc4;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    var acc4 = vec4<f32>(0.0);
    var acc5 = vec4<f32>(0.0);
    var acc6 = vec4<f32>(0.0);
    var acc7 = vec4<f32>(0.0);
    var acc8 = vec4<f32>(0.0);
    var acc9 = vec4<f32>(0.0);
    var acc10 = vec4<f32>(0.0);
    var acc11 = vec4<f32>(0.0);
    var acc12 = vec4<f32>(0.0);
    var acc13 = vec4<f32>(0.0);
    var acc14 = vec4<f32>(0.0);
    var acc15 = vec4<f32>(0.0);
    let hi = vec4<i32>(i32(cp.h) - 1);
    let wi = vec4<i32>(i32(cp.w) - 1);
    // First pixel of the chunk, stepped without divisions.
    var pix = cp.ch0 * kc;
    var n = pix / hw_out;
    var oh = (pix % hw_out) / cp.wo;
    var ow = pix % cp.wo;
    for (var q = 0u; q < kc4; q++) {
        var xs: array<vec4<f32>, 4>; // xs[pixel e][tap]
        for (var e = 0u; e < 4u; e++) {
            let iy = vec4<i32>(i32(oh * cp.stride)) + th;
            let ix = vec4<i32>(i32(ow * cp.stride)) + tw;
            let inside = (iy >= vec4<i32>(0)) & (iy <= hi) & (ix >= vec4<i32>(0)) & (ix <= wi) & vec4<bool>(pix < n_pix);
            let idx = vec4<u32>(min(n, cp.n - 1u) * cp.c * cp.h * cp.w) + c_off
                + vec4<u32>(clamp(iy, vec4<i32>(0), hi)) * cp.w + vec4<u32>(clamp(ix, vec4<i32>(0), wi));
            xs[e] = select(vec4<f32>(0.0), vec4<f32>(cx[idx.x], cx[idx.y], cx[idx.z], cx[idx.w]), inside);
            pix += 1u;
            ow += 1u;
            if ow == cp.wo { ow = 0u; oh += 1u; if oh == cp.ho { oh = 0u; n += 1u; } }
        }
        // Transpose to per-tap vectors over the four pixels, to dot with dy.
        let x0 = vec4<f32>(xs[0].x, xs[1].x, xs[2].x, xs[3].x);
        let x1 = vec4<f32>(xs[0].y, xs[1].y, xs[2].y, xs[3].y);
        let x2 = vec4<f32>(xs[0].z, xs[1].z, xs[2].z, xs[3].z);
        let x3 = vec4<f32>(xs[0].w, xs[1].w, xs[2].w, xs[3].w);
        let g0 = cw[o0 + q];
        acc0 += vec4<f32>(dot(g0, x0), dot(g0, x1), dot(g0, x2), dot(g0, x3));
        let g1 = cw[o1 + q];
        acc1 += vec4<f32>(dot(g1, x0), dot(g1, x1), dot(g1, x2), dot(g1, x3));
        let g2 = cw[o2 + q];
        acc2 += vec4<f32>(dot(g2, x0), dot(g2, x1), dot(g2, x2), dot(g2, x3));
        let g3 = cw[o3 + q];
        acc3 += vec4<f32>(dot(g3, x0), dot(g3, x1), dot(g3, x2), dot(g3, x3));
        let g4 = cw[o4 + q];
        acc4 += vec4<f32>(dot(g4, x0), dot(g4, x1), dot(g4, x2), dot(g4, x3));
        let g5 = cw[o5 + q];
        acc5 += vec4<f32>(dot(g5, x0), dot(g5, x1), dot(g5, x2), dot(g5, x3));
        let g6 = cw[o6 + q];
        acc6 += vec4<f32>(dot(g6, x0), dot(g6, x1), dot(g6, x2), dot(g6, x3));
        let g7 = cw[o7 + q];
        acc7 += vec4<f32>(dot(g7, x0), dot(g7, x1), dot(g7, x2), dot(g7, x3));
        let g8 = cw[o8 + q];
        acc8 += vec4<f32>(dot(g8, x0), dot(g8, x1), dot(g8, x2), dot(g8, x3));
        let g9 = cw[o9 + q];
        acc9 += vec4<f32>(dot(g9, x0), dot(g9, x1), dot(g9, x2), dot(g9, x3));
        let g10 = cw[o10 + q];
        acc10 += vec4<f32>(dot(g10, x0), dot(g10, x1), dot(g10, x2), dot(g10, x3));
        let g11 = cw[o11 + q];
        acc11 += vec4<f32>(dot(g11, x0), dot(g11, x1), dot(g11, x2), dot(g11, x3));
        let g12 = cw[o12 + q];
        acc12 += vec4<f32>(dot(g12, x0), dot(g12, x1), dot(g12, x2), dot(g12, x3));
        let g13 = cw[o13 + q];
        acc13 += vec4<f32>(dot(g13, x0), dot(g13, x1), dot(g13, x2), dot(g13, x3));
        let g14 = cw[o14 + q];
        acc14 += vec4<f32>(dot(g14, x0), dot(g14, x1), dot(g14, x2), dot(g14, x3));
        let g15 = cw[o15 + q];
        acc15 += vec4<f32>(dot(g15, x0), dot(g15, x1), dot(g15, x2), dot(g15, x3));
    }
    dw_store(r0, j0 + 0u, acc0);
    dw_store(r0, j0 + 1u, acc1);
    dw_store(r0, j0 + 2u, acc2);
    dw_store(r0, j0 + 3u, acc3);
    dw_store(r0, j0 + 4u, acc4);
    dw_store(r0, j0 + 5u, acc5);
    dw_store(r0, j0 + 6u, acc6);
    dw_store(r0, j0 + 7u, acc7);
    dw_store(r0, j0 + 8u, acc8);
    dw_store(r0, j0 + 9u, acc9);
    dw_store(r0, j0 + 10u, acc10);
    dw_store(r0, j0 + 11u, acc11);
    dw_store(r0, j0 + 12u, acc12);
    dw_store(r0, j0 + 13u, acc13);
    dw_store(r0, j0 + 14u, acc14);
    dw_store(r0, j0 + 15u, acc15);
}

// dyc[chunk, d, kk] = dy[n, d, p] for pixel k = n·Ho·Wo + p = chunk·kc + kk; 0 past the end.
// Bindings: 0 dc_in (N, D, Ho, Wo), 1 dc_out (chunks, D, kc), 2 dc_p.
@group(0) @binding(0) var<storage, read> dc_in: array<f32>;
@group(0) @binding(1) var<storage, read_write> dc_out: array<f32>;
@group(0) @binding(2) var<uniform> dc_p: ConvWindowParams;

@compute @workgroup_size(64, 1, 1)
fn conv2d_dy_chunks(@builtin(global_invocation_id) gid: vec3<u32>) {
    let kc = dc_p.kc;
    let i = gid.y * 65535u * 64u + gid.x;
    let hw_out = dc_p.ho * dc_p.wo;
    let chunks = (dc_p.n * hw_out + kc - 1u) / kc;
    if i >= chunks * dc_p.d * kc {
        return;
    }
    let kk = i % kc;
    let d = (i / kc) % dc_p.d;
    let k = (i / (kc * dc_p.d)) * kc + kk;
    var v = 0.0;
    if k < dc_p.n * hw_out {
        v = dc_in[((k / hw_out) * dc_p.d + d) * hw_out + k % hw_out];
    }
    dc_out[i] = v;
}

// The inputs of tap (c, kh, kw) for four pixels; 0 where the tap falls in the padding.
fn gather_taps(base: vec4<u32>, iy0: vec4<i32>, ix0: vec4<i32>, c: u32, kh: u32, kw: u32) -> vec4<f32> {
    let iy = iy0 + vec4<i32>(i32(kh));
    let ix = ix0 + vec4<i32>(i32(kw));
    let hi = vec4<i32>(i32(cp.h) - 1);
    let wi = vec4<i32>(i32(cp.w) - 1);
    let inside = (iy >= vec4<i32>(0)) & (iy <= hi) & (ix >= vec4<i32>(0)) & (ix <= wi);
    let idx = base + vec4<u32>(c * cp.h * cp.w) + vec4<u32>(clamp(iy, vec4<i32>(0), hi)) * cp.w
        + vec4<u32>(clamp(ix, vec4<i32>(0), wi));
    let v = vec4<f32>(act_at(idx.x), act_at(idx.y), act_at(idx.z), act_at(idx.w));
    return select(vec4<f32>(0.0), v, inside);
}

@compute @workgroup_size(16, 1, 1)
fn conv2d_forward_xwindow(@builtin(global_invocation_id) gid: vec3<u32>) {
    let hw_out = cp.ho * cp.wo;
    let n_pix = min(cp.n0 + cp.images, cp.n) * hw_out;
    let pix0 = cp.n0 * hw_out + gid.x * 4u;
    let j0 = gid.y * 16u;
    if pix0 >= n_pix || j0 >= cp.chs {
        return;
    }
    var base: vec4<u32>;
    var iy0: vec4<i32>;
    var ix0: vec4<i32>;
    for (var e = 0u; e < 4u; e++) {
        let pix = min(pix0 + e, n_pix - 1u);
        let r = pix % hw_out;
        base[e] = (pix / hw_out - cp.n0) * cp.c * cp.h * cp.w;
        iy0[e] = i32((r / cp.wo) * cp.stride) - i32(cp.pad);
        ix0[e] = i32((r % cp.wo) * cp.stride) - i32(cp.pad);
    }
    let r4 = cp.c * cp.k * cp.k / 4u;
    let last = cp.chs - 1u;
    let o0 = min(j0 + 0u, last) * r4;
    let o1 = min(j0 + 1u, last) * r4;
    let o2 = min(j0 + 2u, last) * r4;
    let o3 = min(j0 + 3u, last) * r4;
    let o4 = min(j0 + 4u, last) * r4;
    let o5 = min(j0 + 5u, last) * r4;
    let o6 = min(j0 + 6u, last) * r4;
    let o7 = min(j0 + 7u, last) * r4;
    let o8 = min(j0 + 8u, last) * r4;
    let o9 = min(j0 + 9u, last) * r4;
    let o10 = min(j0 + 10u, last) * r4;
    let o11 = min(j0 + 11u, last) * r4;
    let o12 = min(j0 + 12u, last) * r4;
    let o13 = min(j0 + 13u, last) * r4;
    let o14 = min(j0 + 14u, last) * r4;
    let o15 = min(j0 + 15u, last) * r4;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    var acc4 = vec4<f32>(0.0);
    var acc5 = vec4<f32>(0.0);
    var acc6 = vec4<f32>(0.0);
    var acc7 = vec4<f32>(0.0);
    var acc8 = vec4<f32>(0.0);
    var acc9 = vec4<f32>(0.0);
    var acc10 = vec4<f32>(0.0);
    var acc11 = vec4<f32>(0.0);
    var acc12 = vec4<f32>(0.0);
    var acc13 = vec4<f32>(0.0);
    var acc14 = vec4<f32>(0.0);
    var acc15 = vec4<f32>(0.0);
    // (c, kh, kw) of the next summed index, stepped without divisions.
    var c = 0u;
    var kh = 0u;
    var kw = 0u;
    for (var q = 0u; q < r4; q++) {
        let x0 = gather_taps(base, iy0, ix0, c, kh, kw);
        kw += 1u; if kw == cp.k { kw = 0u; kh += 1u; if kh == cp.k { kh = 0u; c += 1u; } }
        let x1 = gather_taps(base, iy0, ix0, c, kh, kw);
        kw += 1u; if kw == cp.k { kw = 0u; kh += 1u; if kh == cp.k { kh = 0u; c += 1u; } }
        let x2 = gather_taps(base, iy0, ix0, c, kh, kw);
        kw += 1u; if kw == cp.k { kw = 0u; kh += 1u; if kh == cp.k { kh = 0u; c += 1u; } }
        let x3 = gather_taps(base, iy0, ix0, c, kh, kw);
        kw += 1u; if kw == cp.k { kw = 0u; kh += 1u; if kh == cp.k { kh = 0u; c += 1u; } }
        let w0 = cw[o0 + q];
        acc0 += w0.x * x0 + w0.y * x1 + w0.z * x2 + w0.w * x3;
        let w1 = cw[o1 + q];
        acc1 += w1.x * x0 + w1.y * x1 + w1.z * x2 + w1.w * x3;
        let w2 = cw[o2 + q];
        acc2 += w2.x * x0 + w2.y * x1 + w2.z * x2 + w2.w * x3;
        let w3 = cw[o3 + q];
        acc3 += w3.x * x0 + w3.y * x1 + w3.z * x2 + w3.w * x3;
        let w4 = cw[o4 + q];
        acc4 += w4.x * x0 + w4.y * x1 + w4.z * x2 + w4.w * x3;
        let w5 = cw[o5 + q];
        acc5 += w5.x * x0 + w5.y * x1 + w5.z * x2 + w5.w * x3;
        let w6 = cw[o6 + q];
        acc6 += w6.x * x0 + w6.y * x1 + w6.z * x2 + w6.w * x3;
        let w7 = cw[o7 + q];
        acc7 += w7.x * x0 + w7.y * x1 + w7.z * x2 + w7.w * x3;
        let w8 = cw[o8 + q];
        acc8 += w8.x * x0 + w8.y * x1 + w8.z * x2 + w8.w * x3;
        let w9 = cw[o9 + q];
        acc9 += w9.x * x0 + w9.y * x1 + w9.z * x2 + w9.w * x3;
        let w10 = cw[o10 + q];
        acc10 += w10.x * x0 + w10.y * x1 + w10.z * x2 + w10.w * x3;
        let w11 = cw[o11 + q];
        acc11 += w11.x * x0 + w11.y * x1 + w11.z * x2 + w11.w * x3;
        let w12 = cw[o12 + q];
        acc12 += w12.x * x0 + w12.y * x1 + w12.z * x2 + w12.w * x3;
        let w13 = cw[o13 + q];
        acc13 += w13.x * x0 + w13.y * x1 + w13.z * x2 + w13.w * x3;
        let w14 = cw[o14 + q];
        acc14 += w14.x * x0 + w14.y * x1 + w14.z * x2 + w14.w * x3;
        let w15 = cw[o15 + q];
        acc15 += w15.x * x0 + w15.y * x1 + w15.z * x2 + w15.w * x3;
    }
    conv_store(n_pix, pix0, j0 + 0u, acc0);
    conv_store(n_pix, pix0, j0 + 1u, acc1);
    conv_store(n_pix, pix0, j0 + 2u, acc2);
    conv_store(n_pix, pix0, j0 + 3u, acc3);
    conv_store(n_pix, pix0, j0 + 4u, acc4);
    conv_store(n_pix, pix0, j0 + 5u, acc5);
    conv_store(n_pix, pix0, j0 + 6u, acc6);
    conv_store(n_pix, pix0, j0 + 7u, acc7);
    conv_store(n_pix, pix0, j0 + 8u, acc8);
    conv_store(n_pix, pix0, j0 + 9u, acc9);
    conv_store(n_pix, pix0, j0 + 10u, acc10);
    conv_store(n_pix, pix0, j0 + 11u, acc11);
    conv_store(n_pix, pix0, j0 + 12u, acc12);
    conv_store(n_pix, pix0, j0 + 13u, acc13);
    conv_store(n_pix, pix0, j0 + 14u, acc14);
    conv_store(n_pix, pix0, j0 + 15u, acc15);
}

@compute @workgroup_size(16, 1, 1)
fn conv2d_backward_input_xwindow(@builtin(global_invocation_id) gid: vec3<u32>) {
    let s = cp.stride;
    // Groups of 4 pixels per (image, row, phase): phase px, columns px + s·(4g + e).
    let groups = ((cp.w + s - 1u) / s + 3u) / 4u;
    let g = gid.x % groups;
    let t = gid.x / groups;
    let px = t % s;
    let iy = (t / s) % cp.h;
    let n = cp.n0 + t / (s * cp.h);
    let j0 = gid.y * 16u;
    if n >= cp.n || j0 >= cp.chs {
        return;
    }
    let ixs = vec4<u32>(px) + vec4<u32>(s) * (vec4<u32>(4u * g) + vec4<u32>(0u, 1u, 2u, 3u));
    let keep = ixs < vec4<u32>(cp.w);
    let d4 = cp.d / 4u;
    let row4 = cp.k * cp.k * d4;
    let last = cp.chs - 1u;
    let o0 = min(j0 + 0u, last) * row4;
    let o1 = min(j0 + 1u, last) * row4;
    let o2 = min(j0 + 2u, last) * row4;
    let o3 = min(j0 + 3u, last) * row4;
    let o4 = min(j0 + 4u, last) * row4;
    let o5 = min(j0 + 5u, last) * row4;
    let o6 = min(j0 + 6u, last) * row4;
    let o7 = min(j0 + 7u, last) * row4;
    let o8 = min(j0 + 8u, last) * row4;
    let o9 = min(j0 + 9u, last) * row4;
    let o10 = min(j0 + 10u, last) * row4;
    let o11 = min(j0 + 11u, last) * row4;
    let o12 = min(j0 + 12u, last) * row4;
    let o13 = min(j0 + 13u, last) * row4;
    let o14 = min(j0 + 14u, last) * row4;
    let o15 = min(j0 + 15u, last) * row4;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    var acc4 = vec4<f32>(0.0);
    var acc5 = vec4<f32>(0.0);
    var acc6 = vec4<f32>(0.0);
    var acc7 = vec4<f32>(0.0);
    var acc8 = vec4<f32>(0.0);
    var acc9 = vec4<f32>(0.0);
    var acc10 = vec4<f32>(0.0);
    var acc11 = vec4<f32>(0.0);
    var acc12 = vec4<f32>(0.0);
    var acc13 = vec4<f32>(0.0);
    var acc14 = vec4<f32>(0.0);
    var acc15 = vec4<f32>(0.0);
    let hw_out = cp.ho * cp.wo;
    let n_base = (n - cp.n0) * cp.d * hw_out;
    let ty = iy + cp.pad;
    // Only the taps kh ≡ ty (mod s), kw ≡ px + pad (mod s) reach these pixels.
    for (var kh = ty % s; kh < cp.k; kh += s) {
        if kh > ty || (ty - kh) / s >= cp.ho {
            continue;
        }
        let oy = (ty - kh) / s;
        for (var kw = (px + cp.pad) % s; kw < cp.k; kw += s) {
            let tx = vec4<i32>(ixs) + vec4<i32>(i32(cp.pad) - i32(kw));
            let ox = tx / vec4<i32>(i32(s));
            let hit = keep & (tx >= vec4<i32>(0)) & (ox < vec4<i32>(i32(cp.wo)));
            if !any(hit) {
                continue;
            }
            let off = vec4<u32>(n_base + oy * cp.wo) + vec4<u32>(clamp(ox, vec4<i32>(0), vec4<i32>(i32(cp.wo) - 1)));
            let tap4 = (kh * cp.k + kw) * d4;
            for (var q = 0u; q < d4; q++) {
                let d = q * 4u;
                let v0 = select(vec4<f32>(0.0), vec4<f32>(act_at(off.x + d * hw_out), act_at(off.y + d * hw_out), act_at(off.z + d * hw_out), act_at(off.w + d * hw_out)), hit);
                let v1 = select(vec4<f32>(0.0), vec4<f32>(act_at(off.x + (d + 1u) * hw_out), act_at(off.y + (d + 1u) * hw_out), act_at(off.z + (d + 1u) * hw_out), act_at(off.w + (d + 1u) * hw_out)), hit);
                let v2 = select(vec4<f32>(0.0), vec4<f32>(act_at(off.x + (d + 2u) * hw_out), act_at(off.y + (d + 2u) * hw_out), act_at(off.z + (d + 2u) * hw_out), act_at(off.w + (d + 2u) * hw_out)), hit);
                let v3 = select(vec4<f32>(0.0), vec4<f32>(act_at(off.x + (d + 3u) * hw_out), act_at(off.y + (d + 3u) * hw_out), act_at(off.z + (d + 3u) * hw_out), act_at(off.w + (d + 3u) * hw_out)), hit);
                    let w0 = cw[o0 + tap4 + q];
                    acc0 += w0.x * v0 + w0.y * v1 + w0.z * v2 + w0.w * v3;
                    let w1 = cw[o1 + tap4 + q];
                    acc1 += w1.x * v0 + w1.y * v1 + w1.z * v2 + w1.w * v3;
                    let w2 = cw[o2 + tap4 + q];
                    acc2 += w2.x * v0 + w2.y * v1 + w2.z * v2 + w2.w * v3;
                    let w3 = cw[o3 + tap4 + q];
                    acc3 += w3.x * v0 + w3.y * v1 + w3.z * v2 + w3.w * v3;
                    let w4 = cw[o4 + tap4 + q];
                    acc4 += w4.x * v0 + w4.y * v1 + w4.z * v2 + w4.w * v3;
                    let w5 = cw[o5 + tap4 + q];
                    acc5 += w5.x * v0 + w5.y * v1 + w5.z * v2 + w5.w * v3;
                    let w6 = cw[o6 + tap4 + q];
                    acc6 += w6.x * v0 + w6.y * v1 + w6.z * v2 + w6.w * v3;
                    let w7 = cw[o7 + tap4 + q];
                    acc7 += w7.x * v0 + w7.y * v1 + w7.z * v2 + w7.w * v3;
                    let w8 = cw[o8 + tap4 + q];
                    acc8 += w8.x * v0 + w8.y * v1 + w8.z * v2 + w8.w * v3;
                    let w9 = cw[o9 + tap4 + q];
                    acc9 += w9.x * v0 + w9.y * v1 + w9.z * v2 + w9.w * v3;
                    let w10 = cw[o10 + tap4 + q];
                    acc10 += w10.x * v0 + w10.y * v1 + w10.z * v2 + w10.w * v3;
                    let w11 = cw[o11 + tap4 + q];
                    acc11 += w11.x * v0 + w11.y * v1 + w11.z * v2 + w11.w * v3;
                    let w12 = cw[o12 + tap4 + q];
                    acc12 += w12.x * v0 + w12.y * v1 + w12.z * v2 + w12.w * v3;
                    let w13 = cw[o13 + tap4 + q];
                    acc13 += w13.x * v0 + w13.y * v1 + w13.z * v2 + w13.w * v3;
                    let w14 = cw[o14 + tap4 + q];
                    acc14 += w14.x * v0 + w14.y * v1 + w14.z * v2 + w14.w * v3;
                    let w15 = cw[o15 + tap4 + q];
                    acc15 += w15.x * v0 + w15.y * v1 + w15.z * v2 + w15.w * v3;
            }
        }
    }
    dx_store(n, iy, ixs, keep, j0 + 0u, acc0);
    dx_store(n, iy, ixs, keep, j0 + 1u, acc1);
    dx_store(n, iy, ixs, keep, j0 + 2u, acc2);
    dx_store(n, iy, ixs, keep, j0 + 3u, acc3);
    dx_store(n, iy, ixs, keep, j0 + 4u, acc4);
    dx_store(n, iy, ixs, keep, j0 + 5u, acc5);
    dx_store(n, iy, ixs, keep, j0 + 6u, acc6);
    dx_store(n, iy, ixs, keep, j0 + 7u, acc7);
    dx_store(n, iy, ixs, keep, j0 + 8u, acc8);
    dx_store(n, iy, ixs, keep, j0 + 9u, acc9);
    dx_store(n, iy, ixs, keep, j0 + 10u, acc10);
    dx_store(n, iy, ixs, keep, j0 + 11u, acc11);
    dx_store(n, iy, ixs, keep, j0 + 12u, acc12);
    dx_store(n, iy, ixs, keep, j0 + 13u, acc13);
    dx_store(n, iy, ixs, keep, j0 + 14u, acc14);
    dx_store(n, iy, ixs, keep, j0 + 15u, acc15);
}
