//! How received messages are printed (`--format`), and splitting a message into frames at
//! `--separator` (the messages to send come from `input`).

use clap::ValueEnum;
use std::io::{self, Write};

/// The frame separator of printed messages when no `--separator` is given.
pub const DEFAULT_SEPARATOR: &str = "\t";

/// How received messages are printed: one line per message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The frames' bytes as they are (not necessarily UTF-8), joined by the separator.
    Text,
    /// Each frame in lowercase hex, joined by the separator.
    Hex,
    /// One JSON array per message: a frame that is UTF-8 is a string, any other is an object
    /// {"hex": "..."}, e.g. ["key",{"hex":"00ff"}]. The separator is not used.
    Json,
    /// The frames' bytes as they are, nothing added: no newline, and no separator unless one
    /// is given (for piping a binary message into a file).
    Raw,
}

/// The `--format` help shared by the commands that print messages.
pub const FORMAT_HELP: &str = "How to print each received message, one per line: \
text (frames joined by the separator), hex (each frame in hex, joined by the separator) or \
json (a JSON array of frames, each a string, or {\"hex\": \"...\"} for a frame that is not UTF-8) \
or raw (the frames' bytes unchanged, no newline: for piping into a file)";

/// Appends the lowercase hex digits of `data` to `out`.
pub fn hex_into(out: &mut Vec<u8>, data: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in data {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 15)]);
    }
}

/// Appends `s` as a JSON string literal to `out`.
pub fn json_string_into(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if u32::from(c) < 0x20 => out.extend_from_slice(format!("\\u{:04x}", u32::from(c)).as_bytes()),
            c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    out.push(b'"');
}

/// One message as a line (with its newline) in `format`, frames joined by `sep`.
pub fn render<F: AsRef<[u8]>>(format: Format, sep: &[u8], frames: &[F]) -> Vec<u8> {
    let mut out = Vec::new();
    match format {
        Format::Raw => {
            for (i, f) in frames.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(sep);
                }
                out.extend_from_slice(f.as_ref());
            }
            return out;
        }
        Format::Text | Format::Hex => {
            for (i, f) in frames.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(sep);
                }
                match format {
                    Format::Text => out.extend_from_slice(f.as_ref()),
                    _ => hex_into(&mut out, f.as_ref()),
                }
            }
        }
        Format::Json => {
            out.push(b'[');
            for (i, f) in frames.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                match std::str::from_utf8(f.as_ref()) {
                    Ok(s) => json_string_into(&mut out, s),
                    Err(_) => {
                        out.extend_from_slice(b"{\"hex\":\"");
                        hex_into(&mut out, f.as_ref());
                        out.extend_from_slice(b"\"}");
                    }
                }
            }
            out.push(b']');
        }
    }
    out.push(b'\n');
    out
}

/// Prints received messages on stdout, one line each, flushed at once (so that a pipe sees
/// each message as it arrives).
pub struct Printer {
    format: Format,
    sep: Vec<u8>,
    out: io::Stdout,
}

impl Printer {
    pub fn new(format: Format, separator: Option<&str>) -> Printer {
        let default = if format == Format::Raw { "" } else { DEFAULT_SEPARATOR };
        Printer { format, sep: separator.unwrap_or(default).as_bytes().to_vec(), out: io::stdout() }
    }

    /// Prints one message. A closed stdout (`| head -1`) is an `io::ErrorKind::BrokenPipe` error.
    pub fn print<F: AsRef<[u8]>>(&self, frames: &[F]) -> io::Result<()> {
        let line = render(self.format, &self.sep, frames);
        let mut out = self.out.lock();
        out.write_all(&line)?;
        out.flush()
    }
}

/// Splits `msg` into frames at each `sep` (no separator: one frame).
pub fn split_frames(msg: &[u8], sep: Option<&[u8]>) -> Vec<Vec<u8>> {
    let Some(sep) = sep.filter(|s| !s.is_empty()) else {
        return vec![msg.to_vec()];
    };
    let mut frames = Vec::new();
    let mut rest = msg;
    while let Some(i) = rest.windows(sep.len()).position(|w| w == sep) {
        frames.push(rest[..i].to_vec());
        rest = &rest[i + sep.len()..];
    }
    frames.push(rest.to_vec());
    frames
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_hex() {
        let frames: [&[u8]; 3] = [b"id", b"", b"hi\xff"];
        assert_eq!(render(Format::Text, b"\t", &frames), b"id\t\thi\xff\n");
        assert_eq!(render(Format::Hex, b" ", &frames), b"6964  6869ff\n");
        assert_eq!(render(Format::Text, b"|", &[b"one"]), b"one\n");
        assert_eq!(render(Format::Raw, b"", &frames), b"idhi\xff");
    }

    #[test]
    fn json() {
        let frames: [&[u8]; 4] = [b"a\"b\\c", b"\n\t\x01", "héllo".as_bytes(), b"\x00\xff"];
        let line = render(Format::Json, b"|", &frames);
        assert_eq!(
            String::from_utf8(line).unwrap(),
            "[\"a\\\"b\\\\c\",\"\\n\\t\\u0001\",\"héllo\",{\"hex\":\"00ff\"}]\n"
        );
        assert_eq!(render::<&[u8]>(Format::Json, b"", &[]), b"[]\n");
    }

    #[test]
    fn split() {
        assert_eq!(split_frames(b"a|b||c", Some(b"|")), [&b"a"[..], b"b", b"", b"c"]);
        assert_eq!(split_frames(b"a::b", Some(b"::")), [&b"a"[..], b"b"]);
        assert_eq!(split_frames(b"a|b", None), [&b"a|b"[..]]);
        assert_eq!(split_frames(b"", Some(b"|")), [&b""[..]]);
    }
}
