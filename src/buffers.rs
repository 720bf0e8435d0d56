//! GPU buffers: typed upload and download, zero-filled allocation, a reuse pool,
//! and the `Dispatch` record that every kernel produces.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use wgpu::util::DeviceExt;

use crate::context::Context;
use crate::error::{Error, Result};

/// Usage of every tensor buffer: read and written by kernels, copied both ways,
/// and readable through 64 KiB uniform windows (see matmul's window variant).
pub const STORAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::UNIFORM)
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

/// Bytes every tensor buffer carries past its end, so that a 64 KiB uniform
/// window starting at any element stays inside the buffer.
pub const WINDOW_PAD: u64 = 65536;

/// A run of f32 (or u32) elements inside a GPU buffer: what kernels bind.
#[derive(Clone, Debug)]
pub struct GpuSlice {
    /// The buffer holding the elements.
    pub buffer: wgpu::Buffer,
    /// Byte offset of the first element (a multiple of the storage offset alignment).
    pub offset: u64,
    /// Number of 4-byte elements.
    pub len: usize,
}

impl GpuSlice {
    /// The whole of `buffer`, as 4-byte elements.
    pub fn whole(buffer: wgpu::Buffer) -> Self {
        let len = (buffer.size() / 4) as usize;
        Self {
            buffer,
            offset: 0,
            len,
        }
    }

    /// Size in bytes.
    pub fn bytes(&self) -> u64 {
        self.len as u64 * 4
    }

    /// The binding resource for a bind group.
    pub fn binding(&self) -> wgpu::BindingResource<'_> {
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &self.buffer,
            offset: self.offset,
            // Zero-length bindings are invalid; a 1-element tensor still binds 4 bytes.
            size: wgpu::BufferSize::new(self.bytes().max(4)),
        })
    }
}

/// One recorded compute dispatch: pipeline, bind group and grid, all made at plan time.
#[derive(Clone, Debug)]
pub struct Dispatch {
    /// Which kernel, for profiles and error messages.
    pub label: String,
    /// The pipeline.
    pub pipeline: wgpu::ComputePipeline,
    /// Its bindings.
    pub bind_group: wgpu::BindGroup,
    /// Workgroups in x, y, z.
    pub workgroups: [u32; 3],
    /// Buffer copies to make first (outside any compute pass), in order:
    /// staging that lets a kernel read as uniforms what it also writes.
    pub copies: Vec<BufferCopy>,
}

/// A copy of `from` into `to`, recorded on the encoder.
#[derive(Clone, Debug)]
pub struct BufferCopy {
    /// The source.
    pub from: GpuSlice,
    /// The destination.
    pub to: CopyTarget,
}

/// Where a [`BufferCopy`] writes.
#[derive(Clone, Debug)]
pub enum CopyTarget {
    /// A slice of the same length.
    Buffer(GpuSlice),
    /// The first `rows` rows of an RGBA32F texture whose rows hold 256
    /// floats each (see matmul_texture.wgsl), filled from `from` row by
    /// row: the copy reads whole rows, so up to 255 floats past `from`'s end
    /// (inside the buffer's padding).
    Texture {
        /// The texture.
        texture: wgpu::Texture,
        /// Rows to fill: `from.len` / 256, rounded up.
        rows: u32,
    },
}

impl CopyTarget {
    /// The rows of an operand texture that `len` floats fill.
    pub fn texture_rows(len: usize) -> u32 {
        len.div_ceil(TEXTURE_ROW).max(1) as u32
    }
}

/// Floats per row of the operand textures that kernels read values through
/// (64 RGBA32F texels, 1,024 bytes: a multiple of the 256 bytes that
/// buffer-to-texture copies need).
pub const TEXTURE_ROW: usize = 256;

impl Dispatch {
    /// Record this dispatch into an open compute pass (its copies are
    /// recorded by [`Context::record`], outside the pass).
    pub fn record(&self, pass: &mut wgpu::ComputePass<'_>) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        let [x, y, z] = self.workgroups;
        pass.dispatch_workgroups(x, y, z);
    }

