//! Pictures of a trained model's latent space, and a page that explains them.
//!
//! Everything is computed from the model's encoder means μ: a 2-D latent is
//! drawn as it is, a larger one through its two leading principal components
//! (computed here). Charts use plotters with an embedded font, so the output
//! is the same on every machine.

use std::path::Path;

use plotters::prelude::*;

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::io::write_atomic;
use crate::picture::grid_png;
use crate::vae::Vae;

/// The font every chart uses (DejaVu Sans, shipped in `assets/fonts`).
const FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");

/// Ten colours that stay distinct for the ten digit classes (Tableau 10).
const PALETTE: [(u8, u8, u8); 10] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
];

/// The files `explore` writes, with the one-line explanation `index.html` gives each.
pub const PICTURES: &[(&str, &str)] = &[
    ("scatter.png", "Where the test images land in latent space (their means μ), coloured by label: similar images land close together."),
    ("manifold.png", "Decodings of a regular grid of points over the latent plane: moving across the plane morphs one kind of image into another."),
    ("traversals.png", "Each row sweeps one latent dimension from −3 to +3 (the most used dimensions first) while the others stay at a test image's μ."),
    ("interpolations.png", "Straight lines in latent space between pairs of test images (ends are reconstructions): every point on the way decodes to a plausible image."),
    ("interpolation.gif", "An animated walk from one test image to another and back, through latent space."),
    ("kl_per_dimension.png", "Average KL divergence per latent dimension: dimensions near zero carry no information, the model switched them off."),
    ("neighbours.png", "For a few test images (left column), their nearest training images in latent space: neighbours look alike."),
];

/// The mean of a point cloud, its two leading principal directions (unit
/// vectors) and the standard deviation along each.
pub type Pca2 = (Vec<f64>, [Vec<f64>; 2], [f64; 2]);

/// Two leading principal directions of `points` (N, L): see [`Pca2`].
pub fn pca2(points: &[f32], l: usize) -> Pca2 {
    let n = points.len() / l;
    let mut mean = vec![0.0; l];
    for p in points.chunks(l) {
        for j in 0..l {
            mean[j] += p[j] as f64 / n as f64;
        }
    }
    let mut cov = vec![0.0; l * l];
    for p in points.chunks(l) {
        for a in 0..l {
            for b in 0..l {
                cov[a * l + b] += (p[a] as f64 - mean[a]) * (p[b] as f64 - mean[b]) / n as f64;
            }
        }
    }
    // Power iteration with deflation: plenty for a few dozen dimensions.
    let mut dirs: [Vec<f64>; 2] = [vec![0.0; l], vec![0.0; l]];
    let mut sds = [0.0; 2];
    for k in 0..2.min(l) {
        let mut v: Vec<f64> = (0..l).map(|j| 1.0 + j as f64 * 0.01).collect();
        let mut lambda = 0.0;
        for _ in 0..500 {
            let mut w = vec![0.0; l];
            for a in 0..l {
                for b in 0..l {
                    w[a] += cov[a * l + b] * v[b];
                }
            }
            let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm == 0.0 {
                break;
            }
            lambda = norm;
            v = w.iter().map(|x| x / norm).collect();
        }
        for a in 0..l {
            for b in 0..l {
                cov[a * l + b] -= lambda * v[a] * v[b];
            }
        }
        sds[k] = lambda.sqrt();
        dirs[k] = v;
    }
    (mean, dirs, sds)
}

/// Coordinates of each point on the plot plane: the latent itself when L = 2.
fn plane(mu: &[f32], l: usize) -> (Vec<(f64, f64)>, Option<Pca2>) {
    if l == 2 {
        return (
            mu.chunks(2).map(|p| (p[0] as f64, p[1] as f64)).collect(),
            None,
        );
    }
    let (mean, dirs, sds) = pca2(mu, l);
    let coords = mu
        .chunks(l)
        .map(|p| {
            let d = |k: usize| {
                (0..l)
                    .map(|j| (p[j] as f64 - mean[j]) * dirs[k][j])
                    .sum::<f64>()
            };
            (d(0), d(1))
        })
        .collect();
    (coords, Some((mean, dirs, sds)))
}

