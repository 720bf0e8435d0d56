//! The VAE models of BENCHMARKS.md, built as graphs, with PyTorch's parameter
//! names and shapes so weights move between the two.
//!
//! `mlp`: fc1 (D→H) → ReLU → fc21 / fc22 (H→L) = μ, log σ²; fc3 (L→H) → ReLU → fc4 (H→D).
//! `conv`: conv1 (C→c1, k4 s2 p1) → ReLU → conv2 (c1→c2) → ReLU → flatten → fc1 → ReLU
//! → fc21 / fc22; fc3 → ReLU → fc4 → ReLU → reshape (c2, H/4, W/4) → deconv1 → ReLU → deconv2.
//! Both decoders end in logits; x̂ = sigmoid(logits).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::graph::{Graph, TensorId};

/// Which architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// Dense layers only (the classic VAE of Kingma & Welling / PyTorch's example).
    Mlp,
    /// Convolutional encoder, transposed-convolution decoder.
    Conv,
}

impl std::str::FromStr for Arch {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "mlp" => Ok(Arch::Mlp),
            "conv" => Ok(Arch::Conv),
            _ => Err(Error::Invalid(format!(
                "unknown model '{s}': use mlp or conv"
            ))),
        }
    }
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Arch::Mlp => "mlp",
            Arch::Conv => "conv",
        })
    }
}

/// A model's full configuration (what `config.json` stores).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Architecture.
    pub arch: Arch,
    /// Input (C, H, W).
    pub input: (usize, usize, usize),
    /// Latent size L.
    pub latent: usize,
    /// Hidden width H of the dense layers.
    pub hidden: usize,
    /// Channels (c1, c2) of the conv model.
    pub channels: (usize, usize),
}

impl ModelConfig {
    /// The preset of BENCHMARKS.md for `arch` on inputs of `input` shape;
    /// `latent` overrides the latent size.
    pub fn preset(arch: Arch, input: (usize, usize, usize), latent: Option<usize>) -> Self {
        match arch {
            Arch::Mlp => Self {
                arch,
                input,
                latent: latent.unwrap_or(20),
                hidden: 400,
                channels: (0, 0),
            },
            Arch::Conv => Self {
                arch,
                input,
                latent: latent.unwrap_or(16),
                hidden: 256,
                channels: (32, 64),
            },
        }
    }

    /// Pixels per image.
    pub fn dim(&self) -> usize {
        self.input.0 * self.input.1 * self.input.2
    }

    /// Checks sizes; the conv model needs H and W divisible by 4.
    pub fn validate(&self) -> Result<()> {
        let (c, h, w) = self.input;
        if c == 0 || h == 0 || w == 0 || self.latent == 0 || self.hidden == 0 {
            return Err(Error::Invalid(format!(
                "model sizes must be positive: {self:?}"
            )));
        }
        if self.arch == Arch::Conv && (self.channels.0 == 0 || self.channels.1 == 0) {
            return Err(Error::Invalid(format!(
                "the conv model's channels must be positive, got {:?}",
                self.channels
            )));
        }
        if self.arch == Arch::Conv && (!h.is_multiple_of(4) || !w.is_multiple_of(4)) {
            return Err(Error::Invalid(format!(
                "the conv model needs images whose height and width are multiples of 4 (got {h}×{w}); use --model mlp"
            )));
        }
        Ok(())
    }

    /// Every parameter as (name, PyTorch shape, fan_in), in checkpoint order.
    pub fn param_specs(&self) -> Vec<(String, Vec<usize>, usize)> {
        let mut out = Vec::new();
        let mut linear = |name: &str, i: usize, o: usize| {
            out.push((format!("{name}.weight"), vec![o, i], i));
            out.push((format!("{name}.bias"), vec![o], i));
        };
        let (d, h, l) = (self.dim(), self.hidden, self.latent);
        match self.arch {
            Arch::Mlp => {
                linear("fc1", d, h);
                linear("fc21", h, l);
                linear("fc22", h, l);
                linear("fc3", l, h);
                linear("fc4", h, d);
            }
            Arch::Conv => {
                let (c, c1, c2, flat) =
                    (self.input.0, self.channels.0, self.channels.1, self.flat());
                let mut specs = vec![
                    ("conv1.weight".to_string(), vec![c1, c, 4, 4], c * 16),
                    ("conv1.bias".to_string(), vec![c1], c * 16),
                    ("conv2.weight".to_string(), vec![c2, c1, 4, 4], c1 * 16),
                    ("conv2.bias".to_string(), vec![c2], c1 * 16),
                ];
                let mut lin = Vec::new();
                for (name, i, o) in [
                    ("fc1", flat, h),
                    ("fc21", h, l),
                    ("fc22", h, l),
                    ("fc3", l, h),
                    ("fc4", h, flat),
                ] {
                    lin.push((format!("{name}.weight"), vec![o, i], i));
                    lin.push((format!("{name}.bias"), vec![o], i));
                }
                specs.extend(lin);
                // PyTorch's fan_in of a transposed convolution: out_channels · k · k.
                specs.push(("deconv1.weight".into(), vec![c2, c1, 4, 4], c1 * 16));
                specs.push(("deconv1.bias".into(), vec![c1], c1 * 16));
                specs.push(("deconv2.weight".into(), vec![c1, c, 4, 4], c * 16));
                specs.push(("deconv2.bias".into(), vec![c], c * 16));
                out = specs;
            }
        }
        out
    }

