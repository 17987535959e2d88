//! `io::read_image_in_bands`: the same image as `io::read_image` for every
//! PNG kind, bands that tile it in order, streamed bands for plain 8-bit
//! PNGs, and clear errors for broken files.

use std::path::Path;

use gpix::io::{read_image, read_image_in_bands};
use gpix::AnyImage;

/// Writes a `w`×`h` PNG of `color` at `depth` (samples from a fixed noise),
/// with a palette and transparency for indexed images.
fn write_png(path: &Path, w: u32, h: u32, color: png::ColorType, depth: png::BitDepth) {
    let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut enc = png::Encoder::new(file, w, h);
    enc.set_color(color);
    enc.set_depth(depth);
    if color == png::ColorType::Indexed {
        enc.set_palette((0..16 * 3).map(|i| (i * 5) as u8).collect::<Vec<u8>>());
        enc.set_trns(vec![0u8, 128, 255]);
    }
    let bits = depth as usize;
    let samples = color.samples() * bits;
    let row_bytes = (w as usize * samples).div_ceil(8);
    let mut s = 7u64;
    let data: Vec<u8> = (0..row_bytes * h as usize)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let byte = (s >> 56) as u8;
            // Indices stay within the 16-colour palette.
            if color == png::ColorType::Indexed && bits == 8 {
                byte % 16
            } else {
                byte
            }
        })
        .collect();
    let mut writer = enc.write_header().unwrap();
    writer.write_image_data(&data).unwrap();
    writer.finish().unwrap();
}

/// Reads `path` in bands of about `band_pixels`, returning the image, the
/// bands' row counts, and the bands joined.
fn read_banded(path: &Path, band_pixels: usize) -> (AnyImage, Vec<usize>, Vec<u8>) {
    let (mut rows, mut joined) = (Vec::new(), Vec::new());
    let image = read_image_in_bands(path, band_pixels, |band| {
        assert_eq!(band.first_row, rows.iter().sum::<usize>());
        rows.push(band.rows.height());
        joined.extend_from_slice(band.rows.data());
    })
    .unwrap();
    (image, rows, joined)
}

#[test]
fn bands_tile_the_same_image_for_every_png_kind() {
    use png::{BitDepth as D, ColorType as C};
    let dir = tempfile::tempdir().unwrap();
    let kinds = [
        (C::Rgb, D::Eight, true),
        (C::Rgba, D::Eight, true),
        (C::Grayscale, D::Eight, true),
        (C::GrayscaleAlpha, D::Eight, true),
        (C::Indexed, D::Eight, true),
        (C::Grayscale, D::One, true),
        (C::Rgb, D::Sixteen, false), // 16-bit: no bands
    ];
    for (i, &(color, depth, streamed)) in kinds.iter().enumerate() {
        for (w, h) in [(1, 1), (13, 29), (64, 3)] {
            let path = dir.path().join(format!("k{i}_{w}x{h}.png"));
            write_png(&path, w, h, color, depth);
            let whole = read_image(&path).unwrap();
            let (image, rows, joined) = read_banded(&path, 40);
            assert_eq!(image, whole, "{color:?} {depth:?}");
            match &image {
                AnyImage::U8(i) => {
                    assert_eq!(joined, i.data(), "{color:?} {depth:?}");
                    assert_eq!(rows.iter().sum::<usize>(), h as usize);
                    let band_rows = 40usize.div_ceil(w as usize).min(h as usize);
                    if streamed {
                        assert!(rows[..rows.len() - 1].iter().all(|&r| r == band_rows));
                    } else {
                        assert_eq!(rows, [h as usize]);
                    }
                }
                _ => assert!(rows.is_empty(), "only 8-bit images give bands"),
            }
        }
    }
}

#[test]
fn other_formats_come_as_one_band() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.bmp");
    let img = image::RgbImage::from_fn(5, 4, |x, y| image::Rgb([x as u8, y as u8, 7]));
    img.save(&path).unwrap();
    let (image, rows, joined) = read_banded(&path, 3);
    assert_eq!(image, read_image(&path).unwrap());
    assert_eq!(rows, [4]);
    assert_eq!(joined, img.into_raw());
}

