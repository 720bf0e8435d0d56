// Dense products on CPU adapters (llvmpipe) through subgroups: C = A·B
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

@group(0) @binding(0) var<uniform> sa0: array<vec4<f32>, 4096>;
@group(0) @binding(1) var<uniform> sa1: array<vec4<f32>, 4096>;
@group(0) @binding(2) var<uniform> sa2: array<vec4<f32>, 4096>;
@group(0) @binding(3) var<uniform> sb0: array<vec4<f32>, 4096>;
@group(0) @binding(4) var<uniform> sb1: array<vec4<f32>, 4096>;
@group(0) @binding(5) var<uniform> sb2: array<vec4<f32>, 4096>;
@group(0) @binding(6) var<storage, read> sbias: array<f32>;
@group(0) @binding(7) var<storage, read_write> sc: array<f32>;
@group(0) @binding(8) var<uniform> sp: SgParams;
// The same for matmul_subgroup_pairs (N even): two columns a value.
@group(0) @binding(6) var<storage, read> sbias2: array<vec2<f32>>;
@group(0) @binding(7) var<storage, read_write> sc2: array<vec2<f32>>;

fn store_c(r: u32, c: u32, value: f32) {
    if r >= sp.rows || c >= sp.cols {
        return;
    }
    let idx = (sp.i0 + r) * sp.n + sp.j0 + c;
    var v = value;
    if sp.first == 0u {
        v += sc[idx];
    }
    if sp.last == 1u {
        if sp.has_bias == 1u {
            v += sbias[sp.j0 + c];
        }
        if sp.relu == 1u {
            v = max(v, 0.0);
        }
    }
    sc[idx] = v;
}

// Columns c, c + 1 of row r (c even, N even, so both exist or neither).
fn store_c2(r: u32, c: u32, value: vec2<f32>) {
    if r >= sp.rows || c >= sp.cols {
        return;
    }
    let idx = ((sp.i0 + r) * sp.n + sp.j0 + c) / 2u;
    var v = value;
    if sp.first == 0u {
        v += sc2[idx];
    }
    if sp.last == 1u {
        if sp.has_bias == 1u {
            v += sbias2[(sp.j0 + c) / 2u];
        }
        if sp.relu == 1u {
            v = max(v, vec2<f32>(0.0));
        }
    }
    sc2[idx] = v;
}

// C's elements: every lane stores one loop of them. llvmpipe compiles each
// storage access as a loop over the lanes, and a vec2 access costs little more
// than a scalar one, so N even takes matmul_subgroup_pairs: one store (and one
// load of C, one of the bias) per two values. That part is about a third of a
// product's time in an mlp training step. The two entries repeat the whole
// body: as a function returning the block, it ran 15-20% slower.


