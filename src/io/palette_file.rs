//! Palette text files: reading colour lists and grey levels, writing them back.
//!
//! Two formats are read by [`parse_palette_text`], told apart by the first line:
//!
//! - **GIMP palettes** (`.gpl`), which start with the line `GIMP Palette`;
//! - **plain text palettes**: one colour (or grey level) per line, in any of
//!   the forms described on [`parse_palette_text`].
//!
//! The result is a [`ParsedPalette`]: the values as written, with the source
//! line of every colour, so that the caller can check them against an image
//! and point at the offending line. Range checks against an image's depth are
//! the caller's job.
//!
//! [`write_palette_gpl`], [`write_palette_txt`] and [`write_levels_txt`] write
//! files that [`parse_palette_text`] reads back to the same values.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};
use crate::palette::MAX_PALETTE_LEN;

/// A palette as written in a file, before it is matched to an image.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedPalette {
    /// Values per colour: 1 (grey levels), 3 (RGB) or 4 (RGBA).
    pub channels: usize,
    /// Flat values, colour after colour, as written (may be fractional for grey levels).
    pub values: Vec<f64>,
    /// 1-based source line of each colour (for error messages when a colour does not fit the image).
    pub lines: Vec<usize>,
    /// True when the colours were written as 8-bit (hex `#rrggbb`, `rrggbb`, or a GIMP .gpl): they mean 0..=255 values.
    pub eight_bit: bool,
}

/// The first line of every GIMP palette.
const GPL_MAGIC: &str = "GIMP Palette";

/// How many characters of a bad line an error message quotes.
const QUOTE_CHARS: usize = 40;

/// Reads a palette from the text of a palette file; `path` only names the
/// file in error messages.
///
/// A UTF-8 byte-order mark is skipped and `\n`, `\r\n` and lone `\r` line
/// endings are accepted. A file whose first line is `GIMP Palette` is read
/// as a GIMP palette (see below); any other file as a plain text palette.
///
/// # Plain text palettes
///
/// One colour per line. Blank lines are skipped, and so is every line whose
/// first non-blank character is `#` unless hex digits follow it directly:
/// `# comment`, `#` and `#word` are comments, `#rrggbb` and `#rrggbbaa` are
/// colours, and a hex colour of another length (`#fff`) is an error rather
/// than a skipped line that would shift every later index. After a colour,
/// whitespace followed by `#` starts a comment that runs to the end of the
/// line (`255 0 0  # red`).
///
/// Colour forms:
///
/// - `#rrggbb` or `rrggbb`: 8-bit RGB in hex (either case);
/// - `#rrggbbaa` or `rrggbbaa`: 8-bit RGBA in hex;
/// - `r g b` / `r g b a` (separated by blanks) or `r,g,b` / `r,g,b,a`
///   (separated by commas, blanks allowed around them): whole numbers
///   `>= 0`, in the image's own units (they are not range-checked here);
/// - a single number (`0`, `0.25`, `1e-3`, `-3`): a grey level, any finite
///   value.
///
/// A single token without `#` is ambiguous between hex and a grey level. The
/// rule: it is hex when it is exactly 6 or 8 characters long, all of them hex
/// digits, and at least one of them is a letter `a`–`f` (`ff8000`, `1e1000`);
/// otherwise it is read as a number (`123456` is the grey level 123456). Write
/// `#123456` for that hex colour. The `0x` prefix is not accepted.
///
/// All colours of a file must have the same number of values and be written
/// the same way (all hex or all numbers). Hex colours set
/// [`ParsedPalette::eight_bit`].
///
/// # GIMP palettes
///
/// After the `GIMP Palette` line come optional header lines (`Name: ...`,
/// `Columns: ...`, `Channels: RGB` or `Channels: RGBA`), comment lines
/// starting with `#`, and colour lines `R G B [name]` with whole numbers
/// 0..=255; the name may contain anything, numbers included. Only when a
/// `Channels: RGBA` header is present is a fourth number read as alpha
/// (`R G B A [name]`). The values are 8-bit: [`ParsedPalette::eight_bit`] is
/// true.
///
/// # Errors
///
/// [`Error::Format`] naming `path`: with the 1-based line number for a line
/// that is not a colour, a bad value (negative, fractional, not finite, over
/// 255 in a GIMP palette), a colour whose number of values or form differs
/// from the earlier ones, or the colour past the 65536th; without a line
/// number when the file has no colours at all.
pub fn parse_palette_text(text: &str, path: &Path) -> Result<ParsedPalette> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if is_gpl(text) {
        parse_gpl(text, path)
    } else {
        parse_plain(text, path)
    }
}

/// Writes a GIMP palette (`.gpl`) of 8-bit RGB (`channels == 3`) or RGBA
/// (`channels == 4`) colours, one per line as `R G B\tindex N`. RGBA
/// palettes get a `Channels: RGBA` header line and a fourth column. Line
/// breaks in `name` are written as spaces.
///
/// # Errors
///
/// An [`std::io::Error`] of kind [`InvalidInput`](std::io::ErrorKind::InvalidInput)
/// if `channels` is not 3 or 4 (GIMP palettes hold RGB colours), `values` is
/// empty or not whole colours, or a value is over 255; otherwise whatever `w`
/// returns.
pub fn write_palette_gpl<W: Write>(
    mut w: W,
    name: &str,
    channels: usize,
    values: &[u16],
) -> std::io::Result<()> {
    if channels != 3 && channels != 4 {
        return Err(invalid_input(format!(
            "a GIMP palette holds RGB or RGBA colours, not colours of {channels} channel(s)"
        )));
    }
    check_whole_colours(channels, values)?;
    if let Some(v) = values.iter().find(|&&v| v > 255) {
        return Err(invalid_input(format!(
            "a GIMP palette holds 8-bit values; {v} is over 255"
        )));
    }
    writeln!(w, "{GPL_MAGIC}")?;
    writeln!(w, "Name: {}", one_line(name))?;
    if channels == 4 {
        writeln!(w, "Channels: RGBA")?;
    }
    writeln!(w, "Columns: 16")?;
    writeln!(w, "#")?;
    for (i, colour) in values.chunks_exact(channels).enumerate() {
        for (c, v) in colour.iter().enumerate() {
            let sep = if c == 0 { "" } else { " " };
            write!(w, "{sep}{v:3}")?;
        }
        writeln!(w, "\tindex {i}")?;
    }
    Ok(())
}

