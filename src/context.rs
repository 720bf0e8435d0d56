//! The GPU context: adapter choice, device, limits, a pipeline cache and error capture.
//!
//! Build it once per program (or hand it a device the host already owns), then
//! create pipelines and bind groups once per plan and only record and submit per step.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::shaders;

/// Which kind of adapter to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AdapterChoice {
    /// A real GPU when there is one, else the software adapter (with a warning).
    #[default]
    Auto,
    /// A real GPU or an error.
    Gpu,
    /// wgpu's software adapter: lavapipe on Vulkan, llvmpipe on GL.
    Cpu,
}

/// Which graphics API to go through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BackendChoice {
    /// Every backend compiled in for this platform.
    #[default]
    Auto,
    /// Vulkan (Linux, Windows, Android).
    Vulkan,
    /// Metal (macOS, iOS).
    Metal,
    /// Direct3D 12 (Windows).
    Dx12,
    /// OpenGL / GLES (through EGL on Linux).
    Gl,
}

impl FromStr for AdapterChoice {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "gpu" => Ok(Self::Gpu),
            "cpu" => Ok(Self::Cpu),
            _ => Err(Error::Invalid(format!(
                "unknown adapter '{s}': use auto, gpu or cpu"
            ))),
        }
    }
}

impl FromStr for BackendChoice {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "vulkan" => Ok(Self::Vulkan),
            "metal" => Ok(Self::Metal),
            "dx12" => Ok(Self::Dx12),
            "gl" => Ok(Self::Gl),
            _ => Err(Error::Invalid(format!(
                "unknown backend '{s}': use auto, vulkan, metal, dx12 or gl"
            ))),
        }
    }
}

impl BackendChoice {
    /// The wgpu backend set this choice stands for.
    pub fn backends(self) -> wgpu::Backends {
        match self {
            Self::Auto => wgpu::Backends::all(),
            Self::Vulkan => wgpu::Backends::VULKAN,
            Self::Metal => wgpu::Backends::METAL,
            Self::Dx12 => wgpu::Backends::DX12,
            Self::Gl => wgpu::Backends::GL,
        }
    }

    /// What to install or do when this backend has no adapter.
    fn install_hint(self) -> &'static str {
        match self {
            Self::Auto | Self::Vulkan => {
                "no Vulkan driver: install a GPU driver, or mesa-vulkan-drivers and libvulkan1 for the software one (lavapipe)"
            }
            Self::Metal => "Metal exists only on macOS and iOS; on this system use --backend vulkan, dx12 or gl",
            Self::Dx12 => "Direct3D 12 exists only on Windows; on this system use --backend vulkan, metal or gl",
            Self::Gl => "no OpenGL/EGL driver: install libegl1 and libgl1-mesa-dri (llvmpipe is the software one)",
        }
    }
}

/// How the context chooses its adapter. [`ContextOptions::from_env`] reads
/// `LATENT_ADAPTER` and `LATENT_BACKEND`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ContextOptions {
    /// Which adapter kind.
    pub adapter: AdapterChoice,
    /// Which backend.
    pub backend: BackendChoice,
}

impl ContextOptions {
    /// Options from `LATENT_ADAPTER` / `LATENT_BACKEND`, `auto` where unset.
    pub fn from_env() -> Result<Self> {
        let read = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Ok(Self {
            adapter: read("LATENT_ADAPTER")
                .map(|v| v.parse())
                .transpose()?
                .unwrap_or_default(),
            backend: read("LATENT_BACKEND")
                .map(|v| v.parse())
                .transpose()?
                .unwrap_or_default(),
        })
    }
}

/// What `latent devices` prints about one adapter.
#[derive(Clone, Debug)]
pub struct AdapterReport {
    /// wgpu's description of the adapter.
    pub info: wgpu::AdapterInfo,
    /// Its limits.
    pub limits: wgpu::Limits,
    /// Its optional features.
    pub features: wgpu::Features,
    /// Whether `--adapter auto` would pick it.
    pub auto_pick: bool,
}

