//! Palettes: integer colours for 8/16-bit images, float levels for float greyscale.

use crate::error::{Error, Result};

/// Largest palette gpix accepts (indices fit in `u16`).
pub const MAX_PALETTE_LEN: usize = 65536;

/// An ordered list of integer colours, `channels` values each, in the image's
/// own units (0..=255 for 8-bit images, 0..=65535 for 16-bit ones).
/// Index `i` is colour `i`: the order is kept as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Palette {
    channels: usize,
    colors: Vec<u16>,
}

impl Palette {
    /// A palette from flat values (`colors.len() == K * channels`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `channels` is not 1..=4, the length is not
    /// a multiple of `channels`, or K is not 1..=65536.
    pub fn new(channels: usize, colors: Vec<u16>) -> Result<Self> {
        if !(1..=4).contains(&channels) {
            return Err(Error::invalid(format!(
                "a palette colour has 1 to 4 channels, not {channels}"
            )));
        }
        if !colors.len().is_multiple_of(channels) {
            return Err(Error::invalid(format!(
                "{} palette values do not make whole colours of {channels} channels",
                colors.len()
            )));
        }
        check_len(colors.len() / channels)?;
        Ok(Self { channels, colors })
    }

    /// Values per colour.
    #[must_use]
    pub fn channels(&self) -> usize {
        self.channels
    }
    /// Number of colours K.
    #[must_use]
    pub fn len(&self) -> usize {
        self.colors.len() / self.channels
    }
    /// Always false: a palette has at least one colour.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.colors.is_empty()
    }
    /// Flat values, colour after colour.
    #[must_use]
    pub fn values(&self) -> &[u16] {
        &self.colors
    }
    /// Colour `i`.
    #[must_use]
    pub fn color(&self, i: usize) -> &[u16] {
        &self.colors[i * self.channels..(i + 1) * self.channels]
    }
    /// Largest value of any channel (used to check a palette fits an 8-bit image).
    #[must_use]
    pub fn max_value(&self) -> u16 {
        self.colors.iter().copied().max().unwrap_or(0)
    }
}

/// An ordered list of grey levels for float greyscale images. Index `i` is level `i`.
#[derive(Debug, Clone, PartialEq)]
pub struct Levels {
    levels: Vec<f64>,
}

impl Levels {
    /// Levels from values.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if a level is not finite or K is not 1..=65536.
    pub fn new(levels: Vec<f64>) -> Result<Self> {
        check_len(levels.len())?;
        if let Some(bad) = levels.iter().find(|l| !l.is_finite()) {
            return Err(Error::invalid(format!(
                "level {bad} is not a finite number"
            )));
        }
        Ok(Self { levels })
    }
    /// The levels in palette order.
    #[must_use]
    pub fn values(&self) -> &[f64] {
        &self.levels
    }
    /// Number of levels K.
    #[must_use]
    pub fn len(&self) -> usize {
        self.levels.len()
    }
    /// Always false: there is at least one level.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }
}

fn check_len(k: usize) -> Result<()> {
    if k == 0 {
        return Err(Error::invalid("the palette is empty"));
    }
    if k > MAX_PALETTE_LEN {
        return Err(Error::invalid(format!(
            "the palette has {k} colours; gpix supports 1 to {MAX_PALETTE_LEN}"
        )));
    }
    Ok(())
}
