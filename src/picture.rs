//! Image grids as PNG.

use std::path::Path;

use crate::error::{Error, Result};

/// Tile `images` ((N, C·H·W) in [0, 1], C = 1 or 3) into a grid of `cols`
/// columns with a 2-pixel gap, scaled up by `scale`, and encode it as PNG.
pub fn grid_png(
    images: &[f32],
    (c, h, w): (usize, usize, usize),
    cols: usize,
    scale: usize,
) -> Result<Vec<u8>> {
    let dim = c * h * w;
    let n = images.len() / dim.max(1);
    if n == 0 || cols == 0 {
        return Err(Error::Invalid("no images to draw".into()));
    }
    let rows = n.div_ceil(cols);
    let gap = 2;
    let (cw, ch) = (w * scale + gap, h * scale + gap);
    let (width, height) = ((cols * cw + gap) as u32, (rows * ch + gap) as u32);
    let mut img = image::RgbImage::from_pixel(width, height, image::Rgb([40, 40, 48]));
    for i in 0..n {
        let (gx, gy) = ((i % cols) * cw + gap, (i / cols) * ch + gap);
        let px = &images[i * dim..(i + 1) * dim];
        for y in 0..h * scale {
            for x in 0..w * scale {
                let (sy, sx) = (y / scale, x / scale);
                let v = |ch: usize| {
                    (px[ch * h * w + sy * w + sx].clamp(0.0, 1.0) * 255.0).round() as u8
                };
                let rgb = if c == 3 {
                    [v(0), v(1), v(2)]
                } else {
                    [v(0); 3]
                };
                img.put_pixel((gx + x) as u32, (gy + y) as u32, image::Rgb(rgb));
            }
        }
    }
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .map_err(|e| Error::Invalid(format!("encoding PNG: {e}")))?;
    Ok(bytes)
}

/// Write a grid PNG atomically.
pub fn save_grid(
    path: &Path,
    images: &[f32],
    shape: (usize, usize, usize),
    cols: usize,
    scale: usize,
) -> Result<()> {
    crate::io::write_atomic(path, &grid_png(images, shape, cols, scale)?)
}
