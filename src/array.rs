//! The array types the operations take: row-major `(height, width, channels)`
//! with channels interleaved, as numpy stores an `(H, W, C)` array.

use crate::error::{Error, Result};

/// Element types an [`Image`] may hold.
pub trait Element:
    Copy + Send + Sync + Default + PartialEq + PartialOrd + std::fmt::Debug + bytemuck::Pod + 'static
{
    /// numpy's name for the type (`"uint8"`, `"float32"`, …).
    const NAME: &'static str;
}

macro_rules! element {
    ($($t:ty => $name:literal),*) => {$(
        impl Element for $t {
            const NAME: &'static str = $name;
        }
    )*};
}
element!(u8 => "uint8", u16 => "uint16", u32 => "uint32", u64 => "uint64",
    i8 => "int8", i16 => "int16", i32 => "int32", i64 => "int64",
    f32 => "float32", f64 => "float64", half::f16 => "float16");

/// A borrowed `(height, width, channels)` array, row-major, channels interleaved.
#[derive(Debug, Clone, Copy)]
pub struct ImageView<'a, T> {
    data: &'a [T],
    height: usize,
    width: usize,
    channels: usize,
}

impl<'a, T: Element> ImageView<'a, T> {
    /// Wrap `data` as a `height × width × channels` array.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `channels` is 0 or `data.len()` is not
    /// `height * width * channels`.
    pub fn new(data: &'a [T], height: usize, width: usize, channels: usize) -> Result<Self> {
        let expected = checked_len(height, width, channels)?;
        if data.len() != expected {
            return Err(Error::invalid(format!(
                "array of {} values cannot be shaped ({height}, {width}, {channels})",
                data.len()
            )));
        }
        Ok(Self {
            data,
            height,
            width,
            channels,
        })
    }

    /// The values, row-major with channels interleaved.
    #[must_use]
    pub fn data(&self) -> &'a [T] {
        self.data
    }
    /// Number of rows.
    #[must_use]
    pub fn height(&self) -> usize {
        self.height
    }
    /// Number of columns.
    #[must_use]
    pub fn width(&self) -> usize {
        self.width
    }
    /// Values per pixel.
    #[must_use]
    pub fn channels(&self) -> usize {
        self.channels
    }
    /// `height * width`.
    #[must_use]
    pub fn pixels(&self) -> usize {
        self.height * self.width
    }
    /// Rows `rows` of this view.
    #[must_use]
    pub fn rows(&self, rows: std::ops::Range<usize>) -> ImageView<'a, T> {
        let row_len = self.width * self.channels;
        ImageView {
            data: &self.data[rows.start * row_len..rows.end * row_len],
            height: rows.len(),
            width: self.width,
            channels: self.channels,
        }
    }
}

/// An owned `(height, width, channels)` array, row-major, channels interleaved.
#[derive(Debug, Clone, PartialEq)]
pub struct Image<T> {
    data: Vec<T>,
    height: usize,
    width: usize,
    channels: usize,
}

impl<T: Element> Image<T> {
    /// Take ownership of `data` as a `height × width × channels` array.
    ///
    /// # Errors
    /// As [`ImageView::new`].
    pub fn from_vec(data: Vec<T>, height: usize, width: usize, channels: usize) -> Result<Self> {
        ImageView::new(&data, height, width, channels)?;
        Ok(Self {
            data,
            height,
            width,
            channels,
        })
    }

    /// A zero-filled array.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `channels` is 0 or the size overflows.
    pub fn zeros(height: usize, width: usize, channels: usize) -> Result<Self> {
        let len = checked_len(height, width, channels)?;
        Ok(Self {
            data: vec![T::default(); len],
            height,
            width,
            channels,
        })
    }

    /// Borrow as a view.
    #[must_use]
    pub fn view(&self) -> ImageView<'_, T> {
        ImageView {
            data: &self.data,
            height: self.height,
            width: self.width,
            channels: self.channels,
        }
    }
    /// The values, row-major with channels interleaved.
    #[must_use]
    pub fn data(&self) -> &[T] {
        &self.data
    }
    /// The values, mutable.
    pub fn data_mut(&mut self) -> &mut [T] {
        &mut self.data
    }
    /// Give back the values.
    #[must_use]
    pub fn into_vec(self) -> Vec<T> {
        self.data
    }
    /// Number of rows.
    #[must_use]
    pub fn height(&self) -> usize {
        self.height
    }
    /// Number of columns.
    #[must_use]
    pub fn width(&self) -> usize {
        self.width
    }
    /// Values per pixel.
    #[must_use]
    pub fn channels(&self) -> usize {
        self.channels
    }
}

/// An image or array of any supported element type, as read from a file.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AnyImage {
    /// 8-bit unsigned.
    U8(Image<u8>),
    /// 16-bit unsigned.
    U16(Image<u16>),
    /// 32-bit float.
    F32(Image<f32>),
    /// 64-bit float.
    F64(Image<f64>),
}

impl AnyImage {
    /// `(height, width, channels)`.
    #[must_use]
    pub fn shape(&self) -> (usize, usize, usize) {
        match self {
            AnyImage::U8(i) => (i.height, i.width, i.channels),
            AnyImage::U16(i) => (i.height, i.width, i.channels),
            AnyImage::F32(i) => (i.height, i.width, i.channels),
            AnyImage::F64(i) => (i.height, i.width, i.channels),
        }
    }
    /// numpy's dtype name of the elements.
    #[must_use]
    pub fn dtype_name(&self) -> &'static str {
        match self {
            AnyImage::U8(_) => u8::NAME,
            AnyImage::U16(_) => u16::NAME,
            AnyImage::F32(_) => f32::NAME,
            AnyImage::F64(_) => f64::NAME,
        }
    }
}

/// `height * width * channels`, checked for overflow; `channels` must be ≥ 1.
pub(crate) fn checked_len(height: usize, width: usize, channels: usize) -> Result<usize> {
    if channels == 0 {
        return Err(Error::invalid("an image needs at least one channel"));
    }
    height
        .checked_mul(width)
        .and_then(|p| p.checked_mul(channels))
        .ok_or_else(|| {
            Error::invalid(format!(
                "shape ({height}, {width}, {channels}) is too large"
            ))
        })
}
