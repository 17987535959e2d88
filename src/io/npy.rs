//! NumPy `.npy` files: a defensive reader and a writer that produces the same
//! bytes as `numpy.save`.
//!
//! The reader handles format versions 1.0, 2.0 and 3.0, the ten numeric dtypes
//! of [`crate::array::Element`] in either byte order, and Fortran-ordered
//! arrays (returned in C order). It trusts nothing in the header: sizes are
//! computed with checked arithmetic and compared with the allocation limit and
//! with the bytes actually present before any large allocation is made.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use crate::array::Element;
use crate::error::{Error, Result};

/// The six bytes every `.npy` file starts with.
const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// numpy writes headers of a few hundred bytes; a longer one is corrupt or
/// hostile, and refusing it bounds what the header alone can make us allocate.
const MAX_HEADER_LEN: usize = 1 << 20;

/// numpy pads the header so the data starts on a multiple of this.
const ALIGN: usize = 64;

/// numpy leaves room in the header for the first axis to grow to this many
/// digits, so the array can be appended to in place; we do the same so our
/// files are byte-identical to numpy's.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// When the stream length is unknown, the data buffer grows by at most this
/// many bytes at a time, so a header that lies about the size costs at most
/// one chunk beyond the bytes that really arrive.
const STREAM_CHUNK_BYTES: usize = 64 << 20;

/// How many bytes after the data a stream reader counts before giving up
/// (the count is only for the error message).
const TRAILING_COUNT_LIMIT: u64 = 64 << 20;

/// Nesting depth the header parser accepts; real headers nest at most a few
/// levels (structured dtypes), and the limit keeps recursion bounded.
const MAX_NESTING: usize = 32;

/// The supported dtypes, for error messages.
const SUPPORTED: &str = "gpix reads uint8..uint64, int8..int64, float16, float32, float64";

/// The element type of a `.npy` array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NpyDtype {
    /// `uint8` (`|u1`).
    U8,
    /// `uint16` (`<u2`).
    U16,
    /// `uint32` (`<u4`).
    U32,
    /// `uint64` (`<u8`).
    U64,
    /// `int8` (`|i1`).
    I8,
    /// `int16` (`<i2`).
    I16,
    /// `int32` (`<i4`).
    I32,
    /// `int64` (`<i8`).
    I64,
    /// `float16` (`<f2`).
    F16,
    /// `float32` (`<f4`).
    F32,
    /// `float64` (`<f8`).
    F64,
}

impl NpyDtype {
    /// numpy's name for the type: `"uint8"`, …, `"float64"`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::U8 => u8::NAME,
            Self::U16 => u16::NAME,
            Self::U32 => u32::NAME,
            Self::U64 => u64::NAME,
            Self::I8 => i8::NAME,
            Self::I16 => i16::NAME,
            Self::I32 => i32::NAME,
            Self::I64 => i64::NAME,
            Self::F16 => half::f16::NAME,
            Self::F32 => f32::NAME,
            Self::F64 => f64::NAME,
        }
    }

    /// Bytes per element.
    #[must_use]
    pub fn size(self) -> usize {
        match self {
            Self::U8 | Self::I8 => 1,
            Self::U16 | Self::I16 | Self::F16 => 2,
            Self::U32 | Self::I32 | Self::F32 => 4,
            Self::U64 | Self::I64 | Self::F64 => 8,
        }
    }

    /// The dtype a descr's type code (`"u1"`, `"f8"`, …) names, if supported.
    fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "u1" => Self::U8,
            "u2" => Self::U16,
            "u4" => Self::U32,
            "u8" => Self::U64,
            "i1" => Self::I8,
            "i2" => Self::I16,
            "i4" => Self::I32,
            "i8" => Self::I64,
            "f2" => Self::F16,
            "f4" => Self::F32,
            "f8" => Self::F64,
            _ => return None,
        })
    }
}

/// The values of an array, in C (row-major) order, native endianness.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum NpyData {
    /// `uint8` values.
    U8(Vec<u8>),
    /// `uint16` values.
    U16(Vec<u16>),
    /// `uint32` values.
    U32(Vec<u32>),
    /// `uint64` values.
    U64(Vec<u64>),
    /// `int8` values.
    I8(Vec<i8>),
    /// `int16` values.
    I16(Vec<i16>),
    /// `int32` values.
    I32(Vec<i32>),
    /// `int64` values.
    I64(Vec<i64>),
    /// `float16` values.
    F16(Vec<half::f16>),
    /// `float32` values.
    F32(Vec<f32>),
    /// `float64` values.
    F64(Vec<f64>),
}

impl NpyData {
    /// The element type.
    #[must_use]
    pub fn dtype(&self) -> NpyDtype {
        match self {
            Self::U8(_) => NpyDtype::U8,
            Self::U16(_) => NpyDtype::U16,
            Self::U32(_) => NpyDtype::U32,
            Self::U64(_) => NpyDtype::U64,
            Self::I8(_) => NpyDtype::I8,
            Self::I16(_) => NpyDtype::I16,
            Self::I32(_) => NpyDtype::I32,
            Self::I64(_) => NpyDtype::I64,
            Self::F16(_) => NpyDtype::F16,
            Self::F32(_) => NpyDtype::F32,
            Self::F64(_) => NpyDtype::F64,
        }
    }

    /// Number of values.
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            Self::U8(v) => v.len(),
            Self::U16(v) => v.len(),
            Self::U32(v) => v.len(),
            Self::U64(v) => v.len(),
            Self::I8(v) => v.len(),
            Self::I16(v) => v.len(),
            Self::I32(v) => v.len(),
            Self::I64(v) => v.len(),
            Self::F16(v) => v.len(),
            Self::F32(v) => v.len(),
            Self::F64(v) => v.len(),
        }
    }

    /// The values as float64, as numpy's `astype(np.float64)` converts them
    /// (64-bit integers rounded to nearest).
    #[must_use]
    #[allow(clippy::cast_precision_loss)]
    pub fn into_f64(self) -> Vec<f64> {
        match self {
            Self::U8(v) => v.into_iter().map(f64::from).collect(),
            Self::U16(v) => v.into_iter().map(f64::from).collect(),
            Self::U32(v) => v.into_iter().map(f64::from).collect(),
            Self::U64(v) => v.into_iter().map(|x| x as f64).collect(),
            Self::I8(v) => v.into_iter().map(f64::from).collect(),
            Self::I16(v) => v.into_iter().map(f64::from).collect(),
            Self::I32(v) => v.into_iter().map(f64::from).collect(),
            Self::I64(v) => v.into_iter().map(|x| x as f64).collect(),
            Self::F16(v) => v.into_iter().map(f64::from).collect(),
            Self::F32(v) => v.into_iter().map(f64::from).collect(),
            Self::F64(v) => v,
        }
    }

    /// Whether there are no values (some axis has length 0).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An array read from a `.npy` file.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// The axis lengths; empty for a 0-D (scalar) array, which holds one value.
    pub shape: Vec<usize>,
    /// The values in C order; `data.len()` is the product of `shape`.
    pub data: NpyData,
}

/// Element types [`write_npy`] can write.
pub trait NpyElement: Element {
    /// numpy's little-endian type descriptor (`"|u1"`, `"<u2"`, `"<f4"`, …).
    const DESCR: &'static str;
}

macro_rules! npy_element {
    ($($t:ty => $descr:literal),*) => {$(
        impl NpyElement for $t {
            const DESCR: &'static str = $descr;
        }
    )*};
}
npy_element!(u8 => "|u1", u16 => "<u2", u32 => "<u4", u64 => "<u8",
    i8 => "|i1", i16 => "<i2", i32 => "<i4", i64 => "<i8",
    f32 => "<f4", f64 => "<f8", half::f16 => "<f2");

/// float16 values as float32 (exact: every float16 is a float32), in
/// parallel for large arrays.
#[must_use]
pub fn widen_f16(v: &[half::f16]) -> Vec<f32> {
    use rayon::prelude::*;
    let mut out = vec![0f32; v.len()];
    out.par_chunks_mut(1 << 16)
        .zip(v.par_chunks(1 << 16))
        .for_each(|(o, i)| o.iter_mut().zip(i).for_each(|(o, i)| *o = i.to_f32()));
    out
}

