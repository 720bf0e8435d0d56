#!/usr/bin/env python3
"""Writes matmul_subgroup.wgsl: the kernel spelled out as named values, which
llvmpipe handles better than arrays. Run: python3 shaders/matmul_subgroup.py

R rows and 8·C columns of C per workgroup (SG_ROWS, SG_COLS in matmul.rs must
match), W window pairs (SG_WINDOWS). SG_R and SG_W in the environment try
other settings. C is 2: each lane's two adjacent columns are what
matmul_subgroup_pairs stores as one vec2. Earlier blockings of 8 × 4 and
16 × 4 ran as fast as 16 × 2 within this machine's noise, so the smallest
stays. SG_W=1 JIT-compiles in a third of the time on a cold start but trained
2–10% slower; SG_W=2 took 0.2 s off a cold mlp start but ran 3–7% slower on
the mlp shapes. SG_K=8 (each A load 8 k values of one row, 16 B values live per
step) was the layout before K=4: K=4 ran about 5% faster summed over the
nine shapes of best-of-four kernel benches (not at every shape; within this
machine's noise in training) and its cold mlp start took 0.86–0.92 s against
0.95–1.13 (three runs each, in turn, no warm-up twin)."""
import os
R = int(os.environ.get("SG_R", 16))
C = 2  # columns per lane, adjacent: the pairs entry stores them as one vec2
W = int(os.environ.get("SG_W", 3))
# k values per step of the inner loop: 8 (each A load brings 8 k values of one
# row) or 4 (two rows of 4 k values, so that only 8 B values are live).
K = int(os.environ.get("SG_K", 4))
assert K in (4, 8)
lines = []
w = lines.append
w("""// Dense products on CPU adapters (llvmpipe) through subgroups: C = A·B
// (+ bias) (then ReLU), plus the packing kernel that feeds it.
//
// Why this shape: on llvmpipe a storage-buffer load costs ~4 ns per float and
// a store ~8 ns, a uniform-buffer load ~0.5 ns, and a subgroup broadcast
// almost nothing. So A and B are first packed into chunks of at most 64 KiB
// that are read as uniform windows, each load brings 8 useful floats (one per
// lane) that subgroupBroadcast shares across the subgroup, and one dispatch
// sums up to three k chunks in registers before it stores C once. (Four, with
// nine uniform bindings, corrupted memory in lavapipe 22.3 in one run of four.)
// One workgroup is one subgroup of 8 lanes (the Rust side uses this only where
// the subgroup size is exactly 8); it computes a 16 × 16 block of C: 16 rows,
// each lane the columns 2l and 2l + 1. Written out by hand, since llvmpipe
// handles named values better than arrays; even so its 32 accumulators live
// on the stack (AVX2 has 16 ymm registers), so each gets one sum of 4
// products per k step (one load-add-store, not four: with 8, 512³ ran
// 7.6–8.1 → 9.3–10.1 GFLOP/s). A step takes 4 k values: each A load brings 4
// k values of two rows, so only the 8 B values of a step are live while the
// rows run (with 8 k values a step, 16 were: 5% slower, longer JIT).
// shaders/matmul_subgroup.py writes this file; change that and rerun it.
//
// Window c holds an (RB × kc) chunk of A and a (kc × NB) chunk of B, each
// packed by copying contiguous rows (so transposed operands stay transposed).
// Bindings: 0-2 A windows, 3-5 B windows, 6 sbias (N), 7 sc (C (M, N)), 8 sp.

struct SgParams {
    m: u32,
    n: u32,
    // This dispatch's block of C: rows i0 .. i0 + rows, columns j0 .. j0 + cols.
    i0: u32,
    j0: u32,
    rows: u32,
    cols: u32,
    // Window layouts as strides: A (r, kk) at r * a_rs + kk * a_ks, either
    // (kc, 1) or, packed from a transposed A, (1, RB); B (kk, j) at
    // kk * b_ks + j * b_ns, either (NB, 1) or (1, kc).
    a_rs: u32,
    a_ks: u32,
    b_ks: u32,
    b_ns: u32,
    // k values per window (a multiple of 8) and how many of the three window
    // pairs hold data.
    kc: u32,
    windows: u32,
    // The first dispatch of a block writes C, later ones add to it; the last
    // adds the bias and applies ReLU.
    first: u32,
    last: u32,
    has_bias: u32,
    relu: u32,
}
""")
for i in range(W):
    w(f"@group(0) @binding({i}) var<uniform> sa{i}: array<vec4<f32>, 4096>;")