/// Writes a plain text palette, one colour per line. 8-bit (`eight_bit`) RGB
/// and RGBA palettes are written in hex (`#rrggbb`, `#rrggbbaa`); anything
/// else (grey levels, 16-bit colours) as decimal
/// values separated by spaces.
///
/// Reading the file back marks hex colours as 8-bit
/// ([`ParsedPalette::eight_bit`]) and decimal ones as raw values, so a 16-bit
/// palette (written with `eight_bit = false`) keeps its values.
///
/// # Errors
///
/// An [`std::io::Error`] of kind [`InvalidInput`](std::io::ErrorKind::InvalidInput)
/// if `channels` is not 1, 3 or 4, or `values` is empty or not whole colours;
/// otherwise whatever `w` returns.
pub fn write_palette_txt<W: Write>(
    mut w: W,
    channels: usize,
    values: &[u16],
    eight_bit: bool,
) -> std::io::Result<()> {
    if !matches!(channels, 1 | 3 | 4) {
        return Err(invalid_input(format!(
            "a palette text file holds colours of 1, 3 or 4 values, not {channels}"
        )));
    }
    check_whole_colours(channels, values)?;
    let hex = eight_bit && channels != 1 && values.iter().all(|&v| v <= 255);
    for colour in values.chunks_exact(channels) {
        if hex {
            write_hex_colour(&mut w, colour)?;
        } else {
            write_decimal_colour(&mut w, colour)?;
        }
    }
    Ok(())
}

/// Writes grey levels, one per line, each in the shortest decimal form that
/// reads back to the same `f64`.
///
/// # Errors
///
/// An [`std::io::Error`] of kind [`InvalidInput`](std::io::ErrorKind::InvalidInput)
/// if `levels` is empty or holds a value that is not finite; otherwise
/// whatever `w` returns.
pub fn write_levels_txt<W: Write>(mut w: W, levels: &[f64]) -> std::io::Result<()> {
    if levels.is_empty() {
        return Err(invalid_input("there are no levels to write"));
    }
    if let Some(bad) = levels.iter().find(|l| !l.is_finite()) {
        return Err(invalid_input(format!("level {bad} is not a finite number")));
    }
    for level in levels {
        writeln!(w, "{level}")?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Shared parsing pieces

/// One colour read from a line.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Colour {
    /// Written in hex (or in a GIMP palette): 8-bit values.
    eight_bit: bool,
    /// Number of values used in `values`.
    len: usize,
    values: [f64; 4],
}

impl Colour {
    /// A colour from 1 to 4 values (`None` for any other count).
    fn new(eight_bit: bool, vals: &[f64]) -> Option<Self> {
        if !(1..=4).contains(&vals.len()) {
            return None;
        }
        let mut values = [0.0; 4];
        values[..vals.len()].copy_from_slice(vals);
        Some(Self {
            eight_bit,
            len: vals.len(),
            values,
        })
    }

    fn values(&self) -> &[f64] {
        &self.values[..self.len]
    }
}

/// Gathers the colours of a file, checking that they agree with each other.
struct Collector<'a> {
    path: &'a Path,
    channels: Option<usize>,
    eight_bit: bool,
    values: Vec<f64>,
    lines: Vec<usize>,
}

impl<'a> Collector<'a> {
    fn new(path: &'a Path) -> Self {
        Self {
            path,
            channels: None,
            eight_bit: false,
            values: Vec::new(),
            lines: Vec::new(),
        }
    }

    /// Adds the colour read from line `line_no`, or says why it does not fit
    /// the earlier ones.
    fn push(&mut self, line_no: usize, colour: &Colour) -> std::result::Result<(), String> {
        match self.channels {
            None => {
                self.channels = Some(colour.len);
                self.eight_bit = colour.eight_bit;
            }
            Some(_) if colour.eight_bit != self.eight_bit => {
                return Err("the file mixes hex and numeric colours".to_owned());
            }
            Some(channels) if colour.len != channels => {
                return Err(format!(
                    "line has {} but earlier lines have {channels}",
                    count_values(colour.len)
                ));
            }
            Some(_) => {}
        }
        if self.lines.len() >= MAX_PALETTE_LEN {
            return Err(format!("more than {MAX_PALETTE_LEN} colours"));
        }
        self.values.extend_from_slice(colour.values());
        self.lines.push(line_no);
        Ok(())
    }

    fn finish(self) -> Result<ParsedPalette> {
        match self.channels {
            Some(channels) if !self.lines.is_empty() => Ok(ParsedPalette {
                channels,
                values: self.values,
                lines: self.lines,
                eight_bit: self.eight_bit,
            }),
            _ => Err(Error::format(
                self.path,
                None,
                "the palette file has no colours",
            )),
        }
    }
}

