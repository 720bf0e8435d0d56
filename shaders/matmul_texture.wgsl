// Dense products on CPU adapters (llvmpipe), C = op(A)·op(B) (+ bias) (then
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
// the subgroup size is exactly 8) and computes a 16 × 32 block of C: lane l
// the columns 4l .. 4l + 3 of each of 16 rows. A step takes 4 k values: each
// fetch of A brings 4 floats of it that subgroupBroadcast shares across the
// lanes; each fetch of B brings the lane's own 4. Rows and columns past C's
// edges compute on whatever the texture holds there and are never stored.
// Needs k, n (and m where A is transposed) multiples of 4.
//
// shaders/matmul_texture.py writes this file; change that and rerun it.

struct TxParams {
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
}

@group(0) @binding(0) var tex_a: texture_storage_2d<rgba32float, read>;
@group(0) @binding(1) var tex_b: texture_storage_2d<rgba32float, read>;
@group(0) @binding(2) var<storage, read> tbias4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> tc4: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> tp: TxParams;

fn fetch_a(t: u32) -> vec4<f32> {
    return textureLoad(tex_a, vec2<u32>(t & 63u, t >> 6u));
}

fn fetch_b(t: u32) -> vec4<f32> {
    return textureLoad(tex_b, vec2<u32>(t & 63u, t >> 6u));
}

// Row r's four columns from c0 plus `bias`, then ReLU: one vec4 store.
fn store_c4(r: u32, c0: u32, value: vec4<f32>, bias: vec4<f32>) {
    if r < tp.m {
        var v = value + bias;
        if tp.relu == 1u {
            v = max(v, vec4<f32>(0.0));
        }
        tc4[(r * tp.n + c0) / 4u] = v;
    }
}