    /// Record this dispatch's copies on `encoder` (no compute pass may be open).
    pub fn record_copies(&self, encoder: &mut wgpu::CommandEncoder) {
        for c in &self.copies {
            match &c.to {
                CopyTarget::Buffer(to) => {
                    debug_assert_eq!(c.from.len, to.len);
                    encoder.copy_buffer_to_buffer(
                        &c.from.buffer,
                        c.from.offset,
                        &to.buffer,
                        to.offset,
                        c.from.bytes(),
                    );
                }
                CopyTarget::Texture { texture, rows } => {
                    let size = wgpu::Extent3d {
                        height: *rows,
                        ..texture.size()
                    };
                    encoder.copy_buffer_to_texture(
                        wgpu::TexelCopyBufferInfo {
                            buffer: &c.from.buffer,
                            layout: wgpu::TexelCopyBufferLayout {
                                offset: c.from.offset,
                                bytes_per_row: Some(size.width * 16),
                                rows_per_image: None,
                            },
                        },
                        texture.as_image_copy(),
                        size,
                    );
                }
            }
        }
    }
}

impl Context {
    /// A storage buffer holding `data`.
    pub fn upload<T: bytemuck::Pod>(&self, label: &str, data: &[T]) -> GpuSlice {
        let bytes: &[u8] = bytemuck::cast_slice(data);
        let buffer = self.zeros_buffer(label, bytes.len() as u64);
        if !bytes.is_empty() {
            self.queue.write_buffer(&buffer, 0, bytes);
        }
        GpuSlice {
            buffer,
            offset: 0,
            len: data.len(),
        }
    }

