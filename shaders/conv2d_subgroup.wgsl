// Convolutions on CPU adapters (llvmpipe) through subgroups of 8 lanes.
//
// The same implicit GEMMs as the uniform-window kernels of conv2d.wgsl (which
// documents the shapes and the window layout), with one change that matters on
// llvmpipe: the values that every lane of a subgroup needs (the weights of the
// forward, dy of the weight gradient) are no longer each loaded by every lane.
// Lane l loads those of channels j0 + l and j0 + 8 + l, and subgroupBroadcast
// hands them to the others: 2 vec4 loads instead of 16 per step, and a
// uniform load costs about as much as a multiply-add of the whole block.
// Broadcasts need every lane of the subgroup active, so out-of-range lanes
// compute on clamped indices and only their stores are skipped.
// Workgroups are one subgroup (8 lanes); the Rust side uses these kernels only
// where the subgroup size is exactly 8.
// Bindings: 0 aw (activation window, whole images n0 .. n0 + images: x, or
// dy for backward_input), 1 cw (forward, backward_input: weight window;
// backward_weight: dy window of the same images), 2 cbias, 3 cy (y, dx or
// dw), 4 cp.

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
    // forward, backward_input: first channel of the weight window and how
    // many it holds.
    ch0: u32,
    chs: u32,
    // backward_weight: pixels per slice of the window (a multiple of 4), and
    // whether to add to what the output holds.
    kc: u32,
    accumulate: u32,
    // The images n0 .. n0 + images in the activation window.
    n0: u32,
    images: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> aw: array<vec4<f32>, 4096>;
@group(0) @binding(1) var<uniform> cw: array<vec4<f32>, 4096>;
@group(0) @binding(2) var<storage, read> cbias: array<f32>;
@group(0) @binding(3) var<storage, read_write> cy: array<f32>;
@group(0) @binding(4) var<uniform> cp: ConvWindowParams;

fn act_at(i: u32) -> f32 {
    return aw[i >> 2u][i & 3u];
}

fn dy_at(i: u32) -> f32 {
    return cw[i >> 2u][i & 3u];
}

// y of channel ch0 + j at this lane's four pixels, whose offsets in channel 0
// are `out0` (computed once per lane: integer division is slow on llvmpipe).
fn conv_store(out0: vec4<u32>, keep: vec4<bool>, j: u32, acc: vec4<f32>) {
    if j >= cp.chs {
        return;
    }
    let d = cp.ch0 + j;
    var v = acc;
    if cp.has_bias == 1u {
        v += vec4<f32>(cbias[d]);
    }
    if cp.relu == 1u {
        v = max(v, vec4<f32>(0.0));
    }
    let off = d * cp.ho * cp.wo;
    for (var e = 0u; e < 4u; e++) {
        if keep[e] {
            cy[out0[e] + off] = v[e];
        }
    }
}

// The three kernels below store their 16 accumulators through two store
// sites in a loop of 8, not 16 spelled-out ones: llvmpipe compiles every
// storage access as a loop over the lanes, and those were most of the JIT
// time. Cold first conv step 4.6 → 3.7 s (medians of three), with the same
// GFLOP/s. pick8(h, a0 .. a7) is a_h, by selects: a private array indexed by
// h made the weight gradient 13-16% slower.
fn pick8(h: u32, a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32>, a4: vec4<f32>, a5: vec4<f32>, a6: vec4<f32>, a7: vec4<f32>) -> vec4<f32> {
    return select(pick(h, a0, a1, a2, a3), pick(h - 4u, a4, a5, a6, a7), h >= 4u);
}

