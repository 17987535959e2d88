#!/usr/bin/env python3
"""Writes the committed seed corpus of the gpix fuzz targets: fuzz/corpus/<target>/.

    pip install numpy pillow
    python3 fuzz/make_corpus.py

Deterministic: the same files every run (for the same numpy/Pillow/zlib).
It only (over)writes the files named here; inputs added by hand (crashes
found by the fuzzer) are left alone.

Naming, relied on by tests/fuzz_corpus.rs:
- `valid_*`: well-formed seeds that gpix must read (Ok);
- every other generated file is hostile: a malformed or lying input that
  must give an error, without a panic or a huge allocation. The test lists
  them by name.

Layout per target (the same calls as fuzz/fuzz_targets/<target>.rs):
- npy/:           .npy files, read with read_npy_from and read_npy;
- palette_text/:  palette text files (plain, GIMP .gpl);
- palette_image/: image files, written under a .png name (formats are
                  recognised by content) and read as palette and image;
- image/:         a selector byte, then an image file: the byte picks the
                  file's extension (EXTS[byte % 10]), the rest is its content.
"""

import io
import os
import struct
import zlib

import numpy as np
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Must match EXTS in fuzz/fuzz_targets/image.rs and tests/fuzz_corpus.rs.
EXTS = ["png", "jpg", "gif", "bmp", "tiff", "webp", "qoi", "ico", "pnm", "tga"]


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    assert len(data) <= 8192, (name, len(data))
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------------------
# .npy


def np_bytes(arr, version=None):
    buf = io.BytesIO()
    if version is None:
        np.save(buf, arr, allow_pickle=False)
    else:
        np.lib.format.write_array(buf, arr, version=version, allow_pickle=False)
    return buf.getvalue()


def raw_npy(header_text, data=b"", major=1):
    """A .npy with a hand-written header (padded like numpy: to 64 bytes, '\\n')."""
    header = header_text.encode("latin-1")
    len_size = 2 if major == 1 else 4
    prelude = 6 + 2 + len_size
    total = prelude + len(header) + 1
    header += b" " * ((-total) % 64) + b"\n"
    fmt = "<H" if major == 1 else "<I"
    return b"\x93NUMPY" + bytes([major, 0]) + struct.pack(fmt, len(header)) + header + data


def make_npy():
    t = "npy"
    write(t, "valid_u8_2x3.npy", np_bytes(np.arange(6, dtype=np.uint8).reshape(2, 3)))
    write(t, "valid_u16_rgb_2x2x3_version_2.npy",
          np_bytes((np.arange(12, dtype=np.uint16) * 5000).reshape(2, 2, 3), version=(2, 0)))
    write(t, "valid_f32_fortran_3x2.npy",
          np_bytes(np.asfortranarray(np.linspace(0, 1, 6, dtype=np.float32).reshape(3, 2))))
    write(t, "valid_i32_0d.npy", np_bytes(np.array(-7, dtype=np.int32)))
    write(t, "valid_u8_shape_0x3.npy", np_bytes(np.zeros((0, 3), dtype=np.uint8)))
    write(t, "valid_i64_big_endian_fortran_2x3x2.npy",
          np_bytes(np.asfortranarray(np.arange(-6, 6, dtype=">i8").reshape(2, 3, 2))))
    # Hostile: lies and garbage in the header.
    write(t, "npy_shape_100000x100000_f8_10_bytes.npy",
          raw_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000), }",
                  b"\x00" * 10))
    write(t, "npy_shape_negative.npy",
          raw_npy("{'descr': '<u2', 'fortran_order': False, 'shape': (-1, 3), }", b"\x00" * 6))
    write(t, "npy_shape_absurd.npy",
          raw_npy("{'descr': '<u1', 'fortran_order': True, "
                  "'shape': (99999999999999999999999999999999999999999, 2), }", b"\x00" * 4))
    write(t, "npy_shape_product_overflows_u64.npy",
          raw_npy("{'descr': '<i8', 'fortran_order': False, "
                  "'shape': (4294967296, 4294967296, 4294967296), }", b"\x00" * 8))
    write(t, "npy_header_not_a_dict.npy", raw_npy("[1, 2, 3]", b"\x00" * 8))
    truncated = raw_npy("{'descr': '<u1', 'fortran_order': False, 'shape': (4, 4), }")
    write(t, "npy_header_truncated.npy", truncated[:40])


