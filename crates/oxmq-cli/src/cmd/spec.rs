//! Parsing socket types (`router`, `PUB`, ...) and the socket specs of `oxmq proxy`
//! (`TYPE@ENDPOINT` binds, `TYPE>ENDPOINT` connects: czmq's convention).

use oxmq::SocketType;

/// Parses a socket type name, in any case (`router`, `ROUTER`, `Router`).
pub fn parse_type(s: &str) -> Result<SocketType, String> {
    SocketType::from_name(s.trim().to_ascii_uppercase().as_bytes()).ok_or_else(|| {
        let names: Vec<&str> = SocketType::ALL.iter().map(|t| t.as_str()).collect();
        format!("unknown socket type {s:?} (expected one of {})", names.join(", "))
    })
}

/// A socket described on the command line: its type, the endpoints it binds and those it
/// connects to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketSpec {
    pub ty: SocketType,
    pub bind: Vec<String>,
    pub connect: Vec<String>,
}

/// How `oxmq proxy --help` explains a SPEC.
pub const SPEC_HELP: &str = "\
A SPEC is a socket type and its endpoints in czmq's notation: TYPE@ENDPOINT binds,
TYPE>ENDPOINT connects; several endpoints are separated by commas, each starting with @ or >
(TYPE@EP1,@EP2,>EP3). The type is case-insensitive. Quote a SPEC for the shell ('>' and '*').";

impl SocketSpec {
    /// Parses `TYPE@EP`, `TYPE>EP`, or `TYPE@EP1,>EP2,...`.
    pub fn parse(s: &str) -> Result<SocketSpec, String> {
        let bad = |why: &str| {
            format!(
                "bad socket spec {s:?}: {why}; expected TYPE@ENDPOINT (bind) or TYPE>ENDPOINT (connect), \
                 e.g. 'router@tcp://*:5559' or 'dealer>tcp://localhost:5560'"
            )
        };
        let at = s.find(['@', '>']).ok_or_else(|| bad("no @ or >"))?;
        let ty = parse_type(&s[..at]).map_err(|e| bad(&e))?;
        let mut spec = SocketSpec { ty, bind: Vec::new(), connect: Vec::new() };
        for part in s[at..].split(',') {
            let (list, ep) = if let Some(ep) = part.strip_prefix('@') {
                (&mut spec.bind, ep)
            } else if let Some(ep) = part.strip_prefix('>') {
                (&mut spec.connect, ep)
            } else {
                return Err(bad(&format!("endpoint {part:?} does not start with @ or >")));
            };
            if ep.is_empty() {
                return Err(bad("empty endpoint"));
            }
            list.push(ep.to_string());
        }
        Ok(spec)
    }
}

impl std::str::FromStr for SocketSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<SocketSpec, String> {
        SocketSpec::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_in_any_case() {
        assert_eq!(parse_type("router"), Ok(SocketType::Router));
        assert_eq!(parse_type("XPub"), Ok(SocketType::XPub));
        let e = parse_type("ruoter").unwrap_err();
        assert!(e.contains("unknown socket type \"ruoter\"") && e.contains("ROUTER"), "{e}");
    }

    #[test]
    fn specs() {
        let s = SocketSpec::parse("router@tcp://*:5559").unwrap();
        assert_eq!(s, SocketSpec { ty: SocketType::Router, bind: vec!["tcp://*:5559".into()], connect: vec![] });
        let s = SocketSpec::parse("XSUB>tcp://a:1,>tcp://b:2,@ipc://@x").unwrap();
        assert_eq!(s.ty, SocketType::XSub);
        assert_eq!(s.connect, ["tcp://a:1", "tcp://b:2"]);
        assert_eq!(s.bind, ["ipc://@x"]);
        for bad in ["router", "router@", "bogus@tcp://*:1", "pub@tcp://a:1,tcp://b:2", "@tcp://a:1"] {
            let e = SocketSpec::parse(bad).unwrap_err();
            assert!(e.starts_with("bad socket spec") && e.contains("TYPE@ENDPOINT"), "{bad}: {e}");
        }
    }
}