fn pick(h: u32, a: vec4<f32>, b: vec4<f32>, c: vec4<f32>, d: vec4<f32>) -> vec4<f32> {
    return select(select(a, b, h == 1u), select(c, d, h == 3u), h >= 2u);
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

// y for 4 pixels × 16 channels per lane; weight window = rows ch0 .. ch0 + chs
// of w (D, C·K·K) with C·K·K % 4 == 0.
@compute @workgroup_size(8, 1, 1)
fn conv2d_forward_subgroup(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(subgroup_invocation_id) l: u32,
) {
    let hw_out = cp.ho * cp.wo;
    let n_pix = min(cp.n0 + cp.images, cp.n) * hw_out;
    let pix0 = cp.n0 * hw_out + gid.x * 4u;
    let j0 = gid.y * 16u;
    var base: vec4<u32>;
    var iy0: vec4<i32>;
    var ix0: vec4<i32>;
    var out0: vec4<u32>;
    var keep: vec4<bool>;
    for (var e = 0u; e < 4u; e++) {
        let pix = min(pix0 + e, n_pix - 1u);
        let n = pix / hw_out;
        let r = pix % hw_out;
        base[e] = (n - cp.n0) * cp.c * cp.h * cp.w;
        iy0[e] = i32((r / cp.wo) * cp.stride) - i32(cp.pad);
        ix0[e] = i32((r % cp.wo) * cp.stride) - i32(cp.pad);
        out0[e] = n * cp.d * hw_out + r;
        keep[e] = pix0 + e < n_pix;
    }
    let r4 = cp.c * cp.k * cp.k / 4u;
    let last = cp.chs - 1u;
    // This lane loads the weights of channels j0 + l and j0 + 8 + l.
    let oa = min(j0 + l, last) * r4;
    let ob = min(j0 + 8u + l, last) * r4;
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
        let wa = cw[oa + q];
        let wb = cw[ob + q];
        let w0 = subgroupBroadcast(wa, 0u);
        acc0 += w0.x * x0 + w0.y * x1 + w0.z * x2 + w0.w * x3;
        let w1 = subgroupBroadcast(wa, 1u);
        acc1 += w1.x * x0 + w1.y * x1 + w1.z * x2 + w1.w * x3;
        let w2 = subgroupBroadcast(wa, 2u);
        acc2 += w2.x * x0 + w2.y * x1 + w2.z * x2 + w2.w * x3;
        let w3 = subgroupBroadcast(wa, 3u);
        acc3 += w3.x * x0 + w3.y * x1 + w3.z * x2 + w3.w * x3;
        let w4 = subgroupBroadcast(wa, 4u);
        acc4 += w4.x * x0 + w4.y * x1 + w4.z * x2 + w4.w * x3;
        let w5 = subgroupBroadcast(wa, 5u);
        acc5 += w5.x * x0 + w5.y * x1 + w5.z * x2 + w5.w * x3;
        let w6 = subgroupBroadcast(wa, 6u);
        acc6 += w6.x * x0 + w6.y * x1 + w6.z * x2 + w6.w * x3;
        let w7 = subgroupBroadcast(wa, 7u);
        acc7 += w7.x * x0 + w7.y * x1 + w7.z * x2 + w7.w * x3;
        let w8 = subgroupBroadcast(wb, 0u);
        acc8 += w8.x * x0 + w8.y * x1 + w8.z * x2 + w8.w * x3;
        let w9 = subgroupBroadcast(wb, 1u);
        acc9 += w9.x * x0 + w9.y * x1 + w9.z * x2 + w9.w * x3;
        let w10 = subgroupBroadcast(wb, 2u);
        acc10 += w10.x * x0 + w10.y * x1 + w10.z * x2 + w10.w * x3;
        let w11 = subgroupBroadcast(wb, 3u);
        acc11 += w11.x * x0 + w11.y * x1 + w11.z * x2 + w11.w * x3;
        let w12 = subgroupBroadcast(wb, 4u);
        acc12 += w12.x * x0 + w12.y * x1 + w12.z * x2 + w12.w * x3;
        let w13 = subgroupBroadcast(wb, 5u);
        acc13 += w13.x * x0 + w13.y * x1 + w13.z * x2 + w13.w * x3;
        let w14 = subgroupBroadcast(wb, 6u);
        acc14 += w14.x * x0 + w14.y * x1 + w14.z * x2 + w14.w * x3;
        let w15 = subgroupBroadcast(wb, 7u);
        acc15 += w15.x * x0 + w15.y * x1 + w15.z * x2 + w15.w * x3;
    }
    // Channels j0 + 2h and j0 + 2h + 1 (see pick8).
    for (var h = 0u; h < 8u; h++) {
        let j = j0 + 2u * h;
        conv_store(out0, keep, j, pick8(h, acc0, acc2, acc4, acc6, acc8, acc10, acc12, acc14));
        conv_store(out0, keep, j + 1u, pick8(h, acc1, acc3, acc5, acc7, acc9, acc11, acc13, acc15));
    }
}

