#!/usr/bin/env python3
"""Writes matmul_texture.wgsl: dense products on CPU adapters (llvmpipe) with
A and B read from RGBA32F textures. Run: python3 shaders/matmul_texture.py

TX_R in the environment tries another number of rows per workgroup (a
multiple of 8; TX_ROWS in matmul.rs must match). On lavapipe, two cores: a
probe ran 512³ at 23 GFLOP/s with R = 8 and 30–35 with R = 16; in training R =
8 halved each entry's JIT time (about 300 → 150 ms, each row's store then
spelled out) but trained mlp 8% slower (three interleaved 3-epoch runs). R =
24 and 32 reached 22–40 GFLOP/s in the probe (noisy) but would double the
JIT time again. What did cut the JIT time: the stores from a loop that
llvmpipe cannot unroll (see the end of the kernels)."""
import os

R = int(os.environ.get("TX_R", 16))
assert R % 8 == 0
C = 4  # columns per lane: one texel of a row-major B, one vec4 store of C
lines = []
w = lines.append
w(f"""// Dense products on CPU adapters (llvmpipe), C = op(A)·op(B) (+ bias) (then
// ReLU), with A and B read from RGBA32F textures.
//
// Why textures: on llvmpipe a storage load costs about 3.6 ns per float per
// lane, a uniform-buffer load about 0.4, and a texel fetch about 1.3 for
// four floats (probe on lavapipe 22.3, two cores). Uniform windows are capped
// at 64 KiB, so the subgroup variant (matmul_subgroup.wgsl) first packs A and
// B into window-sized chunks and sums a long k over several dispatches that
// read and write C again. A texture holds a whole operand: the operands are
// copied in (buffer-to-texture copies, memcpy speed), and one dispatch per
// product runs every k and stores C once.
//
// The textures are read as read-only storage textures, not sampled ones:
// llvmpipe calls a sampling function for each textureLoad of a texture_2d,
// which looks up the mip level's offset and stride lane by lane (41% of a
// 512³ product's time in perf), and inlines a storage texture's load, which
// has no mip levels (512³ 21-23 -> 27-32 GFLOP/s, interleaved runs).
//
// A tensor of L floats is the texture of 64 texels (256 floats) per row and
// ceil(L / 256) rows, texel t at (t % 64, t / 64), so that the copy's rows are
// 1,024 bytes (a multiple of 256, as copies need) whatever the matrix shape.
//
// One workgroup is one subgroup of 8 lanes (the Rust side uses this only where
// the subgroup size is exactly 8) and computes a {R} × {8 * C} block of C: lane l
// the columns 4l .. 4l + 3 of each of {R} rows. A step takes 4 k values: each
// fetch of A brings 4 floats of it that subgroupBroadcast shares across the
// lanes; each fetch of B brings the lane's own 4. Rows and columns past C's
// edges compute on whatever the texture holds there and are never stored.
// Needs k, n (and m where A is transposed) multiples of 4.
//
// shaders/matmul_texture.py writes this file; change that and rerun it.

struct TxParams {{
    m: u32,
    n: u32,
    k: u32,
    has_bias: u32,
    relu: u32,
    // B's layout, read at run time (one entry for both saves a JIT): 1 where
    // B is stored (n, k). Lane l's four fetches of a step start at texel
    // (c0 / 4) * b_col + i * b_fetch and move b_step texels a step: (k, k / 4,
    // 1) for B stored (n, k), each fetch 4 k values of one column; (1, n / 4,
    // n) for B (k, n), each fetch 4 columns of one k value.
    trans_b: u32,
    b_col: u32,
    b_fetch: u32,
    b_step: u32,
    // Always R, the rows a workgroup stores: a uniform, so that the stores
    // stay a loop (see the end of the kernels).
    rows: u32,
    _pad1: u32,
    _pad2: u32,
}}

@group(0) @binding(0) var tex_a: texture_storage_2d<rgba32float, read>;
@group(0) @binding(1) var tex_b: texture_storage_2d<rgba32float, read>;
@group(0) @binding(2) var<storage, read> tbias4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> tc4: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> tp: TxParams;

fn fetch_a(t: u32) -> vec4<f32> {{
    return textureLoad(tex_a, vec2<u32>(t & 63u, t >> 6u));
}}

fn fetch_b(t: u32) -> vec4<f32> {{
    return textureLoad(tex_b, vec2<u32>(t & 63u, t >> 6u));
}}

// Row r's four columns from c0 plus `bias`, then ReLU: one vec4 store.
fn store_c4(r: u32, c0: u32, value: vec4<f32>, bias: vec4<f32>) {{
    if r < tp.m {{
        var v = value + bias;
        if tp.relu == 1u {{
            v = max(v, vec4<f32>(0.0));
        }}
        tc4[(r * tp.n + c0) / 4u] = v;
    }}
}}
""")

