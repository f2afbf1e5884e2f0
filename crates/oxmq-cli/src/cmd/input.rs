//! Where the messages to send come from (`--in`): arguments or stdin, as text lines, the whole
//! of stdin, hex lines, JSON arrays of frames, or files; each message a list of frames.

use super::Exit;
use super::format::split_frames;
use super::interrupt::interrupted;
use clap::ValueEnum;
use std::io::{self, BufRead, Read};
use std::sync::mpsc::{RecvTimeoutError, sync_channel};
use std::time::Duration;

/// One message: its frames.
pub type Frames = Vec<Vec<u8>>;

/// How the input is cut into messages and frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputMode {
    /// One message per argument or stdin line (without its newline); --separator splits it
    /// into frames.
    Lines,
    /// The whole of stdin is one message, its bytes unchanged (no MESSAGE arguments).
    Raw,
    /// One message per argument or stdin line, in hex (`68656c6c6f`); --separator splits the
    /// line into frames before decoding.
    Hex,
    /// One message per argument or stdin line, a JSON array of frames, each a string (sent as
    /// UTF-8) or {"hex": "..."}: `["key", {"hex": "00ff"}]`, as `-f json` prints them.
    Json,
    /// Each MESSAGE argument names a file whose bytes are one message.
    File,
}

/// The `--in` help shared by the sending commands.
pub const IN_HELP: &str = "How to read the messages to send: lines (each argument or stdin line \
is a message), raw (the whole of stdin is one message, bytes unchanged), hex (each argument or \
line in hex), json (each argument or line a JSON array of frames: strings or {\"hex\": \"...\"}), \
file (each argument names a file whose bytes are one message)";

/// The messages to send, read as they are needed: from `args`, or else from stdin. With
/// `count`, at most `count` messages; arguments are then sent over and over in turn until
/// `count` are sent. Stdin is read on a thread of its own, so that a signal ends the input at
/// once; the messages then simply end.
pub fn messages(
    mode: InputMode,
    args: &[String],
    sep: Option<&str>,
    count: Option<u64>,
) -> Result<Box<dyn Iterator<Item = Result<Frames, Exit>> + Send>, Exit> {
    let limit = usize::try_from(count.unwrap_or(u64::MAX)).unwrap_or(usize::MAX);
    let sep: Option<Vec<u8>> = sep.map(|s| s.as_bytes().to_vec());
    match mode {
        InputMode::Raw if !args.is_empty() => {
            return Err(Exit::setup("--in raw reads the message from stdin: give no MESSAGE arguments"));
        }
        InputMode::File if args.is_empty() => {
            return Err(Exit::setup("--in file needs MESSAGE arguments: the files to send"));
        }
        _ => {}
    }
    if args.is_empty() {
        let items = stdin_items(mode == InputMode::Raw);
        let decoded = items.take(limit).enumerate().map(move |(i, item)| {
            let item = item.map_err(|e| Exit::failed(format!("cannot read stdin: {e}")))?;
            decode(mode, &item, sep.as_deref()).map_err(|why| Exit::setup(format!("stdin line {}: {why}", i + 1)))
        });
        return Ok(Box::new(decoded));
    }
    let n = if count.is_some() { limit } else { args.len() };
    let args: Vec<String> = args.to_vec();
    let decoded = args.into_iter().enumerate().cycle().take(n).map(move |(i, arg)| {
        let what = if mode == InputMode::File { format!("file {arg:?}") } else { format!("argument {}", i + 1) };
        let bytes = if mode == InputMode::File {
            std::fs::read(&arg).map_err(|e| Exit::failed(format!("cannot read {what}: {e}")))?
        } else {
            arg.into_bytes()
        };
        decode(mode, &bytes, sep.as_deref()).map_err(|why| Exit::setup(format!("{what}: {why}")))
    });
    Ok(Box::new(decoded))
}

/// Stdin's lines (or, `whole`, all of it as one item), read on a thread of their own.
fn stdin_items(whole: bool) -> impl Iterator<Item = io::Result<Vec<u8>>> {
    let (tx, rx) = sync_channel(16);
    std::thread::spawn(move || {
        if whole {
            let mut all = Vec::new();
            let r = io::stdin().lock().read_to_end(&mut all).map(|_| all);
            let _ = tx.send(r);
        } else {
            for line in io::BufReader::new(io::stdin()).split(b'\n') {
                if tx.send(line).is_err() {
                    break;
                }
            }
        }
    });
    std::iter::from_fn(move || {
        loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(item) => return Some(item),
                Err(RecvTimeoutError::Timeout) if interrupted() => return None,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    })
}