/// float32 values rounded to float16 (to nearest, ties to even, as numpy's
/// `astype(np.float16)`), in parallel for large arrays.
#[must_use]
pub fn narrow_f16(v: &[f32]) -> Vec<half::f16> {
    use rayon::prelude::*;
    let mut out = vec![half::f16::ZERO; v.len()];
    out.par_chunks_mut(1 << 16)
        .zip(v.par_chunks(1 << 16))
        .for_each(|(o, i)| {
            o.iter_mut()
                .zip(i)
                .for_each(|(o, i)| *o = half::f16::from_f32(*i));
        });
    out
}

/// Reads the `.npy` file at `path`.
///
/// The file's length is checked against the header before the data buffer
/// is allocated, so a truncated or lying file costs nothing.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::TooLarge`] if the array
/// needs more than `max_bytes`; [`Error::Format`] for anything malformed or
/// unsupported (bad magic or version, bad header, unsupported dtype,
/// truncated data, bytes after the data).
pub fn read_npy(path: &Path, max_bytes: u64) -> Result<NpyArray> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let metadata = file.metadata().map_err(|e| Error::io(path, e))?;
    // Only a regular file's length is trustworthy (pipes and devices say 0).
    let file_len = metadata.is_file().then_some(metadata.len());
    read_array(&file, path, max_bytes, file_len, Some(&file))
}

/// Fills `buf` with `file`'s bytes from `start` on and leaves the file's
/// position after them; returns the bytes read.
fn read_file_data(file: &File, start: u64, buf: &mut [u8]) -> io::Result<usize> {
    #[cfg(unix)]
    let got = read_at_parallel(file, start, buf)?;
    #[cfg(not(unix))]
    let got = fill(&mut &*file, buf)?;
    io::Seek::seek(&mut &*file, io::SeekFrom::Start(start + got as u64))?;
    Ok(got)
}

/// Reads `buf` from `file` at `offset` in chunks on the rayon pool: copying
/// from the page cache is bound by one core's memcpy (~3 GB/s here), so two
/// cores read a 100 MB array in half the time. Returns the bytes read: the
/// first chunk that comes short (the file shrank) ends the count there.
#[cfg(unix)]
fn read_at_parallel(file: &File, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
    use rayon::prelude::*;
    use std::os::unix::fs::FileExt;
    const CHUNK: usize = 8 << 20;
    let got: Vec<io::Result<usize>> = buf
        .par_chunks_mut(CHUNK)
        .enumerate()
        .map(|(i, chunk)| {
            let at = offset + (i * CHUNK) as u64;
            let mut filled = 0;
            while filled < chunk.len() {
                match file.read_at(&mut chunk[filled..], at + filled as u64) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(filled)
        })
        .collect();
    let mut total = 0;
    for (i, r) in got.into_iter().enumerate() {
        let n = r?;
        total += n;
        if n < buf.len().saturating_sub(i * CHUNK).min(CHUNK) {
            break;
        }
    }
    Ok(total)
}

/// Reads a `.npy` array from `reader`, which is read to its end; `path` only
/// names the source in error messages.
///
/// The length of the stream is unknown, so the data is read in chunks of at
/// most 64 MiB: a header that promises more than arrives costs at most one
/// chunk beyond the bytes that do.
///
/// # Errors
/// As [`read_npy`].
pub fn read_npy_from<R: Read>(reader: R, path: &Path, max_bytes: u64) -> Result<NpyArray> {
    read_array(reader, path, max_bytes, None, None)
}

/// Writes `data`, an array of `shape` in C order, as a `.npy` file (format
/// 1.0, or 2.0 if the header would not fit in 1.0), byte for byte as
/// `numpy.save` would.
///
/// # Errors
/// [`io::ErrorKind::InvalidInput`] if `data.len()` is not the product of
/// `shape`; otherwise whatever `writer` returns.
pub fn write_npy<T: NpyElement, W: Write>(
    mut writer: W,
    shape: &[usize],
    data: &[T],
) -> io::Result<()> {
    let expected = element_count(shape);
    if expected != Some(data.len() as u128) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} values cannot be written as an array of shape {}",
                data.len(),
                shape_repr(shape)
            ),
        ));
    }
    writer.write_all(&header_bytes(T::DESCR, shape)?)?;
    write_values(&mut writer, data)
}

/// Reads only the header of the `.npy` file at `path`: its dtype and shape.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::Format`] if the header
/// is malformed or names an unsupported dtype.
pub fn npy_header_shape(path: &Path) -> Result<(NpyDtype, Vec<usize>)> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let (header, _) = read_header(&mut file, path)?;
    Ok((header.dtype, header.shape))
}

// ---------------------------------------------------------------------------
// Reading

/// Byte order of the data in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endian {
    Little,
    Big,
}

impl Endian {
    const NATIVE: Self = if cfg!(target_endian = "big") {
        Self::Big
    } else {
        Self::Little
    };
}

