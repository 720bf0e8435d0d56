//! The dataset readers on small files made here: IDX (gzip and plain) and image folders.

mod common;

use latent_engine::data::{parse_idx, Dataset, Split};

#[test]
fn shipped_mnist_loads_with_the_documented_shape() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/mnist10k");
    let train = Dataset::load(&dir, Split::Train).unwrap();
    let test = Dataset::load(&dir, Split::Test).unwrap();
    assert_eq!(
        (train.len(), test.len(), train.shape),
        (9000, 1000, (1, 28, 28))
    );
    assert!(train.images.iter().all(|&p| (0.0..=1.0).contains(&p)));
    // Not binarised: MNIST has anti-aliased edges.
    assert!(train.images.iter().any(|&p| p > 0.1 && p < 0.9));
    let mut counts = [0; 10];
    test.labels.iter().for_each(|&l| counts[l as usize] += 1);
    assert_eq!(counts, [100, 105, 102, 100, 97, 84, 113, 101, 111, 87]);
}

#[test]
fn idx_reader_reads_gzip_and_plain_files() {
    let dir = tempfile::tempdir().unwrap();
    let images: Vec<u8> = (0..3 * 2 * 2).map(|i| (i * 20) as u8).collect();
    common::write_idx(dir.path(), "train", &images, &[7, 1, 3], 2, 2);
    common::write_idx(dir.path(), "t10k", &images[..4], &[9], 2, 2);
    let ds = Dataset::load(dir.path(), Split::Train).unwrap();
    assert_eq!(ds.shape, (1, 2, 2));
    assert_eq!(ds.labels, vec![7, 1, 3]);
    assert_eq!(
        ds.image(1),
        &[80.0 / 255.0, 100.0 / 255.0, 120.0 / 255.0, 140.0 / 255.0]
    );
    // The same bytes un-gzipped.
    let plain = tempfile::tempdir().unwrap();
    for name in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"] {
        let gz = std::fs::read(dir.path().join(format!("{name}.gz"))).unwrap();
        let mut raw = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut raw).unwrap();
        std::fs::write(plain.path().join(name), raw).unwrap();
    }
    let ds2 = Dataset::load(plain.path(), Split::Train).unwrap();
    assert_eq!(ds2.images, ds.images);
}

#[test]
fn idx_parser_rejects_bad_headers() {
    assert!(parse_idx(&[0, 0, 8], "x")
        .unwrap_err()
        .contains("too short"));
    assert!(parse_idx(&[1, 2, 8, 1, 0, 0, 0, 1, 5], "x")
        .unwrap_err()
        .contains("not an IDX"));
    assert!(parse_idx(&[0, 0, 0x0d, 1, 0, 0, 0, 1, 5], "x")
        .unwrap_err()
        .contains("unsigned bytes"));
    assert!(parse_idx(&[0, 0, 8, 2, 0, 0, 0, 2], "x")
        .unwrap_err()
        .contains("truncated IDX header"));
    assert!(parse_idx(&[0, 0, 8, 1, 0, 0, 0, 5, 1, 2], "x")
        .unwrap_err()
        .contains("truncated"));
    let (dims, data) = parse_idx(&[0, 0, 8, 1, 0, 0, 0, 2, 4, 5, 6], "x").unwrap();
    assert_eq!((dims, data), (vec![2], &[4u8, 5][..]));
}

fn write_png(path: &std::path::Path, w: u32, h: u32, rgb: bool, value: u8) {
    if rgb {
        image::RgbImage::from_pixel(w, h, image::Rgb([value, 0, 255 - value]))
            .save(path)
            .unwrap();
    } else {
        image::GrayImage::from_pixel(w, h, image::Luma([value]))
            .save(path)
            .unwrap();
    }
}

