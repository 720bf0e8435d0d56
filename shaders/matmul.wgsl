// Dense products: C = op(A) · op(B) (+ bias) (then ReLU). The bias gradient is
// a column sum: see reduce.wgsl.
//
// Bindings (inputs → outputs → params):
//   0 a    : op(A) is (M, K); stored (M, K), or (K, M) when transposed
//   1 b    : op(B) is (K, N); stored (K, N), or (N, K) when transposed
//   2 bias : (N), read only when has_bias = 1
//   3 c    : (M, N) output
//   4 p    : Params
// The transposes are folded into strides computed on the CPU, so the inner
// loop has no branches: element (m, k) of op(A) is a[m * a_rs + k * a_ks].

struct Params {
    m: u32,
    n: u32,
    k: u32,
    a_rs: u32,
    a_ks: u32,
    b_ks: u32,
    b_ns: u32,
    has_bias: u32,
    relu: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

fn store(row: u32, col: u32, value: f32) {
    if row >= p.m || col >= p.n {
        return;
    }
    var v = value;
    if p.has_bias == 1u {
        v += bias[col];
    }
    if p.relu == 1u {
        v = max(v, 0.0);
    }
    c[row * p.n + col] = v;
}

// Register-blocked variant, no shared memory: each invocation computes a 4×4
// block of C. Fastest on CPU adapters (lavapipe), where barriers are costly.
const BLOCKED_WG: u32 = 8u;

@compute @workgroup_size(BLOCKED_WG, BLOCKED_WG, 1)
fn matmul_forward(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row0 = gid.y * 4u;
    let col0 = gid.x * 4u;
    if row0 >= p.m || col0 >= p.n {
        return;
    }
    // Rows and columns past the edge load a clamped (valid) element and are never stored.
    var ra: vec4<u32>;
    var cb: vec4<u32>;
    for (var i = 0u; i < 4u; i++) {
        ra[i] = min(row0 + i, p.m - 1u) * p.a_rs;
        cb[i] = min(col0 + i, p.n - 1u) * p.b_ns;
    }
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var kk = 0u; kk < p.k; kk++) {
        let ak = kk * p.a_ks;
        let bk = kk * p.b_ks;
        let bv = vec4<f32>(b[bk + cb.x], b[bk + cb.y], b[bk + cb.z], b[bk + cb.w]);
        acc0 += a[ra.x + ak] * bv;
        acc1 += a[ra.y + ak] * bv;
        acc2 += a[ra.z + ak] * bv;
        acc3 += a[ra.w + ak] * bv;
    }
    let acc = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
    for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
            store(row0 + i, col0 + j, acc[i][j]);
        }
    }
}

// Shared-memory tiled variant for hardware GPUs: a 16×16 workgroup computes a
// 64×64 tile of C, each invocation a 4×4 block, stepping K by 16.
const TILE: u32 = 64u;
const TK: u32 = 16u;
var<workgroup> tile_a: array<f32, 1024>; // (TK, TILE): tile_a[k * TILE + m]
var<workgroup> tile_b: array<f32, 1024>; // (TK, TILE): tile_b[k * TILE + n]