for i in range(W):
    w(f"@group(0) @binding({W+i}) var<uniform> sb{i}: array<vec4<f32>, 4096>;")
w(f"""@group(0) @binding({2*W}) var<storage, read> sbias: array<f32>;
@group(0) @binding({2*W+1}) var<storage, read_write> sc: array<f32>;
@group(0) @binding({2*W+2}) var<uniform> sp: SgParams;
// The same for matmul_subgroup_pairs (N even): two columns a value.
@group(0) @binding({2*W}) var<storage, read> sbias2: array<vec2<f32>>;
@group(0) @binding({2*W+1}) var<storage, read_write> sc2: array<vec2<f32>>;

fn store_c(r: u32, c: u32, value: f32) {{
    if r >= sp.rows || c >= sp.cols {{
        return;
    }}
    let idx = (sp.i0 + r) * sp.n + sp.j0 + c;
    var v = value;
    if sp.first == 0u {{
        v += sc[idx];
    }}
    if sp.last == 1u {{
        if sp.has_bias == 1u {{
            v += sbias[sp.j0 + c];
        }}
        if sp.relu == 1u {{
            v = max(v, 0.0);
        }}
    }}
    sc[idx] = v;
}}

// Columns c, c + 1 of row r (c even, N even, so both exist or neither).
fn store_c2(r: u32, c: u32, value: vec2<f32>) {{
    if r >= sp.rows || c >= sp.cols {{
        return;
    }}
    let idx = ((sp.i0 + r) * sp.n + sp.j0 + c) / 2u;
    var v = value;
    if sp.first == 0u {{
        v += sc2[idx];
    }}
    if sp.last == 1u {{
        if sp.has_bias == 1u {{
            v += sbias2[(sp.j0 + c) / 2u];
        }}
        if sp.relu == 1u {{
            v = max(v, vec2<f32>(0.0));
        }}
    }}
    sc2[idx] = v;
}}

// C's elements: every lane stores one loop of them. llvmpipe compiles each
// storage access as a loop over the lanes, and a vec2 access costs little more
// than a scalar one, so N even takes matmul_subgroup_pairs: one store (and one
// load of C, one of the bias) per two values. That part is about a third of a
// product's time in an mlp training step. The two entries repeat the whole
// body: as a function returning the block, it ran 15-20% slower.
""")


