//! Datasets: IDX files (MNIST, Fashion-MNIST; gzip or plain) and folders of images.
//!
//! Pixels are scaled to [0, 1] (byte / 255), never binarised. Images are stored
//! flat, (N, C·H·W), channels first.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Which part of a dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// The training images.
    Train,
    /// The held-out test images.
    Test,
}

/// Images with labels, in memory.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// (N, C·H·W) pixels in [0, 1].
    pub images: Vec<f32>,
    /// One label per image (class index).
    pub labels: Vec<u32>,
    /// (C, H, W) of every image.
    pub shape: (usize, usize, usize),
    /// Class names, by label.
    pub classes: Vec<String>,
}

impl Dataset {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels per image.
    pub fn dim(&self) -> usize {
        self.shape.0 * self.shape.1 * self.shape.2
    }

    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[f32] {
        &self.images[i * self.dim()..(i + 1) * self.dim()]
    }

    /// Load `split` of the dataset at `path`: a folder of IDX files
    /// (`train-images-idx3-ubyte[.gz]` …) or a folder of images.
    pub fn load(path: &Path, split: Split) -> Result<Self> {
        if !path.exists() {
            return Err(Error::Data {
                path: path.display().to_string(),
                msg: "no such file or folder; pass --data with a folder of IDX files or of images"
                    .into(),
            });
        }
        let prefix = match split {
            Split::Train => "train",
            Split::Test => "t10k",
        };
        let idx = |kind: &str| -> Option<PathBuf> {
            [format!("{prefix}-{kind}"), format!("{prefix}-{kind}.gz")]
                .into_iter()
                .map(|n| path.join(n))
                .find(|p| p.exists())
        };
        let ds = match (idx("images-idx3-ubyte"), idx("labels-idx1-ubyte")) {
            (Some(images), Some(labels)) => load_idx_pair(&images, &labels)?,
            (Some(_), None) | (None, Some(_)) => {
                return Err(Error::Data {
                    path: path.display().to_string(),
                    msg: format!(
                        "has only one of {prefix}-images-idx3-ubyte and {prefix}-labels-idx1-ubyte"
                    ),
                })
            }
            (None, None) => load_image_folder(path, split)?,
        };
        if ds.is_empty() {
            return Err(Error::Data {
                path: path.display().to_string(),
                msg: "the dataset has no images".into(),
            });
        }
        Ok(ds)
    }
}

/// Read a whole file, un-gzipping it when it starts with the gzip magic.
fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| Error::Data {
                path: path.display().to_string(),
                msg: format!("corrupt gzip data: {e}"),
            })?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Parse IDX bytes of unsigned bytes: returns (dimensions, data).
/// The format: 0x00 0x00, type 0x08 (u8), number of dimensions, then each
/// dimension as a big-endian u32, then the data.
pub fn parse_idx<'a>(
    bytes: &'a [u8],
    what: &str,
) -> std::result::Result<(Vec<usize>, &'a [u8]), String> {
    if bytes.len() < 4 {
        return Err(format!(
            "too short for an IDX header ({} bytes)",
            bytes.len()
        ));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(format!(
            "not an IDX file (magic {:02x}{:02x}{:02x}{:02x})",
            bytes[0], bytes[1], bytes[2], bytes[3]
        ));
    }
    if bytes[2] != 0x08 {
        return Err(format!(
            "IDX element type 0x{:02x} is not unsigned bytes (0x08)",
            bytes[2]
        ));
    }
    let ndim = bytes[3] as usize;
    let header = 4 + 4 * ndim;
    if ndim == 0 || bytes.len() < header {
        return Err(format!("truncated IDX header for {ndim} dimensions"));
    }
    let dims: Vec<usize> = (0..ndim)
        .map(|i| u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().unwrap()) as usize)
        .collect();
    let count = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or("IDX dimensions overflow")?;
    let data = &bytes[header..];
    if data.len() < count {
        return Err(format!(
            "truncated: the header promises {what} {dims:?} ({count} bytes) but {} follow",
            data.len()
        ));
    }
    Ok((dims, &data[..count]))
}

fn load_idx_pair(images: &Path, labels: &Path) -> Result<Dataset> {
    let err = |p: &Path, msg: String| Error::Data {
        path: p.display().to_string(),
        msg,
    };
    let image_bytes = read_maybe_gzip(images)?;
    let (dims, pixels) = parse_idx(&image_bytes, "images").map_err(|m| err(images, m))?;
    let (n, c, h, w) = match dims[..] {
        [n, h, w] => (n, 1, h, w),
        [n, c, h, w] => (n, c, h, w),
        _ => {
            return Err(err(
                images,
                format!("images must have 3 or 4 dimensions, found {dims:?}"),
            ))
        }
    };
    let label_bytes = read_maybe_gzip(labels)?;
    let (ldims, label_data) = parse_idx(&label_bytes, "labels").map_err(|m| err(labels, m))?;
    if ldims.len() != 1 {
        return Err(err(
            labels,
            format!("labels must have 1 dimension, found {ldims:?}"),
        ));
    }
    if ldims[0] != n {
        return Err(err(
            labels,
            format!(
                "has {} labels but {} has {n} images",
                ldims[0],
                images.display()
            ),
        ));
    }
    let labels: Vec<u32> = label_data.iter().map(|&l| l as u32).collect();
    let classes = (0..=labels.iter().copied().max().unwrap_or(0))
        .map(|c| c.to_string())
        .collect();
    Ok(Dataset {
        images: pixels.iter().map(|&p| p as f32 / 255.0).collect(),
        labels,
        shape: (c, h, w),
        classes,
    })
}