/// "1 value", "3 values".
fn count_values(n: usize) -> String {
    if n == 1 {
        "1 value".to_owned()
    } else {
        format!("{n} values")
    }
}

/// The start of `text`, at most [`QUOTE_CHARS`] characters and printable,
/// for messages.
fn quote(text: &str) -> String {
    super::printable(text, QUOTE_CHARS)
}

/// The lines of a text file, ended by LF, CRLF or a lone CR (old Mac
/// files): every convention counts one line per break, so line numbers
/// match what an editor shows.
fn text_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let t = rest?;
        match t.find(['\n', '\r']) {
            Some(i) => {
                let skip = if t[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&t[i + skip..]).filter(|r| !r.is_empty());
                Some(&t[..i])
            }
            None => {
                rest = None;
                Some(t)
            }
        }
    })
}

/// Checks a value written as a number for an integer colour channel: finite,
/// not negative, whole. `token` is the text as written, for the message.
fn check_channel_value(token: &str, v: f64) -> std::result::Result<f64, String> {
    if !v.is_finite() {
        Err(format!(
            "colour value {} is not a finite number",
            quote(token)
        ))
    } else if v < 0.0 {
        Err(format!("negative value {}", quote(token)))
    } else if v.fract() != 0.0 {
        Err(format!(
            "colour value {} is not a whole number",
            quote(token)
        ))
    } else {
        Ok(v)
    }
}

// ---------------------------------------------------------------------------
// Plain text palettes

/// Reads a plain text palette (BOM already stripped).
fn parse_plain(text: &str, path: &Path) -> Result<ParsedPalette> {
    let mut collector = Collector::new(path);
    for (i, raw) in text_lines(text).enumerate() {
        let line_no = i + 1;
        let at_line = |reason: String| Error::format(path, Some(line_no), reason);
        let Some(colour) = read_plain_line(raw).map_err(at_line)? else {
            continue;
        };
        collector
            .push(line_no, &colour)
            .map_err(|reason| at_line(with_hex_hint(reason, raw, &colour)))?;
    }
    collector.finish()
}

/// The colour on one line of a plain text palette; `None` for blank and
/// comment lines.
fn read_plain_line(raw: &str) -> std::result::Result<Option<Colour>, String> {
    let trimmed = raw.trim();
    let line = strip_trailing_comment(trimmed);
    if line.is_empty() {
        return Ok(None);
    }
    if let Some(rest) = line.strip_prefix('#') {
        // `#` directly followed by hex digits is meant as a colour (a name may
        // follow it); `# text`, `#` or `#word` is a comment. A colour of the
        // wrong length (`#fff`) is an error rather than a silently skipped
        // line, which would shift every later index.
        let token = rest.split_whitespace().next().unwrap_or("");
        let colour_like = !rest.starts_with(char::is_whitespace)
            && !token.is_empty()
            && token.bytes().all(|b| b.is_ascii_hexdigit());
        if !colour_like {
            return Ok(None);
        }
        return parse_hex(token).map(Some).ok_or_else(|| {
            format!(
                "'#{}' is not a colour: expected #rrggbb or #rrggbbaa",
                quote(token)
            )
        });
    }
    match read_colour_fields(line) {
        Some(colour) => colour.map(Some),
        None => Err(malformed(trimmed)),
    }
}

/// Message for a line that is no colour at all.
fn malformed(line: &str) -> String {
    format!(
        "cannot read a colour from '{}' (expected #rrggbb, r g b, r,g,b or a number)",
        quote(line)
    )
}

/// Cuts a trailing comment: whitespace followed by `#` and the rest of the
/// line. A `#` at the very start is left alone.
fn strip_trailing_comment(line: &str) -> &str {
    let mut prev_blank = false;
    for (i, c) in line.char_indices() {
        if c == '#' && prev_blank {
            return line[..i].trim_end();
        }
        prev_blank = c.is_whitespace();
    }
    line
}

/// A colour from a line that does not start with `#`: `None` if the line
/// is not one of the accepted forms, an error for a bad value.
fn read_colour_fields(line: &str) -> Option<std::result::Result<Colour, String>> {
    let tokens = split_fields(line)?;
    match tokens.as_slice() {
        [single] => read_single_token(single),
        _ => read_numeric_colour(&tokens),
    }
}

/// Splits a colour line on commas (if it has any) or on whitespace. `None`
/// if a comma-separated field is empty.
fn split_fields(line: &str) -> Option<Vec<&str>> {
    if line.contains(',') {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.iter().any(|f| f.is_empty()) {
            return None;
        }
        Some(fields)
    } else {
        Some(line.split_whitespace().collect())
    }
}

/// A line holding one token: bare hex (see [`is_bare_hex`]) or a grey
/// level. `None` if it is neither.
fn read_single_token(token: &str) -> Option<std::result::Result<Colour, String>> {
    if is_bare_hex(token) {
        return parse_hex(token).map(Ok);
    }
    let level = token.parse::<f64>().ok()?;
    if !level.is_finite() {
        return Some(Err(format!(
            "grey level {} is not a finite number",
            quote(token)
        )));
    }
    Colour::new(false, &[level]).map(Ok)
}

/// True for a token of 6 or 8 hex digits with at least one letter: such a
/// token is hex even without a `#`.
fn is_bare_hex(token: &str) -> bool {
    matches!(token.len(), 6 | 8)
        && token.bytes().all(|b| b.is_ascii_hexdigit())
        && token.bytes().any(|b| b.is_ascii_alphabetic())
}