def entry(name, stores):
    w(f"""
@compute @workgroup_size(8, 1, 1)
fn {name}(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(subgroup_invocation_id) l: u32,
) {{
    let r0 = wid.x * {R}u;
    let c0 = wid.y * {8 * C}u + {C}u * l;
    let kc = sp.kc;""")
    if K == 8:
        w(f"""    // Lane l reads k value kb + l of each of the {R} rows, and the {C}
    // columns c0, c0 + 1 of each of 8 k values.
    let ab = r0 * sp.a_rs + l * sp.a_ks;""")
    else:
        w(f"""    // Lane l reads k values kb + (l & 3) of rows 2i + (l >> 2), i < {R // 2},
    // and the {C} columns c0, c0 + 1 of each of 4 k values.
    let ab = (r0 + (l >> 2u)) * sp.a_rs + (l & 3u) * sp.a_ks;""")
    w(f"""    let a_step = {K}u * sp.a_ks;
    let b_lo = c0 * sp.b_ns;""")
    for c in range(1, C):
        w(f"    let b_c{c} = b_lo + {c}u * sp.b_ns;")
    for r in range(R):
        for c in range(C):
            w(f"    var acc{r}_{c} = 0.0;")
    # One A load per row (K = 8) or per two rows (K = 4).
    per = 8 // K
    for i in range(W):
        ind = "    "
        if i > 0:
            w(f"    if sp.windows > {i}u {{")
            ind = "        "
        w(f"{ind}var ak = ab;")
        w(f"{ind}for (var kb = 0u; kb < kc; kb += {K}u) {{")
        for q in range(R // per):
            r = q * per
            off = "" if r == 0 else (" + sp.a_rs" if r == 1 else f" + {r}u * sp.a_rs")
            w(f"{ind}    let ia{q} = ak{off};")
            w(f"{ind}    let a{q} = sa{i}[ia{q} >> 2u][ia{q} & 3u];")
        w(f"{ind}    ak += a_step;")
        for t in range(K):
            w(f"{ind}    let bk{t} = (kb + {t}u) * sp.b_ks;")
            for c in range(C):
                base = "b_lo" if c == 0 else f"b_c{c}"
                w(f"{ind}    let bi{t}_{c} = bk{t} + {base};")
                w(f"{ind}    let b{t}_{c} = sb{i}[bi{t}_{c} >> 2u][bi{t}_{c} & 3u];")
        # Per row: its broadcasts, then each accumulator gets one sum of K
        # products. llvmpipe keeps the 32 accumulators on the stack (16 ymm
        # registers), so one load-add-store per K products instead of one per
        # product: with K = 8, 512³ went from 7.6–8.1 to 9.3–10.1 GFLOP/s
        # (median of interleaved runs), and it compiled no slower.
        for r in range(R):
            q, h = r // per, r % per
            for t in range(K):
                w(f"{ind}    let s{t}_{r} = subgroupBroadcast(a{q}, {h * K + t}u);")
            for c in range(C):
                p = [f"s{t}_{r} * b{t}_{c}" for t in range(K)]
                if K == 8:
                    w(f"{ind}    acc{r}_{c} += (({p[0]} + {p[1]}) + ({p[2]} + {p[3]})) + (({p[4]} + {p[5]}) + ({p[6]} + {p[7]}));")
                else:
                    w(f"{ind}    acc{r}_{c} += ({p[0]} + {p[1]}) + ({p[2]} + {p[3]});")
        w(f"{ind}}}")
        if i > 0:
            w("    }")
    # One store site in a loop over the rows: spelled out, the storage
    # accesses (each a loop over the lanes in llvmpipe) were most of the
    # kernel's JIT time (mlp cold start 2.6–3.4 s → 1.6–2.2 s).
    w("    // One store site in a loop: llvmpipe compiles each storage access as a")
    w("    // loop over the lanes, so spelled-out stores cost most of the JIT time.")
    w("    // Scalars: an array of vec2 here doubled the JIT time (1.3–1.6 s).")
    w(f"    var out: array<f32, {2 * R}>;")
    for r in range(R):
        w(f"    out[{2 * r}] = acc{r}_0;")
        w(f"    out[{2 * r + 1}] = acc{r}_1;")
    w(f"    for (var r = 0u; r < {R}u; r++) {{")
    for line in stores:
        w(f"        {line}")
    w("    }")
    w("}")


entry("matmul_subgroup", ["store_c(r0 + r, c0, out[2u * r]);", "store_c(r0 + r, c0 + 1u, out[2u * r + 1u]);"])
entry("matmul_subgroup_pairs", ["store_c2(r0 + r, c0, vec2<f32>(out[2u * r], out[2u * r + 1u]));"])
w("""
// Chunked copy of a row-major matrix X (P, Q): chunk (pb, qb) holds its cp
// rows of cq values, zero past the edges, at (pb * nqb + qb) * stride. One
// invocation per value of a chunk row (gid.x < cq), chunk row (gid.y < cp)
// and chunk (gid.z): no divisions per value. Bindings: 0 px, 1 pout, 2 pp.
struct PackParams {
    p: u32,
    q: u32,
    cp: u32,
    cq: u32,
    nqb: u32,
    stride: u32,
    // pack_window: the first row of X in this dispatch's window, its chunk
    // row and its row in that chunk row.
    p0: u32,
    pb: u32,
    r0: u32,
    // pack_window: rows in this dispatch.
    rows: u32,
    // pack_vec4, pack_window: log2(cq / 4) where that is a power of two, else
    // 0xffffffff.
    shift: u32,
    _pad0: u32,
}

@group(0) @binding(0) var<storage, read> px: array<f32>;
@group(0) @binding(1) var<storage, read_write> pout: array<f32>;
@group(0) @binding(2) var<uniform> pp: PackParams;

@compute @workgroup_size(64, 1, 1)
fn pack(@builtin(global_invocation_id) gid: vec3<u32>) {
    if gid.x >= pp.cq {
        return;
    }
    let p = (gid.z / pp.nqb) * pp.cp + gid.y;
    let q = (gid.z % pp.nqb) * pp.cq + gid.x;
    var v = 0.0;
    if p < pp.p && q < pp.q {
        v = px[p * pp.q + q];
    }
    pout[gid.z * pp.stride + gid.y * pp.cq + gid.x] = v;
}

// The same four values at a time, where Q and cq are multiples of 4: on
// llvmpipe a vec4 store costs little more than a scalar one. gid.x runs over
// (chunk row, four values) together so that every lane of a workgroup has
// work: with a row per workgroup, half the lanes idled and llvmpipe paid for
// thousands of tiny workgroups. Bindings: 0 px4, 1 pout4, 2 pp.
@group(0) @binding(0) var<storage, read> px4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> pout4: array<vec4<f32>>;

// (row, four-value column) of a flattened index over rows of cq / 4 vec4s; a
// shift where cq / 4 is a power of two (integer division is slow on llvmpipe).
fn split4(i: u32) -> vec2<u32> {
    let cq4 = pp.cq / 4u;
    if pp.shift != 0xffffffffu {
        return vec2<u32>(i >> pp.shift, i & (cq4 - 1u));
    }
    return vec2<u32>(i / cq4, i % cq4);
}

@compute @workgroup_size(64, 1, 1)
fn pack_vec4(@builtin(global_invocation_id) gid: vec3<u32>) {
    let rq = split4(gid.x);
    if rq.x >= pp.cp {
        return;
    }
    let p = (gid.z / pp.nqb) * pp.cp + rq.x;
    let q = (gid.z % pp.nqb) * pp.cq + rq.y * 4u;
    var v = vec4<f32>(0.0);
    if p < pp.p && q < pp.q {
        v = px4[(p * pp.q + q) / 4u];
    }
    pout4[(gid.z * pp.stride + rq.x * pp.cq) / 4u + rq.y] = v;
}

// The same, reading rows p0 .. p0 + gid.y of X through a uniform window (a
// tenth of the cost of storage loads). One dispatch per window of rows, all
// in chunk row pb (so no division per value); the last dispatch of the last
// chunk row also writes the zero rows that pad it. gid.x: (row in this
// window, four values of chunk column gid.z) together (cq % 4 == 0, so the
// four never straddle two chunks).
// Bindings: 0 pwin, 1 pout4, 2 pp.
@group(0) @binding(0) var<uniform> pwin: array<vec4<f32>, 4096>;

@compute @workgroup_size(64, 1, 1)
fn pack_window(@builtin(global_invocation_id) gid: vec3<u32>) {
    let rq = split4(gid.x);
    if rq.x >= pp.rows {
        return;
    }
    let q = gid.z * pp.cq + rq.y * 4u;
    var v = vec4<f32>(0.0);
    if pp.p0 + rq.x < pp.p {
        let row = rq.x * pp.q;
        for (var e = 0u; e < 4u; e++) {
            let i = row + min(q + e, pp.q - 1u);
            v[e] = select(0.0, pwin[i >> 2u][i & 3u], q + e < pp.q);
        }
    }
    let chunk = pp.pb * pp.nqb + gid.z;
    pout4[(chunk * pp.stride + (pp.r0 + rq.x) * pp.cq) / 4u + rq.y] = v;
}""")
open(__file__.replace(".py", ".wgsl"), "w").write("\n".join(lines) + "\n")