@compute @workgroup_size(16, 16, 1)
fn matmul_forward_tiled(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let tile_row = wid.y * TILE;
    let tile_col = wid.x * TILE;
    let t = lid.y * 16u + lid.x; // 0..256
    var acc: array<vec4<f32>, 4>;
    for (var k0 = 0u; k0 < p.k; k0 += TK) {
        // 256 invocations load 1024 elements of each tile: 4 each, zero past the edges.
        for (var e = 0u; e < 4u; e++) {
            let idx = t + e * 256u;
            let kk = idx / TILE;
            let mn = idx % TILE;
            let gk = k0 + kk;
            let gm = tile_row + mn;
            let gn = tile_col + mn;
            var va = 0.0;
            var vb = 0.0;
            if gk < p.k && gm < p.m {
                va = a[gm * p.a_rs + gk * p.a_ks];
            }
            if gk < p.k && gn < p.n {
                vb = b[gk * p.b_ks + gn * p.b_ns];
            }
            tile_a[kk * TILE + mn] = va;
            tile_b[kk * TILE + mn] = vb;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TK; kk++) {
            let bv = vec4<f32>(
                tile_b[kk * TILE + lid.x * 4u],
                tile_b[kk * TILE + lid.x * 4u + 1u],
                tile_b[kk * TILE + lid.x * 4u + 2u],
                tile_b[kk * TILE + lid.x * 4u + 3u],
            );
            for (var i = 0u; i < 4u; i++) {
                acc[i] += tile_a[kk * TILE + lid.y * 4u + i] * bv;
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
            store(tile_row + lid.y * 4u + i, tile_col + lid.x * 4u + j, acc[i][j]);
        }
    }
}

// vec4 variants for CPU adapters: 4×4 blocks read as vec4 along each operand's
// contiguous axis, which cuts loads 4- to 8-fold. They need that axis to be a
// multiple of 4 (the Rust side checks) and 16-byte-aligned bindings.
//   nn: A (M, K), B (K, N)   — K % 4 == 0, N % 4 == 0
//   nt: A (M, K), B (N, K)   — K % 4 == 0
//   tn: A (K, M), B (K, N)   — M % 4 == 0, N % 4 == 0
@group(0) @binding(0) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b4: array<vec4<f32>>;

fn store4(row0: u32, col0: u32, acc: array<vec4<f32>, 4>) {
    for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
            store(row0 + i, col0 + j, acc[i][j]);
        }
    }
}

@compute @workgroup_size(8, 8, 1)
fn matmul_nn(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row0 = gid.y * 4u;
    let col0 = gid.x * 4u;
    if row0 >= p.m || col0 >= p.n {
        return;
    }
    let k4 = p.k / 4u;
    let n4 = p.n / 4u;
    var ra: vec4<u32>;
    for (var i = 0u; i < 4u; i++) {
        ra[i] = min(row0 + i, p.m - 1u) * k4;
    }
    let cb = gid.x;
    var acc: array<vec4<f32>, 4>;
    for (var kk = 0u; kk < k4; kk++) {
        let b0 = b4[(kk * 4u) * n4 + cb];
        let b1 = b4[(kk * 4u + 1u) * n4 + cb];
        let b2 = b4[(kk * 4u + 2u) * n4 + cb];
        let b3 = b4[(kk * 4u + 3u) * n4 + cb];
        for (var i = 0u; i < 4u; i++) {
            let av = a4[ra[i] + kk];
            acc[i] += av.x * b0 + av.y * b1 + av.z * b2 + av.w * b3;
        }
    }
    store4(row0, col0, acc);
}

@compute @workgroup_size(8, 8, 1)
fn matmul_nt(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row0 = gid.y * 4u;
    let col0 = gid.x * 4u;
    if row0 >= p.m || col0 >= p.n {
        return;
    }
    let k4 = p.k / 4u;
    var ra: vec4<u32>;
    var rb: vec4<u32>;
    for (var i = 0u; i < 4u; i++) {
        ra[i] = min(row0 + i, p.m - 1u) * k4;
        rb[i] = min(col0 + i, p.n - 1u) * k4;
    }
    var acc: array<vec4<f32>, 4>;
    for (var kk = 0u; kk < k4; kk++) {
        let b0 = b4[rb.x + kk];
        let b1 = b4[rb.y + kk];
        let b2 = b4[rb.z + kk];
        let b3 = b4[rb.w + kk];
        for (var i = 0u; i < 4u; i++) {
            let av = a4[ra[i] + kk];
            acc[i] += vec4<f32>(dot(av, b0), dot(av, b1), dot(av, b2), dot(av, b3));
        }
    }
    store4(row0, col0, acc);
}

override WGX: u32 = 8u;
override WGY: u32 = 8u;

@compute @workgroup_size(WGX, WGY, 1)
fn matmul_tn(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row0 = gid.y * 4u;
    let col0 = gid.x * 4u;
    if row0 >= p.m || col0 >= p.n {
        return;
    }
    let m4 = p.m / 4u;
    let n4 = p.n / 4u;
    var acc: array<vec4<f32>, 4>;
    for (var kk = 0u; kk < p.k; kk++) {
        let av = a4[kk * m4 + gid.y];
        let bv = b4[kk * n4 + gid.x];
        acc[0] += av.x * bv;
        acc[1] += av.y * bv;
        acc[2] += av.z * bv;
        acc[3] += av.w * bv;
    }
    store4(row0, col0, acc);
}

