//! Dense products `C = op(A)·op(B) (+ bias) (then ReLU)` — `shaders/matmul.wgsl`.
//!
//! A dense layer `y = x·Wᵀ + b` (x (N, I), W (O, I) as PyTorch stores it) uses
//! all three products: forward `x·Wᵀ` (trans_b), input gradient `dy·W`, weight
//! gradient `dyᵀ·x` (trans_a). Its bias gradient is a column sum ([`super::reduce`]).

use std::collections::HashMap;

use bytemuck::{Pod, Zeroable};

use crate::buffers::{BufferCopy, CopyTarget, Dispatch, GpuSlice};
use crate::context::Context;
use crate::error::Result;

use super::check_len;

/// Mirrors `Params` in matmul.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct Params {
    m: u32,
    n: u32,
    k: u32,
    a_rs: u32,
    a_ks: u32,
    b_ks: u32,
    b_ns: u32,
    has_bias: u32,
    relu: u32,
    _pad: [u32; 3],
}

/// The shape of one product: op(A) is (m, k), op(B) is (k, n), C is (m, n).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatmulShape {
    /// Rows of C.
    pub m: usize,
    /// Columns of C.
    pub n: usize,
    /// The summed dimension.
    pub k: usize,
    /// A is stored (k, m).
    pub trans_a: bool,
    /// B is stored (n, k).
    pub trans_b: bool,
}

impl MatmulShape {
    /// Floating-point operations of one product (2·m·n·k).
    pub fn flops(&self) -> f64 {
        2.0 * self.m as f64 * self.n as f64 * self.k as f64
    }

    /// (row stride, k stride) of A and (k stride, column stride) of B.
    fn strides(&self) -> (usize, usize, usize, usize) {
        let (a_rs, a_ks) = if self.trans_a {
            (1, self.m)
        } else {
            (self.k, 1)
        };
        let (b_ks, b_ns) = if self.trans_b {
            (1, self.k)
        } else {
            (self.n, 1)
        };
        (a_rs, a_ks, b_ks, b_ns)
    }
}

impl std::fmt::Display for MatmulShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}x{}", self.m, self.n, self.k)?;
        if self.trans_a {
            write!(f, " Aᵀ")?;
        }
        if self.trans_b {
            write!(f, " Bᵀ")?;
        }
        Ok(())
    }
}

/// Which kernel computes the product.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// 4×4 register blocks, no shared memory: best on CPU adapters.
    Blocked,
    /// Like `Blocked`, reading vec4s along the contiguous axes; needs those
    /// axes to be multiples of 4 (falls back to `Blocked` otherwise).
    Vec4,
    /// B read through 64 KiB uniform windows, one dispatch per window: for
    /// CPU adapters without 8-lane subgroups (uniform loads are ten times
    /// cheaper than storage loads on llvmpipe). Needs K % 4 == 0 (falls back
    /// to `Vec4` otherwise).
    Window,
    /// 64×64 shared-memory tiles: best on hardware GPUs.
    Tiled,
    /// A and B packed into uniform chunks, shared across 8-lane subgroups
    /// (needs subgroups of exactly 8 lanes; falls back to `Window` elsewhere).
    Subgroup,
    /// A and B copied into textures, shared across 8-lane subgroups, one
    /// dispatch a product: the fastest on llvmpipe. Needs k and n (and m
    /// where A is transposed) multiples of 4; falls back to `Subgroup`.
    Texture,
}

impl Variant {
    /// The variant measured fastest on this kind of adapter.
    pub fn for_context(ctx: &Context) -> Self {
        if !ctx.is_software() {
            Variant::Tiled
        } else if subgroups_of_8(ctx) {
            Variant::Texture
        } else {
            Variant::Window
        }
    }
}

/// Whether the device runs subgroup operations in subgroups of exactly 8 lanes
/// (llvmpipe on AVX2 machines), which `matmul_subgroup` is written for.
pub fn subgroups_of_8(ctx: &Context) -> bool {
    ctx.features.contains(wgpu::Features::SUBGROUP)
        && ctx.info.subgroup_min_size == 8
        && ctx.info.subgroup_max_size == 8
}

/// Record `c = op(a)·op(b) (+ bias) (then ReLU)` with the adapter's preferred variant.
pub fn forward(
    ctx: &Context,
    shape: MatmulShape,
    a: &GpuSlice,
    b: &GpuSlice,
    bias: Option<&GpuSlice>,
    c: &GpuSlice,
    relu: bool,
) -> Result<Vec<Dispatch>> {
    forward_variant(ctx, Variant::for_context(ctx), shape, a, b, bias, c, relu)
}

