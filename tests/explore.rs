//! `latent explore`: every picture is there, of the right size and not blank;
//! the latent space groups same-label images; the page loads every image in Chromium.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::AtomicBool;

use latent_engine::checkpoint::TrainSettings;
use latent_engine::data::{Dataset, Split};
use latent_engine::explore::{explore, PICTURES};
use latent_engine::model::{Arch, ModelConfig};
use latent_engine::train::Trainer;
use latent_engine::vae::Vae;

fn subset(split: Split, n: usize) -> Dataset {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/mnist10k");
    let mut ds = Dataset::load(&dir, split).unwrap();
    ds.images.truncate(n * ds.dim());
    ds.labels.truncate(n);
    ds
}

fn variance(path: &Path) -> f64 {
    let img = image::open(path).unwrap().to_luma8();
    let px: Vec<f64> = img.pixels().map(|p| p.0[0] as f64).collect();
    let mean = px.iter().sum::<f64>() / px.len() as f64;
    px.iter().map(|p| (p - mean).powi(2)).sum::<f64>() / px.len() as f64
}

#[test]
fn explore_writes_every_picture_and_a_page_that_loads_them() {
    let ctx = common::context();
    let (train, test) = (subset(Split::Train, 2000), subset(Split::Test, 300));
    let config = ModelConfig::preset(Arch::Mlp, train.shape, None);
    let mut t = Trainer::new(
        &ctx,
        config,
        TrainSettings {
            batch: 64,
            lr: 1e-3,
            seed: 2,
            epochs: 3,
        },
        &train,
        &test,
        None,
    )
    .unwrap();
    for _ in 0..3 {
        t.train_epoch(&mut |_| {}, &AtomicBool::new(false)).unwrap();
    }
    let ck = t.checkpoint().unwrap();
    let vae = Vae::new(&ctx, &ck);
    let out = tempfile::tempdir().unwrap();
    explore(&vae, &test, &train, out.path()).unwrap();

    let sizes = [
        ("scatter.png", (900, 800)),
        ("manifold.png", (16 * 58 + 2, 16 * 58 + 2)),
        ("traversals.png", (11 * 58 + 2, 8 * 58 + 2)),
        ("interpolations.png", (10 * 58 + 2, 6 * 58 + 2)),
        ("interpolation.gif", (112, 112)),
        ("kl_per_dimension.png", (900, 500)),
        ("neighbours.png", (9 * 58 + 2, 6 * 58 + 2)),
    ];
    assert_eq!(sizes.len(), PICTURES.len());
    for (file, size) in sizes {
        let path = out.path().join(file);
        assert_eq!(image::image_dimensions(&path).unwrap(), size, "{file}");
        let v = variance(&path);
        assert!(v > 100.0, "{file} looks blank (pixel variance {v:.1})");
    }

    // Same-label test images are closer in latent space than different-label ones.
    let (mu, _) = vae.encode(&test.images).unwrap();
    let l = ck.config.latent;
    let (mut same, mut diff, mut ns, mut nd) = (0.0, 0.0, 0, 0);
    for i in 0..test.len() {
        for j in i + 1..test.len() {
            let d: f32 = (0..l)
                .map(|k| (mu[i * l + k] - mu[j * l + k]).powi(2))
                .sum::<f32>()
                .sqrt();
            if test.labels[i] == test.labels[j] {
                same += d as f64;
                ns += 1;
            } else {
                diff += d as f64;
                nd += 1;
            }
        }
    }
    let (same, diff) = (same / ns as f64, diff / nd as f64);
    assert!(
        same < 0.9 * diff,
        "same-label distance {same:.3} vs different-label {diff:.3}"
    );

    // The page in headless Chromium: every image loads.
    let index = out.path().join("index.html");
    let html = std::fs::read_to_string(&index).unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "the page must need no network"
    );
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("this test needs Chromium: apt-get install -y chromium (.ci/run installs it)");
    let profile = tempfile::tempdir().unwrap();
    let base = |c: &mut Command| {
        c.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()));
    };
    // `timeout` keeps a stuck browser from hanging the suite.
    let mut dump = Command::new("timeout");
    dump.args(["120", chromium]);
    base(&mut dump);
    let dom = dump
        .arg("--dump-dom")
        .arg(format!("file://{}", index.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains(&format!("all {} images loaded", PICTURES.len())),
        "Chromium reports: {}",
        dom.lines()
            .find(|l| l.contains("status"))
            .unwrap_or("no status")
    );
    let shot = out.path().join("screenshot.png");
    let mut snap = Command::new("timeout");
    snap.args(["120", chromium]);
    base(&mut snap);
    let status = snap
        .arg("--window-size=1000,5200")
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", index.display()))
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert!(variance(&shot) > 100.0, "the screenshot is blank");
}