fn encode_png(buf: &[u8], w: u32, h: u32) -> Result<Vec<u8>> {
    let img = image::RgbImage::from_raw(w, h, buf.to_vec())
        .ok_or_else(|| Error::Invalid("chart buffer size".into()))?;
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .map_err(|e| Error::Invalid(format!("encoding PNG: {e}")))?;
    Ok(bytes)
}

fn plot_err<E: std::fmt::Debug>(e: E) -> Error {
    Error::Invalid(format!("drawing a chart: {e:?}"))
}

fn scatter(
    coords: &[(f64, f64)],
    labels: &[u32],
    classes: &[String],
    axes: (&str, &str),
) -> Result<Vec<u8>> {
    let (w, h) = (900u32, 800u32);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, y) in coords {
            (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
        }
        let (px, py) = ((x1 - x0).max(1e-6) * 0.05, (y1 - y0).max(1e-6) * 0.05);
        let mut chart = ChartBuilder::on(&root)
            .caption("Test images in latent space", ("sans-serif", 28))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d((x0 - px)..(x1 + px), (y0 - py)..(y1 + py))
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc(axes.0)
            .y_desc(axes.1)
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 20))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(plot_err)?;
        let n_classes = classes.len().max(1);
        for class in 0..n_classes {
            let (r, g, b) = PALETTE[class % PALETTE.len()];
            let color = RGBColor(r, g, b);
            let pts: Vec<(f64, f64)> = coords
                .iter()
                .zip(labels)
                .filter(|(_, &l)| l as usize == class)
                .map(|(c, _)| *c)
                .collect();
            let name = classes
                .get(class)
                .cloned()
                .unwrap_or_else(|| class.to_string());
            chart
                .draw_series(
                    pts.iter()
                        .map(|&(x, y)| Circle::new((x, y), 3, color.mix(0.75).filled())),
                )
                .map_err(plot_err)?
                .label(name)
                .legend(move |(x, y)| Circle::new((x + 8, y), 5, color.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 18))
            .draw()
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    encode_png(&buf, w, h)
}

fn bar_chart(values: &[f64]) -> Result<Vec<u8>> {
    let (w, h) = (900u32, 500u32);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let top = values.iter().cloned().fold(0.0, f64::max).max(1e-3) * 1.1;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Average KL divergence per latent dimension",
                ("sans-serif", 26),
            )
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(65)
            .build_cartesian_2d(-0.5f64..(values.len() as f64 - 0.5), 0f64..top)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("latent dimension")
            .y_desc("KL (nats)")
            .x_labels(values.len().min(32))
            .x_label_formatter(&|x| format!("{}", x.round() as i64))
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 19))
            .disable_x_mesh()
            .draw()
            .map_err(plot_err)?;
        let (r, g, b) = PALETTE[0];
        chart
            .draw_series(values.iter().enumerate().map(|(i, &v)| {
                Rectangle::new(
                    [(i as f64 - 0.38, 0.0), (i as f64 + 0.38, v)],
                    RGBColor(r, g, b).filled(),
                )
            }))
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    encode_png(&buf, w, h)
}

/// Latent means of every image of `ds`.
fn means(vae: &Vae, ds: &Dataset) -> Result<(Vec<f32>, Vec<f32>)> {
    vae.encode(&ds.images)
}

/// Average KL divergence per latent dimension over `mu`, `logvar` (N, L).
pub fn kl_per_dimension(mu: &[f32], logvar: &[f32], l: usize) -> Vec<f64> {
    let n = mu.len() / l;
    let mut kl = vec![0.0; l];
    for i in 0..n {
        for j in 0..l {
            let (m, lv) = (mu[i * l + j] as f64, logvar[i * l + j] as f64);
            kl[j] += -0.5 * (1.0 + lv - m * m - lv.exp()) / n as f64;
        }
    }
    kl
}

/// Pairs of test images with different labels, spread over the set.
fn pairs(labels: &[u32], count: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let n = labels.len();
    let mut i = 0;
    while out.len() < count && i < n {
        if let Some(j) = (i + 1..n).find(|&j| labels[j] != labels[i]) {
            out.push((i, j));
            i = j + 1 + n / (count * 2).max(1);
        } else {
            break;
        }
    }
    if out.is_empty() && n >= 2 {
        out.push((0, n - 1));
    }
    out
}

