#!/usr/bin/env python3
"""Writes conv2d_texture.wgsl: convolutions whose kernel size is a multiple of
4 as implicit GEMMs on CPU adapters (llvmpipe), x read from an RGBA32F
texture. Run: python3 shaders/conv2d_texture.py

The block and the inner loop are matmul_texture.py's (16 × 32 blocks of C per
8-lane workgroup, 4 k values a step); what changes is where the im2col
operand comes from: each of its texels (taps kw .. kw + 3 of one input row,
for one output pixel) is built from two texels of x, shifted and masked,
instead of being read from a stored im2col matrix. Writing that matrix out
first cost more than the product on lavapipe (about 20 ms for conv2's 3.2 M
values: every store and every address goes lane by lane there).

The input gradient where K = 2·stride runs one such product per stride
phase, its operand texels being 2 × 2 windows of dy (two pairs, four texel
fetches). conv2's on lavapipe: 12.5 GFLOP/s with the uniform-window kernels
(104 dispatches a step for it and deconv1's forward) -> 19.5 (8 dispatches)."""

# Rows of C per workgroup of the kernel being written, set before each (the
# *_ROWS constants in conv2d_texture.rs must match). With each row's stores
# spelled out, 8 rows instead of 16 halved a kernel's JIT time (llvmpipe
# compiles each at its first dispatch): the input gradient and the
# taps-as-rows weight gradient ran as fast with 8 (~650 -> ~330 and ~250
# -> ~160 ms of JIT), so they keep 8; the weight gradient ran ~20% slower,
# so it kept 16. With the stores in the epilogue's loop (below), the
# forward's first dispatch takes as long with 16 rows as with 8 (~140 ms,
# three cold runs each in turn) and the kernel runs ~9% faster (35.7
# against 39.3 ms a conv step, four alternating profiles), so it is back
# at 16.
R = 16
C = 4  # columns per lane
lines = []
w = lines.append
w(f"""// Convolutions on CPU adapters (llvmpipe) as implicit GEMMs reading x
// from an RGBA32F texture (src/kernels/conv2d_texture.rs records them).
//
// Why: the uniform-window kernels (conv2d_subgroup.wgsl) see a few images of
// x at a time, so conv2 is 128 small dispatches per pass; a texture holds all
// of x, and the product runs as one dispatch with matmul_texture.wgsl's
// block (16 × 32 of the output per 8-lane workgroup, 4 k values a step).
//
// The im2col operand (rows: output pixels (n, oh, ow); columns: taps (c,
// kh, kw) in w's order) is never stored: with K a multiple of 4, four
// consecutive taps are kw .. kw + 3 of one input row, four neighbouring
// floats of x, which two texel fetches, a shift and a mask give.
//
// Textures hold a tensor of L floats in 64 texels (256 floats) per row, texel
// t at (t % 64, t / 64), as in matmul_texture.wgsl.
//
// The input gradient where K = 2·stride (the conv model's k4 s2) is a
// product of the same kind per stride phase: dx pixels (ih, iw) of phase
// (ph, pw) = ((ih + pad) % s, (iw + pad) % s) take taps kh = ph, ph + s and
// kw = pw, pw + s only, so each is a stride-1 2 × 2 window over dy with four
// weights per channel of dy (rearranged per phase by conv2d_weight_phases).
//
// shaders/conv2d_texture.py writes this file; change that and rerun it.

// The first twelve fields are conv2d.wgsl's Params.
struct ConvTxParams {{
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
    // C·K·K and N·Ho·Wo.
    taps: u32,
    pixels: u32,
    // Weight gradient: pixels per slice (a multiple of 4). Slice z sums its
    // pixels into its own copy of dw, at z·D·C·K·K.
    slice: u32,
    // Always 4: the trip count of the stores' loops over four channels,
    // a uniform so that they stay loops (see store_y).
    four: u32,
    // Input gradient: this dispatch's stride phase (ph, pw), the first row
    // and column (y0, x0) of its pixel grid (hp × wp) in dy's coordinates,
    // and where its weights start in tex_o (texels).
    ph: u32,
    pw: u32,
    y0: u32,
    x0: u32,
    hp: u32,
    wp: u32,
    wbase: u32,
    // Rows per workgroup of the product kernels (R): the trip count of
    // their epilogue's loop.
    rows: u32,
}}

@group(0) @binding(0) var tex_x: texture_storage_2d<rgba32float, read>;
// forward: w (D, C·K·K); weight gradient: dy as rows (n, oh, ow) of D.
@group(0) @binding(1) var tex_o: texture_storage_2d<rgba32float, read>;
@group(0) @binding(2) var<storage, read> cbias: array<f32>;
@group(0) @binding(3) var<storage, read_write> cy: array<f32>;
@group(0) @binding(3) var<storage, read_write> cdw4: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> cp: ConvTxParams;

fn fetch(t: u32) -> vec4<f32> {{
    return textureLoad(tex_o, vec2<u32>(t & 63u, t >> 6u));
}}

fn fetch_x(t: i32) -> vec4<f32> {{
    let u = u32(max(t, 0));
    return textureLoad(tex_x, vec2<u32>(u & 63u, u >> 6u));
}}

// x at linear index i and the next three, where i is tap (c, kh, kw) of a
// pixel whose window starts at input row iy and column ix - kw: (iy, ix)
// is the first tap's position. 0 where a tap falls in the padding. A valid
// tap's index is never negative, so clamping the texel index at 0 only
// changes values that are masked.
fn run(i: i32, iy: i32, ix: i32) -> vec4<f32> {{
    let cols = vec4<i32>(ix) + vec4<i32>(0, 1, 2, 3);
    let inside = vec4<bool>(iy >= 0 && iy < i32(cp.h)) & (cols >= vec4<i32>(0)) & (cols < vec4<i32>(i32(cp.w)));
    let t = i >> 2u;
    let a = fetch_x(t);
    let b = fetch_x(t + 1);
    let s = i & 3;
    let lo = select(a, vec4<f32>(a.yzw, b.x), s == 1);
    let hi = select(vec4<f32>(a.zw, b.xy), vec4<f32>(a.w, b.xyz), s == 3);
    return select(vec4<f32>(0.0), select(lo, hi, s >= 2), inside);
}}

// Where pixel `pix` (counted over the batch) reads its taps: (index of x at
// tap (0, 0, 0), its input row, its input column), with that tap's window
// corner possibly in the padding.
fn pixel_origin(pix: u32) -> vec3<i32> {{
    let hw = cp.ho * cp.wo;
    let n = pix / hw;
    let p = pix - n * hw;
    let oh = p / cp.wo;
    let ow = p - oh * cp.wo;
    let iy = i32(oh * cp.stride) - i32(cp.pad);
    let ix = i32(ow * cp.stride) - i32(cp.pad);
    return vec3<i32>(i32(n * cp.c * cp.h * cp.w) + iy * i32(cp.w) + ix, iy, ix);
}}

// Tap r's (offset of x from the pixel's tap (0, 0, 0), kh, kw).
fn tap_offset(r: u32) -> vec3<i32> {{
    let kk = cp.k * cp.k;
    let c = r / kk;
    let kh = (r - c * kk) / cp.k;
    let kw = r - c * kk - kh * cp.k;
    return vec3<i32>(i32(c * cp.h * cp.w + kh * cp.w + kw), i32(kh), i32(kw));
}}

// y of pixel `pix` (image at.x, place at.y in it), channels c0 .. c0 + 3:
// the bias (read once per lane), ReLU, four stores. The channels are planes
// apart, so four scalar stores, from a loop llvmpipe cannot unroll: each
// store site is milliseconds of its JIT, and the loop made the forward's
// first dispatch ~45 ms shorter (~250 -> ~205 ms, three cold runs each in
// turn) and store_dx's ~15, at the same speed (alternating profiles).
fn store_y(pix: u32, at: vec2<u32>, c0: u32, bias: vec4<f32>, value: vec4<f32>) {{
    if pix >= cp.pixels {{
        return;
    }}
    let hw = cp.ho * cp.wo;
    let n = at.x;
    let p = at.y;
    var v = value + bias;
    if cp.relu == 1u {{
        v = max(v, vec4<f32>(0.0));
    }}
    var o = (n * cp.d + c0) * hw + p;
    for (var j = 0u; j < cp.four; j++) {{
        cy[o] = v[j];
        o += hw;
    }}
}}

// Slice z's dw row d, taps c0 .. c0 + 3: one vec4 store.
fn store_dw(z: u32, d: u32, c0: u32, value: vec4<f32>) {{
    if d >= cp.d {{
        return;
    }}
    cdw4[((z * cp.d + d) * cp.taps + c0) / 4u] = value;
}}""")


