//! The BENCHMARKS.md workloads in Burn on its wgpu backend: the "established
//! framework" that issue #9's speed targets are stated against, measured on
//! the same machine and adapter as `latent bench`.
//!
//!     cd benches/burn && cargo run --release -- --model conv --epochs 3
//!
//! Same data (assets/mnist10k), models, loss (summed BCE-with-logits + KL),
//! Adam (lr 1e-3, β 0.9/0.999, ε 1e-8) and batch (128, last partial batch
//! kept, reshuffled every epoch) as latent-engine. Like `latent bench` it reads
//! the loss back once per epoch and prints training images/s over epochs
//! 2..N and the seconds from process start to the end of the first step.
//! Burn's defaults stay on (fusion, autotune); `DeviceKind::Cpu` picks the
//! software adapter (lavapipe), `--gpu` a discrete GPU. `--matmul` times
//! Burn's matmul on the shapes of `latent bench --kernels`; `BURN_CHECK=1`
//! prints each `conv` layer's largest activation per step (on lavapipe,
//! Burn 0.22.1's `conv` run turned NaN at its fourth step; see benches/HISTORY.md).

use std::io::Read;
use std::path::Path;
use std::time::Instant;

use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::activation::relu;
use burn::tensor::Distribution;

fn read_idx(path: &Path) -> Vec<u8> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut data = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut data)
        .expect("gzip IDX file");
    let dims = data[3] as usize;
    data.split_off(4 + 4 * dims)
}

fn images(dir: &Path, prefix: &str) -> Vec<f32> {
    read_idx(&dir.join(format!("{prefix}-images-idx3-ubyte.gz")))
        .iter()
        .map(|&b| b as f32 / 255.0)
        .collect()
}

#[derive(Module, Debug)]
struct Mlp {
    fc1: Linear,
    fc21: Linear,
    fc22: Linear,
    fc3: Linear,
    fc4: Linear,
}

#[derive(Module, Debug)]
struct Conv {
    conv1: Conv2d,
    conv2: Conv2d,
    fc1: Linear,
    fc21: Linear,
    fc22: Linear,
    fc3: Linear,
    fc4: Linear,
    deconv1: ConvTranspose2d,
    deconv2: ConvTranspose2d,
}

fn linear(i: usize, o: usize, device: &Device) -> Linear {
    LinearConfig::new(i, o).init(device)
}

fn conv(i: usize, o: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([i, o], [4, 4])
        .with_stride([2, 2])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(device)
}

fn deconv(i: usize, o: usize, device: &Device) -> ConvTranspose2d {
    ConvTranspose2dConfig::new([i, o], [4, 4])
        .with_stride([2, 2])
        .with_padding([1, 1])
        .init(device)
}

/// Σ BCE-with-logits + KL(N(μ, σ²) ‖ N(0, I)) over the batch.
fn vae_loss(logits: Tensor<2>, x: Tensor<2>, mu: Tensor<2>, logvar: Tensor<2>) -> Tensor<1> {
    // max(l, 0) − x·l + log(1 + exp(−|l|))
    let bce = relu(logits.clone()) - x * logits.clone() + logits.abs().neg().exp().log1p();
    let kl = (logvar.clone() + 1.0 - mu.clone().powi_scalar(2) - logvar.exp()).sum() * -0.5;
    bce.sum() + kl
}

fn reparam(mu: Tensor<2>, logvar: Tensor<2>) -> Tensor<2> {
    let eps = mu.random_like(Distribution::Normal(0.0, 1.0));
    mu + (logvar * 0.5).exp() * eps
}

impl Mlp {
    fn new(d: &Device) -> Self {
        Mlp {
            fc1: linear(784, 400, d),
            fc21: linear(400, 20, d),
            fc22: linear(400, 20, d),
            fc3: linear(20, 400, d),
            fc4: linear(400, 784, d),
        }
    }
}

impl Conv {
    fn new(d: &Device) -> Self {
        Conv {
            conv1: conv(1, 32, d),
            conv2: conv(32, 64, d),
            fc1: linear(3136, 256, d),
            fc21: linear(256, 16, d),
            fc22: linear(256, 16, d),
            fc3: linear(16, 256, d),
            fc4: linear(256, 3136, d),
            deconv1: deconv(64, 32, d),
            deconv2: deconv(32, 1, d),
        }
    }
}

trait Vae: Module + Sized {
    fn loss(&self, x: Tensor<2>) -> Tensor<1>;
}

impl Vae for Mlp {
    fn loss(&self, x: Tensor<2>) -> Tensor<1> {
        let h = relu(self.fc1.forward(x.clone()));
        let (mu, logvar) = (self.fc21.forward(h.clone()), self.fc22.forward(h));
        let z = reparam(mu.clone(), logvar.clone());
        let logits = self.fc4.forward(relu(self.fc3.forward(z)));
        vae_loss(logits, x, mu, logvar)
    }
}

