//! The one place tests get a GPU context from.
//!
//! `LATENT_ADAPTER` / `LATENT_BACKEND` choose the adapter (CI sets
//! `LATENT_ADAPTER=cpu` for lavapipe). No adapter is a test failure, never a skip.
#![allow(dead_code)]

use latent_engine::{Context, ContextOptions};

pub fn context() -> Context {
    let _ = env_logger::builder().is_test(true).try_init();
    let opts = ContextOptions::from_env().expect("LATENT_ADAPTER / LATENT_BACKEND are invalid");
    let ctx = Context::new(opts).unwrap_or_else(|e| {
        panic!(
            "GPU tests need an adapter and none was found: {e}\n\
             On Linux without a GPU: apt-get install -y mesa-vulkan-drivers libvulkan1"
        )
    });
    eprintln!(
        "test adapter: {} ({:?}, {:?})",
        ctx.info.name, ctx.info.backend, ctx.info.device_type
    );
    ctx
}

use std::io::Write;
use std::path::Path;

/// Write IDX files (gzip) of `images` (N, H, W bytes) and `labels` into `dir` with `prefix` (train / t10k).
pub fn write_idx(dir: &Path, prefix: &str, images: &[u8], labels: &[u8], h: usize, w: usize) {
    let n = labels.len();
    let mut img = vec![0, 0, 8, 3];
    for d in [n, h, w] {
        img.extend((d as u32).to_be_bytes());
    }
    img.extend_from_slice(images);
    let mut lab = vec![0, 0, 8, 1];
    lab.extend((n as u32).to_be_bytes());
    lab.extend_from_slice(labels);
    for (name, bytes) in [
        (format!("{prefix}-images-idx3-ubyte.gz"), img),
        (format!("{prefix}-labels-idx1-ubyte.gz"), lab),
    ] {
        let f = std::fs::File::create(dir.join(name)).unwrap();
        let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
        gz.write_all(&bytes).unwrap();
        gz.finish().unwrap();
    }
}

/// A small MNIST folder: the first `train` and `test` images of the shipped data.
pub fn small_mnist(dir: &Path, train: usize, test: usize) {
    use latent_engine::data::{Dataset, Split};
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/mnist10k");
    for (split, n, prefix) in [(Split::Train, train, "train"), (Split::Test, test, "t10k")] {
        let ds = Dataset::load(&assets, split).unwrap();
        let bytes: Vec<u8> = ds.images[..n * 784]
            .iter()
            .map(|&p| (p * 255.0).round() as u8)
            .collect();
        let labels: Vec<u8> = ds.labels[..n].iter().map(|&l| l as u8).collect();
        write_idx(dir, prefix, &bytes, &labels, 28, 28);
    }
}