/// Packed copies of operands (see `pack`) made by products recorded earlier
/// in the same dispatch list, so that a tensor several products read — a
/// weight in the forward pass and in the input gradient, an activation in the
/// next layer and in the weight gradient — is packed once per step.
///
/// The caller names each operand by an id that stands for one value for the
/// whole list: the list must not change a named tensor between the product
/// that packs it and the last that reuses the copy (a graph's tensors are
/// written once per step, by their producer).
#[derive(Default)]
pub struct Packs {
    /// (id, rows, columns, chunk rows, chunk columns) → (copy, chunk stride).
    made: HashMap<(usize, [usize; 4]), (GpuSlice, usize)>,
    /// id → the texture the texture variant copied it into.
    textures: HashMap<usize, wgpu::Texture>,
    /// Operands that reused a copy instead of being packed again.
    pub reused: usize,
}

impl Packs {
    /// The texture a texture matmul copied tensor `id` into, if one did.
    pub fn texture(&self, id: usize) -> Option<&wgpu::Texture> {
        self.textures.get(&id)
    }
}

/// Like [`forward`], reusing packed copies of `a` and `b` recorded earlier
/// under the same ids (and recording new ones in `packs`).
#[allow(clippy::too_many_arguments)]
pub fn forward_shared(
    ctx: &Context,
    shape: MatmulShape,
    (a, a_id): (&GpuSlice, usize),
    (b, b_id): (&GpuSlice, usize),
    bias: Option<&GpuSlice>,
    c: &GpuSlice,
    relu: bool,
    packs: &mut Packs,
) -> Result<Vec<Dispatch>> {
    let operands = Operands {
        a,
        b,
        ids: [Some(a_id), Some(b_id)],
    };
    let variant = Variant::for_context(ctx);
    record(ctx, variant, shape, operands, bias, c, relu, packs)
}

/// A and B of one product, with the ids under which [`Packs`] keeps their copies.
struct Operands<'a> {
    a: &'a GpuSlice,
    b: &'a GpuSlice,
    ids: [Option<usize>; 2],
}

/// Like [`forward`], with the variant chosen by the caller (tests, benchmarks).
#[allow(clippy::too_many_arguments)]
pub fn forward_variant(
    ctx: &Context,
    variant: Variant,
    shape: MatmulShape,
    a: &GpuSlice,
    b: &GpuSlice,
    bias: Option<&GpuSlice>,
    c: &GpuSlice,
    relu: bool,
) -> Result<Vec<Dispatch>> {
    let operands = Operands {
        a,
        b,
        ids: [None, None],
    };
    record(
        ctx,
        variant,
        shape,
        operands,
        bias,
        c,
        relu,
        &mut Packs::default(),
    )
}

#[allow(clippy::too_many_arguments)]
fn record(
    ctx: &Context,
    variant: Variant,
    shape: MatmulShape,
    operands: Operands,
    bias: Option<&GpuSlice>,
    c: &GpuSlice,
    relu: bool,
    packs: &mut Packs,
) -> Result<Vec<Dispatch>> {
    let MatmulShape { m, n, k, .. } = shape;
    let (a, b) = (operands.a, operands.b);
    check_len("matmul", "A", a, m * k)?;
    check_len("matmul", "B", b, k * n)?;
    check_len("matmul", "C", c, m * n)?;
    if let Some(bias) = bias {
        check_len("matmul", "bias", bias, n)?;
    }
    let (a_rs, a_ks, b_ks, b_ns) = shape.strides();
    let params = Params {
        m: m as u32,
        n: n as u32,
        k: k as u32,
        a_rs: a_rs as u32,
        a_ks: a_ks as u32,
        b_ks: b_ks as u32,
        b_ns: b_ns as u32,
        has_bias: bias.is_some() as u32,
        relu: relu as u32,
        _pad: [0; 3],
    };
    let variant = match variant {
        Variant::Texture if subgroups_of_8(ctx) => {
            if let Some(d) = texture(ctx, shape, &operands, bias, c, relu, packs)? {
                return Ok(d);
            }
            Variant::Subgroup
        }
        Variant::Texture => Variant::Window,
        v => v,
    };
    let variant = match variant {
        Variant::Subgroup if subgroups_of_8(ctx) => {
            if let Some(d) = subgroup(ctx, shape, operands, bias, c, relu, packs)? {
                return Ok(d);
            }
            Variant::Window
        }
        Variant::Subgroup => Variant::Window,
        v => v,
    };
    if variant == Variant::Window {
        if let Some(d) = window(ctx, shape, a, b, bias, c, relu)? {
            return Ok(d);
        }
    }
    // Without a bias the binding still needs a buffer; A is read-only, so it serves.
    let bias = bias.unwrap_or(a);
    let vec4_entry = match (shape.trans_a, shape.trans_b) {
        (false, false) if k % 4 == 0 && n % 4 == 0 => Some("matmul_nn"),
        (false, true) if k % 4 == 0 => Some("matmul_nt"),
        (true, false) if m % 4 == 0 && n % 4 == 0 => Some("matmul_tn"),
        _ => None,
    };
    let variant = match (variant, vec4_entry) {
        (Variant::Vec4 | Variant::Window | Variant::Subgroup | Variant::Texture, None) => {
            Variant::Blocked
        }
        (Variant::Window | Variant::Subgroup | Variant::Texture, Some(_)) => Variant::Vec4,
        (v, _) => v,
    };
    let (entry, workgroups) = match variant {
        Variant::Vec4 | Variant::Window | Variant::Subgroup | Variant::Texture => (
            vec4_entry.unwrap(),
            [n.div_ceil(32) as u32, m.div_ceil(32) as u32, 1],
        ),
        Variant::Blocked => (
            "matmul_forward",
            [n.div_ceil(32) as u32, m.div_ceil(32) as u32, 1],
        ),
        Variant::Tiled => (
            "matmul_forward_tiled",
            [n.div_ceil(64) as u32, m.div_ceil(64) as u32, 1],
        ),
    };
    Ok(vec![ctx.dispatch(
        "matmul",
        entry,
        &[],
        &[a, b, bias, c],
        &params,
        workgroups,
    )?])
}

