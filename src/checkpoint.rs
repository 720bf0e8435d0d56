//! Checkpoints in safetensors: parameters under PyTorch's names and shapes
//! (f32), Adam's moments under `adam.m.<name>` / `adam.v.<name>`, and the
//! model configuration, epoch and step in the metadata. Written atomically.

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::ModelConfig;

/// Training settings stored with a checkpoint so `--resume` continues the same run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    /// Batch size.
    pub batch: usize,
    /// Adam's learning rate.
    pub lr: f32,
    /// Seed of initialisation, shuffling and noise.
    pub seed: u64,
    /// Epochs asked for.
    pub epochs: usize,
}

/// Adam's first and second moments, one array per parameter.
pub type Moments = (Vec<Vec<f32>>, Vec<Vec<f32>>);

/// Everything a checkpoint holds.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    /// The model.
    pub config: ModelConfig,
    /// How it was trained.
    pub train: TrainSettings,
    /// Epochs completed.
    pub epoch: usize,
    /// Training steps completed (the GPU step counter).
    pub step: u32,
    /// Full batches already done in epoch `epoch + 1` when a run was interrupted
    /// mid-epoch (0 at an epoch's end), with the loss sums gathered so far.
    pub partial: Option<(usize, Vec<f32>)>,
    /// (name, shape, values) in the model's parameter order.
    pub params: Vec<(String, Vec<usize>, Vec<f32>)>,
    /// Adam's first and second moments, in the same order.
    pub moments: Option<Moments>,
}

fn bad(path: &Path, msg: impl Into<String>) -> Error {
    Error::Checkpoint {
        path: path.display().to_string(),
        msg: msg.into(),
    }
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

impl Checkpoint {
    /// Serialize to safetensors bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut blobs: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
        for (k, (name, shape, values)) in self.params.iter().enumerate() {
            blobs.push((name.clone(), shape.clone(), f32_bytes(values)));
            if let Some((m, v)) = &self.moments {
                blobs.push((format!("adam.m.{name}"), shape.clone(), f32_bytes(&m[k])));
                blobs.push((format!("adam.v.{name}"), shape.clone(), f32_bytes(&v[k])));
            }
        }
        let views: Vec<(String, TensorView)> = blobs
            .iter()
            .map(|(n, s, b)| {
                Ok((
                    n.clone(),
                    TensorView::new(Dtype::F32, s.clone(), b)
                        .map_err(|e| Error::Invalid(e.to_string()))?,
                ))
            })
            .collect::<Result<_>>()?;
        let meta = HashMap::from([
            ("format".to_string(), "latent-engine/1".to_string()),
            (
                "config".to_string(),
                serde_json::to_string(&self.config).unwrap(),
            ),
            (
                "train".to_string(),
                serde_json::to_string(&self.train).unwrap(),
            ),
            ("epoch".to_string(), self.epoch.to_string()),
            ("step".to_string(), self.step.to_string()),
        ]);
        let mut meta = meta;
        if let Some((batches, sums)) = &self.partial {
            meta.insert("batches_done".into(), batches.to_string());
            meta.insert("partial_loss".into(), serde_json::to_string(sums).unwrap());
        }
        safetensors::serialize(views, Some(meta))
            .map_err(|e| Error::Invalid(format!("serializing the checkpoint: {e}")))
    }

    /// Write to `path` atomically (temporary file, then rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::io::write_atomic(path, &self.to_bytes()?)
    }

    /// Read `path` (a `.safetensors` file, or a run folder holding `checkpoint.safetensors`).
    pub fn load(path: &Path) -> Result<Self> {
        let file = if path.is_dir() {
            path.join("checkpoint.safetensors")
        } else {
            path.to_path_buf()
        };
        if !file.exists() {
            return Err(bad(&file, "not found; pass the folder of a `latent train` run (its --out) or a .safetensors file"));
        }
        let bytes = std::fs::read(&file).map_err(|e| Error::io(&file, e))?;
        Self::from_bytes(&bytes, &file)
    }

    /// Parse safetensors bytes; `path` names the file in errors.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| {
            bad(
                path,
                format!("not a readable safetensors file ({e}); it may be truncated or corrupt"),
            )
        })?;
        let st = SafeTensors::deserialize(bytes)
            .map_err(|e| bad(path, format!("corrupt safetensors data: {e}")))?;
        let meta = header.metadata().clone().unwrap_or_default();
        let get = |k: &str| {
            meta.get(k).ok_or_else(|| {
                bad(
                    path,
                    format!("metadata has no '{k}': not a latent-engine checkpoint"),
                )
            })
        };
        let config: ModelConfig = serde_json::from_str(get("config")?)
            .map_err(|e| bad(path, format!("bad model config: {e}")))?;
        let train: TrainSettings = serde_json::from_str(get("train")?)
            .map_err(|e| bad(path, format!("bad training settings: {e}")))?;
        let epoch = get("epoch")?.parse().map_err(|_| bad(path, "bad epoch"))?;
        let step = get("step")?.parse().map_err(|_| bad(path, "bad step"))?;
        config.validate().map_err(|e| bad(path, e.to_string()))?;
        let read = |name: &str, shape: &[usize]| -> Result<Vec<f32>> {
            let t = st
                .tensor(name)
                .map_err(|_| bad(path, format!("missing tensor '{name}'")))?;
            if t.dtype() != Dtype::F32 {
                return Err(bad(
                    path,
                    format!("tensor '{name}' is {:?}, expected F32", t.dtype()),
                ));
            }
            if t.shape() != shape {
                return Err(bad(
                    path,
                    format!(
                        "tensor '{name}' has shape {:?}, the model needs {shape:?}",
                        t.shape()
                    ),
                ));
            }
            Ok(t.data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect())
        };
        let specs = config.param_specs();
        let mut params = Vec::new();
        for (name, shape, _) in &specs {
            params.push((name.clone(), shape.clone(), read(name, shape)?));
        }
        let has_moments = st.names().iter().any(|n| n.starts_with("adam."));
        let moments = if has_moments {
            let mut m = Vec::new();
            let mut v = Vec::new();
            for (name, shape, _) in &specs {
                m.push(read(&format!("adam.m.{name}"), shape)?);
                v.push(read(&format!("adam.v.{name}"), shape)?);
            }
            Some((m, v))
        } else {
            None
        };
        let partial = match (meta.get("batches_done"), meta.get("partial_loss")) {
            (Some(b), Some(l)) => Some((
                b.parse().map_err(|_| bad(path, "bad batches_done"))?,
                serde_json::from_str(l).map_err(|_| bad(path, "bad partial_loss"))?,
            )),
            _ => None,
        };
        Ok(Self {
            config,
            train,
            epoch,
            step,
            partial,
            params,
            moments,
        })
    }
}
