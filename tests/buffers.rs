//! Buffer helpers: typed round trips, zero-filled allocation, the reuse pool.

mod common;

use latent_engine::buffers::BufferPool;

#[test]
fn uploads_and_downloads_round_trip_typed_data() {
    let ctx = common::context();
    let floats = [1.5f32, -2.0, 3.25];
    assert_eq!(
        ctx.download::<f32>(&ctx.upload("f", &floats)).unwrap(),
        floats
    );
    let words = [7u32, 0, u32::MAX];
    assert_eq!(
        ctx.download::<u32>(&ctx.upload("u", &words)).unwrap(),
        words
    );
    assert_eq!(
        ctx.download::<f32>(&ctx.zeros("z", 5)).unwrap(),
        vec![0.0; 5]
    );
    let s = ctx.zeros("w", 3);
    ctx.write(&s, &[4.0f32, 5.0, 6.0]);
    assert_eq!(ctx.download::<f32>(&s).unwrap(), [4.0, 5.0, 6.0]);
}

#[test]
fn the_pool_reuses_buffers_of_the_same_size() {
    let ctx = common::context();
    let mut pool = BufferPool::default();
    let a = pool.acquire(&ctx, "a", 100);
    let b = pool.acquire(&ctx, "b", 50);
    assert_eq!(pool.allocated_bytes, 600);
    assert_eq!(pool.live_bytes, 600);
    let a_buffer = a.buffer.clone();
    pool.release(a);
    assert_eq!(pool.live_bytes, 200);
    // Same size: the released buffer comes back, nothing new is allocated.
    let c = pool.acquire(&ctx, "c", 100);
    assert_eq!(c.buffer, a_buffer);
    assert_eq!(pool.allocated_bytes, 600);
    // Another size: a new allocation.
    let d = pool.acquire(&ctx, "d", 30);
    assert_ne!(d.buffer, b.buffer);
    assert_eq!(pool.allocated_bytes, 720);
}
