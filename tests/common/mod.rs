//! The one place tests get a GPU context from.
//!
//! `LATENT_ADAPTER` / `LATENT_BACKEND` choose the adapter (CI sets
//! `LATENT_ADAPTER=cpu` for lavapipe). No adapter is a test failure, never a skip.
#![allow(dead_code)]

use latent_engine::{Context, ContextOptions};

pub fn context() -> Context {
    let _ = env_logger::builder().is_test(true).try_init();
    let opts = ContextOptions::from_env().expect("LATENT_ADAPTER / LATENT_BACKEND are invalid");
    let ctx = Context::new(opts).unwrap_or_else(|e| {
        panic!(
            "GPU tests need an adapter and none was found: {e}\n\
             On Linux without a GPU: apt-get install -y mesa-vulkan-drivers libvulkan1"
        )
    });
    eprintln!(
        "test adapter: {} ({:?}, {:?})",
        ctx.info.name, ctx.info.backend, ctx.info.device_type
    );
    ctx
}