/// Write every picture of [`PICTURES`] and `index.html` into `out`.
pub fn explore(vae: &Vae, test: &Dataset, train: &Dataset, out: &Path) -> Result<()> {
    let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    crate::io::create_out_folder(out)?;
    let cfg = &vae.config;
    let (l, shape, dim) = (cfg.latent, cfg.input, cfg.dim());
    let (mu, logvar) = means(vae, test)?;
    let (coords, pca) = plane(&mu, l);
    let axes = if l == 2 {
        ("z₁", "z₂")
    } else {
        ("principal component 1", "principal component 2")
    };
    write_atomic(
        &out.join("scatter.png"),
        &scatter(&coords, &test.labels, &test.classes, axes)?,
    )?;

    // manifold: a 16×16 grid over ±2.5 standard deviations of the plane.
    let g = 16;
    let mut z = Vec::with_capacity(g * g * l);
    for row in 0..g {
        for col in 0..g {
            let (a, b) = (
                -2.5 + 5.0 * col as f64 / (g - 1) as f64,
                2.5 - 5.0 * row as f64 / (g - 1) as f64,
            );
            match &pca {
                None => z.extend([a as f32, b as f32]),
                Some((mean, dirs, sds)) => {
                    z.extend((0..l).map(|j| {
                        (mean[j] + a * sds[0] * dirs[0][j] + b * sds[1] * dirs[1][j]) as f32
                    }))
                }
            }
        }
    }
    write_atomic(
        &out.join("manifold.png"),
        &grid_png(&vae.decode(&z)?, shape, g, 2)?,
    )?;

    // traversals: the most used dimensions, each swept over −3…3 from a test image's μ.
    let kl = kl_per_dimension(&mu, &logvar, l);
    let mut ranked: Vec<usize> = (0..l).collect();
    ranked.sort_by(|&a, &b| kl[b].total_cmp(&kl[a]));
    let rows = ranked.len().min(8);
    let steps = 11;
    let mut z = Vec::new();
    for &d in &ranked[..rows] {
        for s in 0..steps {
            let mut p = mu[..l].to_vec();
            p[d] = -3.0 + 6.0 * s as f32 / (steps - 1) as f32;
            z.extend(p);
        }
    }
    write_atomic(
        &out.join("traversals.png"),
        &grid_png(&vae.decode(&z)?, shape, steps, 2)?,
    )?;

    // interpolations: strips between pairs, and an animated walk.
    let mut strips = Vec::new();
    let chosen = pairs(&test.labels, 6);
    for &(a, b) in &chosen {
        strips.extend(vae.interpolate(test.image(a), test.image(b), 10)?);
    }
    write_atomic(
        &out.join("interpolations.png"),
        &grid_png(&strips, shape, 10, 2)?,
    )?;
    let (a, b) = chosen.first().copied().unwrap_or((0, 0));
    let walk = vae.interpolate(test.image(a), test.image(b), 24)?;
    write_atomic(&out.join("interpolation.gif"), &gif(&walk, shape)?)?;

    write_atomic(&out.join("kl_per_dimension.png"), &bar_chart(&kl)?)?;

    // neighbours: nearest training images by distance between latent means.
    let (train_mu, _) = means(vae, train)?;
    let queries: Vec<usize> = (0..6).map(|k| k * test.len() / 6).collect();
    let k = 8;
    let mut grid = Vec::new();
    for &q in &queries {
        let qm = &mu[q * l..(q + 1) * l];
        let mut d: Vec<(f32, usize)> = train_mu
            .chunks(l)
            .enumerate()
            .map(|(i, t)| {
                (
                    t.iter()
                        .zip(qm)
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum::<f32>(),
                    i,
                )
            })
            .collect();
        let nth = k.min(d.len() - 1);
        d.select_nth_unstable_by(nth, |a, b| a.0.total_cmp(&b.0));
        d.truncate(k);
        d.sort_by(|a, b| a.0.total_cmp(&b.0));
        grid.extend_from_slice(test.image(q));
        for &(_, i) in &d {
            grid.extend_from_slice(train.image(i));
        }
        for _ in d.len()..k {
            grid.extend(std::iter::repeat_n(0.0, dim));
        }
    }
    write_atomic(
        &out.join("neighbours.png"),
        &grid_png(&grid, shape, k + 1, 2)?,
    )?;

    let dims: Vec<String> = ranked[..rows].iter().map(|d| d.to_string()).collect();
    write_atomic(
        &out.join("index.html"),
        index_html(cfg, test.len(), &dims).as_bytes(),
    )
}

