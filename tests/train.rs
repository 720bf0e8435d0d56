//! Training end to end on a small subset: the loss falls, checkpoints round-trip,
//! and a resumed run equals an uninterrupted one.

mod common;

use std::sync::atomic::AtomicBool;

use latent_engine::checkpoint::{Checkpoint, TrainSettings};
use latent_engine::data::{Dataset, Split};
use latent_engine::model::{Arch, ModelConfig};
use latent_engine::train::{EpochReport, Trainer};
use latent_engine::vae::Vae;
use latent_engine::Context;

fn subset(train: usize, test: usize) -> (Dataset, Dataset) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/mnist10k");
    let cut = |mut ds: Dataset, n: usize| {
        ds.images.truncate(n * ds.dim());
        ds.labels.truncate(n);
        ds
    };
    (
        cut(Dataset::load(&dir, Split::Train).unwrap(), train),
        cut(Dataset::load(&dir, Split::Test).unwrap(), test),
    )
}

fn settings(epochs: usize) -> TrainSettings {
    // 600 images at batch 128: four full batches and a partial one of 88.
    TrainSettings {
        batch: 128,
        lr: 1e-3,
        seed: 11,
        epochs,
    }
}

fn run(ctx: &Context, trainer: &mut Trainer, epochs: usize) -> Vec<EpochReport> {
    let stop = AtomicBool::new(false);
    (0..epochs)
        .map(|_| trainer.train_epoch(&mut |_| {}, &stop).unwrap().unwrap())
        .inspect(|_| ctx.check().unwrap())
        .collect()
}

#[test]
fn a_short_run_lowers_the_loss() {
    let ctx = common::context();
    let (train, test) = subset(600, 100);
    let config = ModelConfig::preset(Arch::Mlp, train.shape, None);
    let mut t = Trainer::new(&ctx, config, settings(3), &train, &test, None).unwrap();
    let before = t.evaluate().unwrap();
    let r = run(&ctx, &mut t, 3);
    assert!(
        before > 400.0,
        "an untrained model should be poor, got {before}"
    );
    assert!(
        r[2].test_loss < r[0].test_loss && r[0].test_loss < before,
        "test losses {before} → {:?}",
        r.iter().map(|r| r.test_loss).collect::<Vec<_>>()
    );
    assert!(r[2].train_loss < r[0].train_loss);
    assert!(r.iter().all(|r| r.images_per_s > 0.0 && r.seconds > 0.0));
}

#[test]
fn resuming_after_epoch_one_equals_an_uninterrupted_run() {
    let ctx = common::context();
    let (train, test) = subset(600, 100);
    let config = ModelConfig::preset(Arch::Mlp, train.shape, None);
    let mut whole = Trainer::new(&ctx, config.clone(), settings(2), &train, &test, None).unwrap();
    let full = run(&ctx, &mut whole, 2);

    let mut first = Trainer::new(&ctx, config.clone(), settings(2), &train, &test, None).unwrap();
    let one = run(&ctx, &mut first, 1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkpoint.safetensors");
    first.checkpoint().unwrap().save(&path).unwrap();
    drop(first);
    let ck = Checkpoint::load(&path).unwrap();
    assert_eq!((ck.epoch, ck.step), (1, 5));
    let mut resumed = Trainer::new(&ctx, config, settings(2), &train, &test, Some(ck)).unwrap();
    let two = run(&ctx, &mut resumed, 1);
    let losses = |r: &[EpochReport]| {
        r.iter()
            .map(|r| (r.train_loss, r.test_loss))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        losses(&full),
        [losses(&one), losses(&two)].concat(),
        "resumed run differs"
    );
    let a = whole.checkpoint().unwrap();
    let b = resumed.checkpoint().unwrap();
    assert_eq!(a.params, b.params);
}

#[test]
fn the_same_seed_gives_the_same_losses() {
    let ctx = common::context();
    let (train, test) = subset(300, 50);
    let config = ModelConfig::preset(Arch::Mlp, train.shape, Some(2));
    let losses = |seed| {
        let mut t = Trainer::new(
            &ctx,
            config.clone(),
            TrainSettings {
                seed,
                ..settings(1)
            },
            &train,
            &test,
            None,
        )
        .unwrap();
        let r = run(&ctx, &mut t, 1);
        (r[0].train_loss, r[0].test_loss)
    };
    assert_eq!(losses(5), losses(5));
    assert_ne!(losses(5), losses(6));
}

#[test]
fn checkpoints_round_trip_through_safetensors() {
    let ctx = common::context();
    let (train, test) = subset(300, 50);
    let config = ModelConfig::preset(Arch::Conv, train.shape, None);
    let mut t = Trainer::new(
        &ctx,
        config,
        TrainSettings {
            batch: 64,
            ..settings(1)
        },
        &train,
        &test,
        None,
    )
    .unwrap();
    t.run_steps(2).unwrap();
    let ck = t.checkpoint().unwrap();
    let dir = tempfile::tempdir().unwrap();
    ck.save(&dir.path().join("checkpoint.safetensors")).unwrap();
    let back = Checkpoint::load(dir.path()).unwrap();
    assert_eq!(back.config, ck.config);
    assert_eq!(back.params, ck.params);
    assert_eq!(back.moments, ck.moments);
    // PyTorch's names and layouts.
    let shapes: Vec<(&str, &[usize])> = back
        .params
        .iter()
        .map(|(n, s, _)| (n.as_str(), &s[..]))
        .collect();
    assert!(shapes.contains(&("conv1.weight", &[32, 1, 4, 4][..])));
    assert!(shapes.contains(&("fc1.weight", &[256, 3136][..])));
    assert!(shapes.contains(&("deconv1.weight", &[64, 32, 4, 4][..])));
    assert!(shapes.contains(&("deconv2.bias", &[1][..])));
    // The loaded model decodes exactly as the trained one.
    let z = vec![0.3f32; 2 * 16];
    assert_eq!(
        Vae::new(&ctx, &ck).decode(&z).unwrap(),
        Vae::new(&ctx, &back).decode(&z).unwrap()
    );
}