/// One input item (argument, line, file or all of stdin) as the frames of a message.
pub fn decode(mode: InputMode, item: &[u8], sep: Option<&[u8]>) -> Result<Frames, String> {
    match mode {
        InputMode::Lines | InputMode::Raw | InputMode::File => Ok(split_frames(item, sep)),
        InputMode::Hex => split_frames(trim(item), sep).iter().map(|f| unhex(trim(f))).collect(),
        InputMode::Json => json_frames(item),
    }
}

/// `s` without leading and trailing ASCII white space (a `\r` of a CRLF line too).
fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(start, |e| e + 1);
    &s[start..end]
}

/// Decodes hex digits (either case).
pub fn unhex(s: &[u8]) -> Result<Vec<u8>, String> {
    if s.len() % 2 != 0 {
        return Err(format!("odd number of hex digits ({})", s.len()));
    }
    let digit = |c: u8| -> Result<u8, String> {
        (c as char).to_digit(16).map(|d| d as u8).ok_or_else(|| format!("{:?} is not a hex digit", c as char))
    };
    s.chunks(2).map(|p| Ok(digit(p[0])? << 4 | digit(p[1])?)).collect()
}

/// A JSON array of frames: strings, or objects {"hex": "..."}.
fn json_frames(item: &[u8]) -> Result<Frames, String> {
    let expected = "expected a JSON array of frames, each a string or {\"hex\": \"...\"}";
    let value: serde_json::Value =
        serde_json::from_slice(trim(item)).map_err(|e| format!("not JSON ({e}); {expected}"))?;
    let serde_json::Value::Array(frames) = value else {
        return Err(format!("not an array; {expected}"));
    };
    frames
        .iter()
        .enumerate()
        .map(|(i, f)| match f {
            serde_json::Value::String(s) => Ok(s.as_bytes().to_vec()),
            serde_json::Value::Object(o) if o.len() == 1 => match o.get("hex") {
                Some(serde_json::Value::String(h)) => unhex(h.as_bytes()).map_err(|e| format!("frame {}: {e}", i + 1)),
                _ => Err(format!("frame {}: {expected}", i + 1)),
            },
            _ => Err(format!("frame {}: {expected}", i + 1)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_lines() {
        assert_eq!(decode(InputMode::Hex, b"00ff0A\r", None).unwrap(), [vec![0, 255, 10]]);
        assert_eq!(decode(InputMode::Hex, b"61|62", Some(b"|")).unwrap(), [b"a".to_vec(), b"b".to_vec()]);
        assert!(decode(InputMode::Hex, b"abc", None).unwrap_err().contains("odd number"));
        assert!(decode(InputMode::Hex, b"zz", None).unwrap_err().contains("'z' is not a hex digit"));
    }

    #[test]
    fn json_lines() {
        let frames = decode(InputMode::Json, br#"["key", {"hex": "000aff"}, ""]"#, None).unwrap();
        assert_eq!(frames, [b"key".to_vec(), vec![0, 10, 255], vec![]]);
        for bad in [&br#"{"hex": "00"}"#[..], b"[1]", br#"[{"hex": "0"}]"#, b"[", br#"[{"hex":"00","x":1}]"#] {
            let e = decode(InputMode::Json, bad, None).unwrap_err();
            assert!(e.contains("expected") || e.contains("odd"), "{e}");
        }
    }

    #[test]
    fn lines_raw_and_files_keep_bytes() {
        let bytes = b"a\nb\x00\xff";
        assert_eq!(decode(InputMode::Raw, bytes, None).unwrap(), [bytes.to_vec()]);
        assert_eq!(decode(InputMode::Lines, b"a|b", Some(b"|")).unwrap(), [b"a".to_vec(), b"b".to_vec()]);
    }

    #[test]
    fn arguments_cycle_up_to_count() {
        let args = vec!["x".to_string(), "y".to_string()];
        let got: Vec<Frames> = messages(InputMode::Lines, &args, None, Some(5)).unwrap().map(Result::unwrap).collect();
        assert_eq!(got.concat(), [b"x", b"y", b"x", b"y", b"x"]);
        let got: Vec<Frames> = messages(InputMode::Lines, &args, None, None).unwrap().map(Result::unwrap).collect();
        assert_eq!(got.concat(), [b"x", b"y"]);
        let e = messages(InputMode::Raw, &args, None, None).err().unwrap();
        assert!(e.message.contains("--in raw"), "{}", e.message);
        let e = messages(InputMode::Hex, &["0g".to_string()], None, None).unwrap().next().unwrap().unwrap_err();
        assert!(e.message.contains("argument 1") && e.message.contains("hex digit"), "{}", e.message);
    }
}