/// An animated GIF of `frames` ((N, D) in [0, 1]) forward and back, scaled 4×.
fn gif(frames: &[f32], (c, h, w): (usize, usize, usize)) -> Result<Vec<u8>> {
    use image::codecs::gif::{GifEncoder, Repeat};
    let dim = c * h * w;
    let n = frames.len() / dim;
    let order: Vec<usize> = (0..n).chain((1..n.saturating_sub(1)).rev()).collect();
    let mut bytes = Vec::new();
    {
        let mut enc = GifEncoder::new_with_speed(&mut bytes, 10);
        enc.set_repeat(Repeat::Infinite)
            .map_err(|e| Error::Invalid(format!("GIF: {e}")))?;
        let scale = 4;
        for i in order {
            let px = &frames[i * dim..(i + 1) * dim];
            let img = image::RgbaImage::from_fn((w * scale) as u32, (h * scale) as u32, |x, y| {
                let (sx, sy) = (x as usize / scale, y as usize / scale);
                let v = |ch: usize| (px[ch * h * w + sy * w + sx].clamp(0.0, 1.0) * 255.0) as u8;
                if c == 3 {
                    image::Rgba([v(0), v(1), v(2), 255])
                } else {
                    image::Rgba([v(0), v(0), v(0), 255])
                }
            });
            let frame =
                image::Frame::from_parts(img, 0, 0, image::Delay::from_numer_denom_ms(80, 1));
            enc.encode_frame(frame)
                .map_err(|e| Error::Invalid(format!("GIF: {e}")))?;
        }
    }
    Ok(bytes)
}

fn index_html(cfg: &crate::model::ModelConfig, n_test: usize, dims: &[String]) -> String {
    let mut figures = String::new();
    for (file, text) in PICTURES {
        let extra = if *file == "traversals.png" {
            format!(" Rows, top to bottom: dimensions {}.", dims.join(", "))
        } else {
            String::new()
        };
        figures.push_str(&format!(
            "<figure><img src=\"{file}\" alt=\"{file}\"><figcaption><b>{file}</b> — {text}{extra}</figcaption></figure>\n"
        ));
    }
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Latent space of a {arch} VAE</title>
<style>
body {{ font-family: sans-serif; max-width: 1000px; margin: 2em auto; color: #222; background: #fafafa; }}
figure {{ margin: 2em 0; }} img {{ max-width: 100%; border: 1px solid #ccc; background: #fff; image-rendering: pixelated; }}
figcaption {{ margin-top: .4em; }}
</style></head>
<body>
<h1>Latent space of a {arch} VAE</h1>
<p>The model compresses each {c}×{h}×{w} image into {l} numbers (its latent code) and decodes images back from such codes.
These pictures are computed from the {n_test} test images. Similar inputs land close together, and any point in the space decodes into an image.</p>
{figures}<p id="status">checking images…</p>
<script>
window.addEventListener('load', function () {{
  var imgs = Array.prototype.slice.call(document.images);
  var bad = imgs.filter(function (i) {{ return !(i.complete && i.naturalWidth > 0); }});
  document.getElementById('status').textContent = bad.length === 0
    ? 'all ' + imgs.length + ' images loaded'
    : 'missing images: ' + bad.map(function (i) {{ return i.alt; }}).join(', ');
}});
</script>
</body></html>
"#,
        arch = cfg.arch,
        c = cfg.input.0,
        h = cfg.input.1,
        w = cfg.input.2,
        l = cfg.latent,
    )
}