/// Counters of GPU work, to check that a step is a few submits and no readbacks.
#[derive(Debug, Default)]
pub struct Counters {
    /// Compute dispatches recorded.
    pub dispatches: AtomicU64,
    /// Queue submits.
    pub submits: AtomicU64,
    /// Buffer readbacks (map_async of a staging buffer).
    pub readbacks: AtomicU64,
    /// Bytes of tensor buffers created so far.
    pub allocated_bytes: AtomicU64,
}

impl Counters {
    /// (dispatches, submits, readbacks) so far.
    pub fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.dispatches.load(Ordering::Relaxed),
            self.submits.load(Ordering::Relaxed),
            self.readbacks.load(Ordering::Relaxed),
        )
    }
}

/// The GPU context every other part of the engine works through.
pub struct Context {
    /// The device.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    /// The adapter the device was opened on.
    pub info: wgpu::AdapterInfo,
    /// The limits the device was opened with (the adapter's own).
    pub limits: wgpu::Limits,
    /// The features enabled on the device.
    pub features: wgpu::Features,
    /// Work counters.
    pub counters: Counters,
    /// The adapter, where this context opened the device itself.
    adapter: Option<wgpu::Adapter>,
    modules: Mutex<HashMap<&'static str, wgpu::ShaderModule>>,
    pipelines: Mutex<HashMap<(String, String), wgpu::ComputePipeline>>,
    /// Scratch textures and buffers by (role, size): see [`Context::scratch_texture`].
    pub(crate) scratch_textures: Mutex<HashMap<(&'static str, u32), wgpu::Texture>>,
    pub(crate) scratch_buffers: Mutex<HashMap<(&'static str, usize), crate::buffers::GpuSlice>>,
    errors: Arc<Mutex<Vec<String>>>,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Context({} on {:?})", self.info.name, self.info.backend)
    }
}

fn new_instance(backend: BackendChoice) -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = backend.backends();
    wgpu::Instance::new(desc)
}

/// Rank for `auto`: real GPUs first, discrete before integrated, software last.
fn rank(info: &wgpu::AdapterInfo) -> u32 {
    let device = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 40,
        wgpu::DeviceType::IntegratedGpu => 30,
        wgpu::DeviceType::VirtualGpu => 20,
        wgpu::DeviceType::Other => 10,
        wgpu::DeviceType::Cpu => 0,
    };
    // Prefer the native APIs over GL for the same device.
    let api = match info.backend {
        wgpu::Backend::Vulkan | wgpu::Backend::Metal | wgpu::Backend::Dx12 => 2,
        _ => 1,
    };
    device + api
}

/// Whether wgpu runs this adapter on the CPU.
pub fn is_software(info: &wgpu::AdapterInfo) -> bool {
    info.device_type == wgpu::DeviceType::Cpu
}

fn pick(adapters: &[wgpu::Adapter], choice: AdapterChoice) -> Option<usize> {
    let candidates = adapters.iter().enumerate().filter(|(_, a)| {
        let info = a.get_info();
        match choice {
            AdapterChoice::Auto => true,
            AdapterChoice::Gpu => !is_software(&info),
            AdapterChoice::Cpu => is_software(&info),
        }
    });
    candidates
        .max_by_key(|(_, a)| rank(&a.get_info()))
        .map(|(i, _)| i)
}

/// Every adapter wgpu sees for `backend`, marking the one `auto` would pick.
pub fn list_adapters(backend: BackendChoice) -> Vec<AdapterReport> {
    let instance = new_instance(backend);
    let adapters = pollster::block_on(instance.enumerate_adapters(backend.backends()));
    let auto = pick(&adapters, AdapterChoice::Auto);
    adapters
        .iter()
        .enumerate()
        .map(|(i, a)| AdapterReport {
            info: a.get_info(),
            limits: a.limits(),
            features: a.features(),
            auto_pick: Some(i) == auto,
        })
        .collect()
}

