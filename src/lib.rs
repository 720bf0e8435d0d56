//! latent-engine: train and explore variational autoencoders on any GPU through
//! wgpu, with hand-written WGSL kernels.
//!
//! The pieces, bottom up:
//! - [`Context`]: adapter choice, device, pipeline cache ([`context`]);
//! - [`buffers`]: uploads, downloads and the [`buffers::Dispatch`] record;
//! - [`kernels`]: one module per WGSL file, each with its CPU reference;
//! - [`graph`]: models as graphs of ops, autodiff, buffer planning, replayed steps;
//! - [`data`], [`model`], [`train`], [`checkpoint`]: what `latent train` is made of;
//! - [`vae`] and [`explore`]: using a trained model.
//!
//! Generate images from a model trained with `latent train`:
//!
//! ```no_run
//! use latent_engine::{checkpoint::Checkpoint, vae::Vae, Context, ContextOptions};
//!
//! let ctx = Context::new(ContextOptions::default())?; // a GPU, or the software adapter
//! let checkpoint = Checkpoint::load("runs/mlp".as_ref())?;
//! let vae = Vae::new(&ctx, &checkpoint);
//! let images = vae.sample(16, 0)?; // 16 × 784 pixels in [0, 1]
//! let (mu, logvar) = vae.encode(&images)?; // 16 × 20 each
//! # Ok::<(), latent_engine::Error>(())
//! ```
//!
//! A program that already owns a `wgpu::Device` hands it over with
//! [`Context::from_device`]; see `examples/embed.rs` and `examples/custom_model.rs`.
#![warn(missing_docs)]

pub mod bench;
pub mod buffers;
pub mod checkpoint;
pub mod context;
pub mod data;
pub mod error;
pub mod explore;
pub mod graph;
pub mod io;
pub mod kernels;
pub mod model;
pub mod picture;
pub mod rng;
pub mod selftest;
pub mod shaders;
pub mod train;
pub mod vae;
pub mod warmup;

pub use context::{AdapterChoice, BackendChoice, Context, ContextOptions};
pub use error::{Error, Result};