@compute @workgroup_size(8, 1, 1)
fn matmul_subgroup(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(subgroup_invocation_id) l: u32,
) {
    let r0 = wid.x * 16u;
    let c0 = wid.y * 16u + 2u * l;
    let kc = sp.kc;
    // Lane l reads k values kb + (l & 3) of rows 2i + (l >> 2), i < 8,
    // and the 2 columns c0, c0 + 1 of each of 4 k values.
    let ab = (r0 + (l >> 2u)) * sp.a_rs + (l & 3u) * sp.a_ks;
    let a_step = 4u * sp.a_ks;
    let b_lo = c0 * sp.b_ns;
    let b_c1 = b_lo + 1u * sp.b_ns;
    var acc0_0 = 0.0;
    var acc0_1 = 0.0;
    var acc1_0 = 0.0;
    var acc1_1 = 0.0;
    var acc2_0 = 0.0;
    var acc2_1 = 0.0;
    var acc3_0 = 0.0;
    var acc3_1 = 0.0;
    var acc4_0 = 0.0;
    var acc4_1 = 0.0;
    var acc5_0 = 0.0;
    var acc5_1 = 0.0;
    var acc6_0 = 0.0;
    var acc6_1 = 0.0;
    var acc7_0 = 0.0;
    var acc7_1 = 0.0;
    var acc8_0 = 0.0;
    var acc8_1 = 0.0;
    var acc9_0 = 0.0;
    var acc9_1 = 0.0;
    var acc10_0 = 0.0;
    var acc10_1 = 0.0;
    var acc11_0 = 0.0;
    var acc11_1 = 0.0;
    var acc12_0 = 0.0;
    var acc12_1 = 0.0;
    var acc13_0 = 0.0;
    var acc13_1 = 0.0;
    var acc14_0 = 0.0;
    var acc14_1 = 0.0;
    var acc15_0 = 0.0;
    var acc15_1 = 0.0;
    var ak = ab;
    for (var kb = 0u; kb < kc; kb += 4u) {
        let ia0 = ak;
        let a0 = sa0[ia0 >> 2u][ia0 & 3u];
        let ia1 = ak + 2u * sp.a_rs;
        let a1 = sa0[ia1 >> 2u][ia1 & 3u];
        let ia2 = ak + 4u * sp.a_rs;
        let a2 = sa0[ia2 >> 2u][ia2 & 3u];
        let ia3 = ak + 6u * sp.a_rs;
        let a3 = sa0[ia3 >> 2u][ia3 & 3u];
        let ia4 = ak + 8u * sp.a_rs;
        let a4 = sa0[ia4 >> 2u][ia4 & 3u];
        let ia5 = ak + 10u * sp.a_rs;
        let a5 = sa0[ia5 >> 2u][ia5 & 3u];
        let ia6 = ak + 12u * sp.a_rs;
        let a6 = sa0[ia6 >> 2u][ia6 & 3u];
        let ia7 = ak + 14u * sp.a_rs;
        let a7 = sa0[ia7 >> 2u][ia7 & 3u];
        ak += a_step;
        let bk0 = (kb + 0u) * sp.b_ks;
        let bi0_0 = bk0 + b_lo;
        let b0_0 = sb0[bi0_0 >> 2u][bi0_0 & 3u];
        let bi0_1 = bk0 + b_c1;
        let b0_1 = sb0[bi0_1 >> 2u][bi0_1 & 3u];
        let bk1 = (kb + 1u) * sp.b_ks;
        let bi1_0 = bk1 + b_lo;
        let b1_0 = sb0[bi1_0 >> 2u][bi1_0 & 3u];
        let bi1_1 = bk1 + b_c1;
        let b1_1 = sb0[bi1_1 >> 2u][bi1_1 & 3u];
        let bk2 = (kb + 2u) * sp.b_ks;
        let bi2_0 = bk2 + b_lo;
        let b2_0 = sb0[bi2_0 >> 2u][bi2_0 & 3u];
        let bi2_1 = bk2 + b_c1;
        let b2_1 = sb0[bi2_1 >> 2u][bi2_1 & 3u];
        let bk3 = (kb + 3u) * sp.b_ks;
        let bi3_0 = bk3 + b_lo;
        let b3_0 = sb0[bi3_0 >> 2u][bi3_0 & 3u];
        let bi3_1 = bk3 + b_c1;
        let b3_1 = sb0[bi3_1 >> 2u][bi3_1 & 3u];
        let s0_0 = subgroupBroadcast(a0, 0u);
        let s1_0 = subgroupBroadcast(a0, 1u);
        let s2_0 = subgroupBroadcast(a0, 2u);
        let s3_0 = subgroupBroadcast(a0, 3u);
        acc0_0 += (s0_0 * b0_0 + s1_0 * b1_0) + (s2_0 * b2_0 + s3_0 * b3_0);
        acc0_1 += (s0_0 * b0_1 + s1_0 * b1_1) + (s2_0 * b2_1 + s3_0 * b3_1);
        let s0_1 = subgroupBroadcast(a0, 4u);
        let s1_1 = subgroupBroadcast(a0, 5u);
        let s2_1 = subgroupBroadcast(a0, 6u);
        let s3_1 = subgroupBroadcast(a0, 7u);
        acc1_0 += (s0_1 * b0_0 + s1_1 * b1_0) + (s2_1 * b2_0 + s3_1 * b3_0);
        acc1_1 += (s0_1 * b0_1 + s1_1 * b1_1) + (s2_1 * b2_1 + s3_1 * b3_1);
        let s0_2 = subgroupBroadcast(a1, 0u);
        let s1_2 = subgroupBroadcast(a1, 1u);
        let s2_2 = subgroupBroadcast(a1, 2u);
        let s3_2 = subgroupBroadcast(a1, 3u);
        acc2_0 += (s0_2 * b0_0 + s1_2 * b1_0) + (s2_2 * b2_0 + s3_2 * b3_0);
        acc2_1 += (s0_2 * b0_1 + s1_2 * b1_1) + (s2_2 * b2_1 + s3_2 * b3_1);
        let s0_3 = subgroupBroadcast(a1, 4u);
        let s1_3 = subgroupBroadcast(a1, 5u);
        let s2_3 = subgroupBroadcast(a1, 6u);
        let s3_3 = subgroupBroadcast(a1, 7u);
        acc3_0 += (s0_3 * b0_0 + s1_3 * b1_0) + (s2_3 * b2_0 + s3_3 * b3_0);
        acc3_1 += (s0_3 * b0_1 + s1_3 * b1_1) + (s2_3 * b2_1 + s3_3 * b3_1);
        let s0_4 = subgroupBroadcast(a2, 0u);
        let s1_4 = subgroupBroadcast(a2, 1u);
        let s2_4 = subgroupBroadcast(a2, 2u);
        let s3_4 = subgroupBroadcast(a2, 3u);
        acc4_0 += (s0_4 * b0_0 + s1_4 * b1_0) + (s2_4 * b2_0 + s3_4 * b3_0);
        acc4_1 += (s0_4 * b0_1 + s1_4 * b1_1) + (s2_4 * b2_1 + s3_4 * b3_1);
        let s0_5 = subgroupBroadcast(a2, 4u);
        let s1_5 = subgroupBroadcast(a2, 5u);
        let s2_5 = subgroupBroadcast(a2, 6u);
        let s3_5 = subgroupBroadcast(a2, 7u);
        acc5_0 += (s0_5 * b0_0 + s1_5 * b1_0) + (s2_5 * b2_0 + s3_5 * b3_0);
        acc5_1 += (s0_5 * b0_1 + s1_5 * b1_1) + (s2_5 * b2_1 + s3_5 * b3_1);
        let s0_6 = subgroupBroadcast(a3, 0u);
        let s1_6 = subgroupBroadcast(a3, 1u);
        let s2_6 = subgroupBroadcast(a3, 2u);
        let s3_6 = subgroupBroadcast(a3, 3u);
        acc6_0 += (s0_6 * b0_0 + s1_6 * b1_0) + (s2_6 * b2_0 + s3_6 * b3_0);
        acc6_1 += (s0_6 * b0_1 + s1_6 * b1_1) + (s2_6 * b2_1 + s3_6 * b3_1);
        let s0_7 = subgroupBroadcast(a3, 4u);
        let s1_7 = subgroupBroadcast(a3, 5u);
        let s2_7 = subgroupBroadcast(a3, 6u);
        let s3_7 = subgroupBroadcast(a3, 7u);
        acc7_0 += (s0_7 * b0_0 + s1_7 * b1_0) + (s2_7 * b2_0 + s3_7 * b3_0);
        acc7_1 += (s0_7 * b0_1 + s1_7 * b1_1) + (s2_7 * b2_1 + s3_7 * b3_1);
        let s0_8 = subgroupBroadcast(a4, 0u);
        let s1_8 = subgroupBroadcast(a4, 1u);
        let s2_8 = subgroupBroadcast(a4, 2u);
        let s3_8 = subgroupBroadcast(a4, 3u);
        acc8_0 += (s0_8 * b0_0 + s1_8 * b1_0) + (s2_8 * b2_0 + s3_8 * b3_0);
        acc8_1 += (s0_8 * b0_1 + s1_8 * b1_1) + (s2_8 * b2_1 + s3_8 * b3_1);
        let s0_9 = subgroupBroadcast(a4, 4u);
        let s1_9 = subgroupBroadcast(a4, 5u);
        let s2_9 = subgroupBroadcast(a4, 6u);
        let s3_9 = subgroupBroadcast(a4, 7u);
        acc9_0 += (s0_9 * b0_0 + s1_9 * b1_0) + (s2_9 * b2_0 + s3_9 * b3_0);
        acc9_1 += (s0_9 * b0_1 + s1_9 * b1_1) + (s2_9 * b2_1 + s3_9 * b3_1);
        let s0_10 = subgroupBroadcast(a5, 0u);
        let s1_10 = subgroupBroadcast(a5, 1u);
        let s2_10 = subgroupBroadcast(a5, 2u);
        let s3_10 = subgroupBroadcast(a5, 3u);
        acc10_0 += (s0_10 * b0_0 + s1_10 * b1_0) + (s2_10 * b2_0 + s3_10 * b3_0);
        acc10_1 += (s0_10 * b0_1 + s1_10 * b1_1) + (s2_10 * b2_1 + s3_10 * b3_1);
        let s0_11 = subgroupBroadcast(a5, 4u);
        let s1_11 = subgroupBroadcast(a5, 5u);
        let s2_11 = subgroupBroadcast(a5, 6u);
        let s3_11 = subgroupBroadcast(a5, 7u);
        acc11_0 += (s0_11 * b0_0 + s1_11 * b1_0) + (s2_11 * b2_0 + s3_11 * b3_0);
        acc11_1 += (s0_11 * b0_1 + s1_11 * b1_1) + (s2_11 * b2_1 + s3_11 * b3_1);
        let s0_12 = subgroupBroadcast(a6, 0u);
        let s1_12 = subgroupBroadcast(a6, 1u);
        let s2_12 = subgroupBroadcast(a6, 2u);
        let s3_12 = subgroupBroadcast(a6, 3u);
        acc12_0 += (s0_12 * b0_0 + s1_12 * b1_0) + (s2_12 * b2_0 + s3_12 * b3_0);
        acc12_1 += (s0_12 * b0_1 + s1_12 * b1_1) + (s2_12 * b2_1 + s3_12 * b3_1);
        let s0_13 = subgroupBroadcast(a6, 4u);
        let s1_13 = subgroupBroadcast(a6, 5u);
        let s2_13 = subgroupBroadcast(a6, 6u);
        let s3_13 = subgroupBroadcast(a6, 7u);
        acc13_0 += (s0_13 * b0_0 + s1_13 * b1_0) + (s2_13 * b2_0 + s3_13 * b3_0);
        acc13_1 += (s0_13 * b0_1 + s1_13 * b1_1) + (s2_13 * b2_1 + s3_13 * b3_1);
        let s0_14 = subgroupBroadcast(a7, 0u);
        let s1_14 = subgroupBroadcast(a7, 1u);
        let s2_14 = subgroupBroadcast(a7, 2u);
        let s3_14 = subgroupBroadcast(a7, 3u);
        acc14_0 += (s0_14 * b0_0 + s1_14 * b1_0) + (s2_14 * b2_0 + s3_14 * b3_0);
        acc14_1 += (s0_14 * b0_1 + s1_14 * b1_1) + (s2_14 * b2_1 + s3_14 * b3_1);
        let s0_15 = subgroupBroadcast(a7, 4u);
        let s1_15 = subgroupBroadcast(a7, 5u);
        let s2_15 = subgroupBroadcast(a7, 6u);
        let s3_15 = subgroupBroadcast(a7, 7u);
        acc15_0 += (s0_15 * b0_0 + s1_15 * b1_0) + (s2_15 * b2_0 + s3_15 * b3_0);
        acc15_1 += (s0_15 * b0_1 + s1_15 * b1_1) + (s2_15 * b2_1 + s3_15 * b3_1);
    }
    if sp.windows > 1u {
        var ak = ab;
        for (var kb = 0u; kb < kc; kb += 4u) {
            let ia0 = ak;
            let a0 = sa1[ia0 >> 2u][ia0 & 3u];
            let ia1 = ak + 2u * sp.a_rs;
            let a1 = sa1[ia1 >> 2u][ia1 & 3u];
            let ia2 = ak + 4u * sp.a_rs;
            let a2 = sa1[ia2 >> 2u][ia2 & 3u];
            let ia3 = ak + 6u * sp.a_rs;
            let a3 = sa1[ia3 >> 2u][ia3 & 3u];
            let ia4 = ak + 8u * sp.a_rs;
            let a4 = sa1[ia4 >> 2u][ia4 & 3u];
            let ia5 = ak + 10u * sp.a_rs;
            let a5 = sa1[ia5 >> 2u][ia5 & 3u];
            let ia6 = ak + 12u * sp.a_rs;
            let a6 = sa1[ia6 >> 2u][ia6 & 3u];
            let ia7 = ak + 14u * sp.a_rs;
            let a7 = sa1[ia7 >> 2u][ia7 & 3u];
            ak += a_step;
            let bk0 = (kb + 0u) * sp.b_ks;
            let bi0_0 = bk0 + b_lo;
            let b0_0 = sb1[bi0_0 >> 2u][bi0_0 & 3u];
            let bi0_1 = bk0 + b_c1;
            let b0_1 = sb1[bi0_1 >> 2u][bi0_1 & 3u];
            let bk1 = (kb + 1u) * sp.b_ks;
            let bi1_0 = bk1 + b_lo;
            let b1_0 = sb1[bi1_0 >> 2u][bi1_0 & 3u];
            let bi1_1 = bk1 + b_c1;
            let b1_1 = sb1[bi1_1 >> 2u][bi1_1 & 3u];
            let bk2 = (kb + 2u) * sp.b_ks;
            let bi2_0 = bk2 + b_lo;
            let b2_0 = sb1[bi2_0 >> 2u][bi2_0 & 3u];
            let bi2_1 = bk2 + b_c1;
            let b2_1 = sb1[bi2_1 >> 2u][bi2_1 & 3u];
            let bk3 = (kb + 3u) * sp.b_ks;
            let bi3_0 = bk3 + b_lo;
            let b3_0 = sb1[bi3_0 >> 2u][bi3_0 & 3u];
            let bi3_1 = bk3 + b_c1;
            let b3_1 = sb1[bi3_1 >> 2u][bi3_1 & 3u];
            let s0_0 = subgroupBroadcast(a0, 0u);
            let s1_0 = subgroupBroadcast(a0, 1u);
            let s2_0 = subgroupBroadcast(a0, 2u);
            let s3_0 = subgroupBroadcast(a0, 3u);
            acc0_0 += (s0_0 * b0_0 + s1_0 * b1_0) + (s2_0 * b2_0 + s3_0 * b3_0);
            acc0_1 += (s0_0 * b0_1 + s1_0 * b1_1) + (s2_0 * b2_1 + s3_0 * b3_1);
            let s0_1 = subgroupBroadcast(a0, 4u);
            let s1_1 = subgroupBroadcast(a0, 5u);
            let s2_1 = subgroupBroadcast(a0, 6u);
            let s3_1 = subgroupBroadcast(a0, 7u);
            acc1_0 += (s0_1 * b0_0 + s1_1 * b1_0) + (s2_1 * b2_0 + s3_1 * b3_0);
            acc1_1 += (s0_1 * b0_1 + s1_1 * b1_1) + (s2_1 * b2_1 + s3_1 * b3_1);
            let s0_2 = subgroupBroadcast(a1, 0u);
            let s1_2 = subgroupBroadcast(a1, 1u);
            let s2_2 = subgroupBroadcast(a1, 2u);
            let s3_2 = subgroupBroadcast(a1, 3u);
            acc2_0 += (s0_2 * b0_0 + s1_2 * b1_0) + (s2_2 * b2_0 + s3_2 * b3_0);
            acc2_1 += (s0_2 * b0_1 + s1_2 * b1_1) + (s2_2 * b2_1 + s3_2 * b3_1);
            let s0_3 = subgroupBroadcast(a1, 4u);
            let s1_3 = subgroupBroadcast(a1, 5u);
            let s2_3 = subgroupBroadcast(a1, 6u);
            let s3_3 = subgroupBroadcast(a1, 7u);
            acc3_0 += (s0_3 * b0_0 + s1_3 * b1_0) + (s2_3 * b2_0 + s3_3 * b3_0);
            acc3_1 += (s0_3 * b0_1 + s1_3 * b1_1) + (s2_3 * b2_1 + s3_3 * b3_1);
            let s0_4 = subgroupBroadcast(a2, 0u);
            let s1_4 = subgroupBroadcast(a2, 1u);
            let s2_4 = subgroupBroadcast(a2, 2u);
            let s3_4 = subgroupBroadcast(a2, 3u);
            acc4_0 += (s0_4 * b0_0 + s1_4 * b1_0) + (s2_4 * b2_0 + s3_4 * b3_0);
            acc4_1 += (s0_4 * b0_1 + s1_4 * b1_1) + (s2_4 * b2_1 + s3_4 * b3_1);
            let s0_5 = subgroupBroadcast(a2, 4u);
            let s1_5 = subgroupBroadcast(a2, 5u);
            let s2_5 = subgroupBroadcast(a2, 6u);
            let s3_5 = subgroupBroadcast(a2, 7u);
            acc5_0 += (s0_5 * b0_0 + s1_5 * b1_0) + (s2_5 * b2_0 + s3_5 * b3_0);
            acc5_1 += (s0_5 * b0_1 + s1_5 * b1_1) + (s2_5 * b2_1 + s3_5 * b3_1);
            let s0_6 = subgroupBroadcast(a3, 0u);
            let s1_6 = subgroupBroadcast(a3, 1u);
            let s2_6 = subgroupBroadcast(a3, 2u);
            let s3_6 = subgroupBroadcast(a3, 3u);
            acc6_0 += (s0_6 * b0_0 + s1_6 * b1_0) + (s2_6 * b2_0 + s3_6 * b3_0);
            acc6_1 += (s0_6 * b0_1 + s1_6 * b1_1) + (s2_6 * b2_1 + s3_6 * b3_1);
            let s0_7 = subgroupBroadcast(a3, 4u);
            let s1_7 = subgroupBroadcast(a3, 5u);
            let s2_7 = subgroupBroadcast(a3, 6u);
            let s3_7 = subgroupBroadcast(a3, 7u);
            acc7_0 += (s0_7 * b0_0 + s1_7 * b1_0) + (s2_7 * b2_0 + s3_7 * b3_0);
            acc7_1 += (s0_7 * b0_1 + s1_7 * b1_1) + (s2_7 * b2_1 + s3_7 * b3_1);
            let s0_8 = subgroupBroadcast(a4, 0u);
            let s1_8 = subgroupBroadcast(a4, 1u);
            let s2_8 = subgroupBroadcast(a4, 2u);
            let s3_8 = subgroupBroadcast(a4, 3u);
            acc8_0 += (s0_8 * b0_0 + s1_8 * b1_0) + (s2_8 * b2_0 + s3_8 * b3_0);
            acc8_1 += (s0_8 * b0_1 + s1_8 * b1_1) + (s2_8 * b2_1 + s3_8 * b3_1);
            let s0_9 = subgroupBroadcast(a4, 4u);
            let s1_9 = subgroupBroadcast(a4, 5u);
            let s2_9 = subgroupBroadcast(a4, 6u);
            let s3_9 = subgroupBroadcast(a4, 7u);
            acc9_0 += (s0_9 * b0_0 + s1_9 * b1_0) + (s2_9 * b2_0 + s3_9 * b3_0);
            acc9_1 += (s0_9 * b0_1 + s1_9 * b1_1) + (s2_9 * b2_1 + s3_9 * b3_1);
            let s0_10 = subgroupBroadcast(a5, 0u);
            let s1_10 = subgroupBroadcast(a5, 1u);
            let s2_10 = subgroupBroadcast(a5, 2u);
            let s3_10 = subgroupBroadcast(a5, 3u);
            acc10_0 += (s0_10 * b0_0 + s1_10 * b1_0) + (s2_10 * b2_0 + s3_10 * b3_0);
            acc10_1 += (s0_10 * b0_1 + s1_10 * b1_1) + (s2_10 * b2_1 + s3_10 * b3_1);
            let s0_11 = subgroupBroadcast(a5, 4u);
            let s1_11 = subgroupBroadcast(a5, 5u);
            let s2_11 = subgroupBroadcast(a5, 6u);
            let s3_11 = subgroupBroadcast(a5, 7u);
            acc11_0 += (s0_11 * b0_0 + s1_11 * b1_0) + (s2_11 * b2_0 + s3_11 * b3_0);
            acc11_1 += (s0_11 * b0_1 + s1_11 * b1_1) + (s2_11 * b2_1 + s3_11 * b3_1);
            let s0_12 = subgroupBroadcast(a6, 0u);
            let s1_12 = subgroupBroadcast(a6, 1u);
            let s2_12 = subgroupBroadcast(a6, 2u);
            let s3_12 = subgroupBroadcast(a6, 3u);
            acc12_0 += (s0_12 * b0_0 + s1_12 * b1_0) + (s2_12 * b2_0 + s3_12 * b3_0);
            acc12_1 += (s0_12 * b0_1 + s1_12 * b1_1) + (s2_12 * b2_1 + s3_12 * b3_1);
            let s0_13 = subgroupBroadcast(a6, 4u);
            let s1_13 = subgroupBroadcast(a6, 5u);
            let s2_13 = subgroupBroadcast(a6, 6u);
            let s3_13 = subgroupBroadcast(a6, 7u);
            acc13_0 += (s0_13 * b0_0 + s1_13 * b1_0) + (s2_13 * b2_0 + s3_13 * b3_0);
            acc13_1 += (s0_13 * b0_1 + s1_13 * b1_1) + (s2_13 * b2_1 + s3_13 * b3_1);
            let s0_14 = subgroupBroadcast(a7, 0u);
            let s1_14 = subgroupBroadcast(a7, 1u);
            let s2_14 = subgroupBroadcast(a7, 2u);
            let s3_14 = subgroupBroadcast(a7, 3u);
            acc14_0 += (s0_14 * b0_0 + s1_14 * b1_0) + (s2_14 * b2_0 + s3_14 * b3_0);
            acc14_1 += (s0_14 * b0_1 + s1_14 * b1_1) + (s2_14 * b2_1 + s3_14 * b3_1);
            let s0_15 = subgroupBroadcast(a7, 4u);
            let s1_15 = subgroupBroadcast(a7, 5u);
            let s2_15 = subgroupBroadcast(a7, 6u);
            let s3_15 = subgroupBroadcast(a7, 7u);
            acc15_0 += (s0_15 * b0_0 + s1_15 * b1_0) + (s2_15 * b2_0 + s3_15 * b3_0);
            acc15_1 += (s0_15 * b0_1 + s1_15 * b1_1) + (s2_15 * b2_1 + s3_15 * b3_1);
        }
    }
    if sp.windows > 2u {
        var ak = ab;
        for (var kb = 0u; kb < kc; kb += 4u) {
            let ia0 = ak;
            let a0 = sa2[ia0 >> 2u][ia0 & 3u];
            let ia1 = ak + 2u * sp.a_rs;
            let a1 = sa2[ia1 >> 2u][ia1 & 3u];
            let ia2 = ak + 4u * sp.a_rs;
            let a2 = sa2[ia2 >> 2u][ia2 & 3u];
            let ia3 = ak + 6u * sp.a_rs;
            let a3 = sa2[ia3 >> 2u][ia3 & 3u];
            let ia4 = ak + 8u * sp.a_rs;
            let a4 = sa2[ia4 >> 2u][ia4 & 3u];
            let ia5 = ak + 10u * sp.a_rs;
            let a5 = sa2[ia5 >> 2u][ia5 & 3u];
            let ia6 = ak + 12u * sp.a_rs;
            let a6 = sa2[ia6 >> 2u][ia6 & 3u];
            let ia7 = ak + 14u * sp.a_rs;
            let a7 = sa2[ia7 >> 2u][ia7 & 3u];
            ak += a_step;
            let bk0 = (kb + 0u) * sp.b_ks;
            let bi0_0 = bk0 + b_lo;
            let b0_0 = sb2[bi0_0 >> 2u][bi0_0 & 3u];
            let bi0_1 = bk0 + b_c1;
            let b0_1 = sb2[bi0_1 >> 2u][bi0_1 & 3u];
            let bk1 = (kb + 1u) * sp.b_ks;
            let bi1_0 = bk1 + b_lo;
            let b1_0 = sb2[bi1_0 >> 2u][bi1_0 & 3u];
            let bi1_1 = bk1 + b_c1;
            let b1_1 = sb2[bi1_1 >> 2u][bi1_1 & 3u];
            let bk2 = (kb + 2u) * sp.b_ks;
            let bi2_0 = bk2 + b_lo;
            let b2_0 = sb2[bi2_0 >> 2u][bi2_0 & 3u];
            let bi2_1 = bk2 + b_c1;
            let b2_1 = sb2[bi2_1 >> 2u][bi2_1 & 3u];
            let bk3 = (kb + 3u) * sp.b_ks;
            let bi3_0 = bk3 + b_lo;
            let b3_0 = sb2[bi3_0 >> 2u][bi3_0 & 3u];
            let bi3_1 = bk3 + b_c1;
            let b3_1 = sb2[bi3_1 >> 2u][bi3_1 & 3u];
            let s0_0 = subgroupBroadcast(a0, 0u);
            let s1_0 = subgroupBroadcast(a0, 1u);
            let s2_0 = subgroupBroadcast(a0, 2u);
            let s3_0 = subgroupBroadcast(a0, 3u);
            acc0_0 += (s0_0 * b0_0 + s1_0 * b1_0) + (s2_0 * b2_0 + s3_0 * b3_0);
            acc0_1 += (s0_0 * b0_1 + s1_0 * b1_1) + (s2_0 * b2_1 + s3_0 * b3_1);
            let s0_1 = subgroupBroadcast(a0, 4u);
            let s1_1 = subgroupBroadcast(a0, 5u);
            let s2_1 = subgroupBroadcast(a0, 6u);
            let s3_1 = subgroupBroadcast(a0, 7u);
            acc1_0 += (s0_1 * b0_0 + s1_1 * b1_0) + (s2_1 * b2_0 + s3_1 * b3_0);
            acc1_1 += (s0_1 * b0_1 + s1_1 * b1_1) + (s2_1 * b2_1 + s3_1 * b3_1);
            let s0_2 = subgroupBroadcast(a1, 0u);
            let s1_2 = subgroupBroadcast(a1, 1u);
            let s2_2 = subgroupBroadcast(a1, 2u);
            let s3_2 = subgroupBroadcast(a1, 3u);
            acc2_0 += (s0_2 * b0_0 + s1_2 * b1_0) + (s2_2 * b2_0 + s3_2 * b3_0);
            acc2_1 += (s0_2 * b0_1 + s1_2 * b1_1) + (s2_2 * b2_1 + s3_2 * b3_1);
            let s0_3 = subgroupBroadcast(a1, 4u);
            let s1_3 = subgroupBroadcast(a1, 5u);
            let s2_3 = subgroupBroadcast(a1, 6u);
            let s3_3 = subgroupBroadcast(a1, 7u);
            acc3_0 += (s0_3 * b0_0 + s1_3 * b1_0) + (s2_3 * b2_0 + s3_3 * b3_0);
            acc3_1 += (s0_3 * b0_1 + s1_3 * b1_1) + (s2_3 * b2_1 + s3_3 * b3_1);
            let s0_4 = subgroupBroadcast(a2, 0u);
            let s1_4 = subgroupBroadcast(a2, 1u);
            let s2_4 = subgroupBroadcast(a2, 2u);
            let s3_4 = subgroupBroadcast(a2, 3u);
            acc4_0 += (s0_4 * b0_0 + s1_4 * b1_0) + (s2_4 * b2_0 + s3_4 * b3_0);
            acc4_1 += (s0_4 * b0_1 + s1_4 * b1_1) + (s2_4 * b2_1 + s3_4 * b3_1);
            let s0_5 = subgroupBroadcast(a2, 4u);
            let s1_5 = subgroupBroadcast(a2, 5u);
            let s2_5 = subgroupBroadcast(a2, 6u);
            let s3_5 = subgroupBroadcast(a2, 7u);
            acc5_0 += (s0_5 * b0_0 + s1_5 * b1_0) + (s2_5 * b2_0 + s3_5 * b3_0);
            acc5_1 += (s0_5 * b0_1 + s1_5 * b1_1) + (s2_5 * b2_1 + s3_5 * b3_1);
            let s0_6 = subgroupBroadcast(a3, 0u);
            let s1_6 = subgroupBroadcast(a3, 1u);
            let s2_6 = subgroupBroadcast(a3, 2u);
            let s3_6 = subgroupBroadcast(a3, 3u);
            acc6_0 += (s0_6 * b0_0 + s1_6 * b1_0) + (s2_6 * b2_0 + s3_6 * b3_0);
            acc6_1 += (s0_6 * b0_1 + s1_6 * b1_1) + (s2_6 * b2_1 + s3_6 * b3_1);
            let s0_7 = subgroupBroadcast(a3, 4u);
            let s1_7 = subgroupBroadcast(a3, 5u);
            let s2_7 = subgroupBroadcast(a3, 6u);
            let s3_7 = subgroupBroadcast(a3, 7u);
            acc7_0 += (s0_7 * b0_0 + s1_7 * b1_0) + (s2_7 * b2_0 + s3_7 * b3_0);
            acc7_1 += (s0_7 * b0_1 + s1_7 * b1_1) + (s2_7 * b2_1 + s3_7 * b3_1);
            let s0_8 = subgroupBroadcast(a4, 0u);
            let s1_8 = subgroupBroadcast(a4, 1u);
            let s2_8 = subgroupBroadcast(a4, 2u);
            let s3_8 = subgroupBroadcast(a4, 3u);
            acc8_0 += (s0_8 * b0_0 + s1_8 * b1_0) + (s2_8 * b2_0 + s3_8 * b3_0);
            acc8_1 += (s0_8 * b0_1 + s1_8 * b1_1) + (s2_8 * b2_1 + s3_8 * b3_1);
            let s0_9 = subgroupBroadcast(a4, 4u);
            let s1_9 = subgroupBroadcast(a4, 5u);
            let s2_9 = subgroupBroadcast(a4, 6u);
            let s3_9 = subgroupBroadcast(a4, 7u);
            acc9_0 += (s0_9 * b0_0 + s1_9 * b1_0) + (s2_9 * b2_0 + s3_9 * b3_0);
            acc9_1 += (s0_9 * b0_1 + s1_9 * b1_1) + (s2_9 * b2_1 + s3_9 * b3_1);
            let s0_10 = subgroupBroadcast(a5, 0u);
            let s1_10 = subgroupBroadcast(a5, 1u);
            let s2_10 = subgroupBroadcast(a5, 2u);
            let s3_10 = subgroupBroadcast(a5, 3u);
            acc10_0 += (s0_10 * b0_0 + s1_10 * b1_0) + (s2_10 * b2_0 + s3_10 * b3_0);
            acc10_1 += (s0_10 * b0_1 + s1_10 * b1_1) + (s2_10 * b2_1 + s3_10 * b3_1);
            let s0_11 = subgroupBroadcast(a5, 4u);
            let s1_11 = subgroupBroadcast(a5, 5u);
            let s2_11 = subgroupBroadcast(a5, 6u);
            let s3_11 = subgroupBroadcast(a5, 7u);
            acc11_0 += (s0_11 * b0_0 + s1_11 * b1_0) + (s2_11 * b2_0 + s3_11 * b3_0);
            acc11_1 += (s0_11 * b0_1 + s1_11 * b1_1) + (s2_11 * b2_1 + s3_11 * b3_1);
            let s0_12 = subgroupBroadcast(a6, 0u);
            let s1_12 = subgroupBroadcast(a6, 1u);
            let s2_12 = subgroupBroadcast(a6, 2u);
            let s3_12 = subgroupBroadcast(a6, 3u);
            acc12_0 += (s0_12 * b0_0 + s1_12 * b1_0) + (s2_12 * b2_0 + s3_12 * b3_0);
            acc12_1 += (s0_12 * b0_1 + s1_12 * b1_1) + (s2_12 * b2_1 + s3_12 * b3_1);
            let s0_13 = subgroupBroadcast(a6, 4u);
            let s1_13 = subgroupBroadcast(a6, 5u);
            let s2_13 = subgroupBroadcast(a6, 6u);
            let s3_13 = subgroupBroadcast(a6, 7u);
            acc13_0 += (s0_13 * b0_0 + s1_13 * b1_0) + (s2_13 * b2_0 + s3_13 * b3_0);
            acc13_1 += (s0_13 * b0_1 + s1_13 * b1_1) + (s2_13 * b2_1 + s3_13 * b3_1);
            let s0_14 = subgroupBroadcast(a7, 0u);
            let s1_14 = subgroupBroadcast(a7, 1u);
            let s2_14 = subgroupBroadcast(a7, 2u);
            let s3_14 = subgroupBroadcast(a7, 3u);
            acc14_0 += (s0_14 * b0_0 + s1_14 * b1_0) + (s2_14 * b2_0 + s3_14 * b3_0);
            acc14_1 += (s0_14 * b0_1 + s1_14 * b1_1) + (s2_14 * b2_1 + s3_14 * b3_1);
            let s0_15 = subgroupBroadcast(a7, 4u);
            let s1_15 = subgroupBroadcast(a7, 5u);
            let s2_15 = subgroupBroadcast(a7, 6u);
            let s3_15 = subgroupBroadcast(a7, 7u);
            acc15_0 += (s0_15 * b0_0 + s1_15 * b1_0) + (s2_15 * b2_0 + s3_15 * b3_0);
            acc15_1 += (s0_15 * b0_1 + s1_15 * b1_1) + (s2_15 * b2_1 + s3_15 * b3_1);
        }
    }
    // One store site in a loop: llvmpipe compiles each storage access as a
    // loop over the lanes, so spelled-out stores cost most of the JIT time.
    // Scalars: an array of vec2 here doubled the JIT time (1.3–1.6 s).
    var out: array<f32, 32>;
    out[0] = acc0_0;
    out[1] = acc0_1;
    out[2] = acc1_0;
    out[3] = acc1_1;
    out[4] = acc2_0;
    out[5] = acc2_1;
    out[6] = acc3_0;
    out[7] = acc3_1;
    out[8] = acc4_0;
    out[9] = acc4_1;
    out[10] = acc5_0;
    out[11] = acc5_1;
    out[12] = acc6_0;
    out[13] = acc6_1;
    out[14] = acc7_0;
    out[15] = acc7_1;
    out[16] = acc8_0;
    out[17] = acc8_1;
    out[18] = acc9_0;
    out[19] = acc9_1;
    out[20] = acc10_0;
    out[21] = acc10_1;
    out[22] = acc11_0;
    out[23] = acc11_1;
    out[24] = acc12_0;
    out[25] = acc12_1;
    out[26] = acc13_0;
    out[27] = acc13_1;
    out[28] = acc14_0;
    out[29] = acc14_1;
    out[30] = acc15_0;
    out[31] = acc15_1;
    for (var r = 0u; r < 16u; r++) {
        store_c(r0 + r, c0, out[2u * r]);
        store_c(r0 + r, c0 + 1u, out[2u * r + 1u]);
    }
}