// Uniform-window variant for CPU adapters. On llvmpipe a storage-buffer load
// costs about 3.5 ns per float per invocation, a uniform load a tenth of that,
// so B goes through the uniform binding: Bt = B stored (N, K) (transposed on
// the GPU first when it is not), one dispatch per window of `nc` rows of Bt
// (≤ 64 KiB). Each invocation computes one row of C across 16 window columns:
// one storage load of A feeds 16 multiply-adds. Needs K % 4 == 0.
// Bindings: 0 wa (A, strided as above), 1 wb (window of Bt, nc × K),
// 2 bias (N), 3 wc (C (M, N)), 4 wp.
struct WindowParams {
    m: u32,
    n: u32,
    k: u32,
    a_rs: u32,
    a_ks: u32,
    n0: u32,
    nc: u32,
    has_bias: u32,
    relu: u32,
    // K split in chunks (large K): this dispatch covers k0 .. k0 + k of
    // k_total, and adds to C unless it is the first chunk.
    k0: u32,
    k_total: u32,
    accumulate: u32,
}

@group(0) @binding(0) var<storage, read> wa: array<f32>;
@group(0) @binding(1) var<uniform> wb: array<vec4<f32>, 4096>;
@group(0) @binding(2) var<storage, read> wbias: array<f32>;
@group(0) @binding(3) var<storage, read_write> wc: array<f32>;
@group(0) @binding(4) var<uniform> wp: WindowParams;

fn store_window(row: u32, j0: u32, acc: array<vec4<f32>, 4>) {
    if row >= wp.m {
        return;
    }
    for (var j = 0u; j < 16u; j++) {
        let col = j0 + j;
        if col < wp.nc {
            var v = acc[j / 4u][j % 4u];
            let n = wp.n0 + col;
            if wp.accumulate == 1u {
                v += wc[row * wp.n + n];
            }
            if wp.has_bias == 1u {
                v += wbias[n];
            }
            if wp.relu == 1u {
                v = max(v, 0.0);
            }
            wc[row * wp.n + n] = v;
        }
    }
}