/// Mirrors `WindowParams` in matmul.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
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
    k0: u32,
    k_total: u32,
    accumulate: u32,
}

/// Mirrors `ChunkParams` in matmul.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
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

/// Above this many Bᵀ rows per window the window variant splits K instead:
/// with fewer, most of each invocation's 16 columns would be idle.
const MIN_WINDOW_COLUMNS: usize = 16;

/// Mirrors `TransposeParams` in matmul.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
struct TransposeParams {
    rows: u32,
    cols: u32,
    _pad: [u32; 2],
}

/// Rows of C per invocation of matmul_window (the shader's R).
const WINDOW_ROWS: usize = 4;

/// The window variant's dispatches, or None where the shape or adapter does not allow it.
fn window(
    ctx: &Context,
    shape: MatmulShape,
    a: &GpuSlice,
    b: &GpuSlice,
    bias: Option<&GpuSlice>,
    c: &GpuSlice,
    relu: bool,
) -> Result<Option<Vec<Dispatch>>> {
    let MatmulShape { n, k, .. } = shape;
    if k % 4 != 0 {
        return Ok(None);
    }
    let Some(nc) = super::window_rows(ctx, k, n) else {
        return split_k(ctx, shape, a, b, bias, c, relu);
    };
    if nc < MIN_WINDOW_COLUMNS.min(n) {
        return split_k(ctx, shape, a, b, bias, c, relu);
    }
    let mut out = Vec::new();
    // Bt = B stored (N, K): B itself when transposed, else a transposed copy made first.
    let bt = if shape.trans_b {
        b.clone()
    } else {
        let bt = ctx.zeros("matmul Bᵀ", n * k);
        let p = TransposeParams {
            rows: k as u32,
            cols: n as u32,
            _pad: [0; 2],
        };
        out.push(ctx.dispatch(
            "matmul",
            "transpose",
            &[],
            &[b, &bt],
            &p,
            [n.div_ceil(8) as u32, k.div_ceil(8) as u32, 1],
        )?);
        bt
    };
    if !super::windows_fit(ctx, &bt, k, n, nc) {
        return Ok(None);
    }
    for n0 in (0..n).step_by(nc) {
        let cols = nc.min(n - n0);
        let pass = Pass {
            n0,
            cols,
            k0: 0,
            k_len: k,
            first: true,
            last: true,
        };
        out.push(window_pass(
            ctx,
            shape,
            a,
            &bt,
            (n0 * k * 4) as u64,
            bias,
            c,
            relu,
            pass,
        )?);
    }
    Ok(Some(out))
}

/// CPU reference. a: op(A) (m, k) as stored, b: op(B) (k, n) as stored, bias: (n).
/// Returns C (m, n).
pub fn reference(
    shape: MatmulShape,
    a: &[f64],
    b: &[f64],
    bias: Option<&[f64]>,
    relu: bool,
) -> Vec<f64> {
    let (a_rs, a_ks, b_ks, b_ns) = shape.strides();
    let mut c = vec![0.0; shape.m * shape.n];
    for i in 0..shape.m {
        for j in 0..shape.n {
            let mut sum = bias.map_or(0.0, |b| b[j]);
            for kk in 0..shape.k {
                sum += a[i * a_rs + kk * a_ks] * b[kk * b_ks + j * b_ns];
            }
            c[i * shape.n + j] = if relu { sum.max(0.0) } else { sum };
        }
    }
    c
}