# ---------------------------------------------------------------------------
# Palette text


def make_palette_text():
    t = "palette_text"
    write(t, "valid_hex.txt", b"#ff0000\n#00FF00\n# a comment\n0000ff  # blue\n")
    # Lines ended by a lone CR (old Mac files) are lines too.
    write(t, "valid_cr_only_lines.txt", b"#ff0000\r#00ff00\r\r#0000ff\r")
    write(t, "valid_rgb_numbers.txt", b"255 0 0\n0 128 255  # blue\n\n  7\t8\t9\n")
    write(t, "valid_bom_csv_rgba_crlf.txt", "\ufeff255,0,0,255\r\n0, 0, 0, 128\r\n".encode())
    write(t, "valid_grey_levels.txt", b"0\n0.25\n1e-3\n-3\n123456\n")
    with open(os.path.join(REPO, "assets", "cga16.gpl"), "rb") as f:
        write(t, "valid_cga16.gpl", f.read())
    write(t, "valid_gpl_rgba.gpl",
          b"GIMP Palette\nName: test\nColumns: 2\nChannels: RGBA\n#\n"
          b"255 0 0 128 red 2\n0 0 255 255\tblue\n")
    # Hostile.
    write(t, "text_nul_and_control_chars.txt",
          b"#ff0000\n12\x00 34\x1b[31m 56\x07\x08\x7f\n")

    write(t, "text_5000_digit_number.txt", b"0\n0.5\n" + b"9" * 5000 + b"\n")
    write(t, "gpl_garbage_header.gpl",
          "GIMP Palette\nName: \u2603\u202e\x01\x1b]0;title\x07\nColumns: -99999999999999999999\n"
          "Channels: CMYK\n%%%% garbage ~~~\n255 0 0\n".encode())
    write(t, "text_empty.txt", b"")
    # `#fff` would not be a comment: a short hex colour is an error.
    write(t, "text_only_comments.txt", b"# a\n#\n   # b\n#zzz not hex\n\n\t# c\n")


# ---------------------------------------------------------------------------
# Images


def png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png(width, height, bit_depth, colour_type, raw_rows, extra_chunks=()):
    """A PNG with the given IHDR and the (filtered) row bytes in one IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    out = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
    for kind, data in extra_chunks:
        out += png_chunk(kind, data)
    out += png_chunk(b"IDAT", zlib.compress(raw_rows, 9))
    return out + png_chunk(b"IEND", b"")


def rows(width, height, bytes_per_pixel, value=lambda x, y, c: (x * 40 + y * 90 + c * 70) % 256):
    out = b""
    for y in range(height):
        out += b"\x00" + bytes(value(x, y, c) for x in range(width) for c in range(bytes_per_pixel))
    return out


def pil_bytes(img, fmt, **opts):
    buf = io.BytesIO()
    img.save(buf, fmt, **opts)
    return buf.getvalue()


def sample_rgb(w=4, h=4):
    img = Image.new("RGB", (w, h))
    img.putdata([((x * 60) % 256, (y * 70) % 256, (x * y * 30) % 256)
                 for y in range(h) for x in range(w)])
    return img


def patch_sof(jpeg, width, height):
    """Sets the height and width of a JPEG's first SOFn marker."""
    data = bytearray(jpeg)
    i = 2
    while i < len(data):
        assert data[i] == 0xFF
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            data[i + 5:i + 9] = struct.pack(">HH", height, width)
            return bytes(data)
        i += 2 + length
    raise ValueError("no SOF marker")