impl Context {
    /// Choose an adapter as `opts` says and open a device with the adapter's own limits.
    pub fn new(opts: ContextOptions) -> Result<Self> {
        // With `auto`, ask the native APIs first and wake GL (EGL) only when they
        // have nothing suitable: EGL start-up is slow and noisy.
        let native = wgpu::Backends::VULKAN | wgpu::Backends::METAL | wgpu::Backends::DX12;
        let mut adapters = Vec::new();
        if opts.backend == BackendChoice::Auto {
            let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
            desc.backends = native;
            let found = pollster::block_on(wgpu::Instance::new(desc).enumerate_adapters(native));
            let good = pick(&found, opts.adapter).is_some_and(|i| {
                opts.adapter != AdapterChoice::Auto || !is_software(&found[i].get_info())
            });
            if good {
                adapters = found;
            }
        }
        if adapters.is_empty() {
            let instance = new_instance(opts.backend);
            adapters = pollster::block_on(instance.enumerate_adapters(opts.backend.backends()));
        }
        let tried = format!("backend {:?}, adapter {:?}", opts.backend, opts.adapter);
        if adapters.is_empty() {
            return Err(Error::NoAdapter(format!(
                "wgpu found no adapter ({tried}); {}",
                opts.backend.install_hint()
            )));
        }
        let found: Vec<String> = adapters
            .iter()
            .map(|a| {
                let i = a.get_info();
                format!("{} ({:?}, {:?})", i.name, i.backend, i.device_type)
            })
            .collect();
        let Some(index) = pick(&adapters, opts.adapter) else {
            let hint = match opts.adapter {
                AdapterChoice::Gpu => "no hardware GPU driver is visible; use --adapter cpu for the software adapter",
                _ => "no software adapter: install mesa-vulkan-drivers (lavapipe) or libgl1-mesa-dri (llvmpipe)",
            };
            return Err(Error::NoAdapter(format!(
                "{tried}; adapters seen: {}; {hint}",
                found.join(", ")
            )));
        };
        let adapter = &adapters[index];
        let info = adapter.get_info();
        if opts.adapter == AdapterChoice::Auto && is_software(&info) {
            log::warn!(
                "no hardware GPU found; falling back to the software adapter '{}' ({:?}), which is much slower",
                info.name,
                info.backend
            );
        }
        if opts.backend == BackendChoice::Auto
            && is_software(&info)
            && info.backend == wgpu::Backend::Gl
        {
            // Measured on a 2-core VM: matmul 512³ at 4.8 GFLOP/s through GL's
            // llvmpipe, 18-31 through Vulkan's lavapipe.
            log::warn!(
                "the software adapter runs through GL, several times slower than Vulkan's \
                 lavapipe; on Debian or Ubuntu, apt-get install mesa-vulkan-drivers libvulkan1"
            );
        }
        let ctx = Self::open(adapter.clone())?;
        log::info!(
            "using adapter '{}' ({:?}, {:?}, driver '{} {}')",
            info.name,
            info.backend,
            info.device_type,
            info.driver,
            info.driver_info
        );
        Ok(ctx)
    }

