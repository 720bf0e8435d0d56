//! Bad input, interrupted runs and numerical faults: clear errors, nothing lost.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use latent_engine::checkpoint::{Checkpoint, TrainSettings};
use latent_engine::data::{parse_idx, Dataset, Split};
use latent_engine::graph::exec::{ExecOptions, Executor, ParamStore};
use latent_engine::graph::Graph;
use latent_engine::model::{Arch, ModelConfig};
use latent_engine::train::Trainer;
use latent_engine::Error;
use proptest::prelude::*;

fn load_err(dir: &Path) -> String {
    Dataset::load(dir, Split::Train).unwrap_err().to_string()
}

#[test]
fn broken_idx_files_name_the_file_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    common::write_idx(d, "train", &[1, 2, 3, 4, 5, 6, 7, 8], &[1, 2], 2, 2);
    let images = d.join("train-images-idx3-ubyte.gz");
    // Truncated gzip.
    let good = std::fs::read(&images).unwrap();
    std::fs::write(&images, &good[..good.len() / 2]).unwrap();
    let e = load_err(d);
    assert!(
        e.contains("train-images-idx3-ubyte.gz") && e.contains("gzip"),
        "{e}"
    );
    // Wrong magic.
    std::fs::write(&images, [9u8, 9, 9, 9, 0, 0, 0, 1]).unwrap();
    assert!(load_err(d).contains("not an IDX file"));
    // Fewer bytes than the header promises.
    std::fs::write(
        &images,
        [0u8, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3],
    )
    .unwrap();
    assert!(load_err(d).contains("truncated"));
    // Label count differs from image count.
    common::write_idx(d, "train", &[0; 12], &[1, 2], 2, 2);
    std::fs::remove_file(&images).unwrap();
    common::write_idx(d, "train", &[0; 12], &[1, 2, 3], 2, 2);
    let labels_only = tempfile::tempdir().unwrap();
    common::write_idx(labels_only.path(), "train", &[0; 8], &[1, 2], 2, 2);
    std::fs::copy(
        labels_only.path().join("train-labels-idx1-ubyte.gz"),
        d.join("train-labels-idx1-ubyte.gz"),
    )
    .unwrap();
    let e = load_err(d);
    assert!(
        e.contains("has 2 labels but") && e.contains("3 images"),
        "{e}"
    );
    // No images at all.
    let empty = tempfile::tempdir().unwrap();
    common::write_idx(empty.path(), "train", &[], &[], 2, 2);
    assert!(load_err(empty.path()).contains("no images"));
    // A folder with nothing usable.
    let nothing = tempfile::tempdir().unwrap();
    assert!(load_err(nothing.path()).contains("no IDX files and no images"));
}

#[test]
fn broken_image_folders_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let class = dir.path().join("train").join("a");
    std::fs::create_dir_all(&class).unwrap();
    image::GrayImage::new(4, 4)
        .save(class.join("1.png"))
        .unwrap();
    std::fs::write(class.join("notes.txt"), "hello").unwrap();
    let e = load_err(dir.path());
    assert!(e.contains("notes.txt") && e.contains("not a PNG"), "{e}");
    std::fs::remove_file(class.join("notes.txt")).unwrap();
    image::GrayImage::new(5, 4)
        .save(class.join("2.png"))
        .unwrap();
    let e = load_err(dir.path());
    assert!(
        e.contains("2.png") && e.contains("all images must match"),
        "{e}"
    );
    std::fs::remove_file(class.join("2.png")).unwrap();
    image::RgbImage::from_pixel(4, 4, image::Rgb([200, 10, 10]))
        .save(class.join("3.png"))
        .unwrap();
    assert!(load_err(dir.path()).contains("3 channel"));
    std::fs::write(class.join("4.png"), b"not a png at all").unwrap();
    std::fs::remove_file(class.join("3.png")).unwrap();
    assert!(load_err(dir.path()).contains("cannot decode"));
}