LAYOUTS = {
    False: "A (m, k) row-major",
    True: "A stored (k, m): dyᵀ·x",
}
for trans_a, what in LAYOUTS.items():
    name = f"matmul_texture_{'t' if trans_a else 'n'}"
    w(f"""
// {what}; B either way (tp.trans_b).
@compute @workgroup_size(8, 1, 1)
fn {name}(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(subgroup_invocation_id) l: u32,
) {{
    let r0 = wid.x * {R}u;
    let c0 = wid.y * {8 * C}u + {C}u * l;""")
    for r in range(R):
        w("    " + " ".join(f"var acc{r}_{c} = 0.0;" for c in range(C)))
    if not trans_a:
        w(f"    // Lane l fetches k values kb .. kb + 3 of rows r0 + l + 8q.")
        for q in range(R // 8):
            w(f"    var pa{q} = ((r0 + {8 * q}u + l) * tp.k) / 4u;")
        a_step = "1u"
    else:
        w(f"    // Lane l fetches rows r0 + 8q + 4(l / 4) .. + 3 of k value kb + l % 4.")
        for q in range(R // 8):
            w(f"    var pa{q} = ((l & 3u) * tp.m + r0 + {8 * q}u + 4u * (l >> 2u)) / 4u;")
        a_step = "tp.m"
    w("    var pb = (c0 / 4u) * tp.b_col;")
    w("    let tb = tp.trans_b == 1u;")
    w("    for (var kb = 0u; kb < tp.k; kb += 4u) {")
    for q in range(R // 8):
        w(f"        let a{q} = fetch_a(pa{q});")
        w(f"        pa{q} += {a_step};")
    for i in range(4):
        off = "" if i == 0 else (" + tp.b_fetch" if i == 1 else f" + {i}u * tp.b_fetch")
        w(f"        let f{i} = fetch_b(pb{off});")
    w("        pb += tp.b_step;")
    # B (k value t, column c): fetch c's component t where B is stored (n, k),
    # fetch t's component c where it is (k, n). In llvmpipe's SoA registers
    # picking either is a blend; the diagonal is the same in both.
    for t in range(4):
        for c in range(C):
            if t == c:
                w(f"        let b{t}_{c} = f{t}[{c}];")
            else:
                w(f"        let b{t}_{c} = select(f{t}[{c}], f{c}[{t}], tb);")
    bv = lambda t, c: f"b{t}_{c}"
    # Per row: its four broadcasts, then each accumulator one sum of four
    # products (one load-add-store of an accumulator the stack holds per step,
    # as in matmul_subgroup.wgsl).
    for r in range(R):
        q, rr = r // 8, r % 8
        for t in range(4):
            if not trans_a:
                w(f"        let s{t}_{r} = subgroupBroadcast(a{q}[{t}], {rr}u);")
            else:
                w(f"        let s{t}_{r} = subgroupBroadcast(a{q}[{rr & 3}], {t + 4 * (rr >> 2)}u);")
        for c in range(C):
            p = [f"s{t}_{r} * {bv(t, c)}" for t in range(4)]
            w(f"        acc{r}_{c} += ({p[0]} + {p[1]}) + ({p[2]} + {p[3]});")
    w("    }")
    w("    if c0 >= tp.n {")
    w("        return;")
    w("    }")
    # The bias read once, then the rows from a loop whose trip count
    # (tp.rows = R) is a uniform, so llvmpipe cannot unroll it: each pass
    # stores row 0 and moves each later row's accumulators into the one
    # before. One store site instead of R (llvmpipe compiles each storage
    # access as a loop over the lanes): each entry's first dispatch ~300 -> ~130 ms
    # (three cold runs each, in turn), the same step times. The rows as a
    # loop over a local array, with the bias read in each, took longer to
    # JIT than spelled out: 400-560 ms a kernel against 295-340 (LLVM's
    # coroutine pass 55-90 ms against 27-44).
    w("    var bias = vec4<f32>(0.0);")
    w("    if tp.has_bias == 1u {")
    w("        bias = tbias4[c0 / 4u];")
    w("    }")
    w("    var r = r0;")
    w("    for (var i = 0u; i < tp.rows; i++) {")
    w("        store_c4(r, c0, vec4<f32>(acc0_0, acc0_1, acc0_2, acc0_3), bias);")
    for r in range(R - 1):
        w("        " + " ".join(f"acc{r}_{c} = acc{r + 1}_{c};" for c in range(C)))
    w("        r += 1u;")
    w("    }")
    w("}")
open(__file__.replace(".py", ".wgsl"), "w").write("\n".join(lines) + "\n")
