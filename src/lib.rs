//! latent-engine: train and explore variational autoencoders on any GPU through
//! wgpu, with hand-written WGSL kernels.
//!
//! The pieces, bottom up:
//! - [`Context`]: adapter choice, device, pipeline cache ([`context`]);
//! - [`buffers`]: uploads, downloads and the [`buffers::Dispatch`] record;
//! - [`kernels`]: one module per WGSL file, each with its CPU reference;
//! - [`graph`]: models as graphs of ops, autodiff, buffer planning, replayed steps;
//! - [`data`], [`model`], [`train`], [`checkpoint`]: what `latent train` is made of.
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

pub use context::{AdapterChoice, BackendChoice, Context, ContextOptions};
pub use error::{Error, Result};
