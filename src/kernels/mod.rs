//! The kernel library: one module per WGSL file (same stem), each owning its
//! `Params` uniform, its shape checks, its dispatch sizes and its CPU reference.
//!
//! CPU references work in f64, in plain loops: they are the specification
//! that the GPU kernels are tested against, never a fast path.

pub mod activations;
pub mod adam;
pub mod compare;
pub mod conv2d;
pub mod conv2d_texture;
pub mod conv_transpose2d;
pub mod data;
pub mod matmul;
pub mod reduce;
pub mod vae;

use crate::buffers::{Dispatch, GpuSlice};
use crate::context::Context;
use crate::error::{Error, Result};

/// Workgroup grid for `n` elements handled by `wg`-wide workgroups, one per
/// element; the shaders read the index as `gid.y * 65535 * wg + gid.x`.
pub fn grid_1d(n: usize, wg: u32) -> [u32; 3] {
    let groups = (n as u64).div_ceil(wg as u64).max(1);
    if groups <= 65535 {
        [groups as u32, 1, 1]
    } else {
        [65535, groups.div_ceil(65535) as u32, 1]
    }
}

/// Fails unless `slice` holds exactly `expected` elements.
pub fn check_len(op: &'static str, name: &str, slice: &GpuSlice, expected: usize) -> Result<()> {
    if slice.len != expected {
        return Err(Error::Shape {
            op,
            msg: format!("{name} has {} elements, expected {expected}", slice.len),
        });
    }
    Ok(())
}

/// Bytes of a uniform window (the most a uniform binding may hold everywhere).
pub const WINDOW_BYTES: u64 = 65536;

/// 4-byte values in a uniform window.
pub const WINDOW: usize = WINDOW_BYTES as usize / 4;

/// How many rows of `row_len` floats one uniform window holds, as a multiple
/// of the rows that keep every window start aligned; None if not even one fits.
pub fn window_rows(ctx: &Context, row_len: usize, rows: usize) -> Option<usize> {
    let align = (ctx.limits.min_uniform_buffer_offset_alignment as usize / 4).max(1);
    let step = align / gcd(row_len, align);
    if ctx.limits.max_uniform_buffer_binding_size < WINDOW_BYTES || row_len == 0 {
        return None;
    }
    let n = ((WINDOW / row_len) / step * step).min(rows);
    (n > 0).then_some(n)
}

pub(crate) fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Whether windows of `rows_per` rows of `row_len` floats over all `rows` rows
/// of `src` start aligned and end inside its buffer.
pub fn windows_fit(
    ctx: &Context,
    src: &GpuSlice,
    row_len: usize,
    rows: usize,
    rows_per: usize,
) -> bool {
    let last_start = src.offset + ((rows - 1) / rows_per * rows_per * row_len * 4) as u64;
    src.buffer.usage().contains(wgpu::BufferUsages::UNIFORM)
        && src
            .offset
            .is_multiple_of(ctx.limits.min_uniform_buffer_offset_alignment as u64)
        && last_start + WINDOW_BYTES <= src.buffer.size()
}

/// Whether `s` can be read as consecutive 64 KiB uniform windows from its
/// first element: uniform usage, an aligned start, and room in the buffer for
/// the last window.
pub fn uniform_windows_fit(ctx: &Context, s: &GpuSlice) -> bool {
    ctx.limits.max_uniform_buffer_binding_size >= WINDOW_BYTES
        // Outputs are bound from each window's start too.
        && WINDOW_BYTES.is_multiple_of(ctx.limits.min_storage_buffer_offset_alignment as u64)
        && windows_fit(ctx, s, WINDOW, s.len.div_ceil(WINDOW).max(1), 1)
}

/// A uniform window (64 KiB) of `slice`, starting `offset` bytes into it.
pub fn window_binding(slice: &GpuSlice, offset: u64) -> wgpu::BindingResource<'_> {
    wgpu::BindingResource::Buffer(wgpu::BufferBinding {
        buffer: &slice.buffer,
        offset: slice.offset + offset,
        size: wgpu::BufferSize::new(WINDOW_BYTES),
    })
}

/// A dispatch of `entry` in shader `file` with the given (binding, resource)
/// pairs and the params uniform at binding `params_at`: for kernels whose
/// bindings are not the plain list of storage buffers that `Context::dispatch`
/// makes (uniform windows, optional bias).
pub fn dispatch_bound<P: bytemuck::Pod>(
    ctx: &Context,
    (file, entry): (&'static str, &str),
    resources: Vec<(u32, wgpu::BindingResource<'_>)>,
    (params_at, params): (u32, &P),
    workgroups: [u32; 3],
) -> Result<Dispatch> {
    let pipeline = ctx.pipeline(file, entry, &[])?;
    let uniform = ctx.uniform(entry, params);
    let mut entries: Vec<wgpu::BindGroupEntry> = resources
        .into_iter()
        .map(|(binding, resource)| wgpu::BindGroupEntry { binding, resource })
        .collect();
    entries.push(wgpu::BindGroupEntry {
        binding: params_at,
        resource: uniform.as_entire_binding(),
    });
    let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(entry),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &entries,
    });
    ctx.check()?;
    Ok(Dispatch {
        label: entry.to_string(),
        pipeline,
        bind_group,
        workgroups,
        copies: Vec::new(),
    })
}

/// A dispatch whose binding 0 is a uniform window of `src` starting `offset`
/// bytes in, 1 the output (storage), 2 the params.
pub fn window_dispatch_at<P: bytemuck::Pod>(
    ctx: &Context,
    file: &'static str,
    entry: &str,
    (src, offset): (&GpuSlice, u64),
    out: &GpuSlice,
    params: &P,
    workgroups: [u32; 3],
) -> Result<Dispatch> {
    let resources = vec![(0, window_binding(src, offset)), (1, out.binding())];
    dispatch_bound(ctx, (file, entry), resources, (2, params), workgroups)
}

/// A dispatch whose binding 1 is a uniform window of `src` starting at
/// `offset` bytes; bindings 0, 2 (if the kernel reads one), 3 are storage, 4 the params.
#[allow(clippy::too_many_arguments)]
pub fn window_dispatch<P: bytemuck::Pod>(
    ctx: &Context,
    file: &'static str,
    entry: &str,
    input: &GpuSlice,
    src: &GpuSlice,
    offset: u64,
    bias: Option<&GpuSlice>,
    out: &GpuSlice,
    params: &P,
    workgroups: [u32; 3],
) -> Result<Dispatch> {
    let mut resources = vec![
        (0, input.binding()),
        (1, window_binding(src, offset)),
        (3, out.binding()),
    ];
    if let Some(b) = bias {
        resources.push((2, b.binding()));
    }
    dispatch_bound(ctx, (file, entry), resources, (4, params), workgroups)
}