// Each invocation: 4 rows × 16 window columns. Written out by hand so that
// llvmpipe keeps everything in registers.
@compute @workgroup_size(16, 1, 1)
fn matmul_window(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row0 = gid.x * 4u;
    let j0 = gid.y * 16u;
    if row0 >= wp.m || j0 >= wp.nc {
        return;
    }
    let k4 = wp.k / 4u;
    let last = wp.nc - 1u;
    let o0 = min(j0 + 0u, last) * k4;
    let o1 = min(j0 + 1u, last) * k4;
    let o2 = min(j0 + 2u, last) * k4;
    let o3 = min(j0 + 3u, last) * k4;
    let o4 = min(j0 + 4u, last) * k4;
    let o5 = min(j0 + 5u, last) * k4;
    let o6 = min(j0 + 6u, last) * k4;
    let o7 = min(j0 + 7u, last) * k4;
    let o8 = min(j0 + 8u, last) * k4;
    let o9 = min(j0 + 9u, last) * k4;
    let o10 = min(j0 + 10u, last) * k4;
    let o11 = min(j0 + 11u, last) * k4;
    let o12 = min(j0 + 12u, last) * k4;
    let o13 = min(j0 + 13u, last) * k4;
    let o14 = min(j0 + 14u, last) * k4;
    let o15 = min(j0 + 15u, last) * k4;
    let a_row0 = min(row0 + 0u, wp.m - 1u) * wp.a_rs;
    let a_row1 = min(row0 + 1u, wp.m - 1u) * wp.a_rs;
    let a_row2 = min(row0 + 2u, wp.m - 1u) * wp.a_rs;
    let a_row3 = min(row0 + 3u, wp.m - 1u) * wp.a_rs;
    var acc0_0 = vec4<f32>(0.0);
    var acc0_1 = vec4<f32>(0.0);
    var acc0_2 = vec4<f32>(0.0);
    var acc0_3 = vec4<f32>(0.0);
    var acc1_0 = vec4<f32>(0.0);
    var acc1_1 = vec4<f32>(0.0);
    var acc1_2 = vec4<f32>(0.0);
    var acc1_3 = vec4<f32>(0.0);
    var acc2_0 = vec4<f32>(0.0);
    var acc2_1 = vec4<f32>(0.0);
    var acc2_2 = vec4<f32>(0.0);
    var acc2_3 = vec4<f32>(0.0);
    var acc3_0 = vec4<f32>(0.0);
    var acc3_1 = vec4<f32>(0.0);
    var acc3_2 = vec4<f32>(0.0);
    var acc3_3 = vec4<f32>(0.0);
    for (var kk = 0u; kk < k4; kk++) {
        // Clamped: a last chunk may run past K (its window holds zeros there).
        let kb = wp.k0 + kk * 4u;
        let kl = wp.k_total - 1u;
        let k0 = min(kb, kl) * wp.a_ks;
        let k1 = min(kb + 1u, kl) * wp.a_ks;
        let k2 = min(kb + 2u, kl) * wp.a_ks;
        let k3 = min(kb + 3u, kl) * wp.a_ks;
        let a0 = vec4<f32>(wa[a_row0 + k0], wa[a_row0 + k1], wa[a_row0 + k2], wa[a_row0 + k3]);
        let a1 = vec4<f32>(wa[a_row1 + k0], wa[a_row1 + k1], wa[a_row1 + k2], wa[a_row1 + k3]);
        let a2 = vec4<f32>(wa[a_row2 + k0], wa[a_row2 + k1], wa[a_row2 + k2], wa[a_row2 + k3]);
        let a3 = vec4<f32>(wa[a_row3 + k0], wa[a_row3 + k1], wa[a_row3 + k2], wa[a_row3 + k3]);
        let b0 = wb[o0 + kk];
        acc0_0.x += dot(a0, b0);
        acc1_0.x += dot(a1, b0);
        acc2_0.x += dot(a2, b0);
        acc3_0.x += dot(a3, b0);
        let b1 = wb[o1 + kk];
        acc0_0.y += dot(a0, b1);
        acc1_0.y += dot(a1, b1);
        acc2_0.y += dot(a2, b1);
        acc3_0.y += dot(a3, b1);
        let b2 = wb[o2 + kk];
        acc0_0.z += dot(a0, b2);
        acc1_0.z += dot(a1, b2);
        acc2_0.z += dot(a2, b2);
        acc3_0.z += dot(a3, b2);
        let b3 = wb[o3 + kk];
        acc0_0.w += dot(a0, b3);
        acc1_0.w += dot(a1, b3);
        acc2_0.w += dot(a2, b3);
        acc3_0.w += dot(a3, b3);
        let b4 = wb[o4 + kk];
        acc0_1.x += dot(a0, b4);
        acc1_1.x += dot(a1, b4);
        acc2_1.x += dot(a2, b4);
        acc3_1.x += dot(a3, b4);
        let b5 = wb[o5 + kk];
        acc0_1.y += dot(a0, b5);
        acc1_1.y += dot(a1, b5);
        acc2_1.y += dot(a2, b5);
        acc3_1.y += dot(a3, b5);
        let b6 = wb[o6 + kk];
        acc0_1.z += dot(a0, b6);
        acc1_1.z += dot(a1, b6);
        acc2_1.z += dot(a2, b6);
        acc3_1.z += dot(a3, b6);
        let b7 = wb[o7 + kk];
        acc0_1.w += dot(a0, b7);
        acc1_1.w += dot(a1, b7);
        acc2_1.w += dot(a2, b7);
        acc3_1.w += dot(a3, b7);
        let b8 = wb[o8 + kk];
        acc0_2.x += dot(a0, b8);
        acc1_2.x += dot(a1, b8);
        acc2_2.x += dot(a2, b8);
        acc3_2.x += dot(a3, b8);
        let b9 = wb[o9 + kk];
        acc0_2.y += dot(a0, b9);
        acc1_2.y += dot(a1, b9);
        acc2_2.y += dot(a2, b9);
        acc3_2.y += dot(a3, b9);
        let b10 = wb[o10 + kk];
        acc0_2.z += dot(a0, b10);
        acc1_2.z += dot(a1, b10);
        acc2_2.z += dot(a2, b10);
        acc3_2.z += dot(a3, b10);
        let b11 = wb[o11 + kk];
        acc0_2.w += dot(a0, b11);
        acc1_2.w += dot(a1, b11);
        acc2_2.w += dot(a2, b11);
        acc3_2.w += dot(a3, b11);
        let b12 = wb[o12 + kk];
        acc0_3.x += dot(a0, b12);
        acc1_3.x += dot(a1, b12);
        acc2_3.x += dot(a2, b12);
        acc3_3.x += dot(a3, b12);
        let b13 = wb[o13 + kk];
        acc0_3.y += dot(a0, b13);
        acc1_3.y += dot(a1, b13);
        acc2_3.y += dot(a2, b13);
        acc3_3.y += dot(a3, b13);
        let b14 = wb[o14 + kk];
        acc0_3.z += dot(a0, b14);
        acc1_3.z += dot(a1, b14);
        acc2_3.z += dot(a2, b14);
        acc3_3.z += dot(a3, b14);
        let b15 = wb[o15 + kk];
        acc0_3.w += dot(a0, b15);
        acc1_3.w += dot(a1, b15);
        acc2_3.w += dot(a2, b15);
        acc3_3.w += dot(a3, b15);
    }
    store_window(row0 + 0u, j0, array<vec4<f32>, 4>(acc0_0, acc0_1, acc0_2, acc0_3));
    store_window(row0 + 1u, j0, array<vec4<f32>, 4>(acc1_0, acc1_1, acc1_2, acc1_3));
    store_window(row0 + 2u, j0, array<vec4<f32>, 4>(acc2_0, acc2_1, acc2_2, acc2_3));
    store_window(row0 + 3u, j0, array<vec4<f32>, 4>(acc3_0, acc3_1, acc3_2, acc3_3));
}