/// True for a token of 6 or 8 decimal digits, which reads as a grey level
/// although it may have been meant as hex.
fn is_digit_only_hex_length(token: &str) -> bool {
    matches!(token.len(), 6 | 8) && token.bytes().all(|b| b.is_ascii_digit())
}

/// Adds a hint to a "mixes hex and numeric" message when the line is a
/// digits-only token that was probably meant as hex.
fn with_hex_hint(reason: String, raw: &str, colour: &Colour) -> String {
    let token = strip_trailing_comment(raw.trim());
    if !colour.eight_bit && is_digit_only_hex_length(token) {
        format!("{reason} ('{token}' reads as a number; write '#{token}' for a hex colour)")
    } else {
        reason
    }
}

/// `rrggbb` or `rrggbbaa` (no `#`) as an 8-bit colour; `None` otherwise.
fn parse_hex(digits: &str) -> Option<Colour> {
    let bytes = digits.as_bytes();
    if !matches!(bytes.len(), 6 | 8) {
        return None;
    }
    let mut values = [0.0; 4];
    for (value, pair) in values.iter_mut().zip(bytes.chunks_exact(2)) {
        let high = hex_digit(pair[0])?;
        let low = hex_digit(pair[1])?;
        *value = f64::from(high * 16 + low);
    }
    Colour::new(true, &values[..bytes.len() / 2])
}

/// The value of one hex digit.
fn hex_digit(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// A colour of 3 or 4 numbers. `None` if a token is not a number; an error
/// for a bad value or a count other than 3 or 4.
fn read_numeric_colour(tokens: &[&str]) -> Option<std::result::Result<Colour, String>> {
    let mut values = Vec::with_capacity(tokens.len());
    for token in tokens {
        values.push((*token, token.parse::<f64>().ok()?));
    }
    Some(check_numeric_colour(&values))
}

/// Checks the count and the values of a colour written as numbers.
fn check_numeric_colour(values: &[(&str, f64)]) -> std::result::Result<Colour, String> {
    if !matches!(values.len(), 3 | 4) {
        return Err(format!(
            "a colour has 1, 3 or 4 values, not {}",
            values.len()
        ));
    }
    let mut checked = [0.0; 4];
    for (slot, &(token, v)) in checked.iter_mut().zip(values) {
        *slot = check_channel_value(token, v)?;
    }
    Colour::new(false, &checked[..values.len()])
        .ok_or_else(|| format!("a colour has 1, 3 or 4 values, not {}", values.len()))
}

// ---------------------------------------------------------------------------
// GIMP palettes

/// True if the first line is `GIMP Palette`.
fn is_gpl(text: &str) -> bool {
    text_lines(text).next().map(str::trim) == Some(GPL_MAGIC)
}

/// Reads a GIMP palette (BOM already stripped, first line checked).
fn parse_gpl(text: &str, path: &Path) -> Result<ParsedPalette> {
    let mut collector = Collector::new(path);
    let mut alpha = false;
    for (i, raw) in text_lines(text).enumerate().skip(1) {
        let line_no = i + 1;
        let at_line = |reason: String| Error::format(path, Some(line_no), reason);
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if collector.lines.is_empty() {
            if let Some((key, value)) = gpl_header(line) {
                alpha = read_gpl_header(key, value, alpha).map_err(at_line)?;
                continue;
            }
        }
        let colour = read_gpl_colour(line, alpha).map_err(at_line)?;
        collector.push(line_no, &colour).map_err(at_line)?;
    }
    collector.finish()
}

/// `Key: value` with a key of letters only; `None` for other lines.
fn gpl_header(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.split_once(':')?;
    let key = key.trim();
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    Some((key, value.trim()))
}

/// Applies one header line; returns whether colours have an alpha column.
fn read_gpl_header(key: &str, value: &str, alpha: bool) -> std::result::Result<bool, String> {
    if key.eq_ignore_ascii_case("name") || key.eq_ignore_ascii_case("columns") {
        Ok(alpha)
    } else if key.eq_ignore_ascii_case("channels") {
        match value.to_ascii_uppercase().as_str() {
            "RGB" => Ok(false),
            "RGBA" => Ok(true),
            _ => Err(format!(
                "unsupported channels '{}' in a GIMP palette (expected RGB or RGBA)",
                quote(value)
            )),
        }
    } else {
        Err(format!(
            "unknown GIMP palette header '{}' (expected Name, Columns or Channels)",
            quote(key)
        ))
    }
}

/// A colour line of a GIMP palette: `R G B [name]`, or `R G B A [name]`
/// when `alpha`.
fn read_gpl_colour(line: &str, alpha: bool) -> std::result::Result<Colour, String> {
    let wanted = if alpha { 4 } else { 3 };
    let mut values = [0.0; 4];
    let mut tokens = line.split_whitespace();
    for slot in values.iter_mut().take(wanted) {
        let Some(token) = tokens.next() else {
            return Err(gpl_missing_values(alpha));
        };
        *slot = read_gpl_value(token, line, alpha)?;
    }
    Colour::new(true, &values[..wanted]).ok_or_else(|| gpl_missing_values(alpha))
}

/// Message for a colour line with too few values.
fn gpl_missing_values(alpha: bool) -> String {
    if alpha {
        "a GIMP palette colour needs R G B A values".to_owned()
    } else {
        "a GIMP palette colour needs R G B values".to_owned()
    }
}

/// One 0..=255 value of a GIMP palette colour line.
fn read_gpl_value(token: &str, line: &str, alpha: bool) -> std::result::Result<f64, String> {
    let Ok(v) = token.parse::<f64>() else {
        let expected = if alpha {
            "R G B A [name]"
        } else {
            "R G B [name]"
        };
        return Err(format!(
            "cannot read a colour from '{}' (expected {expected})",
            quote(line)
        ));
    };
    let v = check_channel_value(token, v)?;
    if v > 255.0 {
        return Err(format!("colour value {} is over 255", quote(token)));
    }
    Ok(v)
}

// ---------------------------------------------------------------------------
// Writing

/// An [`std::io::Error`] of kind `InvalidInput`.
fn invalid_input(msg: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, msg.into())
}