// dw[d, r] (+)= Σ over one slice of the window's pixels k = (n, oh, ow) of
// dy[n, d, oh, ow] · x[n, c, tap]: 4 taps r × 16 channels d per lane. Slice
// gid.z covers pixels z·kc .. z·kc + kc of the window and writes its own copy
// of dw at (z, d, r), so layers with few taps still fill the cores; the Rust
// side sums the copies when there is more than one.
// The four taps of a lane are contiguous in dw (C·K·K % 4 == 0, which the
// Rust side checks), so each channel is one vec4 load and store: on llvmpipe
// about half the cost of four scalar ones.
@group(0) @binding(3) var<storage, read_write> cy4: array<vec4<f32>>;

// The sums of the earlier windows, where accumulate == 2: the Rust side
// alternates two buffers of them (at most 32768 values, two uniform windows)
// so that they are read as uniforms, not loaded back from the output: on
// llvmpipe a storage load costs ~4 ns per float, a uniform gather ~0.4.
// (accumulate == 1: the earlier sums are in the output itself.)
@group(0) @binding(5) var<uniform> pw0: array<vec4<f32>, 4096>;
@group(0) @binding(6) var<uniform> pw1: array<vec4<f32>, 4096>;

fn dw_store(z: u32, r0: u32, d: u32, acc: vec4<f32>) {
    let taps = cp.c * cp.k * cp.k;
    if d >= cp.d || r0 >= taps {
        return;
    }
    let i = ((z * cp.d + d) * taps + r0) / 4u;
    var v = acc;
    if cp.accumulate == 1u {
        v += cy4[i];
    }
    if cp.accumulate == 2u {
        v += select(pw1[max(i, 4096u) - 4096u], pw0[min(i, 4095u)], i < 4096u);
    }
    cy4[i] = v;
}