    fn zeros_buffer(&self, label: &str, bytes: u64) -> wgpu::Buffer {
        // wgpu zero-fills new buffers.
        let size = bytes.max(4).next_multiple_of(4) + WINDOW_PAD;
        self.counters
            .allocated_bytes
            .fetch_add(size, Ordering::Relaxed);
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage: STORAGE,
            mapped_at_creation: false,
        })
    }

    /// An RGBA32F texture of `rows` rows of [`TEXTURE_ROW`] floats that
    /// kernels read with `textureLoad` (as a read-only storage texture: see
    /// shaders/matmul_texture.py) and copies fill, counted with the
    /// buffers. Its height is never a power of two: llvmpipe compiles a
    /// kernel once per kind of texture it reads, and a power-of-two height
    /// is a kind of its own, so one row more keeps every such texture alike.
    pub fn operand_texture(&self, label: &str, rows: u32) -> wgpu::Texture {
        let height = if rows.is_power_of_two() {
            rows + 1
        } else {
            rows
        };
        self.counters
            .allocated_bytes
            .fetch_add(height as u64 * TEXTURE_ROW as u64 * 4, Ordering::Relaxed);
        self.device.create_texture(&wgpu::TextureDescriptor {
            label: Some(label),
            size: wgpu::Extent3d {
                width: (TEXTURE_ROW / 4) as u32,
                height,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba32Float,
            usage: wgpu::TextureUsages::STORAGE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        })
    }

    /// An operand texture (see [`Context::operand_texture`]) shared by every
    /// dispatch that asks for the same `role` and `rows`: for copies that
    /// live only from one dispatch of an op to the next (a convolution's
    /// input), so that the layers of a model and the plans of one context
    /// hold one, not one each. Safe because the queue runs dispatches in
    /// order and each user fills the texture right before it reads it.
    pub fn scratch_texture(&self, role: &'static str, rows: u32) -> wgpu::Texture {
        let mut made = self.scratch_textures.lock().unwrap();
        made.entry((role, rows))
            .or_insert_with(|| self.operand_texture(role, rows))
            .clone()
    }

    /// A copy of `x` into the scratch texture of `role` (see
    /// [`Context::scratch_texture`]): the texture and the copy that the
    /// dispatch reading it carries, or None where `x` cannot be copied
    /// (unaligned, or without the padding a copy of whole rows reads) or
    /// does not fit one texture.
    pub fn scratch_texture_copy(
        &self,
        role: &'static str,
        x: &GpuSlice,
    ) -> Option<(wgpu::Texture, BufferCopy)> {
        if !self.fits_operand_texture(x) {
            return None;
        }
        let rows = CopyTarget::texture_rows(x.len);
        let texture = self.scratch_texture(role, rows);
        let copy = BufferCopy {
            from: x.clone(),
            to: CopyTarget::Texture {
                texture: texture.clone(),
                rows,
            },
        };
        Some((texture, copy))
    }

    /// A storage buffer of `len` floats shared as [`Context::scratch_texture`] is.
    pub fn scratch_buffer(&self, role: &'static str, len: usize) -> GpuSlice {
        let mut made = self.scratch_buffers.lock().unwrap();
        made.entry((role, len))
            .or_insert_with(|| self.zeros(role, len))
            .clone()
    }

    /// Whether `x`, or any run of its whole texture rows, can be copied into
    /// an operand texture: it starts 16-byte aligned and the copy's whole
    /// rows stay inside the buffer.
    pub fn copies_into_texture(&self, x: &GpuSlice) -> bool {
        let rows = CopyTarget::texture_rows(x.len) as u64;
        x.offset.is_multiple_of(16) && x.offset + rows * TEXTURE_ROW as u64 * 4 <= x.buffer.size()
    }

    /// Whether `x` can be copied into one operand texture whole: as
    /// [`Context::copies_into_texture`], and the device holds a texture that
    /// high (with the row [`Context::operand_texture`] may add).
    pub fn fits_operand_texture(&self, x: &GpuSlice) -> bool {
        let rows = CopyTarget::texture_rows(x.len) as u64;
        rows < self.limits.max_texture_dimension_2d as u64 && self.copies_into_texture(x)
    }

    /// A zero-filled storage buffer of `len` 4-byte elements.
    pub fn zeros(&self, label: &str, len: usize) -> GpuSlice {
        GpuSlice {
            buffer: self.zeros_buffer(label, len as u64 * 4),
            offset: 0,
            len,
        }
    }

    /// Overwrite `slice` with `data` (same length) through the queue.
    pub fn write<T: bytemuck::Pod>(&self, slice: &GpuSlice, data: &[T]) {
        debug_assert_eq!(std::mem::size_of_val(data) as u64, slice.bytes());
        self.queue
            .write_buffer(&slice.buffer, slice.offset, bytemuck::cast_slice(data));
    }

    /// A uniform buffer holding `params`.
    pub fn uniform<T: bytemuck::Pod>(&self, label: &str, params: &T) -> wgpu::Buffer {
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytemuck::bytes_of(params),
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            })
    }

    /// Copy `slice` back to the CPU: one staging copy, one `map_async`, blocking.
    pub fn download<T: bytemuck::Pod>(&self, slice: &GpuSlice) -> Result<Vec<T>> {
        let bytes = slice.bytes();
        if bytes == 0 {
            return Ok(Vec::new());
        }
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("readback"),
            });
        encoder.copy_buffer_to_buffer(&slice.buffer, slice.offset, &staging, 0, bytes);
        self.submit(encoder);
        let (sender, receiver) = futures_intrusive::channel::shared::oneshot_channel();
        staging.map_async(wgpu::MapMode::Read, .., move |r| {
            sender.send(r).ok();
        });
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(format!("waiting for the readback: {e}")))?;
        let mapped = pollster::block_on(receiver.receive())
            .ok_or_else(|| Error::Gpu("readback channel closed".into()))?;
        mapped.map_err(|e| Error::Gpu(format!("mapping the readback buffer: {e}")))?;
        self.counters.readbacks.fetch_add(1, Ordering::Relaxed);
        let out = {
            let view = staging
                .get_mapped_range(..)
                .map_err(|e| Error::Gpu(format!("reading the mapped buffer: {e}")))?;
            bytemuck::cast_slice::<u8, T>(&view).to_vec()
        };
        staging.unmap();
        self.check()?;
        Ok(out)
    }

    /// Submit one encoder, counting it.
    pub fn submit(&self, encoder: wgpu::CommandEncoder) -> wgpu::SubmissionIndex {
        self.counters.submits.fetch_add(1, Ordering::Relaxed);
        self.queue.submit(Some(encoder.finish()))
    }

    /// Record `dispatches` into compute passes of `encoder`: one, or one more
    /// after each dispatch's copies.
    pub fn record(&self, encoder: &mut wgpu::CommandEncoder, label: &str, dispatches: &[Dispatch]) {
        let mut rest = dispatches;
        while !rest.is_empty() {
            rest[0].record_copies(encoder);
            // This pass runs up to the next dispatch with copies.
            let end = 1 + rest[1..]
                .iter()
                .position(|d| !d.copies.is_empty())
                .unwrap_or(rest.len() - 1);
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(label),
                timestamp_writes: None,
            });
            for d in &rest[..end] {
                d.record(&mut pass);
            }
            drop(pass);
            rest = &rest[end..];
        }
        self.counters
            .dispatches
            .fetch_add(dispatches.len() as u64, Ordering::Relaxed);
    }

    /// Record `dispatches` in one pass, submit, and wait for the GPU to finish.
    pub fn run(&self, dispatches: &[Dispatch]) -> Result<()> {
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("run") });
        self.record(&mut encoder, "run", dispatches);
        self.submit(encoder);
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(format!("waiting for the GPU: {e}")))?;
        self.check()
    }

    /// A bind group for `pipeline`: storage `slices` at bindings 0.., then the
    /// uniform `params` (if any) at the next binding.
    pub fn bind(
        &self,
        label: &str,
        pipeline: &wgpu::ComputePipeline,
        slices: &[&GpuSlice],
        params: Option<&wgpu::Buffer>,
    ) -> wgpu::BindGroup {
        let mut entries: Vec<wgpu::BindGroupEntry> = slices
            .iter()
            .enumerate()
            .map(|(i, s)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: s.binding(),
            })
            .collect();
        if let Some(p) = params {
            entries.push(wgpu::BindGroupEntry {
                binding: slices.len() as u32,
                resource: p.as_entire_binding(),
            });
        }
        self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(label),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        })
    }

    /// Make a dispatch of `entry` in shader `file`: pipeline from the cache,
    /// bind group and params uniform made now (at plan time, never per step).
    #[allow(clippy::too_many_arguments)]
    pub fn dispatch<P: bytemuck::Pod>(
        &self,
        file: &'static str,
        entry: &str,
        constants: &[(&str, f64)],
        slices: &[&GpuSlice],
        params: &P,
        workgroups: [u32; 3],
    ) -> Result<Dispatch> {
        let max = self.limits.max_compute_workgroups_per_dimension;
        if workgroups.iter().any(|&w| w > max) {
            return Err(Error::Limit {
                what: format!("{entry} dispatch {workgroups:?}"),
                needed: *workgroups.iter().max().unwrap() as u64,
                limit: max as u64,
                hint: "use a smaller batch",
            });
        }
        let max_binding = self.limits.max_storage_buffer_binding_size;
        for s in slices {
            if s.bytes() > max_binding {
                return Err(Error::Limit {
                    what: format!("{entry} binding of {} elements", s.len),
                    needed: s.bytes(),
                    limit: max_binding,
                    hint: "use a smaller batch or model",
                });
            }
        }
        let pipeline = self.pipeline(file, entry, constants)?;
        let uniform = self.uniform(entry, params);
        let bind_group = self.bind(entry, &pipeline, slices, Some(&uniform));
        self.check()?;
        Ok(Dispatch {
            label: entry.to_string(),
            pipeline,
            bind_group,
            workgroups,
            copies: Vec::new(),
        })
    }
}