// A (m, k) row-major; B either way (tp.trans_b).
@compute @workgroup_size(8, 1, 1)
fn matmul_texture_n(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(subgroup_invocation_id) l: u32,
) {
    let r0 = wid.x * 16u;
    let c0 = wid.y * 32u + 4u * l;
    var acc0_0 = 0.0; var acc0_1 = 0.0; var acc0_2 = 0.0; var acc0_3 = 0.0;
    var acc1_0 = 0.0; var acc1_1 = 0.0; var acc1_2 = 0.0; var acc1_3 = 0.0;
    var acc2_0 = 0.0; var acc2_1 = 0.0; var acc2_2 = 0.0; var acc2_3 = 0.0;
    var acc3_0 = 0.0; var acc3_1 = 0.0; var acc3_2 = 0.0; var acc3_3 = 0.0;
    var acc4_0 = 0.0; var acc4_1 = 0.0; var acc4_2 = 0.0; var acc4_3 = 0.0;
    var acc5_0 = 0.0; var acc5_1 = 0.0; var acc5_2 = 0.0; var acc5_3 = 0.0;
    var acc6_0 = 0.0; var acc6_1 = 0.0; var acc6_2 = 0.0; var acc6_3 = 0.0;
    var acc7_0 = 0.0; var acc7_1 = 0.0; var acc7_2 = 0.0; var acc7_3 = 0.0;
    var acc8_0 = 0.0; var acc8_1 = 0.0; var acc8_2 = 0.0; var acc8_3 = 0.0;
    var acc9_0 = 0.0; var acc9_1 = 0.0; var acc9_2 = 0.0; var acc9_3 = 0.0;
    var acc10_0 = 0.0; var acc10_1 = 0.0; var acc10_2 = 0.0; var acc10_3 = 0.0;
    var acc11_0 = 0.0; var acc11_1 = 0.0; var acc11_2 = 0.0; var acc11_3 = 0.0;
    var acc12_0 = 0.0; var acc12_1 = 0.0; var acc12_2 = 0.0; var acc12_3 = 0.0;
    var acc13_0 = 0.0; var acc13_1 = 0.0; var acc13_2 = 0.0; var acc13_3 = 0.0;
    var acc14_0 = 0.0; var acc14_1 = 0.0; var acc14_2 = 0.0; var acc14_3 = 0.0;
    var acc15_0 = 0.0; var acc15_1 = 0.0; var acc15_2 = 0.0; var acc15_3 = 0.0;
    // Lane l fetches k values kb .. kb + 3 of rows r0 + l + 8q.
    var pa0 = ((r0 + 0u + l) * tp.k) / 4u;
    var pa1 = ((r0 + 8u + l) * tp.k) / 4u;
    var pb = (c0 / 4u) * tp.b_col;
    let tb = tp.trans_b == 1u;
    for (var kb = 0u; kb < tp.k; kb += 4u) {
        let a0 = fetch_a(pa0);
        pa0 += 1u;
        let a1 = fetch_a(pa1);
        pa1 += 1u;
        let f0 = fetch_b(pb);
        let f1 = fetch_b(pb + tp.b_fetch);
        let f2 = fetch_b(pb + 2u * tp.b_fetch);
        let f3 = fetch_b(pb + 3u * tp.b_fetch);
        pb += tp.b_step;
        let b0_0 = f0[0];
        let b0_1 = select(f0[1], f1[0], tb);
        let b0_2 = select(f0[2], f2[0], tb);
        let b0_3 = select(f0[3], f3[0], tb);
        let b1_0 = select(f1[0], f0[1], tb);
        let b1_1 = f1[1];
        let b1_2 = select(f1[2], f2[1], tb);
        let b1_3 = select(f1[3], f3[1], tb);
        let b2_0 = select(f2[0], f0[2], tb);
        let b2_1 = select(f2[1], f1[2], tb);
        let b2_2 = f2[2];
        let b2_3 = select(f2[3], f3[2], tb);
        let b3_0 = select(f3[0], f0[3], tb);
        let b3_1 = select(f3[1], f1[3], tb);
        let b3_2 = select(f3[2], f2[3], tb);
        let b3_3 = f3[3];
        let s0_0 = subgroupBroadcast(a0[0], 0u);
        let s1_0 = subgroupBroadcast(a0[1], 0u);
        let s2_0 = subgroupBroadcast(a0[2], 0u);
        let s3_0 = subgroupBroadcast(a0[3], 0u);
        acc0_0 += (s0_0 * b0_0 + s1_0 * b1_0) + (s2_0 * b2_0 + s3_0 * b3_0);
        acc0_1 += (s0_0 * b0_1 + s1_0 * b1_1) + (s2_0 * b2_1 + s3_0 * b3_1);
        acc0_2 += (s0_0 * b0_2 + s1_0 * b1_2) + (s2_0 * b2_2 + s3_0 * b3_2);
        acc0_3 += (s0_0 * b0_3 + s1_0 * b1_3) + (s2_0 * b2_3 + s3_0 * b3_3);
        let s0_1 = subgroupBroadcast(a0[0], 1u);
        let s1_1 = subgroupBroadcast(a0[1], 1u);
        let s2_1 = subgroupBroadcast(a0[2], 1u);
        let s3_1 = subgroupBroadcast(a0[3], 1u);
        acc1_0 += (s0_1 * b0_0 + s1_1 * b1_0) + (s2_1 * b2_0 + s3_1 * b3_0);
        acc1_1 += (s0_1 * b0_1 + s1_1 * b1_1) + (s2_1 * b2_1 + s3_1 * b3_1);
        acc1_2 += (s0_1 * b0_2 + s1_1 * b1_2) + (s2_1 * b2_2 + s3_1 * b3_2);
        acc1_3 += (s0_1 * b0_3 + s1_1 * b1_3) + (s2_1 * b2_3 + s3_1 * b3_3);
        let s0_2 = subgroupBroadcast(a0[0], 2u);
        let s1_2 = subgroupBroadcast(a0[1], 2u);
        let s2_2 = subgroupBroadcast(a0[2], 2u);
        let s3_2 = subgroupBroadcast(a0[3], 2u);
        acc2_0 += (s0_2 * b0_0 + s1_2 * b1_0) + (s2_2 * b2_0 + s3_2 * b3_0);
        acc2_1 += (s0_2 * b0_1 + s1_2 * b1_1) + (s2_2 * b2_1 + s3_2 * b3_1);
        acc2_2 += (s0_2 * b0_2 + s1_2 * b1_2) + (s2_2 * b2_2 + s3_2 * b3_2);
        acc2_3 += (s0_2 * b0_3 + s1_2 * b1_3) + (s2_2 * b2_3 + s3_2 * b3_3);
        let s0_3 = subgroupBroadcast(a0[0], 3u);
        let s1_3 = subgroupBroadcast(a0[1], 3u);
        let s2_3 = subgroupBroadcast(a0[2], 3u);
        let s3_3 = subgroupBroadcast(a0[3], 3u);
        acc3_0 += (s0_3 * b0_0 + s1_3 * b1_0) + (s2_3 * b2_0 + s3_3 * b3_0);
        acc3_1 += (s0_3 * b0_1 + s1_3 * b1_1) + (s2_3 * b2_1 + s3_3 * b3_1);
        acc3_2 += (s0_3 * b0_2 + s1_3 * b1_2) + (s2_3 * b2_2 + s3_3 * b3_2);
        acc3_3 += (s0_3 * b0_3 + s1_3 * b1_3) + (s2_3 * b2_3 + s3_3 * b3_3);
        let s0_4 = subgroupBroadcast(a0[0], 4u);
        let s1_4 = subgroupBroadcast(a0[1], 4u);
        let s2_4 = subgroupBroadcast(a0[2], 4u);
        let s3_4 = subgroupBroadcast(a0[3], 4u);
        acc4_0 += (s0_4 * b0_0 + s1_4 * b1_0) + (s2_4 * b2_0 + s3_4 * b3_0);
        acc4_1 += (s0_4 * b0_1 + s1_4 * b1_1) + (s2_4 * b2_1 + s3_4 * b3_1);
        acc4_2 += (s0_4 * b0_2 + s1_4 * b1_2) + (s2_4 * b2_2 + s3_4 * b3_2);
        acc4_3 += (s0_4 * b0_3 + s1_4 * b1_3) + (s2_4 * b2_3 + s3_4 * b3_3);
        let s0_5 = subgroupBroadcast(a0[0], 5u);
        let s1_5 = subgroupBroadcast(a0[1], 5u);
        let s2_5 = subgroupBroadcast(a0[2], 5u);
        let s3_5 = subgroupBroadcast(a0[3], 5u);
        acc5_0 += (s0_5 * b0_0 + s1_5 * b1_0) + (s2_5 * b2_0 + s3_5 * b3_0);
        acc5_1 += (s0_5 * b0_1 + s1_5 * b1_1) + (s2_5 * b2_1 + s3_5 * b3_1);
        acc5_2 += (s0_5 * b0_2 + s1_5 * b1_2) + (s2_5 * b2_2 + s3_5 * b3_2);
        acc5_3 += (s0_5 * b0_3 + s1_5 * b1_3) + (s2_5 * b2_3 + s3_5 * b3_3);
        let s0_6 = subgroupBroadcast(a0[0], 6u);
        let s1_6 = subgroupBroadcast(a0[1], 6u);
        let s2_6 = subgroupBroadcast(a0[2], 6u);
        let s3_6 = subgroupBroadcast(a0[3], 6u);
        acc6_0 += (s0_6 * b0_0 + s1_6 * b1_0) + (s2_6 * b2_0 + s3_6 * b3_0);
        acc6_1 += (s0_6 * b0_1 + s1_6 * b1_1) + (s2_6 * b2_1 + s3_6 * b3_1);
        acc6_2 += (s0_6 * b0_2 + s1_6 * b1_2) + (s2_6 * b2_2 + s3_6 * b3_2);
        acc6_3 += (s0_6 * b0_3 + s1_6 * b1_3) + (s2_6 * b2_3 + s3_6 * b3_3);
        let s0_7 = subgroupBroadcast(a0[0], 7u);
        let s1_7 = subgroupBroadcast(a0[1], 7u);
        let s2_7 = subgroupBroadcast(a0[2], 7u);
        let s3_7 = subgroupBroadcast(a0[3], 7u);
        acc7_0 += (s0_7 * b0_0 + s1_7 * b1_0) + (s2_7 * b2_0 + s3_7 * b3_0);
        acc7_1 += (s0_7 * b0_1 + s1_7 * b1_1) + (s2_7 * b2_1 + s3_7 * b3_1);
        acc7_2 += (s0_7 * b0_2 + s1_7 * b1_2) + (s2_7 * b2_2 + s3_7 * b3_2);
        acc7_3 += (s0_7 * b0_3 + s1_7 * b1_3) + (s2_7 * b2_3 + s3_7 * b3_3);
        let s0_8 = subgroupBroadcast(a1[0], 0u);
        let s1_8 = subgroupBroadcast(a1[1], 0u);
        let s2_8 = subgroupBroadcast(a1[2], 0u);
        let s3_8 = subgroupBroadcast(a1[3], 0u);
        acc8_0 += (s0_8 * b0_0 + s1_8 * b1_0) + (s2_8 * b2_0 + s3_8 * b3_0);
        acc8_1 += (s0_8 * b0_1 + s1_8 * b1_1) + (s2_8 * b2_1 + s3_8 * b3_1);
        acc8_2 += (s0_8 * b0_2 + s1_8 * b1_2) + (s2_8 * b2_2 + s3_8 * b3_2);
        acc8_3 += (s0_8 * b0_3 + s1_8 * b1_3) + (s2_8 * b2_3 + s3_8 * b3_3);
        let s0_9 = subgroupBroadcast(a1[0], 1u);
        let s1_9 = subgroupBroadcast(a1[1], 1u);
        let s2_9 = subgroupBroadcast(a1[2], 1u);
        let s3_9 = subgroupBroadcast(a1[3], 1u);
        acc9_0 += (s0_9 * b0_0 + s1_9 * b1_0) + (s2_9 * b2_0 + s3_9 * b3_0);
        acc9_1 += (s0_9 * b0_1 + s1_9 * b1_1) + (s2_9 * b2_1 + s3_9 * b3_1);
        acc9_2 += (s0_9 * b0_2 + s1_9 * b1_2) + (s2_9 * b2_2 + s3_9 * b3_2);
        acc9_3 += (s0_9 * b0_3 + s1_9 * b1_3) + (s2_9 * b2_3 + s3_9 * b3_3);
        let s0_10 = subgroupBroadcast(a1[0], 2u);
        let s1_10 = subgroupBroadcast(a1[1], 2u);
        let s2_10 = subgroupBroadcast(a1[2], 2u);
        let s3_10 = subgroupBroadcast(a1[3], 2u);
        acc10_0 += (s0_10 * b0_0 + s1_10 * b1_0) + (s2_10 * b2_0 + s3_10 * b3_0);
        acc10_1 += (s0_10 * b0_1 + s1_10 * b1_1) + (s2_10 * b2_1 + s3_10 * b3_1);
        acc10_2 += (s0_10 * b0_2 + s1_10 * b1_2) + (s2_10 * b2_2 + s3_10 * b3_2);
        acc10_3 += (s0_10 * b0_3 + s1_10 * b1_3) + (s2_10 * b2_3 + s3_10 * b3_3);
        let s0_11 = subgroupBroadcast(a1[0], 3u);
        let s1_11 = subgroupBroadcast(a1[1], 3u);
        let s2_11 = subgroupBroadcast(a1[2], 3u);
        let s3_11 = subgroupBroadcast(a1[3], 3u);
        acc11_0 += (s0_11 * b0_0 + s1_11 * b1_0) + (s2_11 * b2_0 + s3_11 * b3_0);
        acc11_1 += (s0_11 * b0_1 + s1_11 * b1_1) + (s2_11 * b2_1 + s3_11 * b3_1);
        acc11_2 += (s0_11 * b0_2 + s1_11 * b1_2) + (s2_11 * b2_2 + s3_11 * b3_2);
        acc11_3 += (s0_11 * b0_3 + s1_11 * b1_3) + (s2_11 * b2_3 + s3_11 * b3_3);
        let s0_12 = subgroupBroadcast(a1[0], 4u);
        let s1_12 = subgroupBroadcast(a1[1], 4u);
        let s2_12 = subgroupBroadcast(a1[2], 4u);
        let s3_12 = subgroupBroadcast(a1[3], 4u);
        acc12_0 += (s0_12 * b0_0 + s1_12 * b1_0) + (s2_12 * b2_0 + s3_12 * b3_0);
        acc12_1 += (s0_12 * b0_1 + s1_12 * b1_1) + (s2_12 * b2_1 + s3_12 * b3_1);
        acc12_2 += (s0_12 * b0_2 + s1_12 * b1_2) + (s2_12 * b2_2 + s3_12 * b3_2);
        acc12_3 += (s0_12 * b0_3 + s1_12 * b1_3) + (s2_12 * b2_3 + s3_12 * b3_3);
        let s0_13 = subgroupBroadcast(a1[0], 5u);
        let s1_13 = subgroupBroadcast(a1[1], 5u);
        let s2_13 = subgroupBroadcast(a1[2], 5u);
        let s3_13 = subgroupBroadcast(a1[3], 5u);
        acc13_0 += (s0_13 * b0_0 + s1_13 * b1_0) + (s2_13 * b2_0 + s3_13 * b3_0);
        acc13_1 += (s0_13 * b0_1 + s1_13 * b1_1) + (s2_13 * b2_1 + s3_13 * b3_1);
        acc13_2 += (s0_13 * b0_2 + s1_13 * b1_2) + (s2_13 * b2_2 + s3_13 * b3_2);
        acc13_3 += (s0_13 * b0_3 + s1_13 * b1_3) + (s2_13 * b2_3 + s3_13 * b3_3);
        let s0_14 = subgroupBroadcast(a1[0], 6u);
        let s1_14 = subgroupBroadcast(a1[1], 6u);
        let s2_14 = subgroupBroadcast(a1[2], 6u);
        let s3_14 = subgroupBroadcast(a1[3], 6u);
        acc14_0 += (s0_14 * b0_0 + s1_14 * b1_0) + (s2_14 * b2_0 + s3_14 * b3_0);
        acc14_1 += (s0_14 * b0_1 + s1_14 * b1_1) + (s2_14 * b2_1 + s3_14 * b3_1);
        acc14_2 += (s0_14 * b0_2 + s1_14 * b1_2) + (s2_14 * b2_2 + s3_14 * b3_2);
        acc14_3 += (s0_14 * b0_3 + s1_14 * b1_3) + (s2_14 * b2_3 + s3_14 * b3_3);
        let s0_15 = subgroupBroadcast(a1[0], 7u);
        let s1_15 = subgroupBroadcast(a1[1], 7u);
        let s2_15 = subgroupBroadcast(a1[2], 7u);
        let s3_15 = subgroupBroadcast(a1[3], 7u);
        acc15_0 += (s0_15 * b0_0 + s1_15 * b1_0) + (s2_15 * b2_0 + s3_15 * b3_0);
        acc15_1 += (s0_15 * b0_1 + s1_15 * b1_1) + (s2_15 * b2_1 + s3_15 * b3_1);
        acc15_2 += (s0_15 * b0_2 + s1_15 * b1_2) + (s2_15 * b2_2 + s3_15 * b3_2);
        acc15_3 += (s0_15 * b0_3 + s1_15 * b1_3) + (s2_15 * b2_3 + s3_15 * b3_3);
    }
    if c0 >= tp.n {
        return;
    }
    var bias = vec4<f32>(0.0);
    if tp.has_bias == 1u {
        bias = tbias4[c0 / 4u];
    }
    var r = r0;
    for (var i = 0u; i < tp.rows; i++) {
        store_c4(r, c0, vec4<f32>(acc0_0, acc0_1, acc0_2, acc0_3), bias);
        acc0_0 = acc1_0; acc0_1 = acc1_1; acc0_2 = acc1_2; acc0_3 = acc1_3;
        acc1_0 = acc2_0; acc1_1 = acc2_1; acc1_2 = acc2_2; acc1_3 = acc2_3;
        acc2_0 = acc3_0; acc2_1 = acc3_1; acc2_2 = acc3_2; acc2_3 = acc3_3;
        acc3_0 = acc4_0; acc3_1 = acc4_1; acc3_2 = acc4_2; acc3_3 = acc4_3;
        acc4_0 = acc5_0; acc4_1 = acc5_1; acc4_2 = acc5_2; acc4_3 = acc5_3;
        acc5_0 = acc6_0; acc5_1 = acc6_1; acc5_2 = acc6_2; acc5_3 = acc6_3;
        acc6_0 = acc7_0; acc6_1 = acc7_1; acc6_2 = acc7_2; acc6_3 = acc7_3;
        acc7_0 = acc8_0; acc7_1 = acc8_1; acc7_2 = acc8_2; acc7_3 = acc8_3;
        acc8_0 = acc9_0; acc8_1 = acc9_1; acc8_2 = acc9_2; acc8_3 = acc9_3;
        acc9_0 = acc10_0; acc9_1 = acc10_1; acc9_2 = acc10_2; acc9_3 = acc10_3;
        acc10_0 = acc11_0; acc10_1 = acc11_1; acc10_2 = acc11_2; acc10_3 = acc11_3;
        acc11_0 = acc12_0; acc11_1 = acc12_1; acc11_2 = acc12_2; acc11_3 = acc12_3;
        acc12_0 = acc13_0; acc12_1 = acc13_1; acc12_2 = acc13_2; acc12_3 = acc13_3;
        acc13_0 = acc14_0; acc13_1 = acc14_1; acc13_2 = acc14_2; acc13_3 = acc14_3;
        acc14_0 = acc15_0; acc14_1 = acc15_1; acc14_2 = acc15_2; acc14_3 = acc15_3;
        r += 1u;
    }
}