@compute @workgroup_size(8, 1, 1)
fn conv2d_backward_weight_subgroup(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(subgroup_invocation_id) l: u32,
) {
    let kk = cp.k * cp.k;
    let taps = cp.c * kk;
    let r0 = gid.x * 4u;
    let j0 = gid.y * 16u;
    let z = gid.z;
    // The four taps of this lane: input channel offset and (kh, kw) − pad.
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
    let image = cp.c * cp.h * cp.w;
    // This slice's pixels, counted from the window's first image.
    let p_end = min(cp.images, cp.n - cp.n0) * hw_out;
    let p_begin = min(z * cp.kc, p_end);
    let p_stop = min(p_begin + cp.kc, p_end);
    // This lane loads dy of channels j0 + l and j0 + 8 + l.
    let last = cp.d - 1u;
    let da = min(j0 + l, last) * hw_out;
    let db = min(j0 + 8u + l, last) * hw_out;
    let dy_image = cp.d * hw_out;
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
    // Pixel (n, oh, ow) of the window, stepped without divisions.
    var pix = p_begin;
    var n = pix / hw_out;
    var oh = (pix % hw_out) / cp.wo;
    var ow = pix % cp.wo;
    for (var q = p_begin; q < p_stop; q += 4u) {
        var xs: array<vec4<f32>, 4>; // xs[pixel e][tap]
        var ga: vec4<f32>; // dy[channel j0 + l] at the four pixels
        var gb: vec4<f32>;
        for (var e = 0u; e < 4u; e++) {
            let ok = pix < p_stop;
            let nn = min(n, cp.images - 1u);
            let iy = vec4<i32>(i32(oh * cp.stride)) + th;
            let ix = vec4<i32>(i32(ow * cp.stride)) + tw;
            let inside = (iy >= vec4<i32>(0)) & (iy <= hi) & (ix >= vec4<i32>(0)) & (ix <= wi) & vec4<bool>(ok);
            let idx = vec4<u32>(nn * image) + c_off
                + vec4<u32>(clamp(iy, vec4<i32>(0), hi)) * cp.w + vec4<u32>(clamp(ix, vec4<i32>(0), wi));
            xs[e] = select(vec4<f32>(0.0), vec4<f32>(act_at(idx.x), act_at(idx.y), act_at(idx.z), act_at(idx.w)), inside);
            let p = nn * dy_image + oh * cp.wo + ow;
            ga[e] = dy_at(p + da);
            gb[e] = dy_at(p + db);
            pix += 1u;
            ow += 1u;
            if ow == cp.wo { ow = 0u; oh += 1u; if oh == cp.ho { oh = 0u; n += 1u; } }
        }
        // acc[tap] += Σ_e dy[e] · x[e][tap]: four multiply-adds per channel.
        let x0 = xs[0];
        let x1 = xs[1];
        let x2 = xs[2];
        let x3 = xs[3];
        let g0 = subgroupBroadcast(ga, 0u);
        acc0 += g0.x * x0 + g0.y * x1 + g0.z * x2 + g0.w * x3;
        let g1 = subgroupBroadcast(ga, 1u);
        acc1 += g1.x * x0 + g1.y * x1 + g1.z * x2 + g1.w * x3;
        let g2 = subgroupBroadcast(ga, 2u);
        acc2 += g2.x * x0 + g2.y * x1 + g2.z * x2 + g2.w * x3;
        let g3 = subgroupBroadcast(ga, 3u);
        acc3 += g3.x * x0 + g3.y * x1 + g3.z * x2 + g3.w * x3;
        let g4 = subgroupBroadcast(ga, 4u);
        acc4 += g4.x * x0 + g4.y * x1 + g4.z * x2 + g4.w * x3;
        let g5 = subgroupBroadcast(ga, 5u);
        acc5 += g5.x * x0 + g5.y * x1 + g5.z * x2 + g5.w * x3;
        let g6 = subgroupBroadcast(ga, 6u);
        acc6 += g6.x * x0 + g6.y * x1 + g6.z * x2 + g6.w * x3;
        let g7 = subgroupBroadcast(ga, 7u);
        acc7 += g7.x * x0 + g7.y * x1 + g7.z * x2 + g7.w * x3;
        let g8 = subgroupBroadcast(gb, 0u);
        acc8 += g8.x * x0 + g8.y * x1 + g8.z * x2 + g8.w * x3;
        let g9 = subgroupBroadcast(gb, 1u);
        acc9 += g9.x * x0 + g9.y * x1 + g9.z * x2 + g9.w * x3;
        let g10 = subgroupBroadcast(gb, 2u);
        acc10 += g10.x * x0 + g10.y * x1 + g10.z * x2 + g10.w * x3;
        let g11 = subgroupBroadcast(gb, 3u);
        acc11 += g11.x * x0 + g11.y * x1 + g11.z * x2 + g11.w * x3;
        let g12 = subgroupBroadcast(gb, 4u);
        acc12 += g12.x * x0 + g12.y * x1 + g12.z * x2 + g12.w * x3;
        let g13 = subgroupBroadcast(gb, 5u);
        acc13 += g13.x * x0 + g13.y * x1 + g13.z * x2 + g13.w * x3;
        let g14 = subgroupBroadcast(gb, 6u);
        acc14 += g14.x * x0 + g14.y * x1 + g14.z * x2 + g14.w * x3;
        let g15 = subgroupBroadcast(gb, 7u);
        acc15 += g15.x * x0 + g15.y * x1 + g15.z * x2 + g15.w * x3;
    }
    // Channels j0 + 2h and j0 + 2h + 1 (see pick8).
    for (var h = 0u; h < 8u; h++) {
        let j = j0 + 2u * h;
        dw_store(z, r0, j, pick8(h, acc0, acc2, acc4, acc6, acc8, acc10, acc12, acc14));
        dw_store(z, r0, j + 1u, pick8(h, acc1, acc3, acc5, acc7, acc9, acc11, acc13, acc15));
    }
}

