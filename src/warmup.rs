//! Compiling a training step's kernels on both CPU cores at start-up.
//!
//! llvmpipe (lavapipe) JIT-compiles each kernel at its first dispatch, on the
//! one thread that runs its queue: a cold `conv` start spent about 3 s there
//! while the other core idled. Mesa keeps compiled kernels in its disk cache,
//! which every device of the process shares. So a second device, the twin,
//! builds the same training step on another thread and compiles its kernels
//! last first, while the main device compiles them first to last
//! ([`Warmup::compile_step`]) before its first step; each finds the other's in
//! the cache. A dispatch of zero workgroups is enough to make llvmpipe compile
//! a kernel, and it touches no memory, so the main device can do this on its
//! real buffers. A board of claims keeps the two from compiling the same
//! kernel: where they met, racing, the big kernels were often compiled twice
//! (30–31 compiles for a 28-kernel `conv` step).
//!
//! Only where it helps: a software Vulkan adapter with Mesa's disk cache on.
//! Once a twin has compiled a model's kernels, a marker file in Mesa's cache
//! folder says so, and later starts (whose kernels come from that cache) skip
//! the twin. `LATENT_WARMUP=0` turns it off.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use crate::buffers::Dispatch;
use crate::checkpoint::TrainSettings;
use crate::context::Context;
use crate::data::Dataset;
use crate::error::Result;
use crate::graph::exec::Executor;
use crate::model::ModelConfig;
use crate::train::Trainer;

/// A running twin; dropping it waits for it (it never outlives the process's
/// use of the driver).
pub struct Warmup {
    thread: Option<JoinHandle<()>>,
    board: Arc<Board>,
}

impl Warmup {
    /// Start a twin that compiles the kernels of `config`'s training step at
    /// `settings.batch`, where that helps (see the module docs).
    pub fn start(ctx: &Context, config: &ModelConfig, settings: &TrainSettings) -> Self {
        let board = Arc::new(Board::default());
        let none = |board| Self {
            thread: None,
            board,
        };
        let Some(marker) = wanted(ctx).then(|| marker(ctx, config, settings)).flatten() else {
            return none(board);
        };
        if marker.exists() {
            return none(board);
        }
        let Some(adapter) = ctx.adapter() else {
            return none(board);
        };
        let (config, settings, shared) = (config.clone(), settings.clone(), board.clone());
        let spawned = std::thread::Builder::new()
            .name("latent-warmup".into())
            .spawn(move || {
                // Says the twin is done however it ends, a panic included:
                // the main device may be waiting for it.
                let _done = Finished(shared.clone());
                match compile(adapter, config, settings, &shared) {
                    Ok(()) => {
                        // Mesa's folder exists once it has cached something.
                        if marker.parent().is_some_and(|p| p.is_dir()) {
                            let _ = std::fs::write(&marker, b"");
                        }
                    }
                    Err(e) => log::debug!("warm-up twin stopped: {e}"),
                }
            });
        Self {
            thread: spawned.ok(),
            board,
        }
    }

    /// Whether a twin thread was started (it may have stopped early, say
    /// for a step too large to build twice).
    pub fn started(&self) -> bool {
        self.thread.is_some()
    }

    /// With a twin running: compile `step`'s kernels on this device, first
    /// to last, until the twin's share begins; then wait for the twin, so that
    /// the first step finds every kernel compiled. Without one, nothing.
    pub fn compile_step(&self, ctx: &Context, step: &Executor) -> Result<()> {
        if self.thread.is_none() {
            return Ok(());
        }
        let list = kernels(step);
        for (i, d) in list.iter().enumerate() {
            if !self.board.claim(&d.label, Side::Main) {
                // The twin claims a kernel only once it has compiled the one
                // after, so every kernel past this one is compiled: load them
                // from Mesa's cache here (a few ms each) while the twin
                // compiles this one, rather than idle now and load them in
                // the first step. Oldest first: Mesa writes its cache in the
                // background, and a kernel not there yet is compiled again.
                for d in list[i + 1..].iter().rev() {
                    log::debug!("warm-up: {} loaded here", d.label);
                    ctx.run(std::slice::from_ref(d))?;
                }
                log::debug!("warm-up: waiting for the twin");
                self.board.wait_for_twin();
                break;
            }
            log::debug!("warm-up: {} compiled here", d.label);
            ctx.run(std::slice::from_ref(d))?;
        }
        Ok(())
    }
}

