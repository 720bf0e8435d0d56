//! The pictures a training run leaves in its folder.

use std::path::Path;

use anyhow::Result;
use latent_engine::checkpoint::Checkpoint;
use latent_engine::data::Dataset;
use latent_engine::picture::save_grid;
use latent_engine::vae::Vae;
use latent_engine::Context;

/// `samples.png` (64 samples from the prior) and `reconstructions.png`
/// (test images, each row of originals above its reconstructions).
pub fn write_run_pictures(
    ctx: &Context,
    ck: &Checkpoint,
    test: &Dataset,
    out: &Path,
) -> Result<()> {
    let vae = Vae::new(ctx, ck);
    let shape = ck.config.input;
    let samples = vae.sample(64, ck.train.seed ^ 0x5A5A)?;
    save_grid(&out.join("samples.png"), &samples, shape, 8, 2)?;
    let n = test.len().min(32);
    let originals = &test.images[..n * test.dim()];
    let recon = vae.reconstruct(originals)?;
    save_grid(
        &out.join("reconstructions.png"),
        &interleave_rows(originals, &recon, test.dim(), 8),
        shape,
        8,
        2,
    )?;
    Ok(())
}

/// Rows of `cols` originals, each followed by the row of their reconstructions.
pub fn interleave_rows(a: &[f32], b: &[f32], dim: usize, cols: usize) -> Vec<f32> {
    let n = a.len() / dim;
    let mut out = Vec::with_capacity(a.len() * 2);
    for start in (0..n).step_by(cols) {
        let end = (start + cols).min(n);
        out.extend_from_slice(&a[start * dim..end * dim]);
        out.extend_from_slice(&b[start * dim..end * dim]);
    }
    out
}