/// Reuses freed buffers of the same byte size instead of allocating new ones.
#[derive(Debug, Default)]
pub struct BufferPool {
    free: HashMap<u64, Vec<wgpu::Buffer>>,
    /// Bytes currently handed out.
    pub live_bytes: u64,
    /// Bytes ever allocated from the device.
    pub allocated_bytes: u64,
}

impl BufferPool {
    /// A zeroed-or-reused buffer of `len` elements. Reused buffers keep old contents.
    pub fn acquire(&mut self, ctx: &Context, label: &str, len: usize) -> GpuSlice {
        let bytes = (len as u64 * 4).max(4);
        self.live_bytes += bytes;
        if let Some(buffer) = self.free.get_mut(&bytes).and_then(|v| v.pop()) {
            return GpuSlice {
                buffer,
                offset: 0,
                len,
            };
        }
        self.allocated_bytes += bytes;
        ctx.zeros(label, len)
    }

    /// Give a buffer back for reuse.
    pub fn release(&mut self, slice: GpuSlice) {
        // Keyed by the size asked for, as `acquire` does (the buffer itself is padded).
        let bytes = (slice.len as u64 * 4).max(4);
        self.live_bytes = self.live_bytes.saturating_sub(bytes);
        self.free.entry(bytes).or_default().push(slice.buffer);
    }
}