#[test]
fn image_folder_reader_takes_labels_from_sub_folders() {
    let dir = tempfile::tempdir().unwrap();
    for (class, value) in [("cats", 10u8), ("dogs", 200u8)] {
        for split in ["train", "test"] {
            let d = dir.path().join(split).join(class);
            std::fs::create_dir_all(&d).unwrap();
            for i in 0..3 {
                write_png(&d.join(format!("{i}.png")), 8, 4, true, value);
            }
        }
    }
    let ds = Dataset::load(dir.path(), Split::Train).unwrap();
    assert_eq!(ds.shape, (3, 4, 8));
    assert_eq!(ds.classes, vec!["cats", "dogs"]);
    assert_eq!(ds.labels, vec![0, 0, 0, 1, 1, 1]);
    // Channels first: red plane, then green, then blue.
    let img = ds.image(3);
    assert_eq!(img[0], 200.0 / 255.0);
    assert_eq!(img[32], 0.0);
    assert_eq!(img[64], 55.0 / 255.0);
}

#[test]
fn flat_image_folder_is_split_nine_to_one() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..20 {
        write_png(
            &dir.path().join(format!("{i:02}.png")),
            4,
            4,
            false,
            i as u8,
        );
    }
    let train = Dataset::load(dir.path(), Split::Train).unwrap();
    let test = Dataset::load(dir.path(), Split::Test).unwrap();
    assert_eq!((train.len(), test.len(), train.shape), (18, 2, (1, 4, 4)));
}

#[test]
fn images_are_resized_and_converted_to_a_model_shape() {
    // A 4×6 RGB image: red left half, blue right half.
    let mut images = Vec::new();
    for ch in 0..3 {
        for _y in 0..4 {
            for x in 0..6 {
                let red = x < 3;
                images.push(match (ch, red) {
                    (0, true) | (2, false) => 1.0,
                    _ => 0.0,
                });
            }
        }
    }
    let ds = Dataset {
        images,
        labels: vec![3],
        shape: (3, 4, 6),
        classes: vec!["a".into()],
    };
    let gray = ds.resized((1, 8, 12)).unwrap();
    assert_eq!(gray.shape, (1, 8, 12));
    assert_eq!(gray.images.len(), 96);
    assert_eq!(gray.labels, vec![3]);
    // Luma (Rec. 709) of pure red (0.2126) on the left, of pure blue (0.0722) on the right.
    assert!((gray.images[0] - 0.2126).abs() < 0.02, "{}", gray.images[0]);
    assert!(
        (gray.images[11] - 0.0722).abs() < 0.02,
        "{}",
        gray.images[11]
    );
    let back = gray.resized((3, 4, 6)).unwrap();
    assert_eq!(back.shape, (3, 4, 6));
    assert!(ds.resized((2, 4, 4)).is_err());
}

/// The shipped digits gathered on the GPU from bytes (how a run keeps them)
/// and from f32: the same batches, bit for bit on the software adapter (a
/// correctly rounded division), within WGSL's 2.5 ulp elsewhere.
#[test]
fn batches_from_bytes_equal_batches_from_f32() {
    use latent_engine::kernels::data;
    let ctx = common::context();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/mnist10k");
    let test = Dataset::load(&dir, Split::Test).unwrap();
    let words = data::pack_bytes(&test.images).expect("the loader's pixels are bytes / 255");
    assert_eq!(words.len() * 4, test.images.len());
    let images = ctx.upload("images", &test.images);
    let gwords = ctx.upload("words", &words);
    // Rows of 784 take the vec4 kernels; the same pixels as rows of 49 the
    // scalar ones (rows that start inside a word).
    for dim in [784, 49] {
        let rows = test.images.len() / dim;
        let mut perm: Vec<u32> = (0..rows as u32).rev().collect();
        perm.swap(3, rows / 2);
        let gperm = ctx.upload("perm", &perm);
        // 100 rows from the permutation's end, then 30 past it (zeros).
        let state = ctx.upload("state", &[0u32, rows as u32 - 100]);
        let batch = 130;
        let from_f32 = ctx.zeros("from f32", batch * dim);
        let from_bytes = ctx.zeros("from bytes", batch * dim);
        ctx.run(&[
            data::gather_rows(&ctx, &images, &gperm, &state, &from_f32, dim).unwrap(),
            data::gather_rows_bytes(&ctx, &gwords, &gperm, &state, &from_bytes, dim).unwrap(),
        ])
        .unwrap();
        let a: Vec<f32> = ctx.download(&from_f32).unwrap();
        let b: Vec<f32> = ctx.download(&from_bytes).unwrap();
        assert!(a[..100 * dim].iter().any(|&v| v > 0.0 && v < 1.0));
        assert!(b[100 * dim..].iter().all(|&v| v == 0.0));
        let worst = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x.to_bits() as i64 - y.to_bits() as i64).unsigned_abs())
            .max()
            .unwrap();
        let allowed = if ctx.is_software() { 0 } else { 3 };
        assert!(
            worst <= allowed,
            "rows of {dim}: {worst} ulp apart (allowed {allowed})"
        );
    }
}