fn is_image(path: &Path) -> bool {
    matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
            .as_deref(),
        Some("png" | "jpg" | "jpeg" | "gif")
    )
}

/// A folder of images: `train/` and `test/` sub-folders when present, else
/// every image with a fixed 90/10 split. Labels are sub-folder names (sorted),
/// or 0 for images directly in the folder. Every image must have the size and
/// channels of the first one.
fn load_image_folder(root: &Path, split: Split) -> Result<Dataset> {
    let split_dir = root.join(match split {
        Split::Train => "train",
        Split::Test => "test",
    });
    let (dir, split_here) = if split_dir.is_dir() {
        (split_dir, false)
    } else {
        (root.to_path_buf(), true)
    };
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    let read_dir = |d: &Path| -> Result<Vec<PathBuf>> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(d)
            .map_err(|e| Error::io(d, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        v.sort();
        Ok(v)
    };
    for entry in read_dir(&dir)? {
        if entry.is_dir() {
            let class = entry.file_name().unwrap().to_string_lossy().to_string();
            for f in read_dir(&entry)? {
                if f.is_file() {
                    files.push((f, class.clone()));
                }
            }
        } else if entry.is_file() {
            files.push((entry, String::new()));
        }
    }
    files.retain(|(f, _)| {
        !f.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            && !f.file_name().is_some_and(|n| {
                n.eq_ignore_ascii_case("README.md") || n.eq_ignore_ascii_case("LICENSE")
            })
    });
    if files.is_empty() {
        return Err(Error::Data {
            path: dir.display().to_string(),
            msg: "no IDX files and no images found".into(),
        });
    }
    if split_here {
        // Every 10th image is a test image: a fixed split that needs no seed.
        let want_test = split == Split::Test;
        files = files
            .into_iter()
            .enumerate()
            .filter(|(i, _)| (i % 10 == 9) == want_test)
            .map(|(_, f)| f)
            .collect();
    }
    let mut classes: Vec<String> = files.iter().map(|f| f.1.clone()).collect();
    classes.sort();
    classes.dedup();
    let mut images = Vec::new();
    let mut labels = Vec::new();
    let mut shape = None;
    for (path, class) in &files {
        if !is_image(path) {
            return Err(Error::Data {
                path: path.display().to_string(),
                msg: "is not a PNG, JPEG or GIF image; remove it from the data folder".into(),
            });
        }
        let img = image::open(path).map_err(|e| Error::Data {
            path: path.display().to_string(),
            msg: format!("cannot decode the image: {e}"),
        })?;
        let channels = if img.color().has_color() { 3 } else { 1 };
        let this = (channels, img.height() as usize, img.width() as usize);
        let expected = *shape.get_or_insert(this);
        if this != expected {
            return Err(Error::Data {
                path: path.display().to_string(),
                msg: format!("is {}×{} with {} channel(s) but the first image is {}×{} with {}; all images must match", this.2, this.1, this.0, expected.2, expected.1, expected.0),
            });
        }
        if channels == 1 {
            images.extend(img.to_luma8().pixels().map(|p| p.0[0] as f32 / 255.0));
        } else {
            let rgb = img.to_rgb8();
            for c in 0..3 {
                images.extend(rgb.pixels().map(|p| p.0[c] as f32 / 255.0));
            }
        }
        labels.push(classes.binary_search(class).unwrap() as u32);
    }
    Ok(Dataset {
        images,
        labels,
        shape: shape.unwrap(),
        classes,
    })
}

impl Dataset {
    /// The same images resized (bilinear) and converted (RGB ↔ gray) to `shape`
    /// (C, H, W), for a model trained on images of another size.
    pub fn resized(&self, shape: (usize, usize, usize)) -> Result<Dataset> {
        if shape == self.shape {
            return Ok(self.clone());
        }
        let (c, h, w) = shape;
        if !(c == 1 || c == 3) || h == 0 || w == 0 {
            return Err(Error::Invalid(format!(
                "cannot convert images to {shape:?}: 1 or 3 channels and a positive size"
            )));
        }
        let (sc, sh, sw) = self.shape;
        if !(sc == 1 || sc == 3) {
            return Err(Error::Invalid(format!(
                "cannot convert images with {sc} channels"
            )));
        }
        let mut images = Vec::with_capacity(self.len() * c * h * w);
        for i in 0..self.len() {
            let px = self.image(i);
            let byte = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
            let rgb = image::RgbImage::from_fn(sw as u32, sh as u32, |x, y| {
                let at = |ch: usize| byte(px[(ch * sh + y as usize) * sw + x as usize]);
                if sc == 3 {
                    image::Rgb([at(0), at(1), at(2)])
                } else {
                    image::Rgb([at(0); 3])
                }
            });
            let img = image::DynamicImage::ImageRgb8(rgb).resize_exact(
                w as u32,
                h as u32,
                image::imageops::FilterType::Triangle,
            );
            if c == 1 {
                images.extend(img.to_luma8().pixels().map(|p| p.0[0] as f32 / 255.0));
            } else {
                let rgb = img.to_rgb8();
                for ch in 0..3 {
                    images.extend(rgb.pixels().map(|p| p.0[ch] as f32 / 255.0));
                }
            }
        }
        Ok(Dataset {
            images,
            labels: self.labels.clone(),
            shape,
            classes: self.classes.clone(),
        })
    }
}