/// What the header says about the data.
#[derive(Debug)]
struct Header {
    dtype: NpyDtype,
    endian: Endian,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// Reads the whole array; `file_len` is the total length of the source when
/// known, `file` the file behind `reader` when it is one (its data is then
/// read by several threads at once).
fn read_array<R: Read>(
    mut reader: R,
    path: &Path,
    max_bytes: u64,
    file_len: Option<u64>,
    file: Option<&File>,
) -> Result<NpyArray> {
    let (header, header_len) = read_header(&mut reader, path)?;
    let (count, bytes) = data_size(&header, path, max_bytes)?;
    let known_len = file_len.map(|len| len.saturating_sub(header_len));
    if let Some(available) = known_len {
        check_data_length(bytes, available).map_err(|reason| Error::format(path, None, reason))?;
    }
    let source = DataSource {
        path,
        header: &header,
        count,
        bytes,
        streaming: known_len.is_none(),
        file: file.map(|f| (f, header_len)),
    };
    let data = match header.dtype {
        NpyDtype::U8 => NpyData::U8(source.read(&mut reader)?),
        NpyDtype::U16 => NpyData::U16(source.read(&mut reader)?),
        NpyDtype::U32 => NpyData::U32(source.read(&mut reader)?),
        NpyDtype::U64 => NpyData::U64(source.read(&mut reader)?),
        NpyDtype::I8 => NpyData::I8(source.read(&mut reader)?),
        NpyDtype::I16 => NpyData::I16(source.read(&mut reader)?),
        NpyDtype::I32 => NpyData::I32(source.read(&mut reader)?),
        NpyDtype::I64 => NpyData::I64(source.read(&mut reader)?),
        NpyDtype::F16 => NpyData::F16(source.read(&mut reader)?),
        NpyDtype::F32 => NpyData::F32(source.read(&mut reader)?),
        NpyDtype::F64 => NpyData::F64(source.read(&mut reader)?),
    };
    check_no_trailing_bytes(&mut reader, path)?;
    Ok(NpyArray {
        shape: header.shape,
        data,
    })
}

/// Reads and interprets the header; returns it with the number of bytes it
/// occupied (magic, version and length field included).
fn read_header<R: Read>(reader: &mut R, path: &Path) -> Result<(Header, u64)> {
    let bad = |reason: String| Error::format(path, None, reason);
    let ends_in_header = || bad("truncated: the file ends inside the .npy header".into());

    let mut prelude = [0u8; 8];
    let got = fill(reader, &mut prelude).map_err(|e| Error::io(path, e))?;
    check_magic(&prelude[..got]).map_err(bad)?;
    if got < prelude.len() {
        return Err(ends_in_header());
    }
    let (major, minor) = (prelude[6], prelude[7]);
    let length_field_size = match (major, minor) {
        (1, 0) => 2,
        (2, 0) | (3, 0) => 4,
        _ => {
            return Err(bad(format!(
                "unsupported .npy format version {major}.{minor} (gpix reads 1.0, 2.0 and 3.0)"
            )))
        }
    };
    let mut length_field = [0u8; 4];
    let length_field = &mut length_field[..length_field_size];
    if fill(reader, length_field).map_err(|e| Error::io(path, e))? < length_field_size {
        return Err(ends_in_header());
    }
    let header_len = length_field
        .iter()
        .rev()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    if header_len > MAX_HEADER_LEN {
        return Err(bad(format!(
            "the .npy header claims {header_len} bytes, more than the {MAX_HEADER_LEN} a real header can need"
        )));
    }
    let mut text = vec![0u8; header_len];
    if fill(reader, &mut text).map_err(|e| Error::io(path, e))? < header_len {
        return Err(ends_in_header());
    }
    let header = parse_header(&text, major).map_err(bad)?;
    // At most 8 + 4 + 1 MiB, so the conversion cannot fail in practice.
    let consumed =
        u64::try_from(prelude.len() + length_field_size + header_len).unwrap_or(u64::MAX);
    Ok((header, consumed))
}

/// Checks the first bytes of a file (up to 8) against the `.npy` magic.
fn check_magic(start: &[u8]) -> std::result::Result<(), String> {
    if start.is_empty() {
        return Err("the file is empty, not a .npy file".into());
    }
    let n = start.len().min(MAGIC.len());
    if start[..n] != MAGIC[..n] {
        return Err("not a .npy file: it does not start with the bytes \\x93NUMPY".into());
    }
    Ok(())
}

/// Decodes the header text (latin-1 before 3.0, UTF-8 from 3.0, as numpy
/// does) and interprets its dictionary.
fn parse_header(bytes: &[u8], major: u8) -> std::result::Result<Header, String> {
    let text = if major >= 3 {
        String::from_utf8(bytes.to_vec())
            .map_err(|_| "the .npy 3.0 header is not valid UTF-8".to_string())?
    } else {
        bytes.iter().map(|&b| char::from(b)).collect()
    };
    let value = Parser::new(&text).document()?;
    interpret_header(value)
}

/// Turns the parsed header dictionary into a [`Header`].
fn interpret_header(value: Value) -> std::result::Result<Header, String> {
    let Value::Dict(entries) = value else {
        return Err(format!(
            "the .npy header is {}, not a dictionary",
            short_repr(&value)
        ));
    };
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    for (key, value) in entries {
        let slot = match &key {
            Value::Str(k) if k == "descr" => &mut descr,
            Value::Str(k) if k == "fortran_order" => &mut fortran,
            Value::Str(k) if k == "shape" => &mut shape,
            // numpy rejects other keys; ignoring them is harmless.
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(format!(
                "the .npy header repeats the key {}",
                short_repr(&key)
            ));
        }
    }
    let missing = |key: &str| format!("the .npy header lacks the key '{key}'");
    let (dtype, endian) = interpret_descr(&descr.ok_or_else(|| missing("descr"))?)?;
    let fortran_order = match fortran.ok_or_else(|| missing("fortran_order"))? {
        Value::Bool(b) => b,
        other => {
            return Err(format!(
                "'fortran_order' is {}, not True or False",
                short_repr(&other)
            ))
        }
    };
    let shape = interpret_shape(&shape.ok_or_else(|| missing("shape"))?)?;
    Ok(Header {
        dtype,
        endian,
        fortran_order,
        shape,
    })
}

/// The dtype and byte order a `descr` value names.
fn interpret_descr(descr: &Value) -> std::result::Result<(NpyDtype, Endian), String> {
    let Value::Str(descr) = descr else {
        // Lists are structured (record) dtypes; anything else is nonsense.
        return Err(format!(
            "unsupported dtype {} (structured dtypes are not supported; {SUPPORTED})",
            short_repr(descr)
        ));
    };
    // '|' (not applicable), '=' and no prefix all mean the machine's order.
    let (endian, code) = match descr.as_bytes().first() {
        Some(b'<') => (Endian::Little, &descr[1..]),
        Some(b'>') => (Endian::Big, &descr[1..]),
        Some(b'|' | b'=') => (Endian::NATIVE, &descr[1..]),
        _ => (Endian::NATIVE, descr.as_str()),
    };
    match NpyDtype::from_code(code) {
        Some(dtype) => Ok((dtype, endian)),
        None => Err(unsupported_dtype(descr, code)),
    }
}

/// A one-line reason naming an unsupported descr and, where known, its kind.
fn unsupported_dtype(descr: &str, code: &str) -> String {
    let kind = match code.as_bytes().first() {
        Some(b'b' | b'?') => "bool; ",
        Some(b'c') => "complex; ",
        Some(b'U') => "unicode string; ",
        Some(b'S' | b'a') => "byte string; ",
        Some(b'O') => "Python object; ",
        Some(b'V') => "raw bytes; ",
        Some(b'M') => "datetime; ",
        Some(b'm') => "timedelta; ",
        _ => "",
    };
    format!(
        "unsupported dtype {} ({kind}{SUPPORTED})",
        short_repr(&Value::Str(descr.to_string()))
    )
}

/// The axis lengths a `shape` value gives.
fn interpret_shape(shape: &Value) -> std::result::Result<Vec<usize>, String> {
    let Value::Tuple(items) = shape else {
        return Err(format!(
            "'shape' is {}, not a tuple of non-negative integers such as (5,) or (2, 3)",
            short_repr(shape)
        ));
    };
    items
        .iter()
        .map(|item| match item {
            Value::Int(n) => usize::try_from(*n).map_err(|_| {
                format!("shape entry {n} is not a valid axis length (negative or too large)")
            }),
            other => Err(format!(
                "shape entry {} is not a non-negative integer",
                short_repr(other)
            )),
        })
        .collect()
}

/// Number of values and of data bytes, checked against `max_bytes`.
fn data_size(header: &Header, path: &Path, max_bytes: u64) -> Result<(usize, u64)> {
    let what = || {
        format!(
            "array of shape {} dtype {}",
            shape_repr(&header.shape),
            header.dtype.name()
        )
    };
    let bytes = element_count(&header.shape)
        .and_then(|count| count.checked_mul(header.dtype.size() as u128))
        .and_then(|bytes| u64::try_from(bytes).ok())
        .ok_or_else(|| Error::format(path, None, format!("{} has more than 2^64 bytes", what())))?;
    if bytes > max_bytes {
        return Err(Error::too_large(
            format!("{}: {}", path.display(), what()),
            bytes,
            max_bytes,
        ));
    }
    let count = usize::try_from(bytes / header.dtype.size() as u64)
        .map_err(|_| Error::format(path, None, format!("{} does not fit in memory", what())))?;
    Ok((count, bytes))
}

/// Product of the axis lengths; `None` if it overflows. Wide so that any
/// product of two `usize`s is exact; an axis of length 0 makes the array
/// empty whatever the others say.
fn element_count(shape: &[usize]) -> Option<u128> {
    if shape.contains(&0) {
        return Some(0);
    }
    shape
        .iter()
        .try_fold(1u128, |acc, &d| acc.checked_mul(d as u128))
}

/// With the file length known: the data must be exactly `bytes` long.
fn check_data_length(bytes: u64, available: u64) -> std::result::Result<(), String> {
    if available < bytes {
        return Err(truncated(bytes, available));
    }
    if available > bytes {
        return Err(format!(
            "has {} bytes after the array data",
            available - bytes
        ));
    }
    Ok(())
}

/// The message for data that ends early.
fn truncated(promised: u64, held: u64) -> String {
    format!("truncated: the header promises {promised} bytes of data but the file holds {held}")
}

/// Everything needed to read the data of one array.
struct DataSource<'a> {
    path: &'a Path,
    header: &'a Header,
    count: usize,
    bytes: u64,
    /// The source length is unknown: grow the buffer as data arrives.
    streaming: bool,
    /// The file being read and where its data starts, for parallel reads.
    file: Option<(&'a File, u64)>,
}

impl DataSource<'_> {
    /// Reads the values, converts them to native order and C layout.
    fn read<T: Element, R: Read>(&self, reader: &mut R) -> Result<Vec<T>> {
        let mut values = if self.streaming {
            self.read_chunked(reader)?
        } else {
            self.read_whole(reader)?
        };
        if self.header.endian != Endian::NATIVE {
            swap_bytes(&mut values);
        }
        if self.header.fortran_order {
            values = fortran_to_c(values, &self.header.shape);
        }
        Ok(values)
    }

