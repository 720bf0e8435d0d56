//! `cargo fuzz run checkpoint`: the checkpoint reader never panics, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = latent_engine::checkpoint::Checkpoint::from_bytes(data, std::path::Path::new("fuzz"));
});
