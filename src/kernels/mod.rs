//! The kernel library: one module per WGSL file (same stem), each owning its
//! `Params` uniform, its shape checks, its dispatch sizes and its CPU reference.
//!
//! CPU references work in f64, in plain loops: they are the specification
//! that the GPU kernels are tested against, never a fast path.

pub mod activations;
pub mod adam;
pub mod compare;
pub mod conv2d;
pub mod conv_transpose2d;
pub mod data;
pub mod matmul;
pub mod reduce;
pub mod vae;

use crate::buffers::GpuSlice;
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
            msg: format!(
                "{name} has {} elements, expected {expected}",
                slice.len
            ),
        });
    }
    Ok(())
}