def make_palette_image():
    t = "palette_image"
    write(t, "valid_rgb_4x4.png", png(4, 4, 8, 2, rows(4, 4, 3)))
    palette = bytes(range(48))  # 16 colours
    write(t, "valid_indexed_4x4.png",
          png(4, 4, 8, 3, rows(4, 4, 1, lambda x, y, c: x + 4 * y), [(b"PLTE", palette)]))
    write(t, "valid_grey16_3x2.png",
          png(3, 2, 16, 0, rows(3, 2, 2)))
    # Hostile: lying sizes.
    write(t, "png_ihdr_40000x40000_rgb.png", png(40000, 40000, 8, 2, b"\x00" * 16))
    write(t, "png_ihdr_2147483647x1_rgb.png", png(2147483647, 1, 8, 2, b"\x00" * 16))
    # PLTE of 49 bytes: not a whole number of RGB entries (made png panic).
    write(t, "png_plte_49_bytes.png",
          png(4, 4, 8, 3, rows(4, 4, 1, lambda x, y, c: x + 4 * y),
              [(b"PLTE", bytes(range(49)))]))
    jpeg = pil_bytes(sample_rgb(8, 8), "JPEG", quality=90)
    write(t, "jpeg_sof_65535x65535.jpg", patch_sof(jpeg, 65535, 65535))
    gif = bytearray(pil_bytes(sample_rgb(4, 4).convert("P"), "GIF"))
    gif[6:10] = struct.pack("<HH", 65535, 65535)  # logical screen width, height
    write(t, "gif_screen_65535x65535.gif", bytes(gif))
    cmyk = Image.new("CMYK", (8, 8), (10, 200, 30, 40))
    cmyk_jpeg = pil_bytes(cmyk, "JPEG", quality=90)
    assert b"Adobe" in cmyk_jpeg
    write(t, "jpeg_cmyk_adobe_sof_30000x30000.jpg", patch_sof(cmyk_jpeg, 30000, 30000))


def make_image():
    t = "image"

    def sel(ext, data):
        return bytes([EXTS.index(ext)]) + data

    img = sample_rgb(4, 4)
    write(t, "valid_png_grey_alpha_3x3", sel("png", png(3, 3, 8, 4, rows(3, 3, 2))))
    write(t, "valid_jpg_4x4", sel("jpg", pil_bytes(img, "JPEG", quality=90)))
    write(t, "valid_gif_4x4", sel("gif", pil_bytes(img.convert("P"), "GIF")))
    write(t, "valid_bmp_4x4", sel("bmp", pil_bytes(img, "BMP")))
    write(t, "valid_tiff_4x4", sel("tiff", pil_bytes(img, "TIFF")))
    write(t, "valid_webp_lossless_4x4", sel("webp", pil_bytes(img, "WEBP", lossless=True)))
    write(t, "valid_qoi_rgba_4x4", sel("qoi", pil_bytes(img.convert("RGBA"), "QOI")))
    # ICO: the image crate wants the embedded PNG in RGBA.
    write(t, "valid_ico_rgba_4x4", sel("ico", pil_bytes(img.convert("RGBA"), "ICO", sizes=[(4, 4)])))
    write(t, "valid_pnm_4x4", sel("pnm", pil_bytes(img, "PPM")))
    write(t, "valid_tga_4x4", sel("tga", pil_bytes(img, "TGA")))
    # Hostile: TGA has no magic bytes, so only the extension leads to its decoder.
    tga = bytearray(pil_bytes(img, "TGA"))
    tga[12:16] = struct.pack("<HH", 65535, 65535)
    write(t, "tga_header_65535x65535", sel("tga", bytes(tga)))


def main():
    make_npy()
    make_palette_text()
    make_palette_image()
    make_image()


if __name__ == "__main__":
    main()