/// CPU reference of a dense layer's backward, `y = x·Wᵀ + b` with x (N, I),
/// W (O, I), dy (N, O): returns (dx = dy·W (N, I), dW = dyᵀ·x (O, I), db = Σ_n dy (O)).
pub fn dense_backward_reference(
    x: &[f64],
    w: &[f64],
    dy: &[f64],
    n: usize,
    i: usize,
    o: usize,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let dx = reference(
        MatmulShape {
            m: n,
            n: i,
            k: o,
            trans_a: false,
            trans_b: false,
        },
        dy,
        w,
        None,
        false,
    );
    let dw = reference(
        MatmulShape {
            m: o,
            n: i,
            k: n,
            trans_a: true,
            trans_b: false,
        },
        dy,
        x,
        None,
        false,
    );
    let db = (0..o)
        .map(|j| (0..n).map(|r| dy[r * o + j]).sum())
        .collect();
    (dx, dw, db)
}

/// Which part of C one window dispatch computes: columns n0 .. n0 + cols over
/// k0 .. k0 + k_len of the sum; the first adds to nothing, the last applies
/// bias and ReLU.
struct Pass {
    n0: usize,
    cols: usize,
    k0: usize,
    k_len: usize,
    first: bool,
    last: bool,
}

/// One matmul_window dispatch reading Bᵀ rows from `src` at byte `offset`.
#[allow(clippy::too_many_arguments)]
fn window_pass(
    ctx: &Context,
    shape: MatmulShape,
    a: &GpuSlice,
    src: &GpuSlice,
    offset: u64,
    bias: Option<&GpuSlice>,
    c: &GpuSlice,
    relu: bool,
    p: Pass,
) -> Result<Dispatch> {
    let (a_rs, a_ks, _, _) = shape.strides();
    let params = WindowParams {
        m: shape.m as u32,
        n: shape.n as u32,
        k: p.k_len as u32,
        a_rs: a_rs as u32,
        a_ks: a_ks as u32,
        n0: p.n0 as u32,
        nc: p.cols as u32,
        has_bias: (p.last && bias.is_some()) as u32,
        relu: (p.last && relu) as u32,
        k0: p.k0 as u32,
        k_total: shape.k as u32,
        accumulate: !p.first as u32,
    };
    let workgroups = [
        shape.m.div_ceil(WINDOW_ROWS * 16) as u32,
        p.cols.div_ceil(16) as u32,
        1,
    ];
    super::window_dispatch(
        ctx,
        "matmul",
        "matmul_window",
        a,
        src,
        offset,
        Some(bias.unwrap_or(a)),
        c,
        &params,
        workgroups,
    )
}

/// The window variant for a large K: op(B) is laid out in chunks of
/// `KC` k-values × up to `NB` columns (one window each), and one dispatch per
/// chunk adds its share of the sum to C; bias and ReLU come with the last.
fn split_k(
    ctx: &Context,
    shape: MatmulShape,
    a: &GpuSlice,
    b: &GpuSlice,
    bias: Option<&GpuSlice>,
    c: &GpuSlice,
    relu: bool,
) -> Result<Option<Vec<Dispatch>>> {
    const KC: usize = 64;
    let MatmulShape { n, k, .. } = shape;
    let nb_rows = n.min(super::WINDOW / KC);
    let align = (ctx.limits.min_uniform_buffer_offset_alignment as usize / 4).max(1);
    if !(nb_rows * KC).is_multiple_of(align) && n > nb_rows {
        return Ok(None);
    }
    let (chunks, blocks) = (k.div_ceil(KC), n.div_ceil(nb_rows));
    let total = blocks * chunks * nb_rows * KC;
    let btc = ctx.zeros("matmul Bᵀ chunks", total);
    if !super::windows_fit(ctx, &btc, nb_rows * KC, blocks * chunks, 1) {
        return Ok(None);
    }
    let (_, _, b_ks, b_ns) = shape.strides();
    let cp = ChunkParams {
        n: n as u32,
        k: k as u32,
        b_ks: b_ks as u32,
        b_ns: b_ns as u32,
        nb_rows: nb_rows as u32,
        kc: KC as u32,
        chunks: chunks as u32,
        total: total as u32,
    };
    let mut out = vec![ctx.dispatch(
        "matmul",
        "matmul_chunk_b",
        &[],
        &[b, &btc],
        &cp,
        super::grid_1d(total, 64),
    )?];
    for nb in 0..blocks {
        let n0 = nb * nb_rows;
        let cols = nb_rows.min(n - n0);
        for kc in 0..chunks {
            let pass = Pass {
                n0,
                cols,
                k0: kc * KC,
                k_len: KC,
                first: kc == 0,
                last: kc + 1 == chunks,
            };
            let offset = ((nb * chunks + kc) * nb_rows * KC * 4) as u64;
            out.push(window_pass(
                ctx, shape, a, &btc, offset, bias, c, relu, pass,
            )?);
        }
    }
    Ok(Some(out))
}