fn small_checkpoint() -> (Checkpoint, Vec<u8>) {
    let ctx = common::context();
    let config = ModelConfig::preset(Arch::Mlp, (1, 4, 4), Some(2));
    let ds = Dataset {
        images: vec![0.5; 8 * 16],
        labels: vec![0; 8],
        shape: (1, 4, 4),
        classes: vec!["0".into()],
    };
    let t = Trainer::new(
        &ctx,
        config,
        TrainSettings {
            batch: 4,
            lr: 1e-3,
            seed: 1,
            epochs: 1,
        },
        &ds,
        &ds,
        None,
    )
    .unwrap();
    let ck = t.checkpoint().unwrap();
    let bytes = ck.to_bytes().unwrap();
    (ck, bytes)
}

#[test]
fn broken_checkpoints_get_clear_errors() {
    let (ck, bytes) = small_checkpoint();
    let p = Path::new("ck.safetensors");
    let e = Checkpoint::from_bytes(&bytes[..bytes.len() / 2], p)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("ck.safetensors") && (e.contains("truncated") || e.contains("corrupt")),
        "{e}"
    );
    let e = Checkpoint::from_bytes(b"garbage", p)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a readable safetensors file"), "{e}");
    // A tensor missing, and a tensor of the wrong shape.
    let mut missing = ck.clone();
    missing.params.retain(|(n, _, _)| n != "fc3.bias");
    missing.moments = None;
    let e = Checkpoint::from_bytes(&missing.to_bytes().unwrap(), p)
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing tensor 'fc3.bias'"), "{e}");
    let mut wrong = ck.clone();
    wrong.moments = None;
    wrong.params[0].1 = vec![16, 400];
    let e = Checkpoint::from_bytes(&wrong.to_bytes().unwrap(), p)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("fc1.weight") && e.contains("[16, 400]") && e.contains("[400, 16]"),
        "{e}"
    );
    // A checkpoint of another configuration cannot resume this one.
    let ctx = common::context();
    let other = ModelConfig::preset(Arch::Mlp, (1, 4, 4), Some(3));
    let ds = Dataset {
        images: vec![0.5; 8 * 16],
        labels: vec![0; 8],
        shape: (1, 4, 4),
        classes: vec!["0".into()],
    };
    let settings = TrainSettings {
        batch: 4,
        lr: 1e-3,
        seed: 1,
        epochs: 1,
    };
    let e = Trainer::new(&ctx, other, settings, &ds, &ds, Some(ck))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("was trained with"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn random_bytes_never_panic_the_readers(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse_idx(&bytes, "x");
        let _ = Checkpoint::from_bytes(&bytes, Path::new("x"));
    }

    #[test]
    fn mutated_headers_never_panic_the_idx_reader(dims in prop::collection::vec(any::<u32>(), 0..5), ty in any::<u8>(), tail in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut bytes = vec![0, 0, ty, dims.len() as u8];
        for d in &dims {
            bytes.extend(d.to_be_bytes());
        }
        bytes.extend(tail);
        let _ = parse_idx(&bytes, "x");
    }
}

#[test]
fn mutated_checkpoints_never_panic_the_reader() {
    let (_, bytes) = small_checkpoint();
    let mut rng = latent_engine::rng::Rng::new(7);
    for _ in 0..300 {
        let mut b = bytes.clone();
        for _ in 0..1 + rng.below(4) {
            let i = rng.below(b.len().min(400));
            b[i] = rng.next_u64() as u8;
        }
        let cut = if rng.below(3) == 0 {
            rng.below(b.len())
        } else {
            b.len()
        };
        let _ = Checkpoint::from_bytes(&b[..cut], Path::new("x"));
    }
}

#[test]
fn a_diverging_run_stops_with_the_epoch_and_step() {
    let ctx = common::context();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/mnist10k");
    let mut train = Dataset::load(&dir, Split::Test).unwrap();
    train.images.truncate(256 * 784);
    train.labels.truncate(256);
    let config = ModelConfig::preset(Arch::Mlp, train.shape, None);
    let settings = TrainSettings {
        batch: 32,
        lr: 1e6,
        seed: 1,
        epochs: 1,
    };
    let mut t = Trainer::new(&ctx, config, settings, &train, &train, None).unwrap();
    let err = t
        .train_epoch(&mut |_| {}, &AtomicBool::new(false))
        .unwrap_err();
    match &err {
        Error::NonFinite { epoch, step, .. } => {
            assert!(*epoch == 1 && (1..=8).contains(step), "{err}")
        }
        other => panic!("expected a non-finite loss error, got {other}"),
    }
    assert!(err.to_string().contains("lower learning rate"));
}