def product_start(name):
    """A product kernel's entry point up to its accumulators: one 8-lane
    subgroup a workgroup, rows r0 .. r0 + R - 1 of the block, lane l's
    columns c0 .. c0 + C - 1."""
    w(f"""@compute @workgroup_size(8, 1, 1)
fn {name}(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(subgroup_invocation_id) l: u32,
) {{
    let r0 = wid.x * {R}u;
    let c0 = wid.y * {8 * C}u + {C}u * l;""")
    for r in range(R):
        w("    " + " ".join(f"var acc{r}_{c} = 0.0;" for c in range(C)))


def accumulate(a_of, b_of):
    """The step's products: row r's four broadcasts, then each accumulator
    one sum of four products (as matmul_texture.py)."""
    for r in range(R):
        for t in range(4):
            w(f"        let s{t}_{r} = {a_of(r, t)};")
        for c in range(C):
            p = [f"s{t}_{r} * {b_of(t, c)}" for t in range(4)]
            w(f"        acc{r}_{c} += ({p[0]} + {p[1]}) + ({p[2]} + {p[3]});")


def epilogue(store, row0, extra="", first="", walk=None):
    """The block's stores, one row at a time from a loop whose trip count
    (cp.rows = R) is a uniform, so llvmpipe cannot unroll it: each pass
    stores row 0's accumulators and moves each later row's into the one
    before. Each store site is milliseconds of JIT; spelled out, R of them made the
    texture matmul's entries (the same epilogue, matmul_texture.py) twice
    as slow to compile. A loop over a local array of the rows instead took
    longer still: LLVM's coroutine frame pass (llvmpipe runs every kernel as
    a coroutine) spent about 0.25 s of the forward kernel's 0.7 s there."""
    at = ""
    if walk:
        w(walk[0])
        at = "at, "
    w(f"    var r = {row0};")
    w("    for (var i = 0u; i < cp.rows; i++) {")
    value = ", ".join(f"acc0_{c}" for c in range(C))
    w(f"        {store}({first}r, {at}c0, {extra}vec4<f32>({value}));")
    for r in range(R - 1):
        w("        " + " ".join(f"acc{r}_{c} = acc{r + 1}_{c};" for c in range(C)))
    w("        r += 1u;")
    if walk:
        w("    " + walk[1].replace("\n    ", "\n        "))
    w("    }")
    w("}")


def fetch_b_rows():
    """The lane's four fetches of B stored (n, k): rows c0 .. c0 + 3, k4
    texels apart, at the step's texel pb."""
    for i in range(4):
        off = "" if i == 0 else (" + k4" if i == 1 else f" + {i}u * k4")
        w(f"        let f{i} = fetch(pb{off});")