/// Rows and columns of C per `matmul_texture` workgroup (R and 8·4 in
/// shaders/matmul_texture.py).
const TX_ROWS: usize = 16;
const TX_COLS: usize = 32;
/// Mirrors `TxParams` in matmul_texture.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
struct TxParams {
    m: u32,
    n: u32,
    k: u32,
    has_bias: u32,
    relu: u32,
    trans_b: u32,
    b_col: u32,
    b_fetch: u32,
    b_step: u32,
    rows: u32,
    _pad: [u32; 2],
}

/// The texture variant's one dispatch, or None where the shape or the
/// operands' layout does not allow it.
fn texture(
    ctx: &Context,
    shape: MatmulShape,
    operands: &Operands,
    bias: Option<&GpuSlice>,
    c: &GpuSlice,
    relu: bool,
    packs: &mut Packs,
) -> Result<Option<Vec<Dispatch>>> {
    let MatmulShape { m, n, k, .. } = shape;
    let Operands { a, b, ids } = *operands;
    let aligned = |s: &GpuSlice| s.offset.is_multiple_of(16);
    let shape_ok = k.is_multiple_of(4)
        && n.is_multiple_of(4)
        && (!shape.trans_a || m.is_multiple_of(4))
        && m.div_ceil(TX_ROWS) <= ctx.limits.max_compute_workgroups_per_dimension as usize
        && n.div_ceil(TX_COLS) <= ctx.limits.max_compute_workgroups_per_dimension as usize;
    let fits = ctx.fits_operand_texture(a) && ctx.fits_operand_texture(b);
    if !fits || !shape_ok || !aligned(c) || !bias.is_none_or(aligned) {
        return Ok(None);
    }
    let mut copies = Vec::new();
    let mut operand = |x: &GpuSlice, id: Option<usize>| {
        if let Some(t) = id.and_then(|id| packs.textures.get(&id)) {
            packs.reused += 1;
            return t.clone();
        }
        let rows = CopyTarget::texture_rows(x.len);
        let t = ctx.operand_texture("matmul operand", rows);
        copies.push(BufferCopy {
            from: x.clone(),
            to: CopyTarget::Texture {
                texture: t.clone(),
                rows,
            },
        });
        if let Some(id) = id {
            packs.textures.insert(id, t.clone());
        }
        t
    };
    let ta = operand(a, ids[0]);
    let tb = operand(b, ids[1]);
    let (va, vb) = (
        ta.create_view(&Default::default()),
        tb.create_view(&Default::default()),
    );
    // Without a bias the binding still needs a read-only buffer of its own:
    // the context's one, never written, shared by every such product.
    let none = ctx.scratch_buffer("no bias", 4);
    // B's layout as matmul_texture.wgsl reads it (texels of 4 floats).
    let (b_col, b_fetch, b_step) = if shape.trans_b {
        (k, k / 4, 1)
    } else {
        (1, n / 4, n)
    };
    let params = TxParams {
        m: m as u32,
        n: n as u32,
        k: k as u32,
        has_bias: bias.is_some() as u32,
        relu: relu as u32,
        trans_b: shape.trans_b as u32,
        b_col: b_col as u32,
        b_fetch: b_fetch as u32,
        b_step: b_step as u32,
        rows: TX_ROWS as u32,
        _pad: [0; 2],
    };
    let entry = if shape.trans_a {
        "matmul_texture_t"
    } else {
        "matmul_texture_n"
    };
    let mut d = super::dispatch_bound(
        ctx,
        ("matmul_texture", entry),
        vec![
            (0, wgpu::BindingResource::TextureView(&va)),
            (1, wgpu::BindingResource::TextureView(&vb)),
            (2, bias.unwrap_or(&none).binding()),
            (3, c.binding()),
        ],
        (4, &params),
        [m.div_ceil(TX_ROWS) as u32, n.div_ceil(TX_COLS) as u32, 1],
    )?;
    d.copies = copies;
    Ok(Some(vec![d]))
}