// dx for 4 pixels × 16 input channels per lane (the transposed convolution's
// forward, with its bias and ReLU). Weight window = rows of the permuted
// weights wp[c, kh, kw, d] (see conv2d_weight_permute in conv2d.wgsl) for
// channels ch0 .. ch0 + chs, D % 4 == 0; activation window = images of dy.
// Only taps kh ≡ iy + pad, kw ≡ ix + pad (mod stride) reach a pixel, so each
// dispatch slice gid.z = one phase (iy mod s, ix mod s): the taps are then
// the same for every lane and the loops stay uniform, as broadcasts need.
// gid.x = (image, row of the phase, group of 4 columns of the phase).
fn dx_store(n: u32, iy: u32, ixs: vec4<u32>, keep: vec4<bool>, j: u32, acc: vec4<f32>) {
    if j >= cp.chs {
        return;
    }
    let c = cp.ch0 + j;
    var v = acc;
    if cp.has_bias == 1u {
        v += vec4<f32>(cbias[c]);
    }
    if cp.relu == 1u {
        v = max(v, vec4<f32>(0.0));
    }
    let row = ((n * cp.c + c) * cp.h + iy) * cp.w;
    for (var e = 0u; e < 4u; e++) {
        if keep[e] {
            cy[row + ixs[e]] = v[e];
        }
    }
}