@compute @workgroup_size(8, 1, 1)
fn matmul_subgroup_pairs(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(subgroup_invocation_id) l: u32,
) {
    let r0 = wid.x * 16u;
    let c0 = wid.y * 16u + 2u * l;
    let kc = sp.kc;
    // Lane l reads k values kb + (l & 3) of rows 2i + (l >> 2), i < 8,
    // and the 2 columns c0, c0 + 1 of each of 4 k values.
    let ab = (r0 + (l >> 2u)) * sp.a_rs + (l & 3u) * sp.a_ks;
    let a_step = 4u * sp.a_ks;
    let b_lo = c0 * sp.b_ns;
    let b_c1 = b_lo + 1u * sp.b_ns;
    var acc0_0 = 0.0;
    var acc0_1 = 0.0;
    var acc1_0 = 0.0;
    var acc1_1 = 0.0;
    var acc2_0 = 0.0;
    var acc2_1 = 0.0;
    var acc3_0 = 0.0;
    var acc3_1 = 0.0;
    var acc4_0 = 0.0;
    var acc4_1 = 0.0;
    var acc5_0 = 0.0;
    var acc5_1 = 0.0;
    var acc6_0 = 0.0;
    var acc6_1 = 0.0;
    var acc7_0 = 0.0;
    var acc7_1 = 0.0;
    var acc8_0 = 0.0;
    var acc8_1 = 0.0;
    var acc9_0 = 0.0;
    var acc9_1 = 0.0;
    var acc10_0 = 0.0;
    var acc10_1 = 0.0;
    var acc11_0 = 0.0;
    var acc11_1 = 0.0;
    var acc12_0 = 0.0;
    var acc12_1 = 0.0;
    var acc13_0 = 0.0;
    var acc13_1 = 0.0;
    var acc14_0 = 0.0;
    var acc14_1 = 0.0;
    var acc15_0 = 0.0;
    var acc15_1 = 0.0;
    var ak = ab;
    for (var kb = 0u; kb < kc; kb += 4u) {
        let ia0 = ak;
        let a0 = sa0[ia0 >> 2u][ia0 & 3u];
        let ia1 = ak + 2u * sp.a_rs;
        let a1 = sa0[ia1 >> 2u][ia1 & 3u];
        let ia2 = ak + 4u * sp.a_rs;
        let a2 = sa0[ia2 >> 2u][ia2 & 3u];
        let ia3 = ak + 6u * sp.a_rs;
        let a3 = sa0[ia3 >> 2u][ia3 & 3u];
        let ia4 = ak + 8u * sp.a_rs;
        let a4 = sa0[ia4 >> 2u][ia4 & 3u];
        let ia5 = ak + 10u * sp.a_rs;
        let a5 = sa0[ia5 >> 2u][ia5 & 3u];
        let ia6 = ak + 12u * sp.a_rs;
        let a6 = sa0[ia6 >> 2u][ia6 & 3u];
        let ia7 = ak + 14u * sp.a_rs;
        let a7 = sa0[ia7 >> 2u][ia7 & 3u];
        ak += a_step;
        let bk0 = (kb + 0u) * sp.b_ks;
        let bi0_0 = bk0 + b_lo;
        let b0_0 = sb0[bi0_0 >> 2u][bi0_0 & 3u];
        let bi0_1 = bk0 + b_c1;
        let b0_1 = sb0[bi0_1 >> 2u][bi0_1 & 3u];
        let bk1 = (kb + 1u) * sp.b_ks;
        let bi1_0 = bk1 + b_lo;
        let b1_0 = sb0[bi1_0 >> 2u][bi1_0 & 3u];
        let bi1_1 = bk1 + b_c1;
        let b1_1 = sb0[bi1_1 >> 2u][bi1_1 & 3u];
        let bk2 = (kb + 2u) * sp.b_ks;
        let bi2_0 = bk2 + b_lo;
        let b2_0 = sb0[bi2_0 >> 2u][bi2_0 & 3u];
        let bi2_1 = bk2 + b_c1;
        let b2_1 = sb0[bi2_1 >> 2u][bi2_1 & 3u];
        let bk3 = (kb + 3u) * sp.b_ks;
        let bi3_0 = bk3 + b_lo;
        let b3_0 = sb0[bi3_0 >> 2u][bi3_0 & 3u];
        let bi3_1 = bk3 + b_c1;
        let b3_1 = sb0[bi3_1 >> 2u][bi3_1 & 3u];
        let s0_0 = subgroupBroadcast(a0, 0u);
        let s1_0 = subgroupBroadcast(a0, 1u);
        let s2_0 = subgroupBroadcast(a0, 2u);
        let s3_0 = subgroupBroadcast(a0, 3u);
        acc0_0 += (s0_0 * b0_0 + s1_0 * b1_0) + (s2_0 * b2_0 + s3_0 * b3_0);
        acc0_1 += (s0_0 * b0_1 + s1_0 * b1_1) + (s2_0 * b2_1 + s3_0 * b3_1);
        let s0_1 = subgroupBroadcast(a0, 4u);
        let s1_1 = subgroupBroadcast(a0, 5u);
        let s2_1 = subgroupBroadcast(a0, 6u);
        let s3_1 = subgroupBroadcast(a0, 7u);
        acc1_0 += (s0_1 * b0_0 + s1_1 * b1_0) + (s2_1 * b2_0 + s3_1 * b3_0);
        acc1_1 += (s0_1 * b0_1 + s1_1 * b1_1) + (s2_1 * b2_1 + s3_1 * b3_1);
        let s0_2 = subgroupBroadcast(a1, 0u);
        let s1_2 = subgroupBroadcast(a1, 1u);
        let s2_2 = subgroupBroadcast(a1, 2u);
        let s3_2 = subgroupBroadcast(a1, 3u);
        acc2_0 += (s0_2 * b0_0 + s1_2 * b1_0) + (s2_2 * b2_0 + s3_2 * b3_0);
        acc2_1 += (s0_2 * b0_1 + s1_2 * b1_1) + (s2_2 * b2_1 + s3_2 * b3_1);
        let s0_3 = subgroupBroadcast(a1, 4u);
        let s1_3 = subgroupBroadcast(a1, 5u);
        let s2_3 = subgroupBroadcast(a1, 6u);
        let s3_3 = subgroupBroadcast(a1, 7u);
        acc3_0 += (s0_3 * b0_0 + s1_3 * b1_0) + (s2_3 * b2_0 + s3_3 * b3_0);
        acc3_1 += (s0_3 * b0_1 + s1_3 * b1_1) + (s2_3 * b2_1 + s3_3 * b3_1);
        let s0_4 = subgroupBroadcast(a2, 0u);
        let s1_4 = subgroupBroadcast(a2, 1u);
        let s2_4 = subgroupBroadcast(a2, 2u);
        let s3_4 = subgroupBroadcast(a2, 3u);
        acc4_0 += (s0_4 * b0_0 + s1_4 * b1_0) + (s2_4 * b2_0 + s3_4 * b3_0);
        acc4_1 += (s0_4 * b0_1 + s1_4 * b1_1) + (s2_4 * b2_1 + s3_4 * b3_1);
        let s0_5 = subgroupBroadcast(a2, 4u);
        let s1_5 = subgroupBroadcast(a2, 5u);
        let s2_5 = subgroupBroadcast(a2, 6u);
        let s3_5 = subgroupBroadcast(a2, 7u);
        acc5_0 += (s0_5 * b0_0 + s1_5 * b1_0) + (s2_5 * b2_0 + s3_5 * b3_0);
        acc5_1 += (s0_5 * b0_1 + s1_5 * b1_1) + (s2_5 * b2_1 + s3_5 * b3_1);
        let s0_6 = subgroupBroadcast(a3, 0u);
        let s1_6 = subgroupBroadcast(a3, 1u);
        let s2_6 = subgroupBroadcast(a3, 2u);
        let s3_6 = subgroupBroadcast(a3, 3u);
        acc6_0 += (s0_6 * b0_0 + s1_6 * b1_0) + (s2_6 * b2_0 + s3_6 * b3_0);
        acc6_1 += (s0_6 * b0_1 + s1_6 * b1_1) + (s2_6 * b2_1 + s3_6 * b3_1);
        let s0_7 = subgroupBroadcast(a3, 4u);
        let s1_7 = subgroupBroadcast(a3, 5u);
        let s2_7 = subgroupBroadcast(a3, 6u);
        let s3_7 = subgroupBroadcast(a3, 7u);
        acc7_0 += (s0_7 * b0_0 + s1_7 * b1_0) + (s2_7 * b2_0 + s3_7 * b3_0);
        acc7_1 += (s0_7 * b0_1 + s1_7 * b1_1) + (s2_7 * b2_1 + s3_7 * b3_1);
        let s0_8 = subgroupBroadcast(a4, 0u);
        let s1_8 = subgroupBroadcast(a4, 1u);
        let s2_8 = subgroupBroadcast(a4, 2u);
        let s3_8 = subgroupBroadcast(a4, 3u);
        acc8_0 += (s0_8 * b0_0 + s1_8 * b1_0) + (s2_8 * b2_0 + s3_8 * b3_0);
        acc8_1 += (s0_8 * b0_1 + s1_8 * b1_1) + (s2_8 * b2_1 + s3_8 * b3_1);
        let s0_9 = subgroupBroadcast(a4, 4u);
        let s1_9 = subgroupBroadcast(a4, 5u);
        let s2_9 = subgroupBroadcast(a4, 6u);
        let s3_9 = subgroupBroadcast(a4, 7u);
        acc9_0 += (s0_9 * b0_0 + s1_9 * b1_0) + (s2_9 * b2_0 + s3_9 * b3_0);
        acc9_1 += (s0_9 * b0_1 + s1_9 * b1_1) + (s2_9 * b2_1 + s3_9 * b3_1);
        let s0_10 = subgroupBroadcast(a5, 0u);
        let s1_10 = subgroupBroadcast(a5, 1u);
        let s2_10 = subgroupBroadcast(a5, 2u);
        let s3_10 = subgroupBroadcast(a5, 3u);
        acc10_0 += (s0_10 * b0_0 + s1_10 * b1_0) + (s2_10 * b2_0 + s3_10 * b3_0);
        acc10_1 += (s0_10 * b0_1 + s1_10 * b1_1) + (s2_10 * b2_1 + s3_10 * b3_1);
        let s0_11 = subgroupBroadcast(a5, 4u);
        let s1_11 = subgroupBroadcast(a5, 5u);
        let s2_11 = subgroupBroadcast(a5, 6u);
        let s3_11 = subgroupBroadcast(a5, 7u);
        acc11_0 += (s0_11 * b0_0 + s1_11 * b1_0) + (s2_11 * b2_0 + s3_11 * b3_0);
        acc11_1 += (s0_11 * b0_1 + s1_11 * b1_1) + (s2_11 * b2_1 + s3_11 * b3_1);
        let s0_12 = subgroupBroadcast(a6, 0u);
        let s1_12 = subgroupBroadcast(a6, 1u);
        let s2_12 = subgroupBroadcast(a6, 2u);
        let s3_12 = subgroupBroadcast(a6, 3u);
        acc12_0 += (s0_12 * b0_0 + s1_12 * b1_0) + (s2_12 * b2_0 + s3_12 * b3_0);
        acc12_1 += (s0_12 * b0_1 + s1_12 * b1_1) + (s2_12 * b2_1 + s3_12 * b3_1);
        let s0_13 = subgroupBroadcast(a6, 4u);
        let s1_13 = subgroupBroadcast(a6, 5u);
        let s2_13 = subgroupBroadcast(a6, 6u);
        let s3_13 = subgroupBroadcast(a6, 7u);
        acc13_0 += (s0_13 * b0_0 + s1_13 * b1_0) + (s2_13 * b2_0 + s3_13 * b3_0);
        acc13_1 += (s0_13 * b0_1 + s1_13 * b1_1) + (s2_13 * b2_1 + s3_13 * b3_1);
        let s0_14 = subgroupBroadcast(a7, 0u);
        let s1_14 = subgroupBroadcast(a7, 1u);
        let s2_14 = subgroupBroadcast(a7, 2u);
        let s3_14 = subgroupBroadcast(a7, 3u);
        acc14_0 += (s0_14 * b0_0 + s1_14 * b1_0) + (s2_14 * b2_0 + s3_14 * b3_0);
        acc14_1 += (s0_14 * b0_1 + s1_14 * b1_1) + (s2_14 * b2_1 + s3_14 * b3_1);
        let s0_15 = subgroupBroadcast(a7, 4u);
        let s1_15 = subgroupBroadcast(a7, 5u);
        let s2_15 = subgroupBroadcast(a7, 6u);
        let s3_15 = subgroupBroadcast(a7, 7u);
        acc15_0 += (s0_15 * b0_0 + s1_15 * b1_0) + (s2_15 * b2_0 + s3_15 * b3_0);
        acc15_1 += (s0_15 * b0_1 + s1_15 * b1_1) + (s2_15 * b2_1 + s3_15 * b3_1);
    }
    if sp.windows > 1u {
        var ak = ab;
        for (var kb = 0u; kb < kc; kb += 4u) {
            let ia0 = ak;
            let a0 = sa1[ia0 >> 2u][ia0 & 3u];
            let ia1 = ak + 2u * sp.a_rs;
            let a1 = sa1[ia1 >> 2u][ia1 & 3u];
            let ia2 = ak + 4u * sp.a_rs;
            let a2 = sa1[ia2 >> 2u][ia2 & 3u];
            let ia3 = ak + 6u * sp.a_rs;
            let a3 = sa1[ia3 >> 2u][ia3 & 3u];
            let ia4 = ak + 8u * sp.a_rs;
            let a4 = sa1[ia4 >> 2u][ia4 & 3u];
            let ia5 = ak + 10u * sp.a_rs;
            let a5 = sa1[ia5 >> 2u][ia5 & 3u];
            let ia6 = ak + 12u * sp.a_rs;
            let a6 = sa1[ia6 >> 2u][ia6 & 3u];
            let ia7 = ak + 14u * sp.a_rs;
            let a7 = sa1[ia7 >> 2u][ia7 & 3u];
            ak += a_step;
            let bk0 = (kb + 0u) * sp.b_ks;
            let bi0_0 = bk0 + b_lo;
            let b0_0 = sb1[bi0_0 >> 2u][bi0_0 & 3u];
            let bi0_1 = bk0 + b_c1;
            let b0_1 = sb1[bi0_1 >> 2u][bi0_1 & 3u];
            let bk1 = (kb + 1u) * sp.b_ks;
            let bi1_0 = bk1 + b_lo;
            let b1_0 = sb1[bi1_0 >> 2u][bi1_0 & 3u];
            let bi1_1 = bk1 + b_c1;
            let b1_1 = sb1[bi1_1 >> 2u][bi1_1 & 3u];
            let bk2 = (kb + 2u) * sp.b_ks;
            let bi2_0 = bk2 + b_lo;
            let b2_0 = sb1[bi2_0 >> 2u][bi2_0 & 3u];
            let bi2_1 = bk2 + b_c1;
            let b2_1 = sb1[bi2_1 >> 2u][bi2_1 & 3u];
            let bk3 = (kb + 3u) * sp.b_ks;
            let bi3_0 = bk3 + b_lo;
            let b3_0 = sb1[bi3_0 >> 2u][bi3_0 & 3u];
            let bi3_1 = bk3 + b_c1;
            let b3_1 = sb1[bi3_1 >> 2u][bi3_1 & 3u];
            let s0_0 = subgroupBroadcast(a0, 0u);
            let s1_0 = subgroupBroadcast(a0, 1u);
            let s2_0 = subgroupBroadcast(a0, 2u);
            let s3_0 = subgroupBroadcast(a0, 3u);
            acc0_0 += (s0_0 * b0_0 + s1_0 * b1_0) + (s2_0 * b2_0 + s3_0 * b3_0);
            acc0_1 += (s0_0 * b0_1 + s1_0 * b1_1) + (s2_0 * b2_1 + s3_0 * b3_1);
            let s0_1 = subgroupBroadcast(a0, 4u);
            let s1_1 = subgroupBroadcast(a0, 5u);
            let s2_1 = subgroupBroadcast(a0, 6u);
            let s3_1 = subgroupBroadcast(a0, 7u);
            acc1_0 += (s0_1 * b0_0 + s1_1 * b1_0) + (s2_1 * b2_0 + s3_1 * b3_0);
            acc1_1 += (s0_1 * b0_1 + s1_1 * b1_1) + (s2_1 * b2_1 + s3_1 * b3_1);
            let s0_2 = subgroupBroadcast(a1, 0u);
            let s1_2 = subgroupBroadcast(a1, 1u);
            let s2_2 = subgroupBroadcast(a1, 2u);
            let s3_2 = subgroupBroadcast(a1, 3u);
            acc2_0 += (s0_2 * b0_0 + s1_2 * b1_0) + (s2_2 * b2_0 + s3_2 * b3_0);
            acc2_1 += (s0_2 * b0_1 + s1_2 * b1_1) + (s2_2 * b2_1 + s3_2 * b3_1);
            let s0_3 = subgroupBroadcast(a1, 4u);
            let s1_3 = subgroupBroadcast(a1, 5u);
            let s2_3 = subgroupBroadcast(a1, 6u);
            let s3_3 = subgroupBroadcast(a1, 7u);
            acc3_0 += (s0_3 * b0_0 + s1_3 * b1_0) + (s2_3 * b2_0 + s3_3 * b3_0);
            acc3_1 += (s0_3 * b0_1 + s1_3 * b1_1) + (s2_3 * b2_1 + s3_3 * b3_1);
            let s0_4 = subgroupBroadcast(a2, 0u);
            let s1_4 = subgroupBroadcast(a2, 1u);
            let s2_4 = subgroupBroadcast(a2, 2u);
            let s3_4 = subgroupBroadcast(a2, 3u);
            acc4_0 += (s0_4 * b0_0 + s1_4 * b1_0) + (s2_4 * b2_0 + s3_4 * b3_0);
            acc4_1 += (s0_4 * b0_1 + s1_4 * b1_1) + (s2_4 * b2_1 + s3_4 * b3_1);
            let s0_5 = subgroupBroadcast(a2, 4u);
            let s1_5 = subgroupBroadcast(a2, 5u);
            let s2_5 = subgroupBroadcast(a2, 6u);
            let s3_5 = subgroupBroadcast(a2, 7u);
            acc5_0 += (s0_5 * b0_0 + s1_5 * b1_0) + (s2_5 * b2_0 + s3_5 * b3_0);
            acc5_1 += (s0_5 * b0_1 + s1_5 * b1_1) + (s2_5 * b2_1 + s3_5 * b3_1);
            let s0_6 = subgroupBroadcast(a3, 0u);
            let s1_6 = subgroupBroadcast(a3, 1u);
            let s2_6 = subgroupBroadcast(a3, 2u);
            let s3_6 = subgroupBroadcast(a3, 3u);
            acc6_0 += (s0_6 * b0_0 + s1_6 * b1_0) + (s2_6 * b2_0 + s3_6 * b3_0);
            acc6_1 += (s0_6 * b0_1 + s1_6 * b1_1) + (s2_6 * b2_1 + s3_6 * b3_1);
            let s0_7 = subgroupBroadcast(a3, 4u);
            let s1_7 = subgroupBroadcast(a3, 5u);
            let s2_7 = subgroupBroadcast(a3, 6u);
            let s3_7 = subgroupBroadcast(a3, 7u);
            acc7_0 += (s0_7 * b0_0 + s1_7 * b1_0) + (s2_7 * b2_0 + s3_7 * b3_0);
            acc7_1 += (s0_7 * b0_1 + s1_7 * b1_1) + (s2_7 * b2_1 + s3_7 * b3_1);
            let s0_8 = subgroupBroadcast(a4, 0u);
            let s1_8 = subgroupBroadcast(a4, 1u);
            let s2_8 = subgroupBroadcast(a4, 2u);
            let s3_8 = subgroupBroadcast(a4, 3u);
            acc8_0 += (s0_8 * b0_0 + s1_8 * b1_0) + (s2_8 * b2_0 + s3_8 * b3_0);
            acc8_1 += (s0_8 * b0_1 + s1_8 * b1_1) + (s2_8 * b2_1 + s3_8 * b3_1);
            let s0_9 = subgroupBroadcast(a4, 4u);
            let s1_9 = subgroupBroadcast(a4, 5u);
            let s2_9 = subgroupBroadcast(a4, 6u);
            let s3_9 = subgroupBroadcast(a4, 7u);
            acc9_0 += (s0_9 * b0_0 + s1_9 * b1_0) + (s2_9 * b2_0 + s3_9 * b3_0);
            acc9_1 += (s0_9 * b0_1 + s1_9 * b1_1) + (s2_9 * b2_1 + s3_9 * b3_1);
            let s0_10 = subgroupBroadcast(a5, 0u);
            let s1_10 = subgroupBroadcast(a5, 1u);
            let s2_10 = subgroupBroadcast(a5, 2u);
            let s3_10 = subgroupBroadcast(a5, 3u);
            acc10_0 += (s0_10 * b0_0 + s1_10 * b1_0) + (s2_10 * b2_0 + s3_10 * b3_0);
            acc10_1 += (s0_10 * b0_1 + s1_10 * b1_1) + (s2_10 * b2_1 + s3_10 * b3_1);
            let s0_11 = subgroupBroadcast(a5, 4u);
            let s1_11 = subgroupBroadcast(a5, 5u);
            let s2_11 = subgroupBroadcast(a5, 6u);
            let s3_11 = subgroupBroadcast(a5, 7u);
            acc11_0 += (s0_11 * b0_0 + s1_11 * b1_0) + (s2_11 * b2_0 + s3_11 * b3_0);
            acc11_1 += (s0_11 * b0_1 + s1_11 * b1_1) + (s2_11 * b2_1 + s3_11 * b3_1);
            let s0_12 = subgroupBroadcast(a6, 0u);
            let s1_12 = subgroupBroadcast(a6, 1u);
            let s2_12 = subgroupBroadcast(a6, 2u);
            let s3_12 = subgroupBroadcast(a6, 3u);
            acc12_0 += (s0_12 * b0_0 + s1_12 * b1_0) + (s2_12 * b2_0 + s3_12 * b3_0);
            acc12_1 += (s0_12 * b0_1 + s1_12 * b1_1) + (s2_12 * b2_1 + s3_12 * b3_1);
            let s0_13 = subgroupBroadcast(a6, 4u);
            let s1_13 = subgroupBroadcast(a6, 5u);
            let s2_13 = subgroupBroadcast(a6, 6u);
            let s3_13 = subgroupBroadcast(a6, 7u);
            acc13_0 += (s0_13 * b0_0 + s1_13 * b1_0) + (s2_13 * b2_0 + s3_13 * b3_0);
            acc13_1 += (s0_13 * b0_1 + s1_13 * b1_1) + (s2_13 * b2_1 + s3_13 * b3_1);
            let s0_14 = subgroupBroadcast(a7, 0u);
            let s1_14 = subgroupBroadcast(a7, 1u);
            let s2_14 = subgroupBroadcast(a7, 2u);
            let s3_14 = subgroupBroadcast(a7, 3u);
            acc14_0 += (s0_14 * b0_0 + s1_14 * b1_0) + (s2_14 * b2_0 + s3_14 * b3_0);
            acc14_1 += (s0_14 * b0_1 + s1_14 * b1_1) + (s2_14 * b2_1 + s3_14 * b3_1);
            let s0_15 = subgroupBroadcast(a7, 4u);
            let s1_15 = subgroupBroadcast(a7, 5u);
            let s2_15 = subgroupBroadcast(a7, 6u);
            let s3_15 = subgroupBroadcast(a7, 7u);
            acc15_0 += (s0_15 * b0_0 + s1_15 * b1_0) + (s2_15 * b2_0 + s3_15 * b3_0);
            acc15_1 += (s0_15 * b0_1 + s1_15 * b1_1) + (s2_15 * b2_1 + s3_15 * b3_1);
        }
    }
    if sp.windows > 2u {
        var ak = ab;
        for (var kb = 0u; kb < kc; kb += 4u) {
            let ia0 = ak;
            let a0 = sa2[ia0 >> 2u][ia0 & 3u];
            let ia1 = ak + 2u * sp.a_rs;
            let a1 = sa2[ia1 >> 2u][ia1 & 3u];
            let ia2 = ak + 4u * sp.a_rs;
            let a2 = sa2[ia2 >> 2u][ia2 & 3u];
            let ia3 = ak + 6u * sp.a_rs;
            let a3 = sa2[ia3 >> 2u][ia3 & 3u];
            let ia4 = ak + 8u * sp.a_rs;
            let a4 = sa2[ia4 >> 2u][ia4 & 3u];
            let ia5 = ak + 10u * sp.a_rs;
            let a5 = sa2[ia5 >> 2u][ia5 & 3u];
            let ia6 = ak + 12u * sp.a_rs;
            let a6 = sa2[ia6 >> 2u][ia6 & 3u];
            let ia7 = ak + 14u * sp.a_rs;
            let a7 = sa2[ia7 >> 2u][ia7 & 3u];
            ak += a_step;
            let bk0 = (kb + 0u) * sp.b_ks;
            let bi0_0 = bk0 + b_lo;
            let b0_0 = sb2[bi0_0 >> 2u][bi0_0 & 3u];
            let bi0_1 = bk0 + b_c1;
            let b0_1 = sb2[bi0_1 >> 2u][bi0_1 & 3u];
            let bk1 = (kb + 1u) * sp.b_ks;
            let bi1_0 = bk1 + b_lo;
            let b1_0 = sb2[bi1_0 >> 2u][bi1_0 & 3u];
            let bi1_1 = bk1 + b_c1;
            let b1_1 = sb2[bi1_1 >> 2u][bi1_1 & 3u];
            let bk2 = (kb + 2u) * sp.b_ks;
            let bi2_0 = bk2 + b_lo;
            let b2_0 = sb2[bi2_0 >> 2u][bi2_0 & 3u];
            let bi2_1 = bk2 + b_c1;
            let b2_1 = sb2[bi2_1 >> 2u][bi2_1 & 3u];
            let bk3 = (kb + 3u) * sp.b_ks;
            let bi3_0 = bk3 + b_lo;
            let b3_0 = sb2[bi3_0 >> 2u][bi3_0 & 3u];
            let bi3_1 = bk3 + b_c1;
            let b3_1 = sb2[bi3_1 >> 2u][bi3_1 & 3u];
            let s0_0 = subgroupBroadcast(a0, 0u);
            let s1_0 = subgroupBroadcast(a0, 1u);
            let s2_0 = subgroupBroadcast(a0, 2u);
            let s3_0 = subgroupBroadcast(a0, 3u);
            acc0_0 += (s0_0 * b0_0 + s1_0 * b1_0) + (s2_0 * b2_0 + s3_0 * b3_0);
            acc0_1 += (s0_0 * b0_1 + s1_0 * b1_1) + (s2_0 * b2_1 + s3_0 * b3_1);
            let s0_1 = subgroupBroadcast(a0, 4u);
            let s1_1 = subgroupBroadcast(a0, 5u);
            let s2_1 = subgroupBroadcast(a0, 6u);
            let s3_1 = subgroupBroadcast(a0, 7u);
            acc1_0 += (s0_1 * b0_0 + s1_1 * b1_0) + (s2_1 * b2_0 + s3_1 * b3_0);
            acc1_1 += (s0_1 * b0_1 + s1_1 * b1_1) + (s2_1 * b2_1 + s3_1 * b3_1);
            let s0_2 = subgroupBroadcast(a1, 0u);
            let s1_2 = subgroupBroadcast(a1, 1u);
            let s2_2 = subgroupBroadcast(a1, 2u);
            let s3_2 = subgroupBroadcast(a1, 3u);
            acc2_0 += (s0_2 * b0_0 + s1_2 * b1_0) + (s2_2 * b2_0 + s3_2 * b3_0);
            acc2_1 += (s0_2 * b0_1 + s1_2 * b1_1) + (s2_2 * b2_1 + s3_2 * b3_1);
            let s0_3 = subgroupBroadcast(a1, 4u);
            let s1_3 = subgroupBroadcast(a1, 5u);
            let s2_3 = subgroupBroadcast(a1, 6u);
            let s3_3 = subgroupBroadcast(a1, 7u);
            acc3_0 += (s0_3 * b0_0 + s1_3 * b1_0) + (s2_3 * b2_0 + s3_3 * b3_0);
            acc3_1 += (s0_3 * b0_1 + s1_3 * b1_1) + (s2_3 * b2_1 + s3_3 * b3_1);
            let s0_4 = subgroupBroadcast(a2, 0u);
            let s1_4 = subgroupBroadcast(a2, 1u);
            let s2_4 = subgroupBroadcast(a2, 2u);
            let s3_4 = subgroupBroadcast(a2, 3u);
            acc4_0 += (s0_4 * b0_0 + s1_4 * b1_0) + (s2_4 * b2_0 + s3_4 * b3_0);
            acc4_1 += (s0_4 * b0_1 + s1_4 * b1_1) + (s2_4 * b2_1 + s3_4 * b3_1);
            let s0_5 = subgroupBroadcast(a2, 4u);
            let s1_5 = subgroupBroadcast(a2, 5u);
            let s2_5 = subgroupBroadcast(a2, 6u);
            let s3_5 = subgroupBroadcast(a2, 7u);
            acc5_0 += (s0_5 * b0_0 + s1_5 * b1_0) + (s2_5 * b2_0 + s3_5 * b3_0);
            acc5_1 += (s0_5 * b0_1 + s1_5 * b1_1) + (s2_5 * b2_1 + s3_5 * b3_1);
            let s0_6 = subgroupBroadcast(a3, 0u);
            let s1_6 = subgroupBroadcast(a3, 1u);
            let s2_6 = subgroupBroadcast(a3, 2u);
            let s3_6 = subgroupBroadcast(a3, 3u);
            acc6_0 += (s0_6 * b0_0 + s1_6 * b1_0) + (s2_6 * b2_0 + s3_6 * b3_0);
            acc6_1 += (s0_6 * b0_1 + s1_6 * b1_1) + (s2_6 * b2_1 + s3_6 * b3_1);
            let s0_7 = subgroupBroadcast(a3, 4u);
            let s1_7 = subgroupBroadcast(a3, 5u);
            let s2_7 = subgroupBroadcast(a3, 6u);
            let s3_7 = subgroupBroadcast(a3, 7u);
            acc7_0 += (s0_7 * b0_0 + s1_7 * b1_0) + (s2_7 * b2_0 + s3_7 * b3_0);
            acc7_1 += (s0_7 * b0_1 + s1_7 * b1_1) + (s2_7 * b2_1 + s3_7 * b3_1);
            let s0_8 = subgroupBroadcast(a4, 0u);
            let s1_8 = subgroupBroadcast(a4, 1u);
            let s2_8 = subgroupBroadcast(a4, 2u);
            let s3_8 = subgroupBroadcast(a4, 3u);
            acc8_0 += (s0_8 * b0_0 + s1_8 * b1_0) + (s2_8 * b2_0 + s3_8 * b3_0);
            acc8_1 += (s0_8 * b0_1 + s1_8 * b1_1) + (s2_8 * b2_1 + s3_8 * b3_1);
            let s0_9 = subgroupBroadcast(a4, 4u);
            let s1_9 = subgroupBroadcast(a4, 5u);
            let s2_9 = subgroupBroadcast(a4, 6u);
            let s3_9 = subgroupBroadcast(a4, 7u);
            acc9_0 += (s0_9 * b0_0 + s1_9 * b1_0) + (s2_9 * b2_0 + s3_9 * b3_0);
            acc9_1 += (s0_9 * b0_1 + s1_9 * b1_1) + (s2_9 * b2_1 + s3_9 * b3_1);
            let s0_10 = subgroupBroadcast(a5, 0u);
            let s1_10 = subgroupBroadcast(a5, 1u);
            let s2_10 = subgroupBroadcast(a5, 2u);
            let s3_10 = subgroupBroadcast(a5, 3u);
            acc10_0 += (s0_10 * b0_0 + s1_10 * b1_0) + (s2_10 * b2_0 + s3_10 * b3_0);
            acc10_1 += (s0_10 * b0_1 + s1_10 * b1_1) + (s2_10 * b2_1 + s3_10 * b3_1);
            let s0_11 = subgroupBroadcast(a5, 4u);
            let s1_11 = subgroupBroadcast(a5, 5u);
            let s2_11 = subgroupBroadcast(a5, 6u);
            let s3_11 = subgroupBroadcast(a5, 7u);
            acc11_0 += (s0_11 * b0_0 + s1_11 * b1_0) + (s2_11 * b2_0 + s3_11 * b3_0);
            acc11_1 += (s0_11 * b0_1 + s1_11 * b1_1) + (s2_11 * b2_1 + s3_11 * b3_1);
            let s0_12 = subgroupBroadcast(a6, 0u);
            let s1_12 = subgroupBroadcast(a6, 1u);
            let s2_12 = subgroupBroadcast(a6, 2u);
            let s3_12 = subgroupBroadcast(a6, 3u);
            acc12_0 += (s0_12 * b0_0 + s1_12 * b1_0) + (s2_12 * b2_0 + s3_12 * b3_0);
            acc12_1 += (s0_12 * b0_1 + s1_12 * b1_1) + (s2_12 * b2_1 + s3_12 * b3_1);
            let s0_13 = subgroupBroadcast(a6, 4u);
            let s1_13 = subgroupBroadcast(a6, 5u);
            let s2_13 = subgroupBroadcast(a6, 6u);
            let s3_13 = subgroupBroadcast(a6, 7u);
            acc13_0 += (s0_13 * b0_0 + s1_13 * b1_0) + (s2_13 * b2_0 + s3_13 * b3_0);
            acc13_1 += (s0_13 * b0_1 + s1_13 * b1_1) + (s2_13 * b2_1 + s3_13 * b3_1);
            let s0_14 = subgroupBroadcast(a7, 0u);
            let s1_14 = subgroupBroadcast(a7, 1u);
            let s2_14 = subgroupBroadcast(a7, 2u);
            let s3_14 = subgroupBroadcast(a7, 3u);
            acc14_0 += (s0_14 * b0_0 + s1_14 * b1_0) + (s2_14 * b2_0 + s3_14 * b3_0);
            acc14_1 += (s0_14 * b0_1 + s1_14 * b1_1) + (s2_14 * b2_1 + s3_14 * b3_1);
            let s0_15 = subgroupBroadcast(a7, 4u);
            let s1_15 = subgroupBroadcast(a7, 5u);
            let s2_15 = subgroupBroadcast(a7, 6u);
            let s3_15 = subgroupBroadcast(a7, 7u);
            acc15_0 += (s0_15 * b0_0 + s1_15 * b1_0) + (s2_15 * b2_0 + s3_15 * b3_0);
            acc15_1 += (s0_15 * b0_1 + s1_15 * b1_1) + (s2_15 * b2_1 + s3_15 * b3_1);
        }
    }
    // One store site in a loop: llvmpipe compiles each storage access as a
    // loop over the lanes, so spelled-out stores cost most of the JIT time.
    // Scalars: an array of vec2 here doubled the JIT time (1.3–1.6 s).
    var out: array<f32, 32>;
    out[0] = acc0_0;
    out[1] = acc0_1;
    out[2] = acc1_0;
    out[3] = acc1_1;
    out[4] = acc2_0;
    out[5] = acc2_1;
    out[6] = acc3_0;
    out[7] = acc3_1;
    out[8] = acc4_0;
    out[9] = acc4_1;
    out[10] = acc5_0;
    out[11] = acc5_1;
    out[12] = acc6_0;
    out[13] = acc6_1;
    out[14] = acc7_0;
    out[15] = acc7_1;
    out[16] = acc8_0;
    out[17] = acc8_1;
    out[18] = acc9_0;
    out[19] = acc9_1;
    out[20] = acc10_0;
    out[21] = acc10_1;
    out[22] = acc11_0;
    out[23] = acc11_1;
    out[24] = acc12_0;
    out[25] = acc12_1;
    out[26] = acc13_0;
    out[27] = acc13_1;
    out[28] = acc14_0;
    out[29] = acc14_1;
    out[30] = acc15_0;
    out[31] = acc15_1;
    for (var r = 0u; r < 16u; r++) {
        store_c2(r0 + r, c0, vec2<f32>(out[2u * r], out[2u * r + 1u]));
    }
}

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
}