def next_pixel():
    """The weight gradients' step to the next pixel: (oh, ow), its input
    row and column (iy, ix) and where its taps start (origin), without
    divisions. Selects, not ifs: llvmpipe runs an if's body masked
    whatever the condition, and these cut conv2's weight gradient from
    216.2 to 211.1 M instructions a dispatch (batch 128, valgrind) and the
    taps kernel's from 16.6 to 16.2. (The same in the forward's walk over
    taps cost 0.6% more, so it keeps its ifs.)"""
    w("""        ow += 1u;
        ix += s;
        origin += s;
        {
            let row_end = ow == cp.wo;
            let image_end = row_end && oh + 1u == cp.ho;
            ow = select(ow, 0u, row_end);
            ix = select(ix, -i32(cp.pad), row_end);
            origin += select(0, s * row - i32(cp.wo) * s, row_end) + select(0, image - i32(cp.ho) * s * row, image_end);
            oh = select(select(oh, oh + 1u, row_end), 0u, image_end);
            iy = select(select(iy, iy + s, row_end), -i32(cp.pad), image_end);
        }""")


def product_tail(cols, store, walk):
    """The step's products (A broadcast from lane r % 8, B the lane's own
    fetches), then the epilogue of a product whose columns are channels
    (cp's field `cols` counts them; lanes past it store nothing): the bias,
    then `store` for each row."""
    accumulate(
        lambda r, t: f"subgroupBroadcast(a{r // 8}[{t}], {r % 8}u)",
        lambda t, c: f"f{c}[{t}]",
    )
    w("    }")
    w(f"    if c0 >= cp.{cols} {{")
    w("        return;")
    w("    }")
    w("""    var bias = vec4<f32>(0.0);
    if cp.has_bias == 1u {
        bias = vec4<f32>(cbias[c0], cbias[c0 + 1u], cbias[c0 + 2u], cbias[c0 + 3u]);
    }""")
    epilogue(store, "r0", "bias, ", walk=walk)