#[test]
fn gpu_memory_stays_flat_across_epochs() {
    let ctx = common::context();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/mnist10k");
    let mut train = Dataset::load(&dir, Split::Test).unwrap();
    train.images.truncate(300 * 784);
    train.labels.truncate(300);
    let config = ModelConfig::preset(Arch::Mlp, train.shape, None);
    let mut t = Trainer::new(
        &ctx,
        config,
        TrainSettings {
            batch: 64,
            lr: 1e-3,
            seed: 1,
            epochs: 4,
        },
        &train,
        &train,
        None,
    )
    .unwrap();
    let stop = AtomicBool::new(false);
    let bytes = || {
        ctx.counters
            .allocated_bytes
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    t.train_epoch(&mut |_| {}, &stop).unwrap();
    let after_one = bytes();
    for _ in 0..3 {
        t.train_epoch(&mut |_| {}, &stop).unwrap();
        t.checkpoint().unwrap();
    }
    assert_eq!(
        bytes(),
        after_one,
        "GPU buffers were allocated after the first epoch"
    );
}

#[test]
fn a_batch_too_large_for_the_adapter_fails_before_any_dispatch() {
    let ctx = common::context();
    let max = ctx.limits.max_storage_buffer_binding_size as usize;
    let config = ModelConfig::preset(Arch::Mlp, (1, 28, 28), None);
    let params = ParamStore::init(&ctx, &config.param_specs(), 0);
    let state = ctx.zeros("state", 2);
    let rows = max / (784 * 4) + 1;
    let mut g = Graph::new();
    let x = g.input("x", &[rows, 784]);
    let (mu, _) = config.encoder(&mut g, x).unwrap();
    g.mark_output(mu);
    let before = ctx.counters.snapshot();
    let allocated = ctx
        .counters
        .allocated_bytes
        .load(std::sync::atomic::Ordering::Relaxed);
    let opts = ExecOptions {
        params: &params,
        state: &state,
        inputs: Default::default(),
        prologue: vec![],
        train: None,
    };
    let err = Executor::new(&ctx, g, opts).err().expect("must fail");
    assert!(matches!(err, Error::Limit { .. }), "{err}");
    assert!(err.to_string().contains("smaller batch"));
    assert_eq!(ctx.counters.snapshot(), before);
    assert_eq!(
        ctx.counters
            .allocated_bytes
            .load(std::sync::atomic::Ordering::Relaxed),
        allocated
    );
}

#[test]
fn wgpu_validation_errors_are_reported_not_swallowed() {
    let ctx = common::context();
    // A buffer without STORAGE usage bound as storage: a validation error.
    let plain = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("not storage"),
        size: 256,
        usage: wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let slice = latent_engine::buffers::GpuSlice {
        buffer: plain,
        offset: 0,
        len: 64,
    };
    let ok = ctx.zeros("ok", 64);
    let result = latent_engine::kernels::activations::forward(
        &ctx,
        latent_engine::kernels::activations::Activation::Relu,
        &slice,
        &ok,
    );
    let err = result
        .err()
        .map(|e| e.to_string())
        .or_else(|| ctx.check().err().map(|e| e.to_string()));
    let err = err.expect("the bad binding must be reported");
    assert!(
        err.contains("GPU error") && err.to_lowercase().contains("usage"),
        "{err}"
    );
    // The context keeps working afterwards.
    assert!(ctx.check().is_ok());
}

fn train_cmd(data: &Path, out: &Path, epochs: usize, resume: bool) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_latent"));
    c.args(["train", "--model", "mlp", "--batch", "32", "--seed", "4"])
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(out)
        .arg("--epochs")
        .arg(epochs.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if resume {
        c.arg("--resume");
    }
    c
}

fn losses(out: &Path) -> Vec<String> {
    std::fs::read_to_string(out.join("metrics.csv"))
        .unwrap()
        .lines()
        .map(|l| l.split(',').take(3).collect::<Vec<_>>().join(","))
        .collect()
}

fn wait_for(path: &Path, limit: Duration) {
    let t = Instant::now();
    while !path.exists() {
        assert!(t.elapsed() < limit, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigkill_at_any_moment_leaves_a_loadable_checkpoint() {
    let data = tempfile::tempdir().unwrap();
    common::small_mnist(data.path(), 640, 64);
    let out = tempfile::tempdir().unwrap();
    let run = out.path().join("run");
    for (i, delay_ms) in [0u64, 150, 400, 700, 1100].into_iter().enumerate() {
        let mut child = train_cmd(data.path(), &run, 40, i > 0).spawn().unwrap();
        if i == 0 {
            wait_for(
                &run.join("checkpoint.safetensors"),
                Duration::from_secs(120),
            );
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap();
        child.wait().unwrap();
        let ck = Checkpoint::load(&run).unwrap_or_else(|e| panic!("after SIGKILL {i}: {e}"));
        assert!(ck.epoch >= 1);
    }
    // No temporary files are left behind as the checkpoint.
    assert!(Checkpoint::load(&run.join("checkpoint.safetensors")).is_ok());
}

#[test]
fn sigint_writes_a_checkpoint_that_resumes_exactly() {
    let data = tempfile::tempdir().unwrap();
    common::small_mnist(data.path(), 2000, 64);
    let out = tempfile::tempdir().unwrap();
    let whole = out.path().join("whole");
    let status = train_cmd(data.path(), &whole, 3, false).status().unwrap();
    assert!(status.success());

    let cut = out.path().join("cut");
    let child = train_cmd(data.path(), &cut, 3, false).spawn().unwrap();
    wait_for(
        &cut.join("checkpoint.safetensors"),
        Duration::from_secs(120),
    );
    std::thread::sleep(Duration::from_millis(300));
    let pid = child.id().to_string();
    Command::new("kill").args(["-INT", &pid]).status().unwrap();
    let output = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    if output.status.success() {
        // The run finished before the signal arrived; nothing to resume.
        assert_eq!(losses(&cut), losses(&whole));
        return;
    }
    assert_eq!(output.status.code(), Some(130), "{err}");
    assert!(
        err.contains("interrupted") && !err.contains("panicked"),
        "{err}"
    );
    Checkpoint::load(&cut).unwrap();
    let status = train_cmd(data.path(), &cut, 3, true).status().unwrap();
    assert!(status.success());
    assert_eq!(
        losses(&cut),
        losses(&whole),
        "interrupted + resumed differs from uninterrupted"
    );
}

/// A set of bytes / 255 is kept as bytes: one too large for a binding as f32
/// (the limit on lavapipe is 128 MiB, 42,800 MNIST images) still trains, and
/// the same set with one pixel that is not a byte is refused, saying why.
#[test]
fn a_byte_dataset_past_the_f32_limit_fits_and_an_f32_one_is_refused() {
    let ctx = common::context();
    let max = ctx.limits.max_storage_buffer_binding_size as usize;
    let dim = 784;
    // Past the f32 limit, within the byte one (and at most 64 MiB of bytes).
    let n = (max / (dim * 4) + 1).min((64 << 20) / dim);
    assert!(n * dim * 4 > max && n * dim <= max, "{n} images");
    let mut ds = Dataset {
        images: (0..n * dim)
            .map(|k| ((k * 7) % 256) as f32 / 255.0)
            .collect(),
        labels: vec![0; n],
        shape: (1, 28, 28),
        classes: vec!["0".into()],
    };
    let config = ModelConfig::preset(Arch::Mlp, ds.shape, None);
    let settings = TrainSettings {
        batch: 64,
        lr: 1e-3,
        seed: 0,
        epochs: 1,
    };
    let small = Dataset {
        images: ds.images[..8 * dim].to_vec(),
        labels: vec![0; 8],
        ..ds.clone()
    };
    let t = Trainer::new(&ctx, config.clone(), settings.clone(), &ds, &small, None);
    assert!(t.is_ok(), "{}", t.err().unwrap());
    drop(t);
    ds.images[12345] = 0.5;
    let err = Trainer::new(&ctx, config, settings, &ds, &small, None)
        .err()
        .expect("an f32 set past the binding limit must be refused");
    assert!(matches!(err, Error::Limit { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("training set") && text.contains("not all bytes"),
        "{text}"
    );
}
