//! `cargo fuzz run idx`: the IDX parser never panics, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((dims, body)) = latent_engine::data::parse_idx(data, "fuzz") {
        // What it accepts is consistent: the body holds exactly the promised elements.
        assert_eq!(dims.iter().product::<usize>(), body.len());
    }
});
