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