    /// The length was verified: one allocation (zeroed lazily by the OS) and
    /// one read straight into it.
    fn read_whole<T: Element, R: Read>(&self, reader: &mut R) -> Result<Vec<T>> {
        let mut values = vec![T::zeroed(); self.count];
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut values);
        let got = match self.file {
            Some((file, start)) => read_file_data(file, start, bytes),
            None => fill(reader, bytes),
        }
        .map_err(|e| Error::io(self.path, e))?;
        if (got as u64) < self.bytes {
            // The file shrank between the length check and the read.
            return Err(self.truncated_at(got as u64));
        }
        Ok(values)
    }

    /// The length is unknown: grow by bounded chunks so a lying header cannot
    /// make us allocate much more than what really arrives.
    fn read_chunked<T: Element, R: Read>(&self, reader: &mut R) -> Result<Vec<T>> {
        let chunk = (STREAM_CHUNK_BYTES / size_of::<T>()).max(1);
        let mut values: Vec<T> = Vec::new();
        while values.len() < self.count {
            let start = values.len();
            let step = chunk.min(self.count - start);
            // Exact growth keeps the excess bounded; large reallocations are
            // page remaps on common allocators, not copies.
            values.reserve_exact(step);
            values.resize(start + step, T::zeroed());
            let got = fill(reader, bytemuck::cast_slice_mut(&mut values[start..]))
                .map_err(|e| Error::io(self.path, e))?;
            if got < step * size_of::<T>() {
                return Err(self.truncated_at((start * size_of::<T>() + got) as u64));
            }
        }
        Ok(values)
    }

    fn truncated_at(&self, held: u64) -> Error {
        Error::format(self.path, None, truncated(self.bytes, held))
    }
}

/// Fails if `reader` holds anything after the data.
fn check_no_trailing_bytes<R: Read>(reader: &mut R, path: &Path) -> Result<()> {
    let mut rest = reader.take(TRAILING_COUNT_LIMIT);
    let extra = io::copy(&mut rest, &mut io::sink()).map_err(|e| Error::io(path, e))?;
    match extra {
        0 => Ok(()),
        TRAILING_COUNT_LIMIT => Err(Error::format(
            path,
            None,
            format!("has at least {extra} bytes after the array data"),
        )),
        _ => Err(Error::format(
            path,
            None,
            format!("has {extra} bytes after the array data"),
        )),
    }
}

/// Reads until `buf` is full or the source ends; returns the bytes read.
/// Unlike `read_exact`, says how much arrived, for truncation messages.
fn fill<R: Read>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Reverses the byte order of every value.
fn swap_bytes<T: Element>(values: &mut [T]) {
    // Viewing the values as same-sized unsigned integers lets the compiler
    // use its byte-swap instruction. Casts to a *smaller* integer would also
    // succeed, hence the match on the size; none can fail for these sizes.
    fn swap_as<T: Element, U: bytemuck::Pod>(values: &mut [T], swap: fn(U) -> U) {
        if let Ok(v) = bytemuck::try_cast_slice_mut::<T, U>(values) {
            v.iter_mut().for_each(|x| *x = swap(*x));
        }
    }
    match size_of::<T>() {
        2 => swap_as(values, u16::swap_bytes),
        4 => swap_as(values, u32::swap_bytes),
        8 => swap_as(values, u64::swap_bytes),
        _ => {}
    }
}

/// Reorders `values`, an array of `shape` in Fortran (column-major) order,
/// into C (row-major) order. `values.len()` is the product of `shape`.
fn fortran_to_c<T: Copy>(values: Vec<T>, shape: &[usize]) -> Vec<T> {
    // 0-D and 1-D arrays are the same in both orders.
    if shape.len() < 2 || values.is_empty() {
        return values;
    }
    // Fortran strides: axis 0 varies fastest. No axis is 0 (values is not
    // empty), so every partial product is at most values.len().
    let strides: Vec<usize> = shape
        .iter()
        .scan(1usize, |stride, &d| {
            let this = *stride;
            *stride = stride.saturating_mul(d);
            Some(this)
        })
        .collect();
    let last = shape.len() - 1;
    let (inner_len, inner_stride) = (shape[last], strides[last]);
    let mut out = Vec::with_capacity(values.len());
    let mut index = vec![0usize; last];
    let mut offset = 0usize;
    loop {
        // One C-order row: contiguous in the output, strided in the input.
        out.extend((0..inner_len).map(|i| values[offset + i * inner_stride]));
        // Advance the index over the outer axes like an odometer, the last
        // outer axis fastest, keeping the input offset in step.
        let mut axis = last;
        loop {
            if axis == 0 {
                return out;
            }
            axis -= 1;
            index[axis] += 1;
            offset += strides[axis];
            if index[axis] < shape[axis] {
                break;
            }
            offset -= strides[axis] * shape[axis];
            index[axis] = 0;
        }
    }
}

// ---------------------------------------------------------------------------
// Header parsing: the small subset of Python literals numpy headers use.

/// A parsed Python literal.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Int(i128),
    Bool(bool),
    None,
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    /// Any other bare word (a float such as `1.5`, a name): kept for messages.
    Other(String),
}

/// A recursive-descent parser over the header text. All syntax is ASCII, so
/// byte positions of syntax characters are always `char` boundaries.
struct Parser<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
}

type ParseResult<T> = std::result::Result<T, String>;

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            pos: 0,
            depth: 0,
        }
    }

    /// One value and nothing after it but whitespace (numpy's padding).
    fn document(mut self) -> ParseResult<Value> {
        let value = self.value()?;
        self.skip_whitespace();
        if self.pos < self.text.len() {
            return Err(self.error("unexpected text after the header dictionary"));
        }
        Ok(value)
    }

    fn value(&mut self) -> ParseResult<Value> {
        self.skip_whitespace();
        match self.peek() {
            None => Err(self.error("the header ends where a value should be")),
            Some(b'{') => self.nested(Self::dict),
            Some(b'(') => self.nested(Self::tuple),
            Some(b'[') => self.nested(Self::list),
            Some(quote @ (b'\'' | b'"')) => self.string(quote),
            Some(_) => self.bare_word(),
        }
    }

    /// Runs `parse` one nesting level deeper, refusing absurd depths.
    fn nested(&mut self, parse: fn(&mut Self) -> ParseResult<Value>) -> ParseResult<Value> {
        if self.depth >= MAX_NESTING {
            return Err(self.error("the header nests too deeply"));
        }
        self.depth += 1;
        let value = parse(self);
        self.depth -= 1;
        value
    }

    fn dict(&mut self) -> ParseResult<Value> {
        self.pos += 1; // '{'
        let mut entries = Vec::new();
        loop {
            self.skip_whitespace();
            if self.eat(b'}') {
                return Ok(Value::Dict(entries));
            }
            let key = self.value()?;
            self.skip_whitespace();
            if !self.eat(b':') {
                return Err(self.error("expected ':' after a dictionary key"));
            }
            let value = self.value()?;
            entries.push((key, value));
            if !self.separator(b'}')? {
                return Ok(Value::Dict(entries));
            }
        }
    }

    /// `()`, `(x,)`, `(x, y)`; `(x)` is just `x`, as in Python.
    fn tuple(&mut self) -> ParseResult<Value> {
        let (mut items, saw_comma) = self.sequence(b')')?;
        if items.len() == 1 && !saw_comma {
            return Ok(items.remove(0));
        }
        Ok(Value::Tuple(items))
    }

    fn list(&mut self) -> ParseResult<Value> {
        let (items, _) = self.sequence(b']')?;
        Ok(Value::List(items))
    }

    /// Comma-separated values up to `close` (trailing comma allowed); also
    /// says whether any comma was seen.
    fn sequence(&mut self, close: u8) -> ParseResult<(Vec<Value>, bool)> {
        self.pos += 1; // the opening bracket
        let mut items = Vec::new();
        let mut saw_comma = false;
        loop {
            self.skip_whitespace();
            if self.eat(close) {
                return Ok((items, saw_comma));
            }
            items.push(self.value()?);
            if !self.separator(close)? {
                return Ok((items, saw_comma));
            }
            saw_comma = true;
        }
    }

    /// After an item: `true` for a comma (more may follow), `false` if
    /// `close` ended the sequence.
    fn separator(&mut self, close: u8) -> ParseResult<bool> {
        self.skip_whitespace();
        if self.eat(b',') {
            Ok(true)
        } else if self.eat(close) {
            Ok(false)
        } else {
            Err(self.error(&format!("expected ',' or '{}'", char::from(close))))
        }
    }

    /// A quoted string. Escapes are kept as written: numpy's descr and key
    /// strings never contain any, and a backslash only needs to not end the
    /// string early.
    fn string(&mut self, quote: u8) -> ParseResult<Value> {
        let start = self.pos + 1;
        let bytes = self.text.as_bytes();
        let mut i = start;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'\\' => i += 2,
                b'\n' => break,
                _ if b == quote => {
                    self.pos = i + 1;
                    return Ok(Value::Str(self.text[start..i].to_string()));
                }
                _ => i += 1,
            }
        }
        Err(self.error("unterminated string"))
    }

    /// `True`, `False`, `None`, an integer (Python 2's `5L` too), or another
    /// word kept as [`Value::Other`].
    fn bare_word(&mut self) -> ParseResult<Value> {
        let rest = &self.text[self.pos..];
        let len = rest
            .find(|c: char| c.is_whitespace() || "{}[](),:'\"".contains(c))
            .unwrap_or(rest.len());
        if len == 0 {
            return Err(self.error("unexpected character"));
        }
        let word = &rest[..len];
        self.pos += len;
        Ok(match word {
            "True" => Value::Bool(true),
            "False" => Value::Bool(false),
            "None" => Value::None,
            _ => parse_int(word).map_or_else(|| Value::Other(word.to_string()), Value::Int),
        })
    }

    fn skip_whitespace(&mut self) {
        let rest = &self.text[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.pos += 1;
        }
        found
    }

    /// A parse error naming the position and what is there.
    fn error(&self, what: &str) -> String {
        let near: String = self.text[self.pos..].chars().take(20).collect();
        format!(
            "bad .npy header: {what} at byte {} (near \"{}\")",
            self.pos,
            near.escape_debug()
        )
    }
}