/// Mirrors `SgParams` in matmul_subgroup.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
struct SgParams {
    m: u32,
    n: u32,
    i0: u32,
    j0: u32,
    rows: u32,
    cols: u32,
    a_rs: u32,
    a_ks: u32,
    b_ks: u32,
    b_ns: u32,
    kc: u32,
    windows: u32,
    first: u32,
    last: u32,
    has_bias: u32,
    relu: u32,
}

/// Mirrors `PackParams` in matmul_subgroup.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
struct PackParams {
    p: u32,
    q: u32,
    cp: u32,
    cq: u32,
    nqb: u32,
    stride: u32,
    p0: u32,
    pb: u32,
    r0: u32,
    rows: u32,
    shift: u32,
    _pad: u32,
}

/// Rows and columns of C per `matmul_subgroup` workgroup (R and 8·C in
/// shaders/matmul_subgroup.py).
const SG_ROWS: usize = 16;
const SG_COLS: usize = 16;
/// The most k values per chunk: 128 keeps 128 × 128 blocks of A and B in a window.
const SG_MAX_KC: usize = 128;
/// Window pairs (k chunks) one `matmul_subgroup` dispatch sums. Four (nine
/// uniform bindings) corrupted memory in lavapipe 22.3, in one run of four.
const SG_WINDOWS: usize = 3;

/// How `subgroup` cuts a product into chunks: k values per chunk (kc), rows of
/// A per chunk (rb) and columns of B per chunk (nb), each chunk ≤ one window.
///
/// A long dimension is cut by `split`, which depends only on its length, so
/// that a tensor gets the same chunks in every product that reads it (a
/// weight in the forward pass and in the input gradient, an activation in the
/// next layer and in the weight gradient) and `Packs` can share one copy.
fn sg_chunks(shape: MatmulShape) -> (usize, usize, usize) {
    let kc = split(shape.k, SG_MAX_KC, if shape.k > SG_MAX_KC { 16 } else { 8 });
    let most = super::WINDOW / kc;
    // A short k leaves room for long blocks of C: fewer, larger dispatches
    // for the products of a latent layer.
    let long = if kc <= 32 { most } else { most.min(SG_MAX_KC) };
    let rb = split(shape.m, long / SG_ROWS * SG_ROWS, SG_ROWS);
    let nb = split(shape.n, long / SG_COLS * SG_COLS, SG_COLS);
    (kc, rb, nb)
}

/// The chunk length (a multiple of `align`, at most `max`) that cuts `len`
/// into the fewest chunks, balanced: padding is packed and multiplied like
/// data. 784 becomes 7 × 112 (no padding; 7 × 128 padded 14%) and 400 becomes
/// 4 × 112 (12%; 4 × 128 padded 28%). On the mlp shapes that ran 3–12%
/// faster (medians of four interleaved kernel benches).
fn split(len: usize, max: usize, align: usize) -> usize {
    let whole = len.next_multiple_of(align);
    if whole <= max {
        return whole;
    }
    let chunks = len.div_ceil(max);
    len.div_ceil(chunks).next_multiple_of(align).min(max)
}

/// A chunked copy of the row-major (p, q) matrix `x` in (cp × cq) chunks (see
/// `pack` in matmul_subgroup.wgsl); returns it and the floats between chunk
/// starts. With an `id`, a copy recorded earlier in `packs` is reused.
fn pack(
    ctx: &Context,
    (x, id): (&GpuSlice, Option<usize>),
    (p, q): (usize, usize),
    (cp, cq): (usize, usize),
    packs: &mut Packs,
    out: &mut Vec<Dispatch>,
) -> Result<(GpuSlice, usize)> {
    let key = id.map(|id| (id, [p, q, cp, cq]));
    if let Some(made) = key.and_then(|key| packs.made.get(&key)) {
        packs.reused += 1;
        return Ok(made.clone());
    }
    let made = pack_new(ctx, x, (p, q), (cp, cq), out)?;
    if let Some(key) = key {
        packs.made.insert(key, made.clone());
    }
    Ok(made)
}