// A stored (k, m): dyᵀ·x; B either way (tp.trans_b).
@compute @workgroup_size(8, 1, 1)
fn matmul_texture_t(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(subgroup_invocation_id) l: u32,
) {
    let r0 = wid.x * 16u;
    let c0 = wid.y * 32u + 4u * l;
    var acc0_0 = 0.0; var acc0_1 = 0.0; var acc0_2 = 0.0; var acc0_3 = 0.0;
    var acc1_0 = 0.0; var acc1_1 = 0.0; var acc1_2 = 0.0; var acc1_3 = 0.0;
    var acc2_0 = 0.0; var acc2_1 = 0.0; var acc2_2 = 0.0; var acc2_3 = 0.0;
    var acc3_0 = 0.0; var acc3_1 = 0.0; var acc3_2 = 0.0; var acc3_3 = 0.0;
    var acc4_0 = 0.0; var acc4_1 = 0.0; var acc4_2 = 0.0; var acc4_3 = 0.0;
    var acc5_0 = 0.0; var acc5_1 = 0.0; var acc5_2 = 0.0; var acc5_3 = 0.0;
    var acc6_0 = 0.0; var acc6_1 = 0.0; var acc6_2 = 0.0; var acc6_3 = 0.0;
    var acc7_0 = 0.0; var acc7_1 = 0.0; var acc7_2 = 0.0; var acc7_3 = 0.0;
    var acc8_0 = 0.0; var acc8_1 = 0.0; var acc8_2 = 0.0; var acc8_3 = 0.0;
    var acc9_0 = 0.0; var acc9_1 = 0.0; var acc9_2 = 0.0; var acc9_3 = 0.0;
    var acc10_0 = 0.0; var acc10_1 = 0.0; var acc10_2 = 0.0; var acc10_3 = 0.0;
    var acc11_0 = 0.0; var acc11_1 = 0.0; var acc11_2 = 0.0; var acc11_3 = 0.0;
    var acc12_0 = 0.0; var acc12_1 = 0.0; var acc12_2 = 0.0; var acc12_3 = 0.0;
    var acc13_0 = 0.0; var acc13_1 = 0.0; var acc13_2 = 0.0; var acc13_3 = 0.0;
    var acc14_0 = 0.0; var acc14_1 = 0.0; var acc14_2 = 0.0; var acc14_3 = 0.0;
    var acc15_0 = 0.0; var acc15_1 = 0.0; var acc15_2 = 0.0; var acc15_3 = 0.0;
    // Lane l fetches rows r0 + 8q + 4(l / 4) .. + 3 of k value kb + l % 4.
    var pa0 = ((l & 3u) * tp.m + r0 + 0u + 4u * (l >> 2u)) / 4u;
    var pa1 = ((l & 3u) * tp.m + r0 + 8u + 4u * (l >> 2u)) / 4u;
    var pb = (c0 / 4u) * tp.b_col;
    let tb = tp.trans_b == 1u;
    for (var kb = 0u; kb < tp.k; kb += 4u) {
        let a0 = fetch_a(pa0);
        pa0 += tp.m;
        let a1 = fetch_a(pa1);
        pa1 += tp.m;
        let f0 = fetch_b(pb);
        let f1 = fetch_b(pb + tp.b_fetch);
        let f2 = fetch_b(pb + 2u * tp.b_fetch);
        let f3 = fetch_b(pb + 3u * tp.b_fetch);
        pb += tp.b_step;
        let b0_0 = f0[0];
        let b0_1 = select(f0[1], f1[0], tb);
        let b0_2 = select(f0[2], f2[0], tb);
        let b0_3 = select(f0[3], f3[0], tb);
        let b1_0 = select(f1[0], f0[1], tb);
        let b1_1 = f1[1];
        let b1_2 = select(f1[2], f2[1], tb);
        let b1_3 = select(f1[3], f3[1], tb);
        let b2_0 = select(f2[0], f0[2], tb);
        let b2_1 = select(f2[1], f1[2], tb);
        let b2_2 = f2[2];
        let b2_3 = select(f2[3], f3[2], tb);
        let b3_0 = select(f3[0], f0[3], tb);
        let b3_1 = select(f3[1], f1[3], tb);
        let b3_2 = select(f3[2], f2[3], tb);
        let b3_3 = f3[3];
        let s0_0 = subgroupBroadcast(a0[0], 0u);
        let s1_0 = subgroupBroadcast(a0[0], 1u);
        let s2_0 = subgroupBroadcast(a0[0], 2u);
        let s3_0 = subgroupBroadcast(a0[0], 3u);
        acc0_0 += (s0_0 * b0_0 + s1_0 * b1_0) + (s2_0 * b2_0 + s3_0 * b3_0);
        acc0_1 += (s0_0 * b0_1 + s1_0 * b1_1) + (s2_0 * b2_1 + s3_0 * b3_1);
        acc0_2 += (s0_0 * b0_2 + s1_0 * b1_2) + (s2_0 * b2_2 + s3_0 * b3_2);
        acc0_3 += (s0_0 * b0_3 + s1_0 * b1_3) + (s2_0 * b2_3 + s3_0 * b3_3);
        let s0_1 = subgroupBroadcast(a0[1], 0u);
        let s1_1 = subgroupBroadcast(a0[1], 1u);
        let s2_1 = subgroupBroadcast(a0[1], 2u);
        let s3_1 = subgroupBroadcast(a0[1], 3u);
        acc1_0 += (s0_1 * b0_0 + s1_1 * b1_0) + (s2_1 * b2_0 + s3_1 * b3_0);
        acc1_1 += (s0_1 * b0_1 + s1_1 * b1_1) + (s2_1 * b2_1 + s3_1 * b3_1);
        acc1_2 += (s0_1 * b0_2 + s1_1 * b1_2) + (s2_1 * b2_2 + s3_1 * b3_2);
        acc1_3 += (s0_1 * b0_3 + s1_1 * b1_3) + (s2_1 * b2_3 + s3_1 * b3_3);
        let s0_2 = subgroupBroadcast(a0[2], 0u);
        let s1_2 = subgroupBroadcast(a0[2], 1u);
        let s2_2 = subgroupBroadcast(a0[2], 2u);
        let s3_2 = subgroupBroadcast(a0[2], 3u);
        acc2_0 += (s0_2 * b0_0 + s1_2 * b1_0) + (s2_2 * b2_0 + s3_2 * b3_0);
        acc2_1 += (s0_2 * b0_1 + s1_2 * b1_1) + (s2_2 * b2_1 + s3_2 * b3_1);
        acc2_2 += (s0_2 * b0_2 + s1_2 * b1_2) + (s2_2 * b2_2 + s3_2 * b3_2);
        acc2_3 += (s0_2 * b0_3 + s1_2 * b1_3) + (s2_2 * b2_3 + s3_2 * b3_3);
        let s0_3 = subgroupBroadcast(a0[3], 0u);
        let s1_3 = subgroupBroadcast(a0[3], 1u);
        let s2_3 = subgroupBroadcast(a0[3], 2u);
        let s3_3 = subgroupBroadcast(a0[3], 3u);
        acc3_0 += (s0_3 * b0_0 + s1_3 * b1_0) + (s2_3 * b2_0 + s3_3 * b3_0);
        acc3_1 += (s0_3 * b0_1 + s1_3 * b1_1) + (s2_3 * b2_1 + s3_3 * b3_1);
        acc3_2 += (s0_3 * b0_2 + s1_3 * b1_2) + (s2_3 * b2_2 + s3_3 * b3_2);
        acc3_3 += (s0_3 * b0_3 + s1_3 * b1_3) + (s2_3 * b2_3 + s3_3 * b3_3);
        let s0_4 = subgroupBroadcast(a0[0], 4u);
        let s1_4 = subgroupBroadcast(a0[0], 5u);
        let s2_4 = subgroupBroadcast(a0[0], 6u);
        let s3_4 = subgroupBroadcast(a0[0], 7u);
        acc4_0 += (s0_4 * b0_0 + s1_4 * b1_0) + (s2_4 * b2_0 + s3_4 * b3_0);
        acc4_1 += (s0_4 * b0_1 + s1_4 * b1_1) + (s2_4 * b2_1 + s3_4 * b3_1);
        acc4_2 += (s0_4 * b0_2 + s1_4 * b1_2) + (s2_4 * b2_2 + s3_4 * b3_2);
        acc4_3 += (s0_4 * b0_3 + s1_4 * b1_3) + (s2_4 * b2_3 + s3_4 * b3_3);
        let s0_5 = subgroupBroadcast(a0[1], 4u);
        let s1_5 = subgroupBroadcast(a0[1], 5u);
        let s2_5 = subgroupBroadcast(a0[1], 6u);
        let s3_5 = subgroupBroadcast(a0[1], 7u);
        acc5_0 += (s0_5 * b0_0 + s1_5 * b1_0) + (s2_5 * b2_0 + s3_5 * b3_0);
        acc5_1 += (s0_5 * b0_1 + s1_5 * b1_1) + (s2_5 * b2_1 + s3_5 * b3_1);
        acc5_2 += (s0_5 * b0_2 + s1_5 * b1_2) + (s2_5 * b2_2 + s3_5 * b3_2);
        acc5_3 += (s0_5 * b0_3 + s1_5 * b1_3) + (s2_5 * b2_3 + s3_5 * b3_3);
        let s0_6 = subgroupBroadcast(a0[2], 4u);
        let s1_6 = subgroupBroadcast(a0[2], 5u);
        let s2_6 = subgroupBroadcast(a0[2], 6u);
        let s3_6 = subgroupBroadcast(a0[2], 7u);
        acc6_0 += (s0_6 * b0_0 + s1_6 * b1_0) + (s2_6 * b2_0 + s3_6 * b3_0);
        acc6_1 += (s0_6 * b0_1 + s1_6 * b1_1) + (s2_6 * b2_1 + s3_6 * b3_1);
        acc6_2 += (s0_6 * b0_2 + s1_6 * b1_2) + (s2_6 * b2_2 + s3_6 * b3_2);
        acc6_3 += (s0_6 * b0_3 + s1_6 * b1_3) + (s2_6 * b2_3 + s3_6 * b3_3);
        let s0_7 = subgroupBroadcast(a0[3], 4u);
        let s1_7 = subgroupBroadcast(a0[3], 5u);
        let s2_7 = subgroupBroadcast(a0[3], 6u);
        let s3_7 = subgroupBroadcast(a0[3], 7u);
        acc7_0 += (s0_7 * b0_0 + s1_7 * b1_0) + (s2_7 * b2_0 + s3_7 * b3_0);
        acc7_1 += (s0_7 * b0_1 + s1_7 * b1_1) + (s2_7 * b2_1 + s3_7 * b3_1);
        acc7_2 += (s0_7 * b0_2 + s1_7 * b1_2) + (s2_7 * b2_2 + s3_7 * b3_2);
        acc7_3 += (s0_7 * b0_3 + s1_7 * b1_3) + (s2_7 * b2_3 + s3_7 * b3_3);
        let s0_8 = subgroupBroadcast(a1[0], 0u);
        let s1_8 = subgroupBroadcast(a1[0], 1u);
        let s2_8 = subgroupBroadcast(a1[0], 2u);
        let s3_8 = subgroupBroadcast(a1[0], 3u);
        acc8_0 += (s0_8 * b0_0 + s1_8 * b1_0) + (s2_8 * b2_0 + s3_8 * b3_0);
        acc8_1 += (s0_8 * b0_1 + s1_8 * b1_1) + (s2_8 * b2_1 + s3_8 * b3_1);
        acc8_2 += (s0_8 * b0_2 + s1_8 * b1_2) + (s2_8 * b2_2 + s3_8 * b3_2);
        acc8_3 += (s0_8 * b0_3 + s1_8 * b1_3) + (s2_8 * b2_3 + s3_8 * b3_3);
        let s0_9 = subgroupBroadcast(a1[1], 0u);
        let s1_9 = subgroupBroadcast(a1[1], 1u);
        let s2_9 = subgroupBroadcast(a1[1], 2u);
        let s3_9 = subgroupBroadcast(a1[1], 3u);
        acc9_0 += (s0_9 * b0_0 + s1_9 * b1_0) + (s2_9 * b2_0 + s3_9 * b3_0);
        acc9_1 += (s0_9 * b0_1 + s1_9 * b1_1) + (s2_9 * b2_1 + s3_9 * b3_1);
        acc9_2 += (s0_9 * b0_2 + s1_9 * b1_2) + (s2_9 * b2_2 + s3_9 * b3_2);
        acc9_3 += (s0_9 * b0_3 + s1_9 * b1_3) + (s2_9 * b2_3 + s3_9 * b3_3);
        let s0_10 = subgroupBroadcast(a1[2], 0u);
        let s1_10 = subgroupBroadcast(a1[2], 1u);
        let s2_10 = subgroupBroadcast(a1[2], 2u);
        let s3_10 = subgroupBroadcast(a1[2], 3u);
        acc10_0 += (s0_10 * b0_0 + s1_10 * b1_0) + (s2_10 * b2_0 + s3_10 * b3_0);
        acc10_1 += (s0_10 * b0_1 + s1_10 * b1_1) + (s2_10 * b2_1 + s3_10 * b3_1);
        acc10_2 += (s0_10 * b0_2 + s1_10 * b1_2) + (s2_10 * b2_2 + s3_10 * b3_2);
        acc10_3 += (s0_10 * b0_3 + s1_10 * b1_3) + (s2_10 * b2_3 + s3_10 * b3_3);
        let s0_11 = subgroupBroadcast(a1[3], 0u);
        let s1_11 = subgroupBroadcast(a1[3], 1u);
        let s2_11 = subgroupBroadcast(a1[3], 2u);
        let s3_11 = subgroupBroadcast(a1[3], 3u);
        acc11_0 += (s0_11 * b0_0 + s1_11 * b1_0) + (s2_11 * b2_0 + s3_11 * b3_0);
        acc11_1 += (s0_11 * b0_1 + s1_11 * b1_1) + (s2_11 * b2_1 + s3_11 * b3_1);
        acc11_2 += (s0_11 * b0_2 + s1_11 * b1_2) + (s2_11 * b2_2 + s3_11 * b3_2);
        acc11_3 += (s0_11 * b0_3 + s1_11 * b1_3) + (s2_11 * b2_3 + s3_11 * b3_3);
        let s0_12 = subgroupBroadcast(a1[0], 4u);
        let s1_12 = subgroupBroadcast(a1[0], 5u);
        let s2_12 = subgroupBroadcast(a1[0], 6u);
        let s3_12 = subgroupBroadcast(a1[0], 7u);
        acc12_0 += (s0_12 * b0_0 + s1_12 * b1_0) + (s2_12 * b2_0 + s3_12 * b3_0);
        acc12_1 += (s0_12 * b0_1 + s1_12 * b1_1) + (s2_12 * b2_1 + s3_12 * b3_1);
        acc12_2 += (s0_12 * b0_2 + s1_12 * b1_2) + (s2_12 * b2_2 + s3_12 * b3_2);
        acc12_3 += (s0_12 * b0_3 + s1_12 * b1_3) + (s2_12 * b2_3 + s3_12 * b3_3);
        let s0_13 = subgroupBroadcast(a1[1], 4u);
        let s1_13 = subgroupBroadcast(a1[1], 5u);
        let s2_13 = subgroupBroadcast(a1[1], 6u);
        let s3_13 = subgroupBroadcast(a1[1], 7u);
        acc13_0 += (s0_13 * b0_0 + s1_13 * b1_0) + (s2_13 * b2_0 + s3_13 * b3_0);
        acc13_1 += (s0_13 * b0_1 + s1_13 * b1_1) + (s2_13 * b2_1 + s3_13 * b3_1);
        acc13_2 += (s0_13 * b0_2 + s1_13 * b1_2) + (s2_13 * b2_2 + s3_13 * b3_2);
        acc13_3 += (s0_13 * b0_3 + s1_13 * b1_3) + (s2_13 * b2_3 + s3_13 * b3_3);
        let s0_14 = subgroupBroadcast(a1[2], 4u);
        let s1_14 = subgroupBroadcast(a1[2], 5u);
        let s2_14 = subgroupBroadcast(a1[2], 6u);
        let s3_14 = subgroupBroadcast(a1[2], 7u);
        acc14_0 += (s0_14 * b0_0 + s1_14 * b1_0) + (s2_14 * b2_0 + s3_14 * b3_0);
        acc14_1 += (s0_14 * b0_1 + s1_14 * b1_1) + (s2_14 * b2_1 + s3_14 * b3_1);
        acc14_2 += (s0_14 * b0_2 + s1_14 * b1_2) + (s2_14 * b2_2 + s3_14 * b3_2);
        acc14_3 += (s0_14 * b0_3 + s1_14 * b1_3) + (s2_14 * b2_3 + s3_14 * b3_3);
        let s0_15 = subgroupBroadcast(a1[3], 4u);
        let s1_15 = subgroupBroadcast(a1[3], 5u);
        let s2_15 = subgroupBroadcast(a1[3], 6u);
        let s3_15 = subgroupBroadcast(a1[3], 7u);
        acc15_0 += (s0_15 * b0_0 + s1_15 * b1_0) + (s2_15 * b2_0 + s3_15 * b3_0);
        acc15_1 += (s0_15 * b0_1 + s1_15 * b1_1) + (s2_15 * b2_1 + s3_15 * b3_1);
        acc15_2 += (s0_15 * b0_2 + s1_15 * b1_2) + (s2_15 * b2_2 + s3_15 * b3_2);
        acc15_3 += (s0_15 * b0_3 + s1_15 * b1_3) + (s2_15 * b2_3 + s3_15 * b3_3);
    }
    if c0 >= tp.n {
        return;
    }
    var bias = vec4<f32>(0.0);
    if tp.has_bias == 1u {
        bias = tbias4[c0 / 4u];
    }
    var r = r0;
    for (var i = 0u; i < tp.rows; i++) {
        store_c4(r, c0, vec4<f32>(acc0_0, acc0_1, acc0_2, acc0_3), bias);
        acc0_0 = acc1_0; acc0_1 = acc1_1; acc0_2 = acc1_2; acc0_3 = acc1_3;
        acc1_0 = acc2_0; acc1_1 = acc2_1; acc1_2 = acc2_2; acc1_3 = acc2_3;
        acc2_0 = acc3_0; acc2_1 = acc3_1; acc2_2 = acc3_2; acc2_3 = acc3_3;
        acc3_0 = acc4_0; acc3_1 = acc4_1; acc3_2 = acc4_2; acc3_3 = acc4_3;
        acc4_0 = acc5_0; acc4_1 = acc5_1; acc4_2 = acc5_2; acc4_3 = acc5_3;
        acc5_0 = acc6_0; acc5_1 = acc6_1; acc5_2 = acc6_2; acc5_3 = acc6_3;
        acc6_0 = acc7_0; acc6_1 = acc7_1; acc6_2 = acc7_2; acc6_3 = acc7_3;
        acc7_0 = acc8_0; acc7_1 = acc8_1; acc7_2 = acc8_2; acc7_3 = acc8_3;
        acc8_0 = acc9_0; acc8_1 = acc9_1; acc8_2 = acc9_2; acc8_3 = acc9_3;
        acc9_0 = acc10_0; acc9_1 = acc10_1; acc9_2 = acc10_2; acc9_3 = acc10_3;
        acc10_0 = acc11_0; acc10_1 = acc11_1; acc10_2 = acc11_2; acc10_3 = acc11_3;
        acc11_0 = acc12_0; acc11_1 = acc12_1; acc11_2 = acc12_2; acc11_3 = acc12_3;
        acc12_0 = acc13_0; acc12_1 = acc13_1; acc12_2 = acc13_2; acc12_3 = acc13_3;
        acc13_0 = acc14_0; acc13_1 = acc14_1; acc13_2 = acc14_2; acc13_3 = acc14_3;
        acc14_0 = acc15_0; acc14_1 = acc15_1; acc14_2 = acc15_2; acc14_3 = acc15_3;
        r += 1u;
    }
}