/// Checks that `values` is a non-empty list of whole colours.
fn check_whole_colours(channels: usize, values: &[u16]) -> std::io::Result<()> {
    if values.is_empty() {
        return Err(invalid_input("the palette has no colours to write"));
    }
    if !values.len().is_multiple_of(channels) {
        return Err(invalid_input(format!(
            "{} palette values do not make whole colours of {channels} channels",
            values.len()
        )));
    }
    Ok(())
}

/// `name` with line breaks replaced by spaces.
fn one_line(name: &str) -> String {
    name.replace(['\r', '\n'], " ")
}

/// `#rrggbb` or `#rrggbbaa`.
fn write_hex_colour<W: Write>(w: &mut W, colour: &[u16]) -> std::io::Result<()> {
    write!(w, "#")?;
    for v in colour {
        write!(w, "{v:02x}")?;
    }
    writeln!(w)
}

/// Decimal values separated by spaces.
fn write_decimal_colour<W: Write>(w: &mut W, colour: &[u16]) -> std::io::Result<()> {
    for (c, v) in colour.iter().enumerate() {
        let sep = if c == 0 { "" } else { " " };
        write!(w, "{sep}{v}")?;
    }
    writeln!(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ParsedPalette> {
        parse_palette_text(text, Path::new("pal.txt"))
    }

    fn ok(text: &str) -> ParsedPalette {
        match parse(text) {
            Ok(p) => p,
            Err(e) => panic!("{text:?} should parse: {e}"),
        }
    }

    /// The line and reason of a format error.
    fn err(text: &str) -> (Option<usize>, String) {
        match parse(text) {
            Err(Error::Format { line, reason, path }) => {
                assert_eq!(path, Path::new("pal.txt"));
                (line, reason)
            }
            other => panic!("{text:?} should fail with a format error, got {other:?}"),
        }
    }

    fn assert_err(text: &str, line: Option<usize>, needle: &str) {
        let (got_line, reason) = err(text);
        assert_eq!(got_line, line, "line for {text:?}: {reason}");
        assert!(
            reason.contains(needle),
            "{reason:?} should contain {needle:?}"
        );
    }

    // --- plain text forms

    #[test]
    fn hex_with_hash() {
        let p = ok("#ff8000\n#00FFaa\n");
        assert_eq!(p.channels, 3);
        assert_eq!(p.values, [255.0, 128.0, 0.0, 0.0, 255.0, 170.0]);
        assert_eq!(p.lines, [1, 2]);
        assert!(p.eight_bit);
    }

    #[test]
    fn hex_without_hash() {
        let p = ok("ff8000\n0000ff");
        assert_eq!(p.channels, 3);
        assert_eq!(p.values, [255.0, 128.0, 0.0, 0.0, 0.0, 255.0]);
        assert!(p.eight_bit);
    }

    #[test]
    fn hex_rgba() {
        let p = ok("#ff000080\n00ff00ff\n");
        assert_eq!(p.channels, 4);
        assert_eq!(p.values, [255.0, 0.0, 0.0, 128.0, 0.0, 255.0, 0.0, 255.0]);
        assert!(p.eight_bit);
    }

    #[test]
    fn rgb_with_spaces_and_tabs() {
        let p = ok("1 2 3\n  4\t5   6  \n");
        assert_eq!(p.channels, 3);
        assert_eq!(p.values, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(p.lines, [1, 2]);
        assert!(!p.eight_bit);
    }

    #[test]
    fn rgb_with_commas() {
        let p = ok("1,2,3\n4 , 5,  6\n65535,0,1000");
        assert_eq!(p.channels, 3);
        assert_eq!(
            p.values,
            [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 65535.0, 0.0, 1000.0]
        );
        assert!(!p.eight_bit);
    }

    #[test]
    fn rgba_numeric() {
        let p = ok("1 2 3 4\n5,6,7,8\n");
        assert_eq!(p.channels, 4);
        assert_eq!(p.values, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
    }

    #[test]
    fn numeric_values_are_not_range_checked() {
        let p = ok("70000 0 0\n1e6 2.0 3");
        assert_eq!(p.values, [70000.0, 0.0, 0.0, 1e6, 2.0, 3.0]);
    }

    #[test]
    fn grey_levels() {
        let p = ok("0\n0.25\n1e-3\n-3\n+2.5\n.5\n123456\n");
        assert_eq!(p.channels, 1);
        assert_eq!(p.values, [0.0, 0.25, 1e-3, -3.0, 2.5, 0.5, 123456.0]);
        assert_eq!(p.lines, [1, 2, 3, 4, 5, 6, 7]);
        assert!(!p.eight_bit);
    }

    #[test]
    fn six_hex_chars_with_a_letter_are_hex() {
        // `1e1000` would be a (non-finite) number; the rule makes it hex.
        let p = ok("1e1000\n");
        assert_eq!(p.values, [30.0, 16.0, 0.0]);
        assert!(p.eight_bit);
    }

    #[test]
    fn digits_only_token_is_a_grey_level() {
        let p = ok("12345678\n000000\n");
        assert_eq!(p.channels, 1);
        assert_eq!(p.values, [12_345_678.0, 0.0]);
        assert!(!p.eight_bit);
    }

    #[test]
    fn hash_with_digits_only_is_hex() {
        let p = ok("#123456\n");
        assert_eq!(p.values, [18.0, 52.0, 86.0]);
        assert!(p.eight_bit);
    }

    #[test]
    fn comments_and_blank_lines_are_skipped() {
        let text = "# a palette\n#\n\n   \n  # indented comment\n#define nothing\n\
                    #ff0000 # red\n#00ff00\t# green\n\n# the end\n";
        let p = ok(text);
        assert_eq!(p.values, [255.0, 0.0, 0.0, 0.0, 255.0, 0.0]);
        assert_eq!(p.lines, [7, 8]);
    }

    #[test]
    fn short_hex_is_an_error_not_a_comment() {
        // Skipping `#fff` silently would shift every later index.
        for (text, line) in [("#000000\n#fff\n", 2), ("#ff00\n", 1)] {
            match parse(text) {
                Err(Error::Format {
                    line: Some(l),
                    reason,
                    ..
                }) => {
                    assert_eq!(l, line);
                    assert!(reason.contains("#rrggbb"), "{reason}");
                }
                other => panic!("expected a format error, got {other:?}"),
            }
        }
    }

    #[test]
    fn hex_colour_may_carry_a_name() {
        let p = ok("#ff0000 red\n#00ff00 green leaf\n");
        assert_eq!(p.values, [255.0, 0.0, 0.0, 0.0, 255.0, 0.0]);
    }

    #[test]
    fn trailing_comment_after_numbers() {
        let p = ok("1 2 3 # first\n4,5,6 #second\n");
        assert_eq!(p.values, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let g = ok("0.5 # mid grey\n");
        assert_eq!(g.values, [0.5]);
    }

    #[test]
    fn bom_and_crlf() {
        let p = ok("\u{feff}# c\r\n#010203\r\n\r\n#040506\r\n");
        assert_eq!(p.values, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(p.lines, [2, 4]);
        let g = ok("\u{feff}0.5\r\n1\r\n");
        assert_eq!(g.values, [0.5, 1.0]);
        let n = ok("\u{feff}1 2 3\r\n");
        assert_eq!(n.values, [1.0, 2.0, 3.0]);
    }

    // --- plain text errors

    #[test]
    fn malformed_lines() {
        let msg = "cannot read a colour from";
        assert_err("#000000\nhello\n", Some(2), msg);
        assert_err("0x10\n", Some(1), msg);
        assert_err("1 2 x\n", Some(1), msg);
        assert_err("1,,3\n", Some(1), msg);
        assert_err("1,2,\n", Some(1), msg);
        assert_err("1 2,3\n", Some(1), msg);
        assert_err("ff00zz\n", Some(1), msg);
    }

    #[test]
    fn malformed_line_is_quoted_briefly() {
        let long = "x".repeat(200);
        let (line, reason) = err(&format!("\n\n{long}\n"));
        assert_eq!(line, Some(3));
        assert!(
            reason.contains(&format!("'{}...'", "x".repeat(40))),
            "{reason}"
        );
        assert!(reason.len() < 150, "{reason}");
        assert!(reason.contains("expected #rrggbb, r g b, r,g,b or a number"));
    }

    #[test]
    fn quoting_does_not_split_characters() {
        let long = "é".repeat(100);
        let (_, reason) = err(&long);
        assert!(reason.contains(&"é".repeat(40)));
    }

    #[test]
    fn wrong_value_counts() {
        assert_err("1 2\n", Some(1), "a colour has 1, 3 or 4 values, not 2");
        assert_err("1 2 3 4 5\n", Some(1), "not 5");
    }

    #[test]
    fn channel_count_mismatch() {
        assert_err(
            "1 2 3\n\n1 2 3 4\n",
            Some(3),
            "line has 4 values but earlier lines have 3",
        );
        assert_err(
            "1 2 3\n5\n",
            Some(2),
            "line has 1 value but earlier lines have 3",
        );
        assert_err("#000000\n#00000000\n", Some(2), "line has 4 values");
    }

    #[test]
    fn mixing_hex_and_numbers() {
        assert_err("#000000\n1 2 3\n", Some(2), "mixes hex and numeric colours");
        assert_err("1 2 3\n# c\nff0000\n", Some(3), "mixes hex and numeric");
        assert_err("0.5\nabcdef\n", Some(2), "mixes hex and numeric");
    }

    #[test]
    fn digits_only_hex_gets_a_hint() {
        let (line, reason) = err("ff0000\n000000\n");
        assert_eq!(line, Some(2));
        assert!(reason.contains("mixes hex and numeric"), "{reason}");
        assert!(reason.contains("'#000000'"), "{reason}");
    }

    #[test]
    fn bad_numeric_values() {
        assert_err(
            "1 2 3\n12.5 0 0\n",
            Some(2),
            "colour value 12.5 is not a whole number",
        );
        assert_err("1 -1 3\n", Some(1), "negative value -1");
        assert_err(
            "1,2,inf\n",
            Some(1),
            "colour value inf is not a finite number",
        );
        assert_err("1 2 NaN\n", Some(1), "not a finite number");
        assert_err(
            "0.5\ninf\n",
            Some(2),
            "grey level inf is not a finite number",
        );
        assert_err("1e400\n", Some(1), "not a finite number");
    }

    #[test]
    fn empty_palette() {
        assert_err("", None, "the palette file has no colours");
        assert_err("\u{feff}", None, "no colours");
        assert_err("# only a comment\n\n", None, "no colours");
    }

    #[test]
    fn too_many_colours() {
        let max = "0\n".repeat(MAX_PALETTE_LEN);
        assert_eq!(ok(&max).values.len(), MAX_PALETTE_LEN);
        let over = format!("# header\n{max}0\n");
        assert_err(&over, Some(MAX_PALETTE_LEN + 2), "more than 65536 colours");
    }

    // --- GIMP palettes

    const GPL: &str = "GIMP Palette\nName: Test 42\nColumns: 4\n#\n\
                       # a comment\n  0   0   0\tBlack 2\n255 255 255\tWhite\n\n\
                       255 0 0 10 20 30\n12 34 56\n";

    #[test]
    fn gpl_basic() {
        let p = ok(GPL);
        assert_eq!(p.channels, 3);
        assert_eq!(
            p.values,
            [0.0, 0.0, 0.0, 255.0, 255.0, 255.0, 255.0, 0.0, 0.0, 12.0, 34.0, 56.0]
        );
        assert_eq!(p.lines, [6, 7, 9, 10]);
        assert!(p.eight_bit);
    }

    #[test]
    fn gpl_bom_crlf() {
        let text = format!("\u{feff}{}", GPL.replace('\n', "\r\n"));
        assert_eq!(ok(&text), ok(GPL));
    }

    #[test]
    fn gpl_rgba() {
        let text = "GIMP Palette\nName: alpha\nChannels: RGBA\nColumns: 16\n#\n\
                    255 0 0 128 Red 50%\n0 0 0 0\n";
        let p = ok(text);
        assert_eq!(p.channels, 4);
        assert_eq!(p.values, [255.0, 0.0, 0.0, 128.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(p.lines, [6, 7]);
        assert!(p.eight_bit);
    }

    #[test]
    fn gpl_fourth_number_without_rgba_is_a_name() {
        let p = ok("GIMP Palette\n255 0 0 128 Red\n");
        assert_eq!(p.channels, 3);
        assert_eq!(p.values, [255.0, 0.0, 0.0]);
    }

    #[test]
    fn gpl_channels_rgb_header() {
        let p = ok("GIMP Palette\nChannels: RGB\n1 2 3 4\n");
        assert_eq!(p.values, [1.0, 2.0, 3.0]);
    }

    #[test]
    fn gpl_errors() {
        assert_err(
            "GIMP Palette\n1 2 256\n",
            Some(2),
            "colour value 256 is over 255",
        );
        assert_err("GIMP Palette\n1 -2 3\n", Some(2), "negative value -2");
        assert_err(
            "GIMP Palette\n1 2.5 3\n",
            Some(2),
            "2.5 is not a whole number",
        );
        assert_err("GIMP Palette\n#\n1 2\n", Some(3), "needs R G B values");
        assert_err(
            "GIMP Palette\n1 2 x\n",
            Some(2),
            "cannot read a colour from '1 2 x'",
        );
        assert_err("GIMP Palette\nName: a\n", None, "no colours");
        assert_err(
            "GIMP Palette\nChannels: RGBA\n1 2 3\n",
            Some(3),
            "needs R G B A values",
        );
        assert_err(
            "GIMP Palette\nChannels: RGBA\n1 2 3 300 x\n",
            Some(3),
            "300 is over 255",
        );
        assert_err(
            "GIMP Palette\nChannels: CMYK\n",
            Some(2),
            "unsupported channels 'CMYK'",
        );
        assert_err(
            "GIMP Palette\nChanels: RGBA\n",
            Some(2),
            "unknown GIMP palette header",
        );
        assert_err(
            "GIMP Palette\n1 2 3\nName: late\n",
            Some(3),
            "cannot read a colour from 'Name: late'",
        );
    }

    #[test]
    fn gpl_too_many_colours() {
        let text = format!("GIMP Palette\n{}", "1 2 3\n".repeat(MAX_PALETTE_LEN + 1));
        assert_err(&text, Some(MAX_PALETTE_LEN + 2), "more than 65536 colours");
    }

    #[test]
    fn gpl_magic_must_be_first_line() {
        // Not a GIMP palette: the magic line is read as a plain line.
        assert_err("\nGIMP Palette\n1 2 3\n", Some(2), "cannot read a colour");
    }

    // --- writers and round trips

    fn gpl_bytes(name: &str, channels: usize, values: &[u16]) -> std::io::Result<String> {
        let mut out = Vec::new();
        write_palette_gpl(&mut out, name, channels, values)?;
        Ok(String::from_utf8(out).expect("utf-8"))
    }

    fn txt_bytes(channels: usize, values: &[u16]) -> std::io::Result<String> {
        let mut out = Vec::new();
        let eight_bit = values.iter().all(|&v| v <= 255);
        write_palette_txt(&mut out, channels, values, eight_bit)?;
        Ok(String::from_utf8(out).expect("utf-8"))
    }

    fn as_f64(values: &[u16]) -> Vec<f64> {
        values.iter().map(|&v| f64::from(v)).collect()
    }

    #[test]
    fn gpl_writer_format() {
        let text = gpl_bytes("Mine", 3, &[0, 128, 255, 1, 2, 3]).expect("write");
        assert_eq!(
            text,
            "GIMP Palette\nName: Mine\nColumns: 16\n#\n  0 128 255\tindex 0\n  1   2   3\tindex 1\n"
        );
    }

    #[test]
    fn gpl_round_trip_rgb_and_rgba() {
        let rgb: Vec<u16> = (0..=255).flat_map(|v| [v, 255 - v, v / 2]).collect();
        let p = ok(&gpl_bytes("line\nbreak", 3, &rgb).expect("write"));
        assert_eq!((p.channels, p.eight_bit), (3, true));
        assert_eq!(p.values, as_f64(&rgb));

        let rgba = [255, 0, 0, 128, 0, 0, 0, 0];
        let text = gpl_bytes("a", 4, &rgba).expect("write");
        assert!(text.contains("Channels: RGBA\n"));
        let p = ok(&text);
        assert_eq!((p.channels, p.eight_bit), (4, true));
        assert_eq!(p.values, as_f64(&rgba));
    }

    #[test]
    fn gpl_writer_rejects() {
        let kind = |r: std::io::Result<String>| r.expect_err("should fail").kind();
        let bad = std::io::ErrorKind::InvalidInput;
        assert_eq!(kind(gpl_bytes("g", 1, &[1, 2])), bad);
        assert_eq!(kind(gpl_bytes("g", 3, &[1, 256, 3])), bad);
        assert_eq!(kind(gpl_bytes("g", 3, &[1, 2])), bad);
        assert_eq!(kind(gpl_bytes("g", 3, &[])), bad);
    }

    #[test]
    fn txt_writer_hex_for_8_bit() {
        let text = txt_bytes(3, &[255, 128, 0, 1, 2, 3]).expect("write");
        assert_eq!(text, "#ff8000\n#010203\n");
        let text = txt_bytes(4, &[255, 128, 0, 7]).expect("write");
        assert_eq!(text, "#ff800007\n");
    }

    #[test]
    fn txt_writer_decimal_otherwise() {
        assert_eq!(
            txt_bytes(3, &[256, 0, 65535]).expect("write"),
            "256 0 65535\n"
        );
        assert_eq!(txt_bytes(1, &[0, 255]).expect("write"), "0\n255\n");
    }

    #[test]
    fn txt_round_trips() {
        let cases: [(usize, Vec<u16>, bool); 5] = [
            (3, vec![255, 128, 0, 0, 0, 0], true),
            (4, vec![1, 2, 3, 4, 250, 251, 252, 253], true),
            (3, vec![65535, 0, 300, 1, 2, 3], false),
            (4, vec![0, 0, 0, 65535], false),
            (1, vec![0, 1, 65535, 123], false),
        ];
        for (channels, values, eight_bit) in cases {
            let p = ok(&txt_bytes(channels, &values).expect("write"));
            assert_eq!(p.channels, channels);
            assert_eq!(p.values, as_f64(&values));
            assert_eq!(p.eight_bit, eight_bit);
            assert_eq!(p.lines, (1..=values.len() / channels).collect::<Vec<_>>());
        }
    }

    #[test]
    fn txt_writer_rejects() {
        let bad = std::io::ErrorKind::InvalidInput;
        assert_eq!(txt_bytes(2, &[1, 2]).expect_err("2 channels").kind(), bad);
        assert_eq!(txt_bytes(3, &[1, 2]).expect_err("partial").kind(), bad);
        assert_eq!(txt_bytes(1, &[]).expect_err("empty").kind(), bad);
    }

    #[test]
    fn levels_round_trip() {
        let levels = [
            0.0,
            -0.0,
            0.1,
            1.0 / 3.0,
            -2.5,
            1e-300,
            5e-324,
            f64::MIN_POSITIVE,
            1e300,
            f64::MAX,
            123_456.0,
            12_345_678.0,
            -1e-7,
        ];
        let mut out = Vec::new();
        write_levels_txt(&mut out, &levels).expect("write");
        let text = String::from_utf8(out).expect("utf-8");
        let p = ok(&text);
        assert_eq!(p.channels, 1);
        assert!(!p.eight_bit);
        assert_eq!(p.values.len(), levels.len());
        for (got, want) in p.values.iter().zip(levels) {
            assert_eq!(got.to_bits(), want.to_bits(), "{want}");
        }
    }

    #[test]
    fn levels_writer_rejects() {
        let bad = std::io::ErrorKind::InvalidInput;
        let mut out = Vec::new();
        let e = write_levels_txt(&mut out, &[1.0, f64::NAN]).expect_err("nan");
        assert_eq!(e.kind(), bad);
        let e = write_levels_txt(&mut out, &[]).expect_err("empty");
        assert_eq!(e.kind(), bad);
    }

    #[test]
    fn errors_display_path_and_line() {
        let e = parse("1 2 3\nbad\n").expect_err("bad");
        assert!(
            e.to_string().starts_with("pal.txt:2: cannot read a colour"),
            "{e}"
        );
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        for text in [
            "#",
            "##",
            "#ffffff\u{0}",
            "\u{feff}\u{feff}",
            ",",
            " , ",
            "é#é",
            "é #",
            "\r",
            "GIMP Palette",
            "GIMP Palette\n:",
            "GIMP Palette\n: x",
            "GIMP Palette\n#\n\u{0}",
            "#ééé",
            "ffffé",
            "ffééff",
            "-",
            "+",
            "e",
            "1e",
            "GIMP Palette\nName:\n1 2 3 é",
        ] {
            let _ = parse(text);
        }
    }
}