impl Vae for Conv {
    fn loss(&self, x: Tensor<2>) -> Tensor<1> {
        let check = std::env::var_os("BURN_CHECK").is_some();
        let show = |name: &str, t: &Tensor<2>| {
            if check {
                let nan = t.clone().is_nan().any().into_scalar::<bool>();
                let max = t.clone().abs().max().into_scalar::<f32>();
                println!("{name}: nan {nan}, max |x| {max}");
            }
        };
        let n = x.dims()[0];
        let h = relu(self.conv1.forward(x.clone().reshape([n, 1, 28, 28])));
        show("conv1", &h.clone().reshape([n, 6272]));
        let h = relu(self.conv2.forward(h)).reshape([n, 3136]);
        show("conv2", &h);
        let h = relu(self.fc1.forward(h));
        show("fc1", &h);
        let (mu, logvar) = (self.fc21.forward(h.clone()), self.fc22.forward(h));
        let z = reparam(mu.clone(), logvar.clone());
        let h = relu(self.fc3.forward(z));
        let h = relu(self.fc4.forward(h)).reshape([n, 64, 7, 7]);
        show("fc4", &h.clone().reshape([n, 3136]));
        let h = relu(self.deconv1.forward(h));
        show("deconv1", &h.clone().reshape([n, 6272]));
        let logits = self.deconv2.forward(h).reshape([n, 784]);
        show("deconv2", &logits);
        vae_loss(logits, x, mu, logvar)
    }
}

struct Args {
    model: String,
    epochs: usize,
    gpu: bool,
    matmul: bool,
}

fn args() -> Args {
    let mut a = Args {
        model: "mlp".into(),
        epochs: 3,
        gpu: false,
        matmul: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--model" => a.model = it.next().expect("--model mlp|conv"),
            "--epochs" => a.epochs = it.next().and_then(|e| e.parse().ok()).expect("--epochs N"),
            "--gpu" => a.gpu = true,
            "--matmul" => a.matmul = true,
            other => panic!(
                "unknown argument {other}; use --model mlp|conv --epochs N [--gpu] or --matmul"
            ),
        }
    }
    a
}

/// A small xorshift for the epoch shuffles (the data order, not the model).
fn shuffle(order: &mut [usize], state: &mut u64) {
    for i in (1..order.len()).rev() {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        order.swap(i, (*state % (i as u64 + 1)) as usize);
    }
}

fn run<M: Vae>(mut model: M, device: &Device, a: &Args, start: Instant) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/mnist10k");
    let train = images(&dir, "train");
    let test = images(&dir, "t10k");
    let n = train.len() / 784;
    let batch = 128;
    let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = 0x9e3779b97f4a7c15u64;
    let (mut images_timed, mut seconds_timed) = (0usize, 0f64);
    for epoch in 1..=a.epochs {
        shuffle(&mut order, &mut rng);
        let t0 = Instant::now();
        let mut total = Tensor::<1>::zeros([1], device);
        for (step, idx) in order.chunks(batch).enumerate() {
            let mut xs = Vec::with_capacity(idx.len() * 784);
            for &i in idx {
                xs.extend_from_slice(&train[i * 784..(i + 1) * 784]);
            }
            let x = Tensor::<2>::from_data(TensorData::new(xs, [idx.len(), 784]), device);
            let loss = model.loss(x);
            total = total + loss.clone().detach();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(1e-3, model, grads);
            if epoch == 1 && step == 0 {
                let _ = total.clone().into_scalar::<f32>();
                println!(
                    "start-up {:.2} s to the end of the first step",
                    start.elapsed().as_secs_f64()
                );
            }
        }
        let train_loss = total.into_scalar::<f32>() / n as f32;
        let secs = t0.elapsed().as_secs_f64();
        if epoch >= 2 {
            images_timed += n;
            seconds_timed += secs;
        }
        let eval = model.valid();
        let nt = test.len() / 784;
        let x = Tensor::<2>::from_data(TensorData::new(test.clone(), [nt, 784]), device);
        let test_loss = eval.loss(x).into_scalar::<f32>() / nt as f32;
        println!(
            "epoch {epoch:3}: train loss {train_loss:.3}, test loss {test_loss:.3}, {:.0} images/s",
            n as f64 / secs
        );
    }
    if seconds_timed > 0.0 {
        println!(
            "{} training throughput {:.0} images/s (epochs 2..{})",
            a.model,
            images_timed as f64 / seconds_timed,
            a.epochs
        );
    }
}

/// GFLOP/s of C = A·B for the shapes `latent bench --kernels` times, as the
/// best of ten runs after warm-up (autotune included in the warm-up).
fn matmul(device: &Device) {
    for (m, k, n) in [(128, 784, 400), (512, 512, 512), (1024, 1024, 1024)] {
        let a = Tensor::<2>::random([m, k], Distribution::Uniform(-1.0, 1.0), device);
        let b = Tensor::<2>::random([k, n], Distribution::Uniform(-1.0, 1.0), device);
        let run = || a.clone().matmul(b.clone()).sum().into_scalar::<f32>();
        for _ in 0..3 {
            run();
        }
        let best = (0..10)
            .map(|_| {
                let t = Instant::now();
                run();
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min);
        let gflops = 2.0 * (m * k * n) as f64 / best / 1e9;
        println!("matmul {m}x{k}x{n}: {gflops:.2} GFLOP/s (best of 10, sum and readback included)");
    }
}

fn main() {
    let start = Instant::now();
    let a = args();
    let kind = if a.gpu {
        DeviceKind::DiscreteGpu(0)
    } else {
        DeviceKind::Cpu
    };
    if a.matmul {
        return matmul(&Device::wgpu(kind));
    }
    let device = Device::wgpu(kind).autodiff();
    device.seed(0);
    match a.model.as_str() {
        "mlp" => run(Mlp::new(&device), &device, &a, start),
        "conv" => run(Conv::new(&device), &device, &a, start),
        other => panic!("unknown model {other}: mlp or conv"),
    }
}