// out (C, R) = transpose of x (R, C). Bindings: 0 tx, 1 tout, 2 tp.
struct TransposeParams {
    rows: u32,
    cols: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> tx: array<f32>;
@group(0) @binding(1) var<storage, read_write> tout: array<f32>;
@group(0) @binding(2) var<uniform> tp: TransposeParams;

// Chunked layout for a K split: out[((nb·chunks + kc)·NB + r)·KC + kk] =
// op(B)(k = kc·KC + kk, n = nb·NB + r), 0 past the edges, so that NB rows × KC
// of Bᵀ are one contiguous window. Bindings: 0 tx (B), 1 tout, 2 cp.
struct ChunkParams {
    n: u32,
    k: u32,
    b_ks: u32,
    b_ns: u32,
    nb_rows: u32,
    kc: u32,
    chunks: u32,
    total: u32,
}

@group(0) @binding(2) var<uniform> cp: ChunkParams;

@compute @workgroup_size(64, 1, 1)
fn matmul_chunk_b(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.y * 65535u * 64u + gid.x;
    if i >= cp.total {
        return;
    }
    let kk = i % cp.kc;
    let r = (i / cp.kc) % cp.nb_rows;
    let block = i / (cp.kc * cp.nb_rows);
    let kc = block % cp.chunks;
    let nb = block / cp.chunks;
    let k = kc * cp.kc + kk;
    let n = nb * cp.nb_rows + r;
    var v = 0.0;
    if k < cp.k && n < cp.n {
        v = tx[k * cp.b_ks + n * cp.b_ns];
    }
    tout[i] = v;
}

@compute @workgroup_size(8, 8, 1)
fn transpose(@builtin(global_invocation_id) gid: vec3<u32>) {
    let r = gid.y;
    let c = gid.x;
    if r >= tp.rows || c >= tp.cols {
        return;
    }
    tout[c * tp.rows + r] = tx[r * tp.cols + c];
}