/// A Python integer literal (decimal, optional sign, optional `L`).
fn parse_int(word: &str) -> Option<i128> {
    let digits = word.strip_suffix(['L', 'l']).unwrap_or(word);
    let unsigned = digits.strip_prefix(['+', '-']).unwrap_or(digits);
    if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A Python-like rendering of `value` for error messages, cut to one short
/// line.
fn short_repr(value: &Value) -> String {
    const MAX_CHARS: usize = 60;
    let mut text = String::new();
    write_repr(value, &mut text);
    if text.chars().count() > MAX_CHARS {
        text = text.chars().take(MAX_CHARS).collect::<String>() + "…";
    }
    text
}

fn write_repr(value: &Value, out: &mut String) {
    let list = |items: &[Value], open: &str, close: &str, out: &mut String| {
        out.push_str(open);
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            write_repr(item, out);
        }
        out.push_str(close);
    };
    match value {
        Value::Str(s) => {
            out.push('\'');
            out.extend(s.escape_debug());
            out.push('\'');
        }
        Value::Int(n) => out.push_str(&n.to_string()),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::None => out.push_str("None"),
        Value::Other(word) => out.extend(word.escape_debug()),
        Value::Tuple(items) if items.len() == 1 => list(items, "(", ",)", out),
        Value::Tuple(items) => list(items, "(", ")", out),
        Value::List(items) => list(items, "[", "]", out),
        Value::Dict(entries) => {
            out.push('{');
            for (i, (key, value)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(key, out);
                out.push_str(": ");
                write_repr(value, out);
            }
            out.push('}');
        }
    }
}

// ---------------------------------------------------------------------------
// Writing

/// A shape as Python writes a tuple: `()`, `(3,)`, `(2, 3)`.
fn shape_repr(shape: &[usize]) -> String {
    match shape {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        _ => {
            let items: Vec<String> = shape.iter().map(usize::to_string).collect();
            format!("({})", items.join(", "))
        }
    }
}

/// The complete header (magic, version, length, dictionary, padding), laid
/// out exactly as numpy's `_wrap_header` does.
fn header_bytes(descr: &str, shape: &[usize]) -> io::Result<Vec<u8>> {
    let mut dict = format!(
        "{{'descr': '{descr}', 'fortran_order': False, 'shape': {}, }}",
        shape_repr(shape)
    );
    if let Some(first) = shape.first() {
        let digits = first.to_string().len();
        dict.extend(std::iter::repeat_n(
            ' ',
            GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits),
        ));
    }
    // Version 1.0 has a 2-byte length field; 2.0 a 4-byte one.
    for (major, field_size) in [(1u8, 2usize), (2, 4)] {
        let prefix = MAGIC.len() + 2 + field_size;
        // The dictionary, then spaces, then a closing '\n'; numpy pads a
        // full ALIGN bytes when already aligned, so we do too.
        let text_len = dict.len() + 1;
        let padding = ALIGN - (prefix + text_len) % ALIGN;
        let header_len = text_len + padding;
        let length_field: Vec<u8> = match major {
            1 => match u16::try_from(header_len) {
                Ok(n) => n.to_le_bytes().to_vec(),
                Err(_) => continue,
            },
            _ => match u32::try_from(header_len) {
                Ok(n) => n.to_le_bytes().to_vec(),
                Err(_) => break,
            },
        };
        let mut out = Vec::with_capacity(prefix + header_len);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&[major, 0]);
        out.extend_from_slice(&length_field);
        out.extend_from_slice(dict.as_bytes());
        out.resize(prefix + header_len - 1, b' ');
        out.push(b'\n');
        return Ok(out);
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "array has too many dimensions for a .npy header",
    ))
}

/// Writes the values little-endian, as the descrs of [`NpyElement`] say.
fn write_values<T: Element, W: Write>(writer: &mut W, data: &[T]) -> io::Result<()> {
    if Endian::NATIVE == Endian::Little {
        // The common case: the values' memory is already the file's bytes.
        return writer.write_all(bytemuck::cast_slice(data));
    }
    write_swapped(writer, data)
}

