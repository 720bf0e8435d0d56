//! The `latent` binary: each command writes files of the right size, and bad
//! input gets a clear error and a non-zero exit code, never a panic.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn latent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_latent"))
        .args(args)
        .env(
            "LATENT_ADAPTER",
            std::env::var("LATENT_ADAPTER").unwrap_or_else(|_| "auto".into()),
        )
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = latent(args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "latent {args:?} failed:\n{text}");
    text
}

/// The error text of a command that must fail cleanly.
fn fails(args: &[&str]) -> String {
    let out = latent(args);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "latent {args:?} should fail");
    assert!(
        !err.contains("panicked"),
        "latent {args:?} panicked:\n{err}"
    );
    err
}

fn png_size(path: &Path) -> (u32, u32) {
    image::image_dimensions(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn train_then_use_the_model() {
    let data = tempfile::tempdir().unwrap();
    common::small_mnist(data.path(), 300, 40);
    let out = tempfile::tempdir().unwrap();
    let (d, o) = (data.path().to_str().unwrap(), out.path().join("run"));
    let o = o.to_str().unwrap();
    ok(&[
        "train", "--model", "mlp", "--data", d, "--epochs", "2", "--batch", "64", "--out", o,
        "--seed", "3",
    ]);
    let run = Path::new(o);
    for f in [
        "checkpoint.safetensors",
        "config.json",
        "metrics.csv",
        "samples.png",
        "reconstructions.png",
    ] {
        assert!(run.join(f).exists(), "{f} missing");
    }
    let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let lines: Vec<&str> = metrics.lines().collect();
    assert_eq!(lines[0], "epoch,train_loss,test_loss,images_per_s,seconds");
    assert_eq!(lines.len(), 3);
    assert!(lines[2].starts_with("2,"));
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["model"], "mlp");
    assert_eq!(config["latent_dim"], 20);
    // 8 × 8 samples of 28 px doubled, with 2 px gaps.
    assert_eq!(png_size(&run.join("samples.png")), (466, 466));

    let pic = out.path().join("s.png");
    ok(&[
        "sample",
        "--checkpoint",
        o,
        "--n",
        "9",
        "--out",
        pic.to_str().unwrap(),
    ]);
    assert_eq!(png_size(&pic), (3 * 58 + 2, 3 * 58 + 2));
    ok(&[
        "reconstruct",
        "--checkpoint",
        o,
        "--data",
        d,
        "--n",
        "5",
        "--out",
        pic.to_str().unwrap(),
    ]);
    assert_eq!(png_size(&pic), (8 * 58 + 2 - 3 * 58, 2 * 58 + 2));
    ok(&[
        "interpolate",
        "--checkpoint",
        o,
        "--data",
        d,
        "--from",
        "0",
        "--to",
        "7",
        "--steps",
        "6",
        "--out",
        pic.to_str().unwrap(),
    ]);
    assert_eq!(png_size(&pic), (6 * 58 + 2, 58 + 2));
    // An output folder that does not exist: named, and nothing written.
    let lost = out.path().join("no-such-folder");
    let err = fails(&[
        "sample",
        "--checkpoint",
        o,
        "--out",
        lost.join("s.png").to_str().unwrap(),
    ]);
    assert!(
        err.contains(&format!("the folder {} does not exist", lost.display())),
        "{err}"
    );
    assert!(!lost.exists());
    let file = out.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let err = fails(&[
        "explore",
        "--checkpoint",
        o,
        "--data",
        d,
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(err.contains("is a file, not a folder"), "{err}");
    // An I/O error (here: --out is a folder) is said once, with its path.
    let err = fails(&[
        "encode",
        "--checkpoint",
        o,
        "--data",
        d,
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(err.matches("os error").count(), 1, "{err}");
    assert!(err.contains(out.path().to_str().unwrap()), "{err}");
    let csv = out.path().join("e.csv");
    ok(&[
        "encode",
        "--checkpoint",
        o,
        "--data",
        d,
        "--out",
        csv.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 41);
    assert_eq!(rows[0].split(',').count(), 2 + 2 * 20);
    assert!(rows[0].starts_with("index,label,mu_0,"));
    assert!(rows[1].starts_with("0,"));

    // Resume to epoch 3: metrics grow by one row, the first two unchanged.
    ok(&[
        "train", "--model", "mlp", "--data", d, "--epochs", "3", "--out", o, "--resume",
    ]);
    let again = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let again: Vec<&str> = again.lines().collect();
    assert_eq!(again.len(), 4);
    assert_eq!(
        again[..3]
            .iter()
            .map(|l| l.split(',').take(3).collect::<Vec<_>>())
            .collect::<Vec<_>>(),
        lines
            .iter()
            .map(|l| l.split(',').take(3).collect::<Vec<_>>())
            .collect::<Vec<_>>()
    );
}

#[test]
fn bad_arguments_get_clear_errors() {
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    assert!(fails(&["train", "--batch", "0", "--out", o]).contains("--batch must be at least 1"));
    assert!(fails(&["train", "--epochs", "0", "--out", o]).contains("--epochs must be at least 1"));
    assert!(fails(&["train", "--lr=-1", "--out", o]).contains("--lr must be a positive number"));
    assert!(fails(&["train", "--lr", "-1", "--out", o]).contains("--lr must be a positive number"));
    assert!(fails(&["train", "--model", "resnet", "--out", o]).contains("unknown model 'resnet'"));
    assert!(fails(&["train", "--data", "/no/such/folder", "--out", o])
        .contains("no such file or folder"));
    assert!(
        fails(&["sample", "--checkpoint", "/no/such/run", "--out", "x.png"]).contains("not found")
    );
    assert!(fails(&["train", "--resume", "--out", o]).contains("cannot resume"));
    assert!(fails(&["train", "--hidden", "0", "--out", o]).contains("--hidden must be at least 1"));
    let file = out.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let file = file.to_str().unwrap();
    assert!(fails(&["train", "--out", file]).contains("is a file, not a folder"));
    // An output file in a folder that does not exist: refused before the work.
    let lost = out.path().join("no-such-folder").join("x.json");
    let lost = lost.to_str().unwrap();
    for args in [
        &["selftest", "--json", lost][..],
        &["bench", "--kernels", "--json", lost],
        &["plan", "--json", lost],
    ] {
        let out = latent(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains("does not exist"),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?} ran before it checked");
    }
    let jpg = out.path().join("x.jpg");
    let jpg = jpg.to_str().unwrap();
    assert!(fails(&["sample", "--checkpoint", o, "--out", jpg]).contains("ending in .png"));
    assert!(fails(&["reconstruct", "--checkpoint", o, "--out", jpg]).contains("ending in .png"));
    assert!(fails(&[
        "interpolate",
        "--checkpoint",
        o,
        "--from",
        "0",
        "--to",
        "1",
        "--steps",
        "1",
        "--out",
        "x.png"
    ])
    .contains("--steps must be at least 2"));
    assert!(fails(&["--adapter", "tpu", "devices"]).contains("unknown adapter 'tpu'"));
    assert!(fails(&["--backend", "metal", "devices"]).contains("Metal"));
}

#[test]
fn plan_reports_one_submit_and_no_readback_per_step() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("plan.json");
    ok(&[
        "plan",
        "--model",
        "mlp",
        "--batch",
        "64",
        "--json",
        json.to_str().unwrap(),
    ]);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    for key in [
        "ops",
        "dispatches_per_step",
        "submits_per_step",
        "readbacks_per_step",
        "planned_bytes",
        "naive_bytes",
    ] {
        assert!(v[key].as_u64().is_some(), "{key} missing in {v}");
    }
    assert_eq!(v["submits_per_step"], 1);
    assert_eq!(v["readbacks_per_step"], 0);
    assert!(v["planned_bytes"].as_u64() < v["naive_bytes"].as_u64());
    assert!(v["dispatches_per_step"].as_u64().unwrap() >= v["ops"].as_u64().unwrap());
}

#[test]
fn devices_lists_the_software_adapter() {
    let text = ok(&["devices"]);
    assert!(
        text.contains("llvmpipe")
            || text.contains("(Vulkan")
            || text.contains("Metal")
            || text.contains("Dx12"),
        "{text}"
    );
    assert!(text.contains("max storage binding"));
}

#[test]
fn bench_profiles_a_step_by_kernel() {
    let data = tempfile::tempdir().unwrap();
    common::small_mnist(data.path(), 300, 40);
    let d = data.path().to_str().unwrap();
    for first in [false, true] {
        let mut args = vec!["bench", "--model", "mlp", "--data", d, "--profile"];
        if first {
            args.push("--first-step");
        } else {
            args.extend(["--replays", "3", "--dispatches"]);
        }
        let text = ok(&args);
        if !first {
            // --dispatches lists each of the step's N dispatches, numbered
            // 0 .. N - 1, as many as the clock line counts.
            let n: usize = text
                .split(" dispatches;")
                .next()
                .and_then(|t| t.rsplit('(').next())
                .and_then(|t| t.parse().ok())
                .unwrap_or_else(|| panic!("no dispatch count in:\n{text}"));
            let numbered: Vec<usize> = text
                .lines()
                .filter_map(|l| l.split_whitespace().next()?.parse().ok())
                .collect();
            assert_eq!(numbered, (0..n).collect::<Vec<_>>(), "{text}");
        }
        let title = if first {
            "the first training step"
        } else {
            "median of 3 replays"
        };
        assert!(text.contains(title), "no title in:\n{text}");
        // Every row: kernel, count, ms, share; the shares add up to 100%.
        let shares: Vec<f64> = text
            .lines()
            .filter(|l| l.trim_end().ends_with('%'))
            .map(|l| {
                l.split_whitespace()
                    .last()
                    .unwrap()
                    .trim_end_matches('%')
                    .parse()
                    .unwrap()
            })
            .collect();
        assert!(
            text.lines().any(|l| l.starts_with("matmul")),
            "no matmul row in:\n{text}"
        );
        let sum: f64 = shares.iter().sum();
        assert!((sum - 100.0).abs() < 0.5, "shares add up to {sum}:\n{text}");
    }
    let err = fails(&["bench", "--first-step"]);
    assert!(err.contains("--profile"), "{err}");
    let err = fails(&["bench", "--profile", "--replays", "0"]);
    assert!(err.contains("--replays"), "{err}");
}

/// `bench --kernels --json` writes the keys issue #3 names: a row for
/// matmul 512³ and for each conv layer's forward and both backward
/// products, each with finite, positive GFLOP/s, and on each convolution
/// its share of the plain matmul 512³ in the same run.
#[test]
fn bench_kernels_writes_gflops_for_every_layer() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kernels.json");
    let text = ok(&[
        "bench",
        "--kernels",
        "--quick",
        "--json",
        file.to_str().unwrap(),
    ]);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let rows = json["kernels"].as_array().expect("a kernels array");
    let mut wanted = vec![("matmul", "512x512x512".to_string())];
    for layer in ["conv1", "conv2"] {
        for kernel in ["forward", "backward_input", "backward_weight"] {
            wanted.push((kernel, format!("conv2d_{kernel} {layer} ")));
        }
    }
    for layer in ["deconv1", "deconv2"] {
        for kernel in ["forward", "backward_input", "backward_weight"] {
            wanted.push((kernel, format!("conv_transpose2d_{kernel} {layer} ")));
        }
    }
    for (kernel, label) in &wanted {
        let found = rows.iter().any(|r| {
            let name = r["kernel"].as_str().unwrap_or("");
            let shape = r["shape"].as_str().unwrap_or("");
            if *kernel == "matmul" {
                name == "matmul" && shape == label
            } else {
                format!("{name} {shape}").starts_with(label.as_str())
            }
        });
        assert!(found, "no row for {label} in {json}");
    }
    let matmul_512 = rows
        .iter()
        .find(|r| r["kernel"] == "matmul" && r["shape"] == "512x512x512")
        .and_then(|r| r["gflops"].as_f64())
        .expect("the plain matmul 512³");
    for r in rows {
        let g = r["gflops"].as_f64().unwrap_or(f64::NAN);
        assert!(g.is_finite() && g > 0.0, "bad GFLOP/s in {r}");
        // Each convolution's share of the plain matmul 512³ in the same run.
        let conv = r["kernel"].as_str().unwrap_or("").starts_with("conv");
        match r.get("share_of_matmul").and_then(|s| s.as_f64()) {
            Some(s) => {
                assert!(conv, "share_of_matmul on a matmul row: {r}");
                assert!((s - g / matmul_512).abs() < 1e-9, "wrong share in {r}");
            }
            None => assert!(!conv, "no share_of_matmul in {r}"),
        }
    }
    assert!(
        text.contains("GFLOP/s") && text.contains("of matmul"),
        "{text}"
    );
}

/// On lavapipe with Mesa's disk cache, `train` compiles kernels on a twin
/// device too (src/warmup.rs): the twin must finish (it leaves its marker in
/// the cache folder) and must not change a single number of the run.
#[test]
fn warmup_twin_fills_the_cache_and_changes_no_result() {
    let data = tempfile::tempdir().unwrap();
    common::small_mnist(data.path(), 300, 40);
    let d = data.path().to_str().unwrap();
    let run = |warmup: &str| {
        let cache = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let o = out.path().join("run");
        let res = Command::new(env!("CARGO_BIN_EXE_latent"))
            .args([
                "train", "--model", "mlp", "--data", d, "--epochs", "1", "--batch", "64", "--out",
            ])
            .arg(&o)
            .env(
                "LATENT_ADAPTER",
                std::env::var("LATENT_ADAPTER").unwrap_or_else(|_| "auto".into()),
            )
            .env("MESA_SHADER_CACHE_DIR", cache.path())
            .env_remove("MESA_SHADER_CACHE_DISABLE")
            .env("LATENT_WARMUP", warmup)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&res.stderr).to_string();
        assert!(res.status.success(), "train failed:\n{err}");
        let markers = std::fs::read_dir(cache.path().join("mesa_shader_cache"))
            .map(|dir| {
                dir.filter(|e| {
                    let name = e.as_ref().unwrap().file_name();
                    name.to_string_lossy().starts_with("latent-engine-warm-")
                })
                .count()
            })
            .unwrap_or(0);
        let metrics = std::fs::read_to_string(o.join("metrics.csv")).unwrap();
        // epoch, train_loss, test_loss (images/s and seconds vary).
        let losses: Vec<String> = metrics
            .lines()
            .skip(1)
            .map(|l| l.split(',').take(3).collect::<Vec<_>>().join(","))
            .collect();
        (err, markers, losses)
    };
    let (err, with_twin, losses) = run("1");
    let (_, without, reference) = run("0");
    assert_eq!(without, 0, "LATENT_WARMUP=0 must not start a twin");
    let lavapipe = err.contains("llvmpipe") && err.contains("(Vulkan)");
    assert_eq!(
        with_twin,
        usize::from(lavapipe),
        "a twin runs on lavapipe only, and finishes there; stderr:\n{err}"
    );
    assert_eq!(losses, reference, "the twin changed the results");
}