/// The step-state kernel: the bias corrections for step state[0] + 1, the
/// state moving on by one step and one batch, and the loss check naming the
/// first step whose loss sums are not finite (and keeping that step).
#[test]
fn the_step_state_kernel_advances_checks_the_loss_and_writes_corrections() {
    use latent_engine::kernels::data;
    let ctx = common::context();
    let state = ctx.upload("state", &[41u32, 256, 0, 0]);
    let (b1, b2) = (0.9f32, 0.999f32);
    ctx.run(&[data::adam_corrections(&ctx, &state, b1, b2).unwrap()])
        .unwrap();
    let s: Vec<u32> = ctx.download(&state).unwrap();
    assert_eq!(s[..2], [41, 256], "corrections must not move the state");
    for (bits, beta) in [(s[2], b1), (s[3], b2)] {
        let want = 1.0 / (1.0 - (beta as f64).powi(42));
        let got = f32::from_bits(bits) as f64;
        // f32 pow's error (WGSL allows a few ulp) grows by 1 / (1 − βᵗ) = 24.
        assert!((got - want).abs() <= 2e-4 * want, "{got} vs {want}");
    }
    let mut loss = vec![0f32; 2 * 64];
    loss[0] = 12.5;
    loss[64] = 3.0;
    let gloss = ctx.upload("loss", &loss);
    let flag = ctx.zeros("flag", 1);
    let checked = data::state_advance_checked(&ctx, &state, 32, &gloss, &flag).unwrap();
    let plain = data::state_advance(&ctx, &state, 32).unwrap();
    let read = || -> (Vec<u32>, u32) {
        let s: Vec<u32> = ctx.download(&state).unwrap();
        (s[..2].to_vec(), ctx.download::<u32>(&flag).unwrap()[0])
    };
    ctx.run(std::slice::from_ref(&checked)).unwrap();
    assert_eq!(
        read(),
        (vec![42, 288], 0),
        "finite losses leave the flag at 0"
    );
    // The kl sum goes NaN during step 43 (state[0] = 42 before it).
    loss[64] = f32::NAN;
    ctx.write(&gloss, &loss);
    ctx.run(std::slice::from_ref(&checked)).unwrap();
    assert_eq!(read(), (vec![43, 320], 43));
    // Later steps keep the first one; the plain advance checks nothing.
    loss[0] = f32::INFINITY;
    ctx.write(&gloss, &loss);
    ctx.run(&[checked, plain]).unwrap();
    assert_eq!(read(), (vec![45, 384], 43));
    let fresh = ctx.zeros("fresh flag", 1);
    let plain_only = data::state_advance(&ctx, &state, 1).unwrap();
    ctx.run(&[plain_only]).unwrap();
    assert_eq!(ctx.download::<u32>(&fresh).unwrap()[0], 0);
    assert_eq!(read().0, vec![46, 385]);
}