    /// Features after the conv encoder: c2 · H/4 · W/4.
    fn flat(&self) -> usize {
        self.channels.1 * (self.input.1 / 4) * (self.input.2 / 4)
    }

    fn params(&self, g: &mut Graph) -> std::collections::HashMap<String, TensorId> {
        self.param_specs()
            .into_iter()
            .map(|(name, shape, _)| (name.clone(), g.param(&name, &shape)))
            .collect()
    }

    /// Encoder: x (N, D) → (μ, log σ²), each (N, L).
    pub fn encoder(&self, g: &mut Graph, x: TensorId) -> Result<(TensorId, TensorId)> {
        let p = self.params(g);
        let n = g.shape(x)[0];
        let hidden = match self.arch {
            Arch::Mlp => g.dense(x, p["fc1.weight"], Some(p["fc1.bias"]), true)?,
            Arch::Conv => {
                let (c, h, w) = self.input;
                let img = g.reshape(x, &[n, c, h, w])?;
                let h1 = g.conv2d(img, p["conv1.weight"], Some(p["conv1.bias"]), 2, 1, true)?;
                let h2 = g.conv2d(h1, p["conv2.weight"], Some(p["conv2.bias"]), 2, 1, true)?;
                let flat = g.reshape(h2, &[n, self.flat()])?;
                g.dense(flat, p["fc1.weight"], Some(p["fc1.bias"]), true)?
            }
        };
        let mu = g.dense(hidden, p["fc21.weight"], Some(p["fc21.bias"]), false)?;
        let logvar = g.dense(hidden, p["fc22.weight"], Some(p["fc22.bias"]), false)?;
        Ok((mu, logvar))
    }

    /// Decoder: z (N, L) → logits (N, D).
    pub fn decoder(&self, g: &mut Graph, z: TensorId) -> Result<TensorId> {
        let p = self.params(g);
        let n = g.shape(z)[0];
        let h = g.dense(z, p["fc3.weight"], Some(p["fc3.bias"]), true)?;
        match self.arch {
            Arch::Mlp => g.dense(h, p["fc4.weight"], Some(p["fc4.bias"]), false),
            Arch::Conv => {
                let (c2, hq, wq) = (self.channels.1, self.input.1 / 4, self.input.2 / 4);
                let f = g.dense(h, p["fc4.weight"], Some(p["fc4.bias"]), true)?;
                let img = g.reshape(f, &[n, c2, hq, wq])?;
                let d1 = g.conv_transpose2d(
                    img,
                    p["deconv1.weight"],
                    Some(p["deconv1.bias"]),
                    2,
                    1,
                    true,
                )?;
                let d2 = g.conv_transpose2d(
                    d1,
                    p["deconv2.weight"],
                    Some(p["deconv2.bias"]),
                    2,
                    1,
                    false,
                )?;
                g.reshape(d2, &[n, self.dim()])
            }
        }
    }

    /// The training graph of a batch of `n`: input x (N, D); loss terms BCE and KL.
    /// Returns (graph, x, μ, log σ², logits).
    pub fn training_graph(
        &self,
        n: usize,
        seed: u32,
    ) -> Result<(Graph, TensorId, TensorId, TensorId, TensorId)> {
        let mut g = Graph::new();
        let x = g.input("x", &[n, self.dim()]);
        let (mu, logvar) = self.encoder(&mut g, x)?;
        let z = g.reparam(mu, logvar, seed)?;
        let logits = self.decoder(&mut g, z)?;
        g.bce_loss(logits, x)?;
        g.kl_loss(mu, logvar)?;
        Ok((g, x, mu, logvar, logits))
    }
}
