//! Compiling a training step's kernels on both CPU cores at start-up.
//!
//! llvmpipe (lavapipe) JIT-compiles each kernel at its first dispatch, on the
//! one thread that runs its queue: a cold `conv` start spent about 3 s there
//! while the other core idled. Mesa keeps compiled kernels in its disk cache,
//! which every device of the process shares. So a second device, the twin,
//! builds the same training step on another thread and dispatches each of its
//! kernels once (one workgroup, on blank data) in reverse order: it compiles
//! the last kernels while the main device compiles the first, and each finds
//! the other's in the cache. A cold `conv` start (`latent bench`, empty
//! cache) measured 3.4–4.0 s without the twin and 2.2–2.5 s with it.
//!
//! Only where it helps: a software Vulkan adapter with Mesa's disk cache on.
//! Once a twin has compiled a model's kernels, a marker file in Mesa's cache
//! folder says so, and later starts (whose kernels come from that cache) skip
//! the twin. `LATENT_WARMUP=0` turns it off.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::thread::JoinHandle;

use crate::checkpoint::TrainSettings;
use crate::context::Context;
use crate::data::Dataset;
use crate::model::ModelConfig;
use crate::train::Trainer;

/// A running twin; dropping it waits for it (it never outlives the process's
/// use of the driver).
pub struct Warmup(Option<JoinHandle<()>>);

impl Warmup {
    /// Start a twin that compiles the kernels of `config`'s training step at
    /// `settings.batch`, where that helps (see the module docs).
    pub fn start(ctx: &Context, config: &ModelConfig, settings: &TrainSettings) -> Self {
        let Some(marker) = wanted(ctx).then(|| marker(ctx, config, settings)).flatten() else {
            return Self(None);
        };
        if marker.exists() {
            return Self(None);
        }
        let Some(adapter) = ctx.adapter() else {
            return Self(None);
        };
        let (config, settings) = (config.clone(), settings.clone());
        let spawned = std::thread::Builder::new()
            .name("latent-warmup".into())
            .spawn(move || match compile(adapter, config, settings) {
                Ok(()) => {
                    // Mesa's folder exists once it has cached something.
                    if marker.parent().is_some_and(|p| p.is_dir()) {
                        let _ = std::fs::write(&marker, b"");
                    }
                }
                Err(e) => log::debug!("warm-up twin stopped: {e}"),
            });
        Self(spawned.ok())
    }

    /// Whether a twin thread was started (it may have stopped early, say
    /// for a step too large to build twice).
    pub fn started(&self) -> bool {
        self.0.is_some()
    }
}

impl Drop for Warmup {
    fn drop(&mut self) {
        if let Some(h) = self.0.take() {
            let _ = h.join();
        }
    }
}

/// A software Vulkan adapter (lavapipe) whose kernels Mesa caches on disk.
fn wanted(ctx: &Context) -> bool {
    let off = |name: &str| {
        std::env::var(name)
            .is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "y"))
    };
    ctx.is_software()
        && ctx.info.backend == wgpu::Backend::Vulkan
        && std::env::var("LATENT_WARMUP").map_or(true, |v| v != "0")
        && !off("MESA_SHADER_CACHE_DISABLE")
        && !off("MESA_GLSL_CACHE_DISABLE")
}

/// The marker file for this engine build, adapter, model and batch, in
/// Mesa's cache folder (so deleting that folder deletes it too).
fn marker(ctx: &Context, config: &ModelConfig, settings: &TrainSettings) -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let base = var("MESA_SHADER_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME"))
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    let mut h = std::hash::DefaultHasher::new();
    env!("CARGO_PKG_VERSION").hash(&mut h);
    crate::shaders::SHADERS.hash(&mut h);
    let i = &ctx.info;
    (&i.name, &i.driver, &i.driver_info).hash(&mut h);
    format!("{config:?} {}", settings.batch).hash(&mut h);
    Some(
        base.join("mesa_shader_cache")
            .join(format!("latent-engine-warm-{:016x}", h.finish())),
    )
}

/// The twin holds a second copy of the step's buffers while it runs: above
/// this naive sum of the training graph's tensors (`conv` at batch 128: 43
/// MiB) it is not worth the memory.
const MOST_BYTES: u64 = 512 << 20;

/// Build the training step on a twin device and dispatch each kernel once,
/// last first.
fn compile(
    adapter: wgpu::Adapter,
    config: ModelConfig,
    settings: TrainSettings,
) -> crate::error::Result<()> {
    let (mut graph, ..) = config.training_graph(settings.batch, 0)?;
    crate::graph::autodiff::backward(&mut graph)?;
    let bytes = crate::graph::plan::naive_bytes(&graph);
    if bytes > MOST_BYTES {
        return Err(crate::error::Error::Invalid(format!(
            "the step's tensors take {} MiB; a twin would double that",
            bytes >> 20
        )));
    }
    let twin = Context::open(adapter)?;
    // Blank data of the right shape: only the kernels matter here.
    let blank = |n: usize| Dataset {
        images: vec![0.0; n * config.dim()],
        labels: vec![0; n],
        shape: config.input,
        classes: Vec::new(),
    };
    let (train, test) = (blank(settings.batch), blank(1));
    let trainer = Trainer::new(&twin, config, settings, &train, &test, None)?;
    let mut seen = HashSet::new();
    let mut once = Vec::new();
    for d in trainer.step_executor().dispatches.iter().rev() {
        if seen.insert(d.label.clone()) {
            let mut d = d.clone();
            d.workgroups = [1, 1, 1];
            d.copies.clear();
            once.push(d);
        }
    }
    twin.run(&once)
}