fn pack_new(
    ctx: &Context,
    x: &GpuSlice,
    (p, q): (usize, usize),
    (cp, cq): (usize, usize),
    out: &mut Vec<Dispatch>,
) -> Result<(GpuSlice, usize)> {
    let align = (ctx.limits.min_uniform_buffer_offset_alignment as usize / 4).max(4);
    let stride = (cp * cq).next_multiple_of(align);
    let nqb = q.div_ceil(cq);
    let chunks = p.div_ceil(cp) * nqb;
    let packed = ctx.zeros("matmul chunks", chunks * stride);
    let params = PackParams {
        p: p as u32,
        q: q as u32,
        cp: cp as u32,
        cq: cq as u32,
        nqb: nqb as u32,
        stride: stride as u32,
        p0: 0,
        pb: 0,
        r0: 0,
        rows: 0,
        // pack_vec4 and pack_window split their flattened index with a shift
        // where cq / 4 is a power of two.
        shift: if (cq / 4).is_power_of_two() {
            (cq / 4).trailing_zeros()
        } else {
            u32::MAX
        },
        _pad: 0,
    };
    // Rows of X through uniform windows where whole rows fit one and every
    // chunk row starts aligned.
    let align_bytes = ctx.limits.min_uniform_buffer_offset_alignment as usize;
    let rows = super::window_rows(ctx, q, p)
        .filter(|&r| super::windows_fit(ctx, x, q, p, r))
        .filter(|_| cq % 4 == 0 && stride % 4 == 0 && (cp * q * 4) % align_bytes == 0);
    // Only where a window holds a good many rows: with long rows (fc1's 3,136,
    // five rows a window) the extra dispatches ate the gain (conv step 609–620
    // ms with, 585–609 without, on lavapipe; mlp 88–108 with, 100–108 without).
    if let Some(rows) = rows.filter(|&r| r >= 16) {
        let chunk_rows = p.div_ceil(cp);
        for pb in 0..chunk_rows {
            let end = (pb * cp + cp).min(p);
            for p0 in (pb * cp..end).step_by(rows) {
                // The last window also writes the rows that pad the last chunk row.
                let n_rows = if p0 + rows >= end && pb + 1 == chunk_rows {
                    pb * cp + cp - p0
                } else {
                    rows.min(end - p0)
                };
                let params = PackParams {
                    p0: p0 as u32,
                    pb: pb as u32,
                    r0: (p0 - pb * cp) as u32,
                    rows: n_rows as u32,
                    ..params
                };
                out.push(super::window_dispatch_at(
                    ctx,
                    "matmul_subgroup",
                    "pack_window",
                    (x, (p0 * q * 4) as u64),
                    &packed,
                    &params,
                    [(n_rows * cq / 4).div_ceil(64) as u32, 1, nqb as u32],
                )?);
            }
        }
        return Ok((packed, stride));
    }
    let vec4 = q % 4 == 0 && cq % 4 == 0 && x.offset.is_multiple_of(16);
    let (entry, workgroups) = if vec4 {
        // One lane per four values of every chunk row, rows flattened into x.
        let groups = (cp * cq / 4).div_ceil(64) as u32;
        ("pack_vec4", [groups, 1, chunks as u32])
    } else {
        ("pack", [cq.div_ceil(64) as u32, cp as u32, chunks as u32])
    };
    out.push(ctx.dispatch(
        "matmul_subgroup",
        entry,
        &[],
        &[x, &packed],
        &params,
        workgroups,
    )?);
    Ok((packed, stride))
}