    /// A device on `adapter` with its own limits and the features we use.
    pub(crate) fn open(adapter: wgpu::Adapter) -> Result<Self> {
        let info = adapter.get_info();
        let wanted = wgpu::Features::TIMESTAMP_QUERY
            | wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS
            | wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES
            | wgpu::Features::SUBGROUP;
        let desc = wgpu::DeviceDescriptor {
            label: Some("latent-engine"),
            required_features: adapter.features() & wanted,
            required_limits: adapter.limits(),
            ..Default::default()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&desc)).map_err(|e| {
            Error::DeviceRequest {
                adapter: info.name.clone(),
                reason: e.to_string(),
            }
        })?;
        let mut ctx = Self::from_device(device, queue, info);
        ctx.adapter = Some(adapter);
        Ok(ctx)
    }

    /// The adapter, where this context opened the device itself: a second
    /// [`Context::open`] on it gives a device with the same limits and
    /// features, so the same kernel variants (see `warmup`).
    pub(crate) fn adapter(&self) -> Option<wgpu::Adapter> {
        self.adapter.clone()
    }

    /// Wrap a device and queue the host program already owns. `info` comes from
    /// the host's `adapter.get_info()`; it chooses kernel variants.
    ///
    /// ```no_run
    /// # async fn host() -> Result<(), Box<dyn std::error::Error>> {
    /// let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
    /// let adapter = instance.request_adapter(&Default::default()).await?;
    /// let (device, queue) = adapter.request_device(&Default::default()).await?;
    /// let ctx = latent_engine::Context::from_device(device, queue, adapter.get_info());
    /// # Ok(()) }
    /// ```
    pub fn from_device(device: wgpu::Device, queue: wgpu::Queue, info: wgpu::AdapterInfo) -> Self {
        let errors: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            log::error!("wgpu: {e}");
            sink.lock().unwrap().push(e.to_string());
        }));
        let sink = errors.clone();
        device.set_device_lost_callback(move |reason, msg| {
            if reason != wgpu::DeviceLostReason::Destroyed {
                log::error!("device lost ({reason:?}): {msg}");
                sink.lock()
                    .unwrap()
                    .push(format!("device lost ({reason:?}): {msg}"));
            }
        });
        Self {
            limits: device.limits(),
            features: device.features(),
            device,
            queue,
            info,
            counters: Counters::default(),
            adapter: None,
            modules: Mutex::default(),
            pipelines: Mutex::default(),
            scratch_textures: Mutex::default(),
            scratch_buffers: Mutex::default(),
            errors,
        }
    }

    /// Whether the device runs on the CPU (lavapipe, llvmpipe, WARP).
    pub fn is_software(&self) -> bool {
        is_software(&self.info)
    }

    /// The first GPU error reported since the last call, if any.
    pub fn check(&self) -> Result<()> {
        let mut errors = self.errors.lock().unwrap();
        if errors.is_empty() {
            return Ok(());
        }
        let all = errors.drain(..).collect::<Vec<_>>().join("; ");
        Err(Error::Gpu(all))
    }

    fn module(&self, name: &'static str) -> Result<wgpu::ShaderModule> {
        let mut modules = self.modules.lock().unwrap();
        if let Some(m) = modules.get(name) {
            return Ok(m.clone());
        }
        let src = shaders::source(name).ok_or_else(|| Error::Shader {
            name: name.into(),
            reason: "no such shader in shaders/".into(),
        })?;
        // No second naga pass here: wgpu validates the module itself (its
        // errors reach `check`), and tests/shaders.rs validates every
        // embedded file. Without the second pass, building the conv trainer
        // took 0.15-0.27 s instead of 0.26-0.30.
        let desc = wgpu::ShaderModuleDescriptor {
            label: Some(name),
            source: wgpu::ShaderSource::Wgsl(src.into()),
        };
        let module = self.device.create_shader_module(desc);
        modules.insert(name, module.clone());
        Ok(module)
    }

    /// The pipeline for `entry` of shader `file` with override `constants`,
    /// created on first use and cached by (file, entry, constants).
    pub fn pipeline(
        &self,
        file: &'static str,
        entry: &str,
        constants: &[(&str, f64)],
    ) -> Result<wgpu::ComputePipeline> {
        let key = (file.to_string(), format!("{entry}{constants:?}"));
        if let Some(p) = self.pipelines.lock().unwrap().get(&key) {
            return Ok(p.clone());
        }
        let module = self.module(file)?;
        let label = format!("{file}::{entry}");
        let pipeline = self
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(&label),
                layout: None,
                module: &module,
                entry_point: Some(entry),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants,
                    zero_initialize_workgroup_memory: false,
                },
                cache: None,
            });
        self.check()?;
        self.pipelines.lock().unwrap().insert(key, pipeline.clone());
        Ok(pipeline)
    }
}