impl Drop for Warmup {
    fn drop(&mut self) {
        if let Some(h) = self.thread.take() {
            let _ = h.join();
        }
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Side {
    Main,
    Twin,
}

/// Which side compiles which kernel (by label), and whether the twin is done.
#[derive(Default)]
struct Board {
    state: Mutex<(HashMap<String, Side>, bool)>,
    changed: Condvar,
}

impl Board {
    /// Claim kernel `label` for `side`: false where the other side has it.
    fn claim(&self, label: &str, side: Side) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *state.0.entry(label.to_string()).or_insert(side) == side
    }

    fn twin_finished(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).1 = true;
        self.changed.notify_all();
    }

    fn wait_for_twin(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while !state.1 {
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Marks the twin finished when dropped.
struct Finished(Arc<Board>);

impl Drop for Finished {
    fn drop(&mut self) {
        self.0.twin_finished();
    }
}

/// One dispatch of each kernel, in order of first use, with no workgroups
/// and no copies: it compiles the kernel and changes nothing.
fn kernels(step: &Executor) -> Vec<Dispatch> {
    let mut seen = HashSet::new();
    step.dispatches
        .iter()
        .filter(|d| seen.insert(d.label.clone()))
        .map(|d| Dispatch {
            workgroups: [0, 0, 0],
            copies: Vec::new(),
            ..d.clone()
        })
        .collect()
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

/// Build the training step on a twin device and compile its kernels, last
/// first, until it meets a kernel the main device has claimed.
fn compile(
    adapter: wgpu::Adapter,
    config: ModelConfig,
    settings: TrainSettings,
    board: &Board,
) -> Result<()> {
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
    // The main device's list, from its end: where the two meet, every
    // kernel before has been compiled by one and every one after by the other.
    for d in kernels(trainer.step_executor()).into_iter().rev() {
        if !board.claim(&d.label, Side::Twin) {
            break;
        }
        log::debug!("warm-up: {} compiled by the twin", d.label);
        twin.run(&[d])?;
    }
    // Done: the main device need not wait for this device's teardown.
    board.twin_finished();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two sides claim from opposite ends of one list; each kernel goes
    /// to exactly one of them, and each stops where the other's share begins.
    #[test]
    fn claims_split_the_list_where_the_sides_meet() {
        let board = Board::default();
        assert!(board.claim("a", Side::Main));
        assert!(board.claim("e", Side::Twin));
        assert!(board.claim("b", Side::Main));
        assert!(board.claim("c", Side::Main));
        assert!(board.claim("d", Side::Twin));
        // They meet: main's next is the twin's, the twin's next is main's.
        assert!(!board.claim("d", Side::Main));
        assert!(!board.claim("c", Side::Twin));
        // A claim is kept: asking again as the owner still says yes.
        assert!(board.claim("c", Side::Main) && board.claim("e", Side::Twin));
    }

    #[test]
    fn waiting_for_the_twin_returns_once_it_has_finished() {
        let board = Arc::new(Board::default());
        let twin = board.clone();
        let t = std::thread::spawn(move || twin.twin_finished());
        board.wait_for_twin();
        t.join().unwrap();
        assert!(board.state.lock().unwrap().1);
    }

    /// A twin that panics still says it is done, so the main device never
    /// waits forever.
    #[test]
    fn a_panicking_twin_still_finishes() {
        let board = Arc::new(Board::default());
        let twin = board.clone();
        let t = std::thread::spawn(move || {
            let _done = Finished(twin);
            panic!("twin failed");
        });
        assert!(t.join().is_err());
        assert!(board.state.lock().unwrap_or_else(|e| e.into_inner()).1);
    }
}