/// The subgroup variant's dispatches: pack A into (rb × kc) chunks and B into
/// (kc × nb) chunks, then for each block of C one `matmul_subgroup` dispatch
/// per three k chunks, adding up in C in a fixed order.
fn subgroup(
    ctx: &Context,
    shape: MatmulShape,
    Operands { a, b, ids }: Operands,
    bias: Option<&GpuSlice>,
    c: &GpuSlice,
    relu: bool,
    packs: &mut Packs,
) -> Result<Option<Vec<Dispatch>>> {
    if ctx.limits.max_uniform_buffer_binding_size < super::WINDOW_BYTES
        || (ctx.limits.max_uniform_buffers_per_shader_stage as usize) < 2 * SG_WINDOWS + 1
        || ctx.limits.max_compute_workgroups_per_dimension < 65535
    {
        return Ok(None);
    }
    let MatmulShape { m, n, k, .. } = shape;
    let (kc, rb, nb) = sg_chunks(shape);
    let (mchunks, kchunks, nchunks) = (m.div_ceil(rb), k.div_ceil(kc), n.div_ceil(nb));
    // Chunks are copies of contiguous rows, so a transposed operand stays
    // transposed in its windows; the kernel reads either through strides.
    let mut out = Vec::new();
    let (pa, a_stride) = if shape.trans_a {
        pack(ctx, (a, ids[0]), (k, m), (kc, rb), packs, &mut out)?
    } else {
        pack(ctx, (a, ids[0]), (m, k), (rb, kc), packs, &mut out)?
    };
    let (pb, b_stride) = if shape.trans_b {
        pack(ctx, (b, ids[1]), (n, k), (nb, kc), packs, &mut out)?
    } else {
        pack(ctx, (b, ids[1]), (k, n), (kc, nb), packs, &mut out)?
    };
    let a_chunk = |ri: usize, ki: usize| {
        if shape.trans_a {
            ki * mchunks + ri
        } else {
            ri * kchunks + ki
        }
    };
    let b_chunk = |ki: usize, ni: usize| {
        if shape.trans_b {
            ni * kchunks + ki
        } else {
            ki * nchunks + ni
        }
    };
    let (a_rs, a_ks) = if shape.trans_a { (1, rb) } else { (kc, 1) };
    let (b_ks, b_ns) = if shape.trans_b { (1, kc) } else { (nb, 1) };
    let window = |slice, chunk: usize, stride: usize| {
        super::window_binding(slice, (chunk * stride * 4) as u64)
    };
    // Two columns a store where every pair of C (and of the bias) is 8-byte aligned.
    let pairs = n.is_multiple_of(2)
        && c.offset.is_multiple_of(8)
        && bias.is_none_or(|b| b.offset.is_multiple_of(8));
    let entry = if pairs {
        "matmul_subgroup_pairs"
    } else {
        "matmul_subgroup"
    };
    for ri in 0..mchunks {
        for ni in 0..nchunks {
            let rows = rb.min(m - ri * rb);
            let cols = nb.min(n - ni * nb);
            for k0 in (0..kchunks).step_by(SG_WINDOWS) {
                let windows = SG_WINDOWS.min(kchunks - k0);
                let params = SgParams {
                    m: m as u32,
                    n: n as u32,
                    i0: (ri * rb) as u32,
                    j0: (ni * nb) as u32,
                    rows: rows as u32,
                    cols: cols as u32,
                    a_rs: a_rs as u32,
                    a_ks: a_ks as u32,
                    b_ks: b_ks as u32,
                    b_ns: b_ns as u32,
                    kc: kc as u32,
                    windows: windows as u32,
                    first: (k0 == 0) as u32,
                    last: (k0 + windows == kchunks) as u32,
                    has_bias: bias.is_some() as u32,
                    relu: relu as u32,
                };
                let mut resources = Vec::new();
                for w in 0..SG_WINDOWS {
                    // Unused windows repeat the last one: bound, never read.
                    let ki = k0 + w.min(windows - 1);
                    resources.push((w as u32, window(&pa, a_chunk(ri, ki), a_stride)));
                    resources.push((
                        (SG_WINDOWS + w) as u32,
                        window(&pb, b_chunk(ki, ni), b_stride),
                    ));
                }
                // Without a bias any read-only buffer serves: A is one.
                resources.push((2 * SG_WINDOWS as u32, bias.unwrap_or(a).binding()));
                resources.push((2 * SG_WINDOWS as u32 + 1, c.binding()));
                out.push(super::dispatch_bound(
                    ctx,
                    ("matmul_subgroup", entry),
                    resources,
                    (2 * SG_WINDOWS as u32 + 2, &params),
                    [
                        rows.div_ceil(SG_ROWS) as u32,
                        cols.div_ceil(SG_COLS) as u32,
                        1,
                    ],
                )?);
            }
        }
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_balances_chunks_and_keeps_them_in_bounds() {
        assert_eq!(split(784, 128, 16), 112);
        assert_eq!(split(400, 128, 16), 112);
        assert_eq!(split(3136, 128, 16), 128);
        assert_eq!(split(20, 128, 8), 24);
        assert_eq!(split(128, 128, 8), 128);
        for len in 1..2000 {
            for (max, align) in [(128, 16), (128, 8), (672, 16)] {
                let c = split(len, max, align);
                assert!(c <= max && c.is_multiple_of(align), "len {len}: chunk {c}");
                // No more chunks than the fewest that `max` allows.
                assert_eq!(
                    len.div_ceil(c),
                    len.div_ceil(max).max(1),
                    "len {len}: chunk {c}"
                );
            }
        }
    }

    #[test]
    fn a_dimension_gets_the_same_chunks_in_every_role() {
        // fc4 of mlp forward, its input gradient and its weight gradient: W4
        // (784 × 400) and dY4 (128 × 784) must be packed alike to be shared.
        let fwd = sg_chunks(MatmulShape {
            m: 128,
            n: 784,
            k: 400,
            trans_a: false,
            trans_b: true,
        });
        let dx = sg_chunks(MatmulShape {
            m: 128,
            n: 400,
            k: 784,
            trans_a: false,
            trans_b: false,
        });
        let dw = sg_chunks(MatmulShape {
            m: 784,
            n: 400,
            k: 128,
            trans_a: true,
            trans_b: false,
        });
        assert_eq!((fwd.2, fwd.0), (dx.0, dx.2), "W4's chunks");
        assert_eq!(dx.0, dw.1, "dY4's chunks along 784");
    }
}