@compute @workgroup_size(8, 1, 1)
fn conv2d_backward_input_subgroup(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(subgroup_invocation_id) l: u32,
) {
    let s = cp.stride;
    let phase_y = gid.z / s;
    let px = gid.z % s;
    let groups = ((cp.w + s - 1u) / s + 3u) / 4u;
    let rows = (cp.h + s - 1u) / s;
    let g = gid.x % groups;
    let t = gid.x / groups;
    let iy = phase_y + s * (t % rows);
    let nl = t / rows;
    let images = min(cp.images, cp.n - cp.n0);
    let lane_ok = nl < images && iy < cp.h;
    let nn = min(nl, images - 1u);
    let ixs = vec4<u32>(px) + vec4<u32>(s) * (vec4<u32>(4u * g) + vec4<u32>(0u, 1u, 2u, 3u));
    let keep = (ixs < vec4<u32>(cp.w)) & vec4<bool>(lane_ok);
    let j0 = gid.y * 16u;
    let d4 = cp.d / 4u;
    let row4 = cp.k * cp.k * d4;
    let last = cp.chs - 1u;
    // This lane loads the weights of channels j0 + l and j0 + 8 + l.
    let oa = min(j0 + l, last) * row4;
    let ob = min(j0 + 8u + l, last) * row4;
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
    let n_base = nn * cp.d * hw_out;
    let ty = iy + cp.pad;
    let wo_last = vec4<i32>(i32(cp.wo) - 1);
    for (var kh = (phase_y + cp.pad) % s; kh < cp.k; kh += s) {
        let row_ok = lane_ok && kh <= ty && (ty - kh) / s < cp.ho;
        let oy = min((ty - min(kh, ty)) / s, cp.ho - 1u);
        for (var kw = (px + cp.pad) % s; kw < cp.k; kw += s) {
            let tx = vec4<i32>(ixs) + vec4<i32>(i32(cp.pad) - i32(kw));
            let ox = tx / vec4<i32>(i32(s));
            let hit = keep & vec4<bool>(row_ok) & (tx >= vec4<i32>(0)) & (ox < vec4<i32>(i32(cp.wo)));
            let off = vec4<u32>(n_base + oy * cp.wo) + vec4<u32>(clamp(ox, vec4<i32>(0), wo_last));
            let tap4 = (kh * cp.k + kw) * d4;
            for (var q = 0u; q < d4; q++) {
                let d = q * 4u;
                let v0 = select(vec4<f32>(0.0), vec4<f32>(act_at(off.x + d * hw_out), act_at(off.y + d * hw_out), act_at(off.z + d * hw_out), act_at(off.w + d * hw_out)), hit);
                let v1 = select(vec4<f32>(0.0), vec4<f32>(act_at(off.x + (d + 1u) * hw_out), act_at(off.y + (d + 1u) * hw_out), act_at(off.z + (d + 1u) * hw_out), act_at(off.w + (d + 1u) * hw_out)), hit);
                let v2 = select(vec4<f32>(0.0), vec4<f32>(act_at(off.x + (d + 2u) * hw_out), act_at(off.y + (d + 2u) * hw_out), act_at(off.z + (d + 2u) * hw_out), act_at(off.w + (d + 2u) * hw_out)), hit);
                let v3 = select(vec4<f32>(0.0), vec4<f32>(act_at(off.x + (d + 3u) * hw_out), act_at(off.y + (d + 3u) * hw_out), act_at(off.z + (d + 3u) * hw_out), act_at(off.w + (d + 3u) * hw_out)), hit);
                let wa = cw[oa + tap4 + q];
                let wb = cw[ob + tap4 + q];
                let w0 = subgroupBroadcast(wa, 0u);
                acc0 += w0.x * v0 + w0.y * v1 + w0.z * v2 + w0.w * v3;
                let w1 = subgroupBroadcast(wa, 1u);
                acc1 += w1.x * v0 + w1.y * v1 + w1.z * v2 + w1.w * v3;
                let w2 = subgroupBroadcast(wa, 2u);
                acc2 += w2.x * v0 + w2.y * v1 + w2.z * v2 + w2.w * v3;
                let w3 = subgroupBroadcast(wa, 3u);
                acc3 += w3.x * v0 + w3.y * v1 + w3.z * v2 + w3.w * v3;
                let w4 = subgroupBroadcast(wa, 4u);
                acc4 += w4.x * v0 + w4.y * v1 + w4.z * v2 + w4.w * v3;
                let w5 = subgroupBroadcast(wa, 5u);
                acc5 += w5.x * v0 + w5.y * v1 + w5.z * v2 + w5.w * v3;
                let w6 = subgroupBroadcast(wa, 6u);
                acc6 += w6.x * v0 + w6.y * v1 + w6.z * v2 + w6.w * v3;
                let w7 = subgroupBroadcast(wa, 7u);
                acc7 += w7.x * v0 + w7.y * v1 + w7.z * v2 + w7.w * v3;
                let w8 = subgroupBroadcast(wb, 0u);
                acc8 += w8.x * v0 + w8.y * v1 + w8.z * v2 + w8.w * v3;
                let w9 = subgroupBroadcast(wb, 1u);
                acc9 += w9.x * v0 + w9.y * v1 + w9.z * v2 + w9.w * v3;
                let w10 = subgroupBroadcast(wb, 2u);
                acc10 += w10.x * v0 + w10.y * v1 + w10.z * v2 + w10.w * v3;
                let w11 = subgroupBroadcast(wb, 3u);
                acc11 += w11.x * v0 + w11.y * v1 + w11.z * v2 + w11.w * v3;
                let w12 = subgroupBroadcast(wb, 4u);
                acc12 += w12.x * v0 + w12.y * v1 + w12.z * v2 + w12.w * v3;
                let w13 = subgroupBroadcast(wb, 5u);
                acc13 += w13.x * v0 + w13.y * v1 + w13.z * v2 + w13.w * v3;
                let w14 = subgroupBroadcast(wb, 6u);
                acc14 += w14.x * v0 + w14.y * v1 + w14.z * v2 + w14.w * v3;
                let w15 = subgroupBroadcast(wb, 7u);
                acc15 += w15.x * v0 + w15.y * v1 + w15.z * v2 + w15.w * v3;
            }
        }
    }
    // Channels j0 + 2h and j0 + 2h + 1 (see pick8).
    for (var h = 0u; h < 8u; h++) {
        let j = j0 + 2u * h;
        dx_store(cp.n0 + nn, iy, ixs, keep, j, pick8(h, acc0, acc2, acc4, acc6, acc8, acc10, acc12, acc14));
        dx_store(cp.n0 + nn, iy, ixs, keep, j + 1u, pick8(h, acc1, acc3, acc5, acc7, acc9, acc11, acc13, acc15));
    }
}