#[test]
fn broken_pngs_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.png");
    write_png(&path, 200, 100, png::ColorType::Rgb, png::BitDepth::Eight);
    let bytes = std::fs::read(&path).unwrap();
    // Cut inside the image data; then flip bytes inside it.
    let cut = dir.path().join("cut_short.png");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let mut flipped = bytes.clone();
    for b in &mut flipped[bytes.len() / 2..bytes.len() / 2 + 64] {
        *b ^= 0x5a;
    }
    let bad = dir.path().join("flipped.png");
    std::fs::write(&bad, &flipped).unwrap();
    for path in [&cut, &bad] {
        let err = read_image_in_bands(path, 1000, |_| {})
            .unwrap_err()
            .to_string();
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(err.contains(name), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }
    let missing = dir.path().join("missing.png");
    let err = read_image_in_bands(&missing, 1000, |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing.png"), "{err}");
}

/// CRC-32 of PNG chunks (bit by bit; test data is tiny).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A 2×2 RGB PNG with Adam7 interlacing (the png crate writes none): pass 1
/// holds (0,0), pass 6 (1,0), pass 7 row 1; one stored zlib block.
fn interlaced_png(px: [[u8; 3]; 4]) -> Vec<u8> {
    let raw: Vec<u8> = [&[0u8][..], &px[0], &[0], &px[1], &[0], &px[2], &px[3]].concat();
    let (mut a, mut b) = (1u32, 0u32);
    for &x in &raw {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    let len = raw.len() as u16;
    let mut zlib = vec![0x78, 0x01, 0x01];
    zlib.extend(len.to_le_bytes());
    zlib.extend((!len).to_le_bytes());
    zlib.extend(&raw);
    zlib.extend(((b << 16) | a).to_be_bytes());
    let chunk = |kind: &[u8], data: &[u8]| {
        let body = [kind, data].concat();
        [
            &(data.len() as u32).to_be_bytes()[..],
            &body,
            &crc32(&body).to_be_bytes(),
        ]
        .concat()
    };
    let ihdr = [
        &2u32.to_be_bytes()[..],
        &2u32.to_be_bytes(),
        &[8, 2, 0, 0, 1],
    ]
    .concat();
    [
        &b"\x89PNG\r\n\x1a\n"[..],
        &chunk(b"IHDR", &ihdr),
        &chunk(b"IDAT", &zlib),
        &chunk(b"IEND", &[]),
    ]
    .concat()
}

#[test]
fn interlaced_pngs_are_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("adam7.png");
    let px = [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]];
    std::fs::write(&path, interlaced_png(px)).unwrap();
    let (image, rows, joined) = read_banded(&path, 1);
    assert_eq!(image, read_image(&path).unwrap());
    assert_eq!(rows, [2]);
    assert_eq!(joined, px.concat());
}

#[test]
fn a_damaged_chunk_after_the_image_data_reads_as_read_image_does() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tail.png");
    write_png(&path, 40, 30, png::ColorType::Rgb, png::BitDepth::Eight);
    let bytes = std::fs::read(&path).unwrap();
    // A text chunk after the image data, then cut inside it and with no
    // IEND: the pixels are all there, and both readers agree on the file.
    let iend = bytes.len() - 12;
    let mut damaged = bytes[..iend].to_vec();
    damaged.extend_from_slice(&[0, 0, 0, 40, b't', b'E', b'X', b't', b'a', b'b']);
    std::fs::write(&path, &damaged).unwrap();
    let whole = read_image(&path);
    let banded = read_image_in_bands(&path, 100, |_| {});
    match (whole, banded) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => assert!(b.to_string().contains("tail.png"), "{a} / {b}"),
        (a, b) => panic!("readers disagree: {a:?} / {b:?}"),
    }
}

#[test]
fn npy_files_are_read_as_npy_whatever_their_content() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("really_png.npy");
    write_png(&path, 4, 4, png::ColorType::Rgb, png::BitDepth::Eight);
    let banded = read_image_in_bands(&path, 4, |_| {})
        .unwrap_err()
        .to_string();
    assert_eq!(banded, read_image(&path).unwrap_err().to_string());
}