/// Writes `data` with each value's bytes reversed, through a bounded buffer.
fn write_swapped<T: Element, W: Write>(writer: &mut W, data: &[T]) -> io::Result<()> {
    const CHUNK_VALUES: usize = 1 << 16;
    let mut buffer = Vec::with_capacity(CHUNK_VALUES.min(data.len()));
    for chunk in data.chunks(CHUNK_VALUES) {
        buffer.clear();
        buffer.extend_from_slice(chunk);
        swap_bytes(&mut buffer);
        writer.write_all(bytemuck::cast_slice(&buffer))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Files written by numpy 2.4 (`np.save` unless noted), byte for byte.

    /// np.arange(6, dtype='u1').reshape(2, 3)
    const NP_U8_2X3: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '|u1', 'fortran_order': Fals\
    e, 'shape': (2, 3), }                           \
    \x20                              \n\x00\x01\x02\x03\x04\x05";

    /// np.array([1.5, -2.0, 0.25], dtype='<f4')
    const NP_F4_3: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': Fals\
    e, 'shape': (3,), }                             \
    \x20                              \n\x00\x00\xc0?\x00\x00\x00\xc0\x00\x00\x80>";

    /// np.array([[1, -2], [300, -400]], dtype='>i2')
    const NP_I2_BE_2X2: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '>i2', 'fortran_order': Fals\
    e, 'shape': (2, 2), }                           \
    \x20                              \n\x00\x01\xff\xfe\x01,\xfep";

    /// np.array([1.0, -0.5], dtype='>f8')
    const NP_F8_BE_2: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '>f8', 'fortran_order': Fals\
    e, 'shape': (2,), }                             \
    \x20                              \n?\xf0\x00\x00\x00\x00\x00\x00\xbf\xe0\x00\x00\x00\x00\x00\x00";

    /// np.asfortranarray(np.arange(6, dtype='<i4').reshape(2, 3))
    const NP_I4_F_2X3: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<i4', 'fortran_order': True\
    , 'shape': (2, 3), }                            \
    \x20                              \n\x00\x00\x00\x00\x03\x00\x00\x00\x01\x00\x00\x00\x04\x00\x00\x00\
    \x02\x00\x00\x00\x05\x00\x00\x00";

    /// np.asfortranarray(np.arange(24, dtype='<u2').reshape(2, 3, 4))
    const NP_U2_F_2X3X4: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<u2', 'fortran_order': True\
    , 'shape': (2, 3, 4), }                         \
    \x20                              \n\x00\x00\x0c\x00\x04\x00\x10\x00\x08\x00\x14\x00\x01\x00\x0d\x00\
    \x05\x00\x11\x00\x09\x00\x15\x00\x02\x00\x0e\x00\x06\x00\x12\x00\n\x00\x16\x00\x03\x00\x0f\x00\x07\x00\x13\x00\x0b\x00\x17\x00";

    /// np.array(7.0)
    const NP_F8_0D: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': Fals\
    e, 'shape': (), }                               \
    \x20                              \n\x00\x00\x00\x00\x00\x00\x1c@";

    /// np.zeros((0, 5))
    const NP_F8_0X5: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': Fals\
    e, 'shape': (0, 5), }                           \
    \x20                              \n";

    /// numpy.lib.format.write_array(f, np.array([-1, 2**40], dtype='<i8'), version=(2, 0))
    const NP_I8_V2: &[u8] = b"\x93NUMPY\x02\x00t\x00\x00\x00{'descr': '<i8', 'fortran_order': Fa\
    lse, 'shape': (2,), }                           \
    \x20                              \n\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00\x00\x01\x00\x00";

    /// numpy.lib.format.write_array(f, np.array([[7], [8]], dtype='<u4'), version=(3, 0))
    const NP_U4_V3: &[u8] = b"\x93NUMPY\x03\x00t\x00\x00\x00{'descr': '<u4', 'fortran_order': Fa\
    lse, 'shape': (2, 1), }                         \
    \x20                              \n\x07\x00\x00\x00\x08\x00\x00\x00";

    /// np.array([1+2j], dtype='<c8')
    const NP_C8: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<c8', 'fortran_order': Fals\
    e, 'shape': (1,), }                             \
    \x20                              \n\x00\x00\x80?\x00\x00\x00@";

    /// np.zeros(1, dtype=[('x', '<i4'), ('y', '<f8')])
    const NP_STRUCT: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': [('x', '<i4'), ('y', '<f8')]\
    , 'fortran_order': False, 'shape': (1,), }      \
    \x20                              \n\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00";

    fn path() -> &'static Path {
        Path::new("test.npy")
    }

    fn read_bytes(bytes: &[u8]) -> Result<NpyArray> {
        read_npy_from(bytes, path(), u64::MAX)
    }

    /// Writes `bytes` to a temporary file and reads it with [`read_npy`].
    fn read_via_file(bytes: &[u8], max_bytes: u64) -> Result<NpyArray> {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("a.npy");
        std::fs::write(&file, bytes).expect("write temp file");
        read_npy(&file, max_bytes)
    }

    /// A file with a hand-written header dictionary (`major`.0 format).
    fn raw_npy(major: u8, dict: &str, data: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[major, 0]);
        match major {
            1 => out.extend_from_slice(&(dict.len() as u16).to_le_bytes()),
            _ => out.extend_from_slice(&(dict.len() as u32).to_le_bytes()),
        }
        out.extend_from_slice(dict.as_bytes());
        out.extend_from_slice(data);
        out
    }

    fn write_to_vec<T: NpyElement>(shape: &[usize], data: &[T]) -> Vec<u8> {
        let mut out = Vec::new();
        write_npy(&mut out, shape, data).expect("write to a Vec");
        out
    }

    /// The reason of a Format error (panics on any other result).
    fn format_reason(result: Result<NpyArray>) -> String {
        match result {
            Err(Error::Format { reason, .. }) => reason,
            other => panic!("expected a format error, got {other:?}"),
        }
    }

    fn assert_reason_contains(result: Result<NpyArray>, needle: &str) {
        let reason = format_reason(result);
        assert!(reason.contains(needle), "{reason:?} lacks {needle:?}");
        assert!(!reason.contains('\n'), "{reason:?} is not one line");
    }

    #[test]
    fn reads_numpy_files() {
        let a = read_bytes(NP_U8_2X3).unwrap();
        assert_eq!(a.shape, [2, 3]);
        assert_eq!(a.data, NpyData::U8(vec![0, 1, 2, 3, 4, 5]));

        let a = read_bytes(NP_F4_3).unwrap();
        assert_eq!(a.shape, [3]);
        assert_eq!(a.data, NpyData::F32(vec![1.5, -2.0, 0.25]));

        let a = read_bytes(NP_F8_0D).unwrap();
        assert_eq!(a.shape, Vec::<usize>::new());
        assert_eq!(a.data, NpyData::F64(vec![7.0]));

        let a = read_bytes(NP_F8_0X5).unwrap();
        assert_eq!(a.shape, [0, 5]);
        assert_eq!(a.data, NpyData::F64(vec![]));
        assert!(a.data.is_empty());
    }

    #[test]
    fn reads_version_2_and_3_headers() {
        let a = read_bytes(NP_I8_V2).unwrap();
        assert_eq!(a.shape, [2]);
        assert_eq!(a.data, NpyData::I64(vec![-1, 1 << 40]));

        let a = read_bytes(NP_U4_V3).unwrap();
        assert_eq!(a.shape, [2, 1]);
        assert_eq!(a.data, NpyData::U32(vec![7, 8]));
    }

    #[test]
    fn version_3_header_may_hold_utf8_but_must_be_valid() {
        let dict = "{'descr': '<u2', 'fortran_order': False, 'shape': (1,), 'note': 'é'}";
        let a = read_bytes(&raw_npy(3, dict, &[1, 0])).unwrap();
        assert_eq!(a.data, NpyData::U16(vec![1]));

        let mut bad = raw_npy(3, dict, &[1, 0]);
        let at = bad.len() - 5;
        bad[at] = 0xff;
        assert_reason_contains(read_bytes(&bad), "not valid UTF-8");
    }

    #[test]
    fn reads_big_endian_numpy_files() {
        let a = read_bytes(NP_I2_BE_2X2).unwrap();
        assert_eq!(a.shape, [2, 2]);
        assert_eq!(a.data, NpyData::I16(vec![1, -2, 300, -400]));

        let a = read_bytes(NP_F8_BE_2).unwrap();
        assert_eq!(a.data, NpyData::F64(vec![1.0, -0.5]));
    }

    #[test]
    fn reads_big_endian_of_every_width() {
        let header =
            |descr: &str| format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (2,)}}");
        let a = read_bytes(&raw_npy(1, &header(">u1"), &[1, 2])).unwrap();
        assert_eq!(a.data, NpyData::U8(vec![1, 2]));
        let a = read_bytes(&raw_npy(1, &header(">u2"), &[1, 2, 3, 4])).unwrap();
        assert_eq!(a.data, NpyData::U16(vec![0x0102, 0x0304]));
        let data: Vec<u8> = [7u32, 0xdead_beef]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let a = read_bytes(&raw_npy(1, &header(">u4"), &data)).unwrap();
        assert_eq!(a.data, NpyData::U32(vec![7, 0xdead_beef]));
        let data: Vec<u8> = [-3i64, 1 << 50]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let a = read_bytes(&raw_npy(1, &header(">i8"), &data)).unwrap();
        assert_eq!(a.data, NpyData::I64(vec![-3, 1 << 50]));
        let data: Vec<u8> = [1.25f32, -8.0]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let a = read_bytes(&raw_npy(1, &header(">f4"), &data)).unwrap();
        assert_eq!(a.data, NpyData::F32(vec![1.25, -8.0]));
        // float16 1.5 is 0x3e00, -2.0 is 0xc000.
        let a = read_bytes(&raw_npy(1, &header(">f2"), &[0x3e, 0x00, 0xc0, 0x00])).unwrap();
        let halves = [half::f16::from_f32(1.5), half::f16::from_f32(-2.0)];
        assert_eq!(a.data, NpyData::F16(halves.to_vec()));
        let a = read_bytes(&raw_npy(1, &header("<f2"), &[0x00, 0x3e, 0x00, 0xc0])).unwrap();
        assert_eq!(a.data, NpyData::F16(halves.to_vec()));
    }

    #[test]
    fn float16_round_trips_and_rounds_as_numpy() {
        let values = [0.0f32, 1.0, -2.5, 65504.0, 1e-7, 0.1, 2.3];
        let halves = narrow_f16(&values);
        let mut bytes = Vec::new();
        write_npy(&mut bytes, &[values.len()], &halves).unwrap();
        let a = read_bytes(&bytes).unwrap();
        assert_eq!(a.data, NpyData::F16(halves.clone()));
        let back = widen_f16(&halves);
        // numpy: np.float16(0.1) == 0.0999755859375, np.float16(2.3) == 2.30078125,
        // 1e-7 rounds to the subnormal 1.1920928955078125e-07.
        assert_eq!(back[5], 0.099_975_586);
        assert_eq!(back[6], 2.300_781_3);
        assert_eq!(back[4], 1.192_092_9e-7);
        assert_eq!(&back[..4], &values[..4]);
    }

    #[test]
    fn reads_fortran_order_2d_and_3d() {
        let a = read_bytes(NP_I4_F_2X3).unwrap();
        assert_eq!(a.shape, [2, 3]);
        assert_eq!(a.data, NpyData::I32((0..6).collect()));

        let a = read_bytes(NP_U2_F_2X3X4).unwrap();
        assert_eq!(a.shape, [2, 3, 4]);
        assert_eq!(a.data, NpyData::U16((0..24).collect()));
    }

    #[test]
    fn fortran_to_c_matches_index_arithmetic_in_4d() {
        let shape = [3, 2, 4, 2];
        let n: usize = shape.iter().product();
        // Fill a Fortran-ordered buffer so that each value is its own C-order
        // index; converting must then give 0, 1, 2, ...
        let mut fortran = vec![0usize; n];
        for c in 0..n {
            let mut rest = c;
            let mut index = [0usize; 4];
            for axis in (0..4).rev() {
                index[axis] = rest % shape[axis];
                rest /= shape[axis];
            }
            let f = index[0] + 3 * (index[1] + 2 * (index[2] + 4 * index[3]));
            fortran[f] = c;
        }
        assert_eq!(fortran_to_c(fortran, &shape), (0..n).collect::<Vec<_>>());
        assert_eq!(fortran_to_c(vec![5, 6], &[2]), [5, 6]);
        assert_eq!(fortran_to_c(Vec::<u8>::new(), &[0, 3]), []);
    }

    #[test]
    fn fortran_order_with_big_endian() {
        let dict = "{'descr': '>u2', 'fortran_order': True, 'shape': (2, 2)}";
        // Column-major [[1, 2], [3, 4]]: 1, 3, 2, 4.
        let a = read_bytes(&raw_npy(1, dict, &[0, 1, 0, 3, 0, 2, 0, 4])).unwrap();
        assert_eq!(a.data, NpyData::U16(vec![1, 2, 3, 4]));
    }

    #[test]
    fn writes_the_bytes_numpy_writes() {
        assert_eq!(write_to_vec(&[2, 3], &[0u8, 1, 2, 3, 4, 5]), NP_U8_2X3);
        assert_eq!(write_to_vec(&[3], &[1.5f32, -2.0, 0.25]), NP_F4_3);
        assert_eq!(write_to_vec(&[], &[7.0f64]), NP_F8_0D);
        assert_eq!(write_to_vec::<f64>(&[0, 5], &[]), NP_F8_0X5);
    }

    #[test]
    fn header_text_and_alignment() {
        let bytes = write_to_vec(&[2, 3], &[0.0f32; 6]);
        let text = std::str::from_utf8(&bytes[10..bytes.len() - 24]).unwrap();
        assert!(text.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
        assert!(text.ends_with(" \n"));
        assert_eq!(shape_repr(&[]), "()");
        assert_eq!(shape_repr(&[5]), "(5,)");
        assert_eq!(shape_repr(&[2, 3, 4]), "(2, 3, 4)");
        for ndim in 0..40 {
            let shape = vec![1; ndim];
            assert_eq!(write_to_vec(&shape, &[1u8]).len() % ALIGN, 1, "ndim {ndim}");
        }
    }

    #[test]
    fn huge_header_is_written_as_version_2() {
        // 22,000 axes of length 1 make a header over 65,535 bytes.
        let shape = vec![1; 22_000];
        let bytes = write_to_vec(&shape, &[9i16]);
        assert_eq!(&bytes[6..8], &[2, 0]);
        assert_eq!((bytes.len() - 2) % ALIGN, 0);
        let a = read_bytes(&bytes).unwrap();
        assert_eq!(a.shape, shape);
        assert_eq!(a.data, NpyData::I16(vec![9]));
    }

    #[test]
    fn write_rejects_mismatched_length() {
        let err = write_npy(Vec::new(), &[2, 2], &[1u8, 2, 3]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let err = write_npy(Vec::new(), &[usize::MAX, usize::MAX, 2], &[1u8]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    /// Writes `values` in several shapes, reads them back both ways.
    fn round_trip<T: NpyElement>(values: &[T], wrap: fn(Vec<T>) -> NpyData, dtype: NpyDtype) {
        let shapes: [&[usize]; 7] = [
            &[],
            &[4],
            &[2, 3],
            &[2, 3, 4],
            &[0, 5],
            &[3, 0],
            &[1, 1, 1, 2],
        ];
        for shape in shapes {
            let n: usize = shape.iter().product();
            let data: Vec<T> = values.iter().copied().cycle().take(n).collect();
            let bytes = write_to_vec(shape, &data);
            assert_eq!((bytes.len() - n * size_of::<T>()) % ALIGN, 0);
            let expected = NpyArray {
                shape: shape.to_vec(),
                data: wrap(data),
            };
            assert_eq!(read_bytes(&bytes).unwrap(), expected, "{shape:?}");
            assert_eq!(read_via_file(&bytes, u64::MAX).unwrap(), expected);
            assert_eq!(expected.data.dtype(), dtype);
            assert_eq!(expected.data.len(), n);
        }
    }

    #[test]
    fn round_trips_every_dtype() {
        round_trip(&[0u8, 255, 7], NpyData::U8, NpyDtype::U8);
        round_trip(&[0u16, u16::MAX, 300], NpyData::U16, NpyDtype::U16);
        round_trip(&[0u32, u32::MAX, 70_000], NpyData::U32, NpyDtype::U32);
        round_trip(&[0u64, u64::MAX, 1 << 40], NpyData::U64, NpyDtype::U64);
        round_trip(&[0i8, i8::MIN, i8::MAX], NpyData::I8, NpyDtype::I8);
        round_trip(&[0i16, i16::MIN, -3], NpyData::I16, NpyDtype::I16);
        round_trip(&[0i32, i32::MIN, -70_000], NpyData::I32, NpyDtype::I32);
        round_trip(&[0i64, i64::MIN, -(1 << 40)], NpyData::I64, NpyDtype::I64);
        round_trip(
            &[0.0f32, -1.5, f32::MAX, f32::INFINITY],
            NpyData::F32,
            NpyDtype::F32,
        );
        round_trip(
            &[0.0f64, -1.5, f64::MIN_POSITIVE],
            NpyData::F64,
            NpyDtype::F64,
        );
    }

    #[test]
    fn dtype_names_sizes_and_descrs() {
        assert_eq!(NpyDtype::U8.name(), "uint8");
        assert_eq!(NpyDtype::F64.name(), "float64");
        assert_eq!(NpyDtype::I16.size(), 2);
        assert_eq!(NpyDtype::U64.size(), 8);
        assert_eq!(<u8 as NpyElement>::DESCR, "|u1");
        assert_eq!(<i8 as NpyElement>::DESCR, "|i1");
        assert_eq!(<u16 as NpyElement>::DESCR, "<u2");
        assert_eq!(<f32 as NpyElement>::DESCR, "<f4");
    }

    #[test]
    fn header_dictionary_is_parsed_robustly() {
        let headers = [
            "{'shape': (2,), 'fortran_order': False, 'descr': '<i2'}",
            "{ 'descr' : '<i2' ,\t'fortran_order':False,'shape':( 2 , ), }   \n",
            "{\"descr\": \"<i2\", \"fortran_order\": False, \"shape\": (2L,)}",
            "{'descr': '=i2', 'fortran_order': False, 'shape': (2,), 'extra': [1, (2, 3)]}",
            "{'descr': 'i2', 'fortran_order': False, 'shape': (+2,)}",
        ];
        for dict in headers {
            let a = read_bytes(&raw_npy(1, dict, &[1, 0, 2, 0])).unwrap();
            assert_eq!(a.shape, [2], "{dict}");
            assert_eq!(a.data, NpyData::I16(vec![1, 2]), "{dict}");
        }
    }

    #[test]
    fn header_shape_only() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.npy");
        std::fs::write(&file, NP_U2_F_2X3X4).unwrap();
        assert_eq!(
            npy_header_shape(&file).unwrap(),
            (NpyDtype::U16, vec![2, 3, 4])
        );
        // The data is not read, so a truncated body is fine.
        std::fs::write(&file, &NP_U2_F_2X3X4[..128]).unwrap();
        assert_eq!(
            npy_header_shape(&file).unwrap(),
            (NpyDtype::U16, vec![2, 3, 4])
        );
        std::fs::write(&file, NP_C8).unwrap();
        assert!(matches!(npy_header_shape(&file), Err(Error::Format { .. })));
        let missing = dir.path().join("missing.npy");
        assert!(matches!(npy_header_shape(&missing), Err(Error::Io { .. })));
    }

    #[test]
    fn truncated_data_is_reported() {
        let cut = &NP_F4_3[..NP_F4_3.len() - 3];
        let expected = "truncated: the header promises 12 bytes of data but the file holds 9";
        assert_eq!(format_reason(read_via_file(cut, u64::MAX)), expected);
        assert_eq!(format_reason(read_bytes(cut)), expected);
    }

    #[test]
    fn truncated_header_is_reported() {
        for len in [3, 7, 9, 50] {
            assert_reason_contains(read_bytes(&NP_F4_3[..len]), "ends inside the .npy header");
        }
    }

    #[test]
    fn extra_bytes_are_reported() {
        let mut bytes = NP_F4_3.to_vec();
        bytes.extend_from_slice(&[0; 5]);
        let expected = "has 5 bytes after the array data";
        assert_eq!(format_reason(read_via_file(&bytes, u64::MAX)), expected);
        assert_eq!(format_reason(read_bytes(&bytes)), expected);
    }

    #[test]
    fn lying_huge_shape_is_too_large_before_allocating() {
        let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 1000000000)}";
        let bytes = raw_npy(1, dict, &[0; 16]);
        for result in [
            read_via_file(&bytes, 1 << 30),
            read_npy_from(&bytes[..], path(), 1 << 30),
        ] {
            match result {
                Err(Error::TooLarge { what, bytes, limit }) => {
                    // Names the file: the message stands alone in the CLI.
                    assert!(what.contains(".npy: array of shape"), "{what}");
                    assert!(
                        what.ends_with(": array of shape (1000000000, 1000000000) dtype float32"),
                        "{what}"
                    );
                    assert_eq!(bytes, 4_000_000_000_000_000_000);
                    assert_eq!(limit, 1 << 30);
                }
                other => panic!("expected TooLarge, got {other:?}"),
            }
        }
    }

    #[test]
    fn size_overflowing_64_bits_is_a_format_error() {
        let dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 2)}";
        assert_reason_contains(read_bytes(&raw_npy(1, dict, &[])), "more than 2^64 bytes");
        // A zero axis makes any other lengths harmless.
        let dict =
            "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 18446744073709551615, 9)}";
        assert_eq!(
            read_bytes(&raw_npy(1, dict, &[])).unwrap().data,
            NpyData::F64(vec![])
        );
    }

    #[test]
    fn lying_stream_costs_one_chunk_at_most() {
        // Promises a terabyte within the limit; 10 bytes arrive. Reading must
        // fail fast rather than allocate the promised size.
        let dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (1000000000000,)}";
        let bytes = raw_npy(1, dict, &[0; 10]);
        assert_eq!(
            format_reason(read_npy_from(&bytes[..], path(), u64::MAX)),
            "truncated: the header promises 1000000000000 bytes of data but the file holds 10"
        );
        assert_reason_contains(read_via_file(&bytes, u64::MAX), "but the file holds 10");
    }

    #[test]
    fn stream_spanning_several_chunks() {
        let n = STREAM_CHUNK_BYTES / 8 * 2 + 3;
        let values: Vec<u64> = (0..n as u64).collect();
        let bytes = write_to_vec(&[n], &values);
        let a = read_npy_from(&bytes[..], path(), u64::MAX).unwrap();
        assert_eq!(a.data, NpyData::U64(values));
        let cut = &bytes[..bytes.len() - 1];
        assert_reason_contains(read_npy_from(cut, path(), u64::MAX), "truncated");
    }

    #[test]
    fn bad_magic_and_version() {
        assert_reason_contains(read_bytes(b""), "empty");
        assert_reason_contains(read_bytes(b"PK\x03\x04 a zip file"), "not a .npy file");
        assert_reason_contains(read_bytes(b"\x93NUMPX\x01\x00"), "not a .npy file");
        let mut bytes = NP_F4_3.to_vec();
        bytes[6] = 4;
        assert_reason_contains(read_bytes(&bytes), "unsupported .npy format version 4.0");
        bytes[6] = 1;
        bytes[7] = 1;
        assert_reason_contains(read_bytes(&bytes), "version 1.1");
    }

    #[test]
    fn header_length_over_limit() {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&[2, 0]);
        bytes.extend_from_slice(&(u32::MAX).to_le_bytes());
        assert_reason_contains(read_bytes(&bytes), "claims 4294967295 bytes");
    }

    #[test]
    fn malformed_headers() {
        let cases = [
            (
                "{'fortran_order': False, 'shape': (1,)}",
                "lacks the key 'descr'",
            ),
            (
                "{'descr': '<u2', 'shape': (1,)}",
                "lacks the key 'fortran_order'",
            ),
            (
                "{'descr': '<u2', 'fortran_order': False}",
                "lacks the key 'shape'",
            ),
            (
                "{'descr': '<u2', 'fortran_order': False, 'shape': (-1,)}",
                "shape entry -1",
            ),
            (
                "{'descr': '<u2', 'fortran_order': False, 'shape': (1.5,)}",
                "shape entry 1.5",
            ),
            (
                "{'descr': '<u2', 'fortran_order': False, 'shape': (1, 'a')}",
                "shape entry 'a'",
            ),
            (
                "{'descr': '<u2', 'fortran_order': False, 'shape': [1]}",
                "'shape' is [1]",
            ),
            (
                "{'descr': '<u2', 'fortran_order': False, 'shape': (1)}",
                "'shape' is 1,",
            ),
            (
                "{'descr': '<u2', 'fortran_order': 0, 'shape': (1,)}",
                "'fortran_order' is 0",
            ),
            (
                "{'descr': '<u2', 'descr': '<u2', 'fortran_order': False, 'shape': (1,)}",
                "repeats",
            ),
            (
                "{'descr': '<u2', 'fortran_order': False, 'shape': (1,)} x",
                "after the header",
            ),
            (
                "{'descr': '<u2' 'fortran_order': False, 'shape': (1,)}",
                "expected ',' or '}'",
            ),
            (
                "{'descr': '<u2, 'fortran_order': False, 'shape': (1,)}",
                "bad .npy header",
            ),
            (
                "{'descr': '<u2', 'fortran_order': False, 'shape': (1,",
                "ends where a value",
            ),
            ("['descr', '<u2']", "not a dictionary"),
            ("", "ends where a value"),
        ];
        for (dict, needle) in cases {
            assert_reason_contains(read_bytes(&raw_npy(1, dict, &[0, 0])), needle);
        }
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_reason_contains(read_bytes(&raw_npy(2, &deep, &[])), "nests too deeply");
    }

    #[test]
    fn unsupported_dtypes_are_named() {
        let expected = "unsupported dtype '<c8' (complex; gpix reads uint8..uint64, int8..int64, float16, float32, float64)";
        assert_eq!(format_reason(read_bytes(NP_C8)), expected);
        assert_reason_contains(
            read_bytes(NP_STRUCT),
            "unsupported dtype [('x', '<i4'), ('y', '<f8')] (structured",
        );
        for (descr, kind) in [
            ("|b1", "bool"),
            ("|S5", "byte string"),
            ("<U3", "unicode"),
            ("|O", "object"),
            ("<M8[ns]", "datetime"),
            ("<u16", "gpix reads"),
        ] {
            let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (1,)}}");
            let reason = format_reason(read_bytes(&raw_npy(1, &dict, &[0; 8])));
            assert!(
                reason.contains(&format!("'{descr}'")) && reason.contains(kind),
                "{reason}"
            );
        }
    }

    #[test]
    fn too_large_for_a_small_limit() {
        assert!(matches!(
            read_via_file(NP_F4_3, 11),
            Err(Error::TooLarge {
                bytes: 12,
                limit: 11,
                ..
            })
        ));
        assert!(read_via_file(NP_F4_3, 12).is_ok());
    }

    #[test]
    fn swapping_helpers() {
        let mut v = [0x0102u16, 0x0304];
        swap_bytes(&mut v);
        assert_eq!(v, [0x0201, 0x0403]);
        let mut f = [1.0f64];
        swap_bytes(&mut f);
        assert_eq!(f[0].to_bits(), 1.0f64.to_bits().swap_bytes());
        let mut out = Vec::new();
        write_swapped(&mut out, &[1u32, 2]).unwrap();
        assert_eq!(out, [0, 0, 0, 1, 0, 0, 0, 2]);
    }
}