# Forward: C (pixels × D) = im2col(x) · wᵀ, stored into y (N, D, Ho, Wo).
w(f"""
// y = conv(x, w) (+ b) (then ReLU). Rows of the product are output pixels,
// columns output channels: lane l computes channels c0 .. c0 + 3 of pixels
// r0 .. r0 + {R - 1}, and fetches the im2col texels of pixels r0 + l + 8q that
// every lane then gets by subgroupBroadcast. w (D, C·K·K) is B stored (n, k).""")
product_start("conv2d_forward_texture")
for q in range(R // 8):
    w(f"    let o{q} = pixel_origin(min(r0 + {8 * q}u + l, cp.pixels - 1u));")
w("""    // Lane l's four fetches of w: rows c0 .. c0 + 3 (clamped: the lanes past
    // D compute on a copy of the last and store nothing).
    let k4 = cp.taps / 4u;
    var pb = min(c0, cp.d - 4u) * k4;
    // Tap (c, kh, kw) of the step's first k value, stepped without divisions.
    var toff = 0;
    var kh = 0;
    var kw = 0;
    let hw = i32(cp.h * cp.w);
    let row = i32(cp.w);
    let k = i32(cp.k);
    for (var kb = 0u; kb < cp.taps; kb += 4u) {""")
for q in range(R // 8):
    w(f"        let a{q} = run(o{q}.x + toff, o{q}.y + kh, o{q}.z + kw);")
fetch_b_rows()
w("""        pb += 1u;
        kw += 4;
        toff += 4;
        if kw == k {
            kw = 0;
            kh += 1;
            toff += row - k;
            if kh == k {
                kh = 0;
                toff += hw - k * row;
            }
        }""")
product_tail("d", "store_y", ("""    // Pixel r0's (image, place in it); each next row one place on.
    let pixels = cp.ho * cp.wo;
    var at = vec2<u32>(r0 / pixels, r0 % pixels);""", """    at.y += 1u;
    if at.y == pixels {
        at = vec2<u32>(at.x + 1u, 0u);
    }"""))

R = 8
# Input gradient (K = 2·stride), one dispatch per stride phase: C (phase
# pixels × C) = windows(dy) · wq, stored into dx (N, C, H, W).
w("""
// dy at linear index i and the next one (two taps of one row of dy), from
// two texel fetches; i may be negative or past a row where the window
// overhangs dy (the caller masks those values).
fn pair(i: i32) -> vec2<f32> {
    let a = fetch_x(i >> 2u);
    let b = fetch_x((i >> 2u) + 1);
    let s = i & 3;
    let lo = select(a.xy, a.yz, s == 1);
    let hi = select(a.zw, vec2<f32>(a.w, b.x), s == 3);
    return select(lo, hi, s >= 2);
}

// Where phase pixel `pix` (counted over the batch, over the phase's hp × wp
// grid) reads dy: (index of dy at channel 0 and the window's top left
// corner, that corner's row, its column). The window is rows oy, oy + 1 and
// columns ox, ox + 1 of dy; parts of it may lie outside dy.
fn phase_origin(pix: u32) -> vec3<i32> {
    let hw = cp.hp * cp.wp;
    let n = pix / hw;
    let p = pix - n * hw;
    let r = p / cp.wp;
    let oy = i32(cp.y0 + r) - 1;
    let ox = i32(cp.x0 + p - r * cp.wp) - 1;
    return vec3<i32>(i32(n * cp.d * cp.ho * cp.wo) + oy * i32(cp.wo) + ox, oy, ox);
}

// Which of the window's four taps (top left, top right, bottom left, bottom
// right) lie inside dy.
fn window_inside(o: vec3<i32>) -> vec4<bool> {
    let rows = vec2<i32>(o.y, o.y + 1);
    let cols = vec2<i32>(o.z, o.z + 1);
    let r = (rows >= vec2<i32>(0)) & (rows < vec2<i32>(i32(cp.ho)));
    let c = (cols >= vec2<i32>(0)) & (cols < vec2<i32>(i32(cp.wo)));
    return vec4<bool>(r.x && c.x, r.x && c.y, r.y && c.x, r.y && c.y);
}

// The window's four values at channel offset `toff`: 0 outside dy.
fn window(o: vec3<i32>, inside: vec4<bool>, toff: i32) -> vec4<f32> {
    let top = pair(o.x + toff);
    let bottom = pair(o.x + toff + i32(cp.wo));
    return select(vec4<f32>(0.0), vec4<f32>(top, bottom), inside);
}

// dx of phase pixel `pix` (image at.x, phase row at.y, phase column at.z),
// channels c0 .. c0 + 3: the bias, ReLU, four stores.
fn store_dx(pix: u32, at: vec3<u32>, c0: u32, bias: vec4<f32>, value: vec4<f32>) {
    if pix >= cp.pixels {
        return;
    }
    let n = at.x;
    let ih = (cp.y0 + at.y) * cp.stride + cp.ph - cp.pad;
    let iw = (cp.x0 + at.z) * cp.stride + cp.pw - cp.pad;
    var v = value + bias;
    if cp.relu == 1u {
        v = max(v, vec4<f32>(0.0));
    }
    let plane = cp.h * cp.w;
    var o = ((n * cp.c + c0) * cp.h + ih) * cp.w + iw;
    for (var j = 0u; j < cp.four; j++) {
        cy[o] = v[j];
        o += plane;
    }
}

// dx = conv2d_backward_input(dy, w) (+ b over C) (then ReLU) for one stride
// phase, K = 2·stride. Rows of the product are the phase's pixels, columns
// input channels, k the taps (d, a, b): dy at row oy + a, column ox + b of
// the pixel's window, four (one channel of dy) a step. tex_x holds dy,
// tex_o the phase weights wq (C, D·4), B stored (n, k).""")
product_start("conv2d_backward_input_texture")
for q in range(R // 8):
    w(f"    let o{q} = phase_origin(min(r0 + {8 * q}u + l, cp.pixels - 1u));")
    w(f"    let in{q} = window_inside(o{q});")
w("""    // Lane l's four fetches of wq: rows c0 .. c0 + 3 (clamped: the lanes
    // past C compute on a copy of the last and store nothing).
    let k4 = cp.taps / 4u;
    var pb = cp.wbase + min(c0, cp.c - 4u) * k4;
    let plane = i32(cp.ho * cp.wo);
    var toff = 0;
    for (var kb = 0u; kb < cp.taps; kb += 4u) {""")
for q in range(R // 8):
    w(f"        let a{q} = window(o{q}, in{q}, toff);")
fetch_b_rows()
w("""        pb += 1u;
        toff += plane;""")
product_tail("c", "store_dx", ("""    // Phase pixel r0's (image, phase row, phase column); each next row one
    // column on.
    let phase_pixels = cp.hp * cp.wp;
    let in_image = r0 % phase_pixels;
    var at = vec3<u32>(r0 / phase_pixels, in_image / cp.wp, in_image % cp.wp);""", """    at.z += 1u;
    if at.z == cp.wp {
        at = vec3<u32>(at.x, at.y + 1u, 0u);
        if at.y == cp.hp {
            at = vec3<u32>(at.x + 1u, 0u, 0u);
        }
    }"""))

w("""
// The input gradient's weights per stride phase: wq[phase][c][d·4 + 2a + b]
// = w[d, c, (1 - a)·s + ph, (1 - b)·s + pw] for phase = ph·s + pw (K =
// 2·stride), so that tap (a, b) of a phase pixel's window (dy row oy + a,
// column ox + b) meets its weight. Bindings: 2 w, 3 wq.
@compute @workgroup_size(64, 1, 1)
fn conv2d_weight_phases(@builtin(global_invocation_id) gid: vec3<u32>) {
    let o = gid.x;
    let per = cp.c * cp.d * 4u;
    if o >= cp.stride * cp.stride * per {
        return;
    }
    let phase = o / per;
    let c = (o - phase * per) / (cp.d * 4u);
    let t = o - phase * per - c * cp.d * 4u;
    let d = t / 4u;
    let a = (t / 2u) & 1u;
    let b = t & 1u;
    let kh = (1u - a) * cp.stride + phase / cp.stride;
    let kw = (1u - b) * cp.stride + phase % cp.stride;
    cy[o] = cbias[((d * cp.c + c) * cp.k + kh) * cp.k + kw];
}""")

w("""
// The input gradient with one input channel (C = 1, K = 2·stride: a
// decoder's last layer), where the product above would fill one column of
// its 32: each invocation computes four neighbouring pixels of one row of
// one stride phase (gid.z), reading per channel of dy the five columns of
// its two rows of dy they need (four texel fetches), against that phase's
// weights, the same for every lane, from a uniform buffer (read once for
// all lanes). Bindings: 0 tex_x (dy), 1 uwq (wq as conv2d_weight_phases
// writes it), 2 cbias, 3 cy (dx), 4 cp.
@group(0) @binding(1) var<uniform> uwq: array<vec4<f32>, 1024>;

// dy at linear index i and the next four (unmasked): two texel fetches
// cover them wherever i falls in its texel.
struct Five {
    v: vec4<f32>,
    e: f32,
}

fn five(i: i32) -> Five {
    let t = i >> 2u;
    let a = fetch_x(t);
    let b = fetch_x(t + 1);
    let s = i & 3;
    let lo = select(a, vec4<f32>(a.yzw, b.x), s == 1);
    let hi = select(vec4<f32>(a.zw, b.xy), vec4<f32>(a.w, b.xyz), s == 3);
    return Five(select(lo, hi, s >= 2), b[s]);
}

// The first index and the count of stride phase `ph`'s rows (or columns)
// of an image `size` long: the rows ih with (ih + pad) % stride == ph, as
// (ih + pad) / stride.
fn phase_range(size: u32, ph: u32) -> vec2<u32> {
    let s = cp.stride;
    let first = select(0u, (cp.pad - ph + s - 1u) / s, cp.pad > ph);
    let end = select(0u, (size + cp.pad - ph + s - 1u) / s, size + cp.pad > ph);
    return vec2<u32>(first, max(end, first) - first);
}

@compute @workgroup_size(64, 1, 1)
fn conv2d_backward_input_c1_texture(@builtin(global_invocation_id) gid: vec3<u32>) {
    let ph = gid.z / cp.stride;
    let pw = gid.z % cp.stride;
    let ry = phase_range(cp.h, ph);
    let rx = phase_range(cp.w, pw);
    // Invocation: image n, phase row r, columns q0 .. q0 + 3.
    let quads = (rx.y + 3u) / 4u;
    let per_image = ry.y * quads;
    let n = gid.x / max(per_image, 1u);
    if n >= cp.n || per_image == 0u {
        return;
    }
    let rest = gid.x - n * per_image;
    let r = rest / quads;
    let q0 = 4u * (rest - r * quads);
    // The windows' top left corner: dy row oy, column ox (pixel j's window
    // starts at column ox + j).
    let oy = i32(ry.x + r) - 1;
    let ox = i32(rx.x + q0) - 1;
    let rows = vec2<i32>(oy, oy + 1);
    let row_in = (rows >= vec2<i32>(0)) & (rows < vec2<i32>(i32(cp.ho)));
    let cols = vec4<i32>(ox) + vec4<i32>(0, 1, 2, 3);
    let col_in = (cols >= vec4<i32>(0)) & (cols < vec4<i32>(i32(cp.wo)));
    let col4_in = ox + 4 >= 0 && ox + 4 < i32(cp.wo);
    let wo = i32(cp.wo);
    var at = i32(n * cp.d * cp.ho * cp.wo) + oy * wo + ox;
    let plane = i32(cp.ho * cp.wo);
    let base = gid.z * cp.d;
    var acc = vec4<f32>(0.0);
    for (var d = 0u; d < cp.d; d++) {
        // Row a of the windows: columns ox .. ox + 4 as (v0..v3, v4).
        let f0 = five(at);
        let f1 = five(at + wo);
        let t0 = select(vec4<f32>(0.0), f0.v, vec4<bool>(row_in.x) & col_in);
        let e0 = select(0.0, f0.e, row_in.x && col4_in);
        let t1 = select(vec4<f32>(0.0), f1.v, vec4<bool>(row_in.y) & col_in);
        let e1 = select(0.0, f1.e, row_in.y && col4_in);
        // Taps (a, b) in wq's order: 2a + b.
        let wv = uwq[base + d];
        let right0 = vec4<f32>(t0.yzw, e0);
        let right1 = vec4<f32>(t1.yzw, e1);
        acc += t0 * wv.x + right0 * wv.y + t1 * wv.z + right1 * wv.w;
        at += plane;
    }
    var bias = 0.0;
    if cp.has_bias == 1u {
        bias = cbias[0];
    }
    var v = acc + vec4<f32>(bias);
    if cp.relu == 1u {
        v = max(v, vec4<f32>(0.0));
    }
    let ih = (ry.x + r) * cp.stride + ph - cp.pad;
    let row0 = (n * cp.h + ih) * cp.w;
    for (var j = 0u; j < 4u; j++) {
        if q0 + j < rx.y {
            cy[row0 + (rx.x + q0 + j) * cp.stride + pw - cp.pad] = v[j];
        }
    }
}""")

# The single-channel input gradient with stride 2: every phase at once.
# Corner rows per invocation (C1S2_ROWS in conv2d_texture.rs must match):
# three rows read four rows of dy where one row read two, and share each
# channel's weight gather, so the conv model's 15 corner rows take five
# invocations of 48 pixels each. (valgrind's instruction count for conv1's
# input gradient at batch 128: 28.4 million a dispatch with one row, 21.9
# with three.)
S2R = 3
w(f"""
// The same with K = 4 and stride 2 (the conv model's decoder output), all
// four phases in one invocation: the dx pixels (2m + 1 + ph - pad, 2m' + 1
// + pw - pad) of the four phases (ph, pw) read the same 2 × 2 window of dy
// at corner (m - 1, m' - 1), each with its own four weights, so one set of
// fetches serves four pixels instead of one. An invocation takes four
// neighbouring corners of {S2R} corner rows ({S2R} × 2 × 8 pixels of dx): the
// rows share their dy rows (row i + 1 of one window is row i of the next)
// and every channel's weights. Corner rows run from cp.y0 (as i32: -1 where
// pad < 2) for cp.hp rows, columns from cp.x0 for cp.wp. Lane l reads
// phase l % 4's weights of channel d, broadcast to every lane, one channel
// a pass. (Two a pass, lanes 4 .. 7 reading channel d + 1, ran as fast,
// but the second channel's fetches, products and the sixteen stores
// spelled out made its first dispatch ~180 ms instead of ~95.)
const C1S2_ROWS: u32 = {S2R}u;

@compute @workgroup_size(64, 1, 1)
fn conv2d_backward_input_c1s2_texture(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(subgroup_invocation_id) l: u32,
) {{
    let quads = (cp.wp + 3u) / 4u;
    let per_image = ((cp.hp + C1S2_ROWS - 1u) / C1S2_ROWS) * quads;
    let live = gid.x < cp.n * per_image;
    let g = min(gid.x, cp.n * per_image - 1u);
    let n = g / per_image;
    let rest = g - n * per_image;
    let r = rest / quads;
    let q0 = 4u * (rest - r * quads);
    let oy = i32(cp.y0) + i32(C1S2_ROWS * r);
    let ox = i32(cp.x0) + i32(q0);
    let cols = vec4<i32>(ox) + vec4<i32>(0, 1, 2, 3);
    let col_in = (cols >= vec4<i32>(0)) & (cols < vec4<i32>(i32(cp.wo)));
    let col4_in = ox + 4 >= 0 && ox + 4 < i32(cp.wo);""")
for i in range(S2R + 1):
    oyi = "oy" if i == 0 else f"oy + {i}"
    w(f"    let row{i}_in = {oyi} >= 0 && {oyi} < i32(cp.ho);")
    w(f"    let in{i} = vec4<bool>(row{i}_in) & col_in;")
    w(f"    let e{i}_in = row{i}_in && col4_in;")
w("""    let wo = i32(cp.wo);
    var at = i32(n * cp.d * cp.ho * cp.wo) + oy * wo + ox;
    let plane = i32(cp.ho * cp.wo);""")
for j in range(S2R):
    for ph in range(4):
        w(f"    var acc{4 * j + ph} = vec4<f32>(0.0);")
w("""    for (var d = 0u; d < cp.d; d += 1u) {
        let wl = uwq[(l & 3u) * cp.d + d];""")
for i in range(S2R + 1):
    off = "" if i == 0 else (" + wo" if i == 1 else f" + {i} * wo")
    w(f"        let f{i} = five(at{off});")
    w(f"        let t{i} = select(vec4<f32>(0.0), f{i}.v, in{i});")
    w(f"        let right{i} = vec4<f32>(t{i}.yzw, select(0.0, f{i}.e, e{i}_in));")
for ph in range(4):
    w(f"        let w{ph} = subgroupBroadcast(wl, {ph}u);")
for j in range(S2R):
    for ph in range(4):
        w(f"        acc{4 * j + ph} += (t{j} * w{ph}.x + right{j} * w{ph}.y) + (t{j + 1} * w{ph}.z + right{j + 1} * w{ph}.w);")
last = 4 * S2R - 1
w(f"""        at += plane;
    }}
    var bias = 0.0;
    if cp.has_bias == 1u {{
        bias = cbias[0];
    }}
    // Row by row (corner row oy + row), value k = 4·phase + j (phase (ph,
    // pw) = (k / 4 / 2, k / 4 % 2) of corner j: dx pixel (2(oy + row) + 2 +
    // ph - pad, 2(ox + j) + 2 + pw - pad)) is acc0.x once the row's values
    // have moved down k places: one store site in loops llvmpipe cannot
    // unroll (uniform trip counts; cp.four is 4), not {16 * S2R}. Then the
    // next row's accumulators move into the first row's. (Moving all
    // {4 * S2R} vec4s after every value instead kept about half the gain:
    // each move is a masked blend in a loop, and they spill.)
    // ReLU by a select, not an if: llvmpipe runs an if's body whatever
    // the condition, masked (21.9 -> 21.5 M instructions a dispatch).
    let relu = cp.relu == 1u;
    let plane_x = n * cp.h * cp.w;
    for (var row = 0; row < i32(C1S2_ROWS * cp.four / 4u); row++) {{
        let ih0 = 2 * (oy + row) + 2 - i32(cp.pad);
        for (var k = 0u; k < 4u * cp.four; k++) {{
            let phase = k >> 2u;
            let j = k & 3u;
            let ih = ih0 + i32(phase >> 1u);
            let iw = 2 * (ox + i32(j)) + 2 + i32(phase & 1u) - i32(cp.pad);
            let v = select(acc0.x + bias, max(acc0.x + bias, 0.0), relu);
            if live && ih >= 0 && ih < i32(cp.h) && iw >= 0 && iw < i32(cp.w) {{
                cy[plane_x + u32(ih) * cp.w + u32(iw)] = v;
            }}
            acc0 = vec4<f32>(acc0.yzw, acc1.x);
            acc1 = vec4<f32>(acc1.yzw, acc2.x);
            acc2 = vec4<f32>(acc2.yzw, acc3.x);
            acc3 = vec4<f32>(acc3.yzw, 0.0);
        }}""")
w("        " + " ".join(f"acc{i} = acc{i + 4};" for i in range(4 * S2R - 4)))
w("""    }
}""")

# Forward with one input channel and K = 4: four pixels per invocation.
w("""
// y = conv(x, w) (+ b) (then ReLU) with one input channel and K = 4 (an
// encoder's first layer), where the product above spends most of its time
// storing: its lanes own pixels of four channels, so each store is one
// float, and on llvmpipe every store is a loop over the lanes. Here an
// invocation owns four neighbouring pixels of one image (Ho·Wo a multiple
// of 4) and stores each channel's four as one vec4; it reads the 16 taps of
// each pixel once (16 texel pairs) and runs every channel over them.
//
// The weights and bias come from a uniform buffer: uwq[4d + kh] holds
// w[d, 0, kh, 0..3], uwq[C1_BIAS + d / 4][d % 4] the bias. llvmpipe reads
// a uniform at a loop-dependent index lane by lane, so lanes 0 .. 3 read
// the four rows, lanes 4 .. 7 the bias's, and they reach every lane by
// subgroupBroadcast: one read per lane a channel instead of five. (Lanes 4 .. 7 reading channel d + 1 made
// a pass two channels, for the same speed but ~40 ms more JIT: a second
// set of stores and products.) Invocations past the batch compute on its
// last quad (storing the same values there) rather than return: the
// broadcasts need every lane. Bindings: 0 tex_x (x), 1 uwq, 3 cy4 (y), 4 cp.
@group(0) @binding(3) var<storage, read_write> cy4: array<vec4<f32>>;

const C1_BIAS: u32 = 768u;

@compute @workgroup_size(64, 1, 1)
fn conv2d_forward_c1_texture(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(subgroup_invocation_id) l: u32,
) {
    let hw = cp.ho * cp.wo;
    let quads = hw / 4u;
    let q = min(gid.y * 65535u * 64u + gid.x, cp.n * quads - 1u);
    let n = q / quads;
    let p0 = 4u * (q - n * quads);""")
for j in range(4):
    w(f"    let o{j} = pixel_origin(n * hw + p0 + {j}u);")
# The taps come row by row from a loop (cp.k = 4 here, but a uniform, so
# llvmpipe cannot unroll it), each row moving the earlier ones up: its 8
# texel fetches are compiled once instead of once per row. Each fetch is
# milliseconds of JIT: unrolled, this kernel's first dispatch took ~310 ms
# (three cold starts), in a loop ~190, at the same speed (profiles of the
# conv step alternating, 5.5-9.1 ms for its two dispatches either way).
w("""    // The four pixels' taps, row by row in a loop that llvmpipe does not
    // unroll, each row moving the earlier ones up: t{kh}{kw} is tap (kh, kw)
    // of the four pixels. (Its fetches compiled once, not four times.)""")
for kh in range(4):
    for kw in range(4):
        w(f"    var t{kh}{kw} = vec4<f32>(0.0);")
w("""    for (var kh = 0u; kh < cp.k; kh += 1u) {
        let off = i32(kh * cp.w);""")
for j in range(4):
    w(f"        let r{j} = run(o{j}.x + off, o{j}.y + i32(kh), o{j}.z);")
for kh in range(3):
    for kw in range(4):
        w(f"        t{kh}{kw} = t{kh + 1}{kw};")
for kw in range(4):
    w(f"        t3{kw} = vec4<f32>(r0[{kw}], r1[{kw}], r2[{kw}], r3[{kw}]);")
w("    }")
w("""    var at = n * cp.d * quads + p0 / 4u;
    let has_bias = cp.has_bias == 1u;
    let relu = vec4<bool>(cp.relu == 1u);
    for (var d = 0u; d < cp.d; d += 1u) {
        // Lanes 0 .. 3: row l of channel d's weights; lanes 4 .. 7: the row
        // of biases that holds d's.
        let row = uwq[select(4u * d + l, C1_BIAS + d / 4u, l >= 4u)];
        let b = subgroupBroadcast(row, 4u)[d & 3u];""")
for kh in range(4):
    w(f"        let w{kh} = subgroupBroadcast(row, {kh}u);")
for kh in range(4):
    w(f"        let ws{kh} = (t{kh}0 * w{kh}.x + t{kh}1 * w{kh}.y) + (t{kh}2 * w{kh}.z + t{kh}3 * w{kh}.w);")
w("""        // Selects, not ifs: llvmpipe runs an if's body whatever the
        // condition, masked, and this one's read of the bias and its masks
        // cost 7% of the kernel (26.8 -> 25.0 M instructions a
        // dispatch at batch 128, valgrind).
        let wv = (ws0 + ws1) + (ws2 + ws3) + vec4<f32>(select(0.0, b, has_bias));
        cy4[at] = select(wv, max(wv, vec4<f32>(0.0)), relu);
        at += quads;
    }
}""")

# Weight gradient: dw (D × C·K·K) = rows(dy)ᵀ · im2col(x).
R = 16
w(f"""
// dw = Σ over pixels of dy ⊗ im2col(x). Rows of the product are output
// channels, columns taps, k the pixels: lane l computes taps c0 .. c0 + 3 of
// channels r0 .. r0 + {R - 1}. A is dy as rows (n, oh, ow) of D (stored (k, m), as
// matmul_texture_t reads it); B is im2col(x), four pixels a step, the same
// pixels for every lane. Workgroups of slice gid.z sum its pixels only, so
// that layers with few channels and taps still give every core work.""")
product_start("conv2d_backward_weight_texture")
w("    let z = wid.z;")
w("    let kb0 = z * cp.slice;")
w("    let kb1 = min(kb0 + cp.slice, cp.pixels);")
w("    // Lane l fetches channels r0 + 8q + 4(l / 4) .. + 3 of pixel kb + l % 4.")
for q in range(R // 8):
    w(f"    var pa{q} = ((l & 3u) * cp.d + min(r0 + {8 * q}u + 4u * (l >> 2u), cp.d - 4u)) / 4u + (kb0 / 4u) * cp.d;")
w("""    // This lane's four taps (clamped like the channels).
    let tap = tap_offset(min(c0, cp.taps - 4u));
    // Pixel kb's (n, oh, ow) and where its taps start, stepped without divisions.
    let hw = cp.ho * cp.wo;
    let image = i32(cp.c * cp.h * cp.w);
    let s = i32(cp.stride);
    let row = i32(cp.w);
    let n0 = kb0 / hw;
    var oh = (kb0 - n0 * hw) / cp.wo;
    var ow = kb0 - n0 * hw - oh * cp.wo;
    var iy = i32(oh) * s - i32(cp.pad);
    var ix = i32(ow) * s - i32(cp.pad);
    var origin = i32(n0) * image + iy * row + ix;
    for (var kb = kb0; kb < kb1; kb += 4u) {""")
for q in range(R // 8):
    w(f"        let a{q} = fetch(pa{q});")
    w(f"        pa{q} += cp.d;")
for i in range(4):
    w(f"        let f{i} = run(origin + tap.x, iy + tap.y, ix + tap.z);")
    next_pixel()
accumulate(
    lambda r, t: f"subgroupBroadcast(a{r // 8}[{(r % 8) & 3}], {t + 4 * ((r % 8) >> 2)}u)",
    lambda t, c: f"f{t}[{c}]",
)
w("    }")
w("    if c0 >= cp.taps {")
w("        return;")
w("    }")
epilogue("store_dw", "r0", first="z, ")

# Weight gradient with taps as rows: dwᵀ (C·K·K × D) = im2col(x)ᵀ · dy.
R = 8
w(f"""
// x at linear index i, 0 where (iy, ix) falls in the padding.
fn x_tap(i: i32, iy: i32, ix: i32) -> f32 {{
    let inside = iy >= 0 && iy < i32(cp.h) && ix >= 0 && ix < i32(cp.w);
    let u = u32(max(i, 0));
    let t = textureLoad(tex_x, vec2<u32>((u >> 2u) & 63u, u >> 8u));
    let s = u & 3u;
    return select(0.0, select(select(t.x, t.y, s == 1u), select(t.z, t.w, s == 3u), s >= 2u), inside);
}}

// The weight gradient where the taps are fewer than a block's 32 columns
// (one input channel: 16), so that the kernel above would leave lanes
// idle: rows of this product are taps, columns output channels, k the
// pixels. A is im2col(x) (lane l fetches taps r0 + l and r0 + 8 + l of four
// pixels, one float each); B is dy read straight from its (N, D, Ho, Wo)
// layout (Ho·Wo a multiple of 4: a texel is four pixels of one channel), so
// dy needs no rearranging first. Lane l computes channels c0 .. c0 + 3 of
// taps r0 .. r0 + {R - 1} and stores them per channel, four vec4s.""")
product_start("conv2d_backward_weight_taps_texture")
w("""    let z = wid.z;
    let kb0 = z * cp.slice;
    let kb1 = min(kb0 + cp.slice, cp.pixels);
    let tap0 = tap_offset(min(r0 + l, cp.taps - 1u));
    let tap1 = tap_offset(min(r0 + 8u + l, cp.taps - 1u));
    let hw = cp.ho * cp.wo;
    let image = i32(cp.c * cp.h * cp.w);
    let s = i32(cp.stride);
    let row = i32(cp.w);
    let n0 = kb0 / hw;
    var p = kb0 - n0 * hw;
    var oh = p / cp.wo;
    var ow = p - oh * cp.wo;
    var iy = i32(oh) * s - i32(cp.pad);
    var ix = i32(ow) * s - i32(cp.pad);
    var origin = i32(n0) * image + iy * row + ix;
    // dy's texel of channel c0 (clamped like the taps) at pixel kb.
    let plane4 = hw / 4u;
    var dyt = (n0 * cp.d + min(c0, cp.d - 4u)) * plane4 + p / 4u;
    for (var kb = kb0; kb < kb1; kb += 4u) {""")
for i in range(4):
    w(f"        let x0_{i} = x_tap(origin + tap0.x, iy + tap0.y, ix + tap0.z);")
    w(f"        let x1_{i} = x_tap(origin + tap1.x, iy + tap1.y, ix + tap1.z);")
    next_pixel()
w("        let a0 = vec4<f32>(x0_0, x0_1, x0_2, x0_3);")
w("        let a1 = vec4<f32>(x1_0, x1_1, x1_2, x1_3);")
for c in range(C):
    off = "" if c == 0 else (" + plane4" if c == 1 else f" + {c}u * plane4")
    w(f"        let f{c} = fetch(dyt{off});")
w("""        dyt += 1u;
        p += 4u;
        if p == hw {
            p = 0u;
            dyt += (cp.d - 1u) * plane4;
        }""")
accumulate(
    lambda r, t: f"subgroupBroadcast(a{r // 8}[{t}], {r % 8}u)",
    lambda t, c: f"f{c}[{t}]",
)
w("    }")
w("    if c0 >= cp.d {")
w("        return;")
w("    }")
# The channels from a loop, as in epilogue(): channel 0's stores, then
# each later channel's accumulators move into the one before.
w(f"    // Channel c's {R} taps are contiguous in dw: {R // 4} vec4 stores a channel.")
w("    var at = ((z * cp.d + c0) * cp.taps + r0) / 4u;")
w("    for (var j = 0u; j < cp.four; j++) {")
for g in range(R // 4):
    v = ", ".join(f"acc{4 * g + i}_0" for i in range(4))
    w(f"        cdw4[at + {g}u] = vec4<f32>({v});")
for c in range(C - 1):
    w("        " + " ".join(f"acc{r}_{c} = acc{r}_{c + 1};" for r in range(R)))
w("        at += cp.taps / 4u;")
w("    }")
w("}")

w("""
// dy (N, D, Ho, Wo), copied into tex_o, as rows (n, oh, ow) of D channels,
// the weight gradient's A: gid.x is a group of four channels, gid.y the
// pixel, gid.z the image. (Texel fetches: a storage load costs about three
// times as much per float on llvmpipe.) The rows go to cdw4.

fn dy_at(i: u32) -> f32 {
    return fetch(i >> 2u)[i & 3u];
}

@compute @workgroup_size(8, 8, 1)
fn conv2d_rows_from_nchw(@builtin(global_invocation_id) gid: vec3<u32>) {
    let hw = cp.ho * cp.wo;
    if 4u * gid.x >= cp.d || gid.y >= hw {
        return;
    }
    let first = (gid.z * cp.d + 4u * gid.x) * hw + gid.y;
    let v = vec4<f32>(dy_at(first), dy_at(first + hw), dy_at(first + 2u * hw), dy_at(first + 3u * hw));
    cdw4[((gid.z * hw + gid.y) * cp.d) / 4u + gid.x] = v;
}""")
open(__file__.replace(".py", ".wgsl"), "w").write("\n".join(lines) + "\n")
