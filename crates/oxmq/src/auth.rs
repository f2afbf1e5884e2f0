//! The authenticator: a ZAP handler (RFC 27) with the policies pyzmq's `zmq.auth` and czmq's
//! `zauth` give their users: IP allow- and deny-lists, PLAIN user names and passwords, CURVE
//! client keys (or any client), per ZAP domain.
//!
//! See [`Authenticator`] for what it admits and how.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;

use bytes::Bytes;
use oxmq_wire::SocketType;
use parking_lot::RwLock;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::poll::{PollEvents, PollItem, poll};
use crate::security::{z85_decode, z85_encode};
use crate::socket::typed::Socket;

/// Where libzmq (and oxmq's sockets) look for the ZAP handler.
const ZAP_ENDPOINT: &str = "inproc://zeromq.zap.01";

/// The User-Id of an admitted NULL peer, as pyzmq's.
const ANONYMOUS: &str = "anonymous";

/// A ZAP handler (RFC 27) on a thread of its own, bound at `inproc://zeromq.zap.01` in a
/// [`Context`]: every PLAIN or CURVE server socket of that context (and every NULL one with a
/// ZAP_DOMAIN) asks it about each peer's handshake. Stops, and unbinds, when dropped or
/// [`stop`](Self::stop)ped, or when its context is terminated. What pyzmq's `zmq.auth` and
/// czmq's `zauth` are to their users.
///
/// ```
/// use oxmq::{Authenticator, Context, SocketType};
/// let ctx = Context::new();
/// let auth = Authenticator::start(&ctx)?;
/// auth.configure_plain("*", [("admin".to_string(), "secret".to_string())]);
///
/// let server = ctx.socket(SocketType::Rep)?;
/// server.set_plain_server(true)?;
/// server.bind("tcp://127.0.0.1:*")?;
/// let client = ctx.socket(SocketType::Req)?;
/// client.set_plain_username("admin")?;
/// client.set_plain_password("secret")?;
/// client.connect(&server.last_endpoint()?)?;
/// client.send("hello")?;
/// let msg = server.recv_message()?;
/// assert_eq!(msg.property("User-Id"), Some(&b"admin"[..]));
/// # Ok::<(), oxmq::Error>(())
/// ```
///
/// How a request is judged (as pyzmq's `Authenticator.handle_zap_message`):
/// 1. the peer's address: refused if an allow-list exists and the address is not on it, or
///    if it is on the deny-list (unlike pyzmq, both lists may be used at once; an address that
///    is not an IP, as an ipc peer's, is on no list);
/// 2. NULL: admitted once the address passes, as user `anonymous` (pyzmq's);
/// 3. PLAIN: the user name and password must match the domain's password table (compared in
///    constant time); the User-Id is the user name;
/// 4. CURVE: the domain must admit any client, or the client's public key must be on its
///    list; the User-Id is the key in Z85 (as pyzmq's `curve_user_id`).
///
/// A domain's configuration is the one made for that ZAP domain if there is one, else the one
/// made for `"*"` (and a socket without a ZAP_DOMAIN is in the empty domain, so `"*"`'s).
/// Each `configure_*` call replaces that domain's PLAIN or CURVE configuration (to reload a
/// password file or certificate directory, call it again); every change applies to the
/// handshakes that ask after it. The reply's status is 200 (admitted) or 400 (refused, which
/// both sides' monitors report as HANDSHAKE_FAILED_AUTH 400), 500 for a request it cannot
/// read; refusals are logged with `tracing` (target `oxmq::auth`, level info).
pub struct Authenticator {
    policy: Arc<RwLock<Policy>>,
    /// Written to (or closed) to stop the thread.
    wake: Option<UnixStream>,
    thread: Option<JoinHandle<()>>,
}

/// What the handler admits.
#[derive(Default)]
struct Policy {
    allowed: HashSet<IpAddr>,
    denied: HashSet<IpAddr>,
    /// Per domain: user name to password.
    plain: HashMap<String, HashMap<String, String>>,
    curve: HashMap<String, Curve>,
}

enum Curve {
    Any,
    Keys(HashSet<[u8; 32]>),
}

/// A ZAP reply: the status code, its text, and the User-Id when admitted.
struct Verdict {
    code: &'static str,
    text: &'static str,
    user_id: String,
}

impl Verdict {
    fn ok(user_id: String) -> Verdict {
        Verdict { code: "200", text: "OK", user_id }
    }

    fn refused(text: &'static str) -> Verdict {
        Verdict { code: "400", text, user_id: String::new() }
    }
}

impl Authenticator {
    /// Binds the handler at `inproc://zeromq.zap.01` in `ctx` and starts its thread. Until it
    /// is configured it admits NULL peers and refuses every PLAIN and CURVE one (as pyzmq's).
    ///
    /// Errors: [`Error::AddrInUse`] if `ctx` has a ZAP handler already (as libzmq's bind);
    /// [`Error::ContextTerminated`]; [`Error::Io`] if the thread cannot be started.
    pub fn start(ctx: &Context) -> Result<Authenticator> {
        let socket = ctx.socket(SocketType::Rep)?;
        socket.set_linger(0)?;
        socket.bind(ZAP_ENDPOINT)?;
        let (wake, woken) = UnixStream::pair()?;
        let policy = Arc::new(RwLock::new(Policy::default()));
        let shared = policy.clone();
        let thread =
            std::thread::Builder::new().name("oxmq-auth".into()).spawn(move || serve(&socket, &woken, &shared))?;
        Ok(Authenticator { policy, wake: Some(wake), thread: Some(thread) })
    }

    /// Admits peers only from these addresses (added to the allow-list). With an allow-list,
    /// a peer from any other address is refused, whatever its mechanism; one on it still has
    /// to pass its PLAIN or CURVE check.
    pub fn allow(&self, addrs: impl IntoIterator<Item = IpAddr>) {
        let addrs: Vec<IpAddr> = addrs.into_iter().map(|a| a.to_canonical()).collect();
        tracing::debug!(target: "oxmq::auth", "allowing {addrs:?}");
        self.policy.write().allowed.extend(addrs);
    }

    /// Refuses every peer from these addresses (added to the deny-list).
    pub fn deny(&self, addrs: impl IntoIterator<Item = IpAddr>) {
        let addrs: Vec<IpAddr> = addrs.into_iter().map(|a| a.to_canonical()).collect();
        tracing::debug!(target: "oxmq::auth", "denying {addrs:?}");
        self.policy.write().denied.extend(addrs);
    }

    /// PLAIN in `domain` (`"*"`: every domain without a configuration of its own) admits these
    /// user names with these passwords, and no one else. Replaces the domain's table.
    pub fn configure_plain(&self, domain: &str, passwords: impl IntoIterator<Item = (String, String)>) {
        let table: HashMap<String, String> = passwords.into_iter().collect();
        tracing::debug!(target: "oxmq::auth", "PLAIN in domain {domain:?}: {} users", table.len());
        self.policy.write().plain.insert(domain.to_string(), table);
    }

    /// [`configure_plain`](Self::configure_plain) from a password file as czmq's `zauth`
    /// reads it: one `user=password` per line (the password is everything after the first
    /// `=`; the line's leading and trailing white space is ignored), blank lines and lines
    /// starting with `#` skipped.
    ///
    /// Errors: [`Error::Io`] if the file cannot be read, [`Error::InvalidArgument`] naming the
    /// file and line of the first malformed one; the configuration is unchanged then.
    pub fn configure_plain_file(&self, domain: &str, path: &Path) -> Result<()> {
        let text = read(path)?;
        let mut table = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match line.split_once('=') {
                Some((user, password)) if !user.trim().is_empty() => {
                    table.push((user.trim().to_string(), password.to_string()));
                }
                _ => {
                    return Err(Error::InvalidArgument(format!(
                        "{}:{}: expected `user=password` (or a `#` comment)",
                        path.display(),
                        n + 1
                    )));
                }
            }
        }
        self.configure_plain(domain, table);
        Ok(())
    }

    /// CURVE in `domain` admits any client that completes the handshake (pyzmq's
    /// `CURVE_ALLOW_ANY`): the server's key pair still encrypts, but clients are not known.
    pub fn configure_curve_any(&self, domain: &str) {
        tracing::debug!(target: "oxmq::auth", "CURVE in domain {domain:?}: any client");
        self.policy.write().curve.insert(domain.to_string(), Curve::Any);
    }

    /// CURVE in `domain` admits the clients with these public keys (32 bytes each; see
    /// [`z85_decode`](crate::z85_decode)), and no others. Replaces the domain's list.
    pub fn configure_curve(&self, domain: &str, public_keys: impl IntoIterator<Item = [u8; 32]>) {
        let keys: HashSet<[u8; 32]> = public_keys.into_iter().collect();
        tracing::debug!(target: "oxmq::auth", "CURVE in domain {domain:?}: {} client keys", keys.len());
        self.policy.write().curve.insert(domain.to_string(), Curve::Keys(keys));
    }

    /// [`configure_curve`](Self::configure_curve) with the public keys of the certificates in
    /// `dir`: every file in it (hidden files and subdirectories aside) in the ZeroMQ
    /// certificate format (ZPL, as czmq's `zcert` and pyzmq's
    /// `zmq.auth.create_certificates` write it: a `curve` section whose `public-key` is 40 Z85
    /// characters, quoted or not). A secret certificate (`*.key_secret`) carries its public
    /// key too, and counts as well. Unlike pyzmq (which reads `*.key` files only and skips
    /// what it cannot read), every file must be a certificate.
    ///
    /// Errors: [`Error::Io`] if the directory or a file cannot be read,
    /// [`Error::InvalidArgument`] naming a file that is not a certificate; the configuration
    /// is unchanged then.
    pub fn configure_curve_dir(&self, domain: &str, dir: &Path) -> Result<()> {
        let keys = Authenticator::load_curve_dir(dir)?;
        self.configure_curve(domain, keys);
        Ok(())
    }

    /// The public keys of the certificates in `dir`, read as
    /// [`configure_curve_dir`](Self::configure_curve_dir) reads them: to admit them along with
    /// other keys, pass them all to [`configure_curve`](Self::configure_curve).
    pub fn load_curve_dir(dir: &Path) -> Result<Vec<[u8; 32]>> {
        let entries = std::fs::read_dir(dir).map_err(|e| io_error(dir, e))?;
        let mut keys = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error(dir, e))?;
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') || path.is_dir() {
                continue;
            }
            keys.push(certificate_public_key(&path)?);
        }
        Ok(keys)
    }

    /// Stops the handler and unbinds it (as dropping it does): later handshakes find no ZAP
    /// handler.
    pub fn stop(self) {}
}

impl Drop for Authenticator {
    fn drop(&mut self) {
        // Closing our end wakes the thread's poll (end of file).
        drop(self.wake.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator").finish_non_exhaustive()
    }
}

/// The handler's thread: answers each request until `woken` says stop or the context ends.
fn serve(socket: &Socket, woken: &UnixStream, policy: &RwLock<Policy>) {
    loop {
        let mut items = [PollItem::socket(socket, PollEvents::IN), PollItem::fd(woken.as_fd(), PollEvents::IN)];
        if poll(&mut items, None).is_err() || !items[1].revents().is_empty() {
            break;
        }
        if items[0].revents().is_empty() {
            continue;
        }
        let request = match socket.try_recv_message() {
            Ok(m) => m.into_frames(),
            Err(Error::Again) => continue,
            Err(Error::ContextTerminated) => break,
            Err(e) => {
                tracing::error!(target: "oxmq::auth", "the ZAP handler stops: cannot receive: {e}");
                break;
            }
        };
        let (request_id, verdict) = judge(&policy.read(), &request);
        let reply = [
            Bytes::from_static(b"1.0"),
            request_id,
            Bytes::from_static(verdict.code.as_bytes()),
            Bytes::from_static(verdict.text.as_bytes()),
            Bytes::from(verdict.user_id.into_bytes()),
            Bytes::new(),
        ];
        // A REP drops a reply whose asker has gone (its handshake ended first): no wait here.
        match socket.send_multipart(reply) {
            Ok(()) => {}
            Err(Error::ContextTerminated) => break,
            Err(e) => {
                tracing::error!(target: "oxmq::auth", "the ZAP handler stops: cannot reply: {e}");
                break;
            }
        }
    }
    // Unbind at once, so that a new handler may bind while this socket is closing.
    let _ = socket.unbind(ZAP_ENDPOINT);
}

/// The request id of `request` and what to answer it.
fn judge(policy: &Policy, request: &[Bytes]) -> (Bytes, Verdict) {
    let request_id = request.get(1).cloned().unwrap_or_default();
    let [version, _, domain, address, _identity, mechanism, credentials @ ..] = request else {
        tracing::warn!(target: "oxmq::auth", "malformed ZAP request ({} frames)", request.len());
        return (request_id, Verdict { code: "500", text: "Malformed request", user_id: String::new() });
    };
    if &version[..] != b"1.0" {
        tracing::warn!(target: "oxmq::auth", "ZAP request of version {:?}", version.escape_ascii().to_string());
        return (request_id, Verdict { code: "500", text: "Unsupported version", user_id: String::new() });
    }
    let domain = String::from_utf8_lossy(domain);
    let address = String::from_utf8_lossy(address);
    let mechanism = String::from_utf8_lossy(mechanism);
    let verdict = decide(policy, &domain, &address, &mechanism, credentials);
    if verdict.code == "200" {
        tracing::debug!(
            target: "oxmq::auth",
            "admitted {mechanism} peer {address:?} in domain {domain:?} as {:?}",
            verdict.user_id
        );
    } else {
        // Who it claimed to be (a CURVE key is public; a PLAIN password is never logged), so
        // that an operator can allow it.
        let who = match (&*mechanism, credentials) {
            ("CURVE", [key]) => z85_encode(key).map(|k| format!(" with key {k}")).unwrap_or_default(),
            ("PLAIN", [user, _]) => format!(" as user {:?}", String::from_utf8_lossy(user)),
            _ => String::new(),
        };
        tracing::info!(
            target: "oxmq::auth",
            "refused {mechanism} peer {address:?}{who} in domain {domain:?}: {}",
            verdict.text
        );
    }
    (request_id, verdict)
}

fn decide(policy: &Policy, domain: &str, address: &str, mechanism: &str, credentials: &[Bytes]) -> Verdict {
    let ip = address.parse::<IpAddr>().ok().map(|a| a.to_canonical());
    if !policy.allowed.is_empty() && !ip.is_some_and(|a| policy.allowed.contains(&a)) {
        return Verdict::refused("Address not allowed");
    }
    if ip.is_some_and(|a| policy.denied.contains(&a)) {
        return Verdict::refused("Address denied");
    }
    match (mechanism, credentials) {
        ("NULL", _) => Verdict::ok(ANONYMOUS.to_string()),
        ("PLAIN", [user, password]) => {
            let Some(table) = for_domain(&policy.plain, domain) else {
                return Verdict::refused("No passwords for the domain");
            };
            let user = String::from_utf8_lossy(user);
            // Compare with something even for an unknown user, in the same time.
            let (known, expected) = match table.get(&*user) {
                Some(p) => (true, p.as_bytes()),
                None => (false, &b"\0unknown user\0"[..]),
            };
            if constant_time_eq(expected, password) && known {
                Verdict::ok(user.into_owned())
            } else {
                Verdict::refused("Invalid username or password")
            }
        }
        ("CURVE", [key]) => {
            let Ok(key) = <[u8; 32]>::try_from(&key[..]) else {
                return Verdict::refused("Invalid credentials");
            };
            let admitted = match for_domain(&policy.curve, domain) {
                None => return Verdict::refused("No CURVE keys for the domain"),
                Some(Curve::Any) => true,
                Some(Curve::Keys(keys)) => keys.contains(&key),
            };
            match z85_encode(&key) {
                Ok(user) if admitted => Verdict::ok(user),
                _ => Verdict::refused("Unknown key"),
            }
        }
        ("PLAIN" | "CURVE", _) => Verdict::refused("Invalid credentials"),
        _ => Verdict::refused("Unsupported mechanism"),
    }
}

/// The configuration of `domain`, or else `"*"`'s.
fn for_domain<'a, T>(table: &'a HashMap<String, T>, domain: &str) -> Option<&'a T> {
    table.get(domain).or_else(|| table.get("*"))
}

/// Whether `a` and `b` are equal, in a time that depends on their lengths only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len().max(b.len());
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..n {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0xff);
    }
    std::hint::black_box(diff) == 0
}

fn io_error(path: &Path, e: io::Error) -> Error {
    Error::Io(io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

fn read(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| io_error(path, e))?;
    String::from_utf8(bytes).map_err(|_| Error::InvalidArgument(format!("{}: not UTF-8 text", path.display())))
}

/// The public key of the ZeroMQ certificate (ZPL) at `path`.
fn certificate_public_key(path: &Path) -> Result<[u8; 32]> {
    let text = read(path)?;
    let bad = |line: usize, why: &str| {
        Error::InvalidArgument(format!("{}:{line}: not a ZeroMQ certificate: {why}", path.display()))
    };
    // ZPL (rfc.zeromq.org/spec/4): a name at indentation 0 opens a section; `name = value`
    // lines inside it are indented (czmq and pyzmq write 4 spaces).
    let mut section = String::new();
    for (n, line) in text.lines().enumerate() {
        let content = line.trim();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indented = line.starts_with([' ', '\t']);
        if !indented {
            section = content.split('=').next().unwrap_or_default().trim().to_string();
            continue;
        }
        let Some((name, value)) = content.split_once('=') else { continue };
        if section != "curve" || name.trim() != "public-key" {
            continue;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(value);
        if value.len() != 40 {
            return Err(bad(n + 1, "the public key is not 40 Z85 characters"));
        }
        let key = z85_decode(value).map_err(|_| bad(n + 1, "the public key is not Z85"))?;
        return key.try_into().map_err(|_| bad(n + 1, "the public key is not 32 bytes"));
    }
    Err(bad(text.lines().count(), "no `public-key` in a `curve` section"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(domain: &str, address: &str, mechanism: &str, credentials: &[&[u8]]) -> Vec<Bytes> {
        let mut r: Vec<Bytes> =
            ["1.0", "7", domain, address, "", mechanism].iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect();
        r.extend(credentials.iter().map(|c| Bytes::copy_from_slice(c)));
        r
    }

    fn code(policy: &Policy, r: &[Bytes]) -> (&'static str, String) {
        let (id, v) = judge(policy, r);
        if r.len() > 1 {
            assert_eq!(id, r[1], "the reply carries the request id");
        }
        (v.code, v.user_id)
    }

    #[test]
    fn plain_by_domain_with_star_as_the_fallback() {
        let mut p = Policy::default();
        assert_eq!(code(&p, &request("", "1.2.3.4", "PLAIN", &[b"u", b"p"])).0, "400", "no passwords at all");
        p.plain.insert("*".into(), [("u".to_string(), "p".to_string())].into());
        p.plain.insert("a".into(), [("v".to_string(), "q".to_string())].into());
        assert_eq!(code(&p, &request("", "1.2.3.4", "PLAIN", &[b"u", b"p"])), ("200", "u".into()));
        assert_eq!(code(&p, &request("other", "1.2.3.4", "PLAIN", &[b"u", b"p"])).0, "200");
        assert_eq!(code(&p, &request("a", "1.2.3.4", "PLAIN", &[b"u", b"p"])).0, "400", "a's own table only");
        assert_eq!(code(&p, &request("a", "1.2.3.4", "PLAIN", &[b"v", b"q"])).0, "200");
        for (u, pw) in [(&b"v"[..], &b"qq"[..]), (b"v", b""), (b"nobody", b"q"), (b"", b"")] {
            assert_eq!(code(&p, &request("a", "1.2.3.4", "PLAIN", &[u, pw])).0, "400", "{u:?} {pw:?}");
        }
        assert_eq!(code(&p, &request("a", "1.2.3.4", "PLAIN", &[b"v"])).0, "400", "one credential frame");
    }

    #[test]
    fn addresses_and_null() {
        let mut p = Policy::default();
        assert_eq!(code(&p, &request("", "10.0.0.1", "NULL", &[])), ("200", "anonymous".into()));
        p.denied.insert("10.0.0.1".parse().unwrap());
        assert_eq!(code(&p, &request("", "10.0.0.1", "NULL", &[])).0, "400");
        assert_eq!(code(&p, &request("", "10.0.0.2", "NULL", &[])).0, "200");
        assert_eq!(code(&p, &request("", "", "NULL", &[])).0, "200", "no address: on no list");
        p.allowed.insert("10.0.0.3".parse::<IpAddr>().unwrap());
        assert_eq!(code(&p, &request("", "10.0.0.2", "NULL", &[])).0, "400");
        assert_eq!(code(&p, &request("", "10.0.0.3", "NULL", &[])).0, "200");
        assert_eq!(code(&p, &request("", "::ffff:10.0.0.3", "NULL", &[])).0, "200", "IPv4-mapped");
        assert_eq!(code(&p, &request("", "", "NULL", &[])).0, "400", "no address: not allowed");
        // An allowed address still needs its credentials.
        assert_eq!(code(&p, &request("", "10.0.0.3", "PLAIN", &[b"u", b"p"])).0, "400");
    }

    #[test]
    fn curve_any_and_keys() {
        let mut p = Policy::default();
        let key = [7u8; 32];
        assert_eq!(code(&p, &request("", "::1", "CURVE", &[&key])).0, "400", "nothing configured");
        p.curve.insert("*".into(), Curve::Any);
        assert_eq!(code(&p, &request("d", "::1", "CURVE", &[&key])), ("200", z85_encode(&key).unwrap()));
        p.curve.insert("d".into(), Curve::Keys([[1u8; 32]].into()));
        assert_eq!(code(&p, &request("d", "::1", "CURVE", &[&key])).0, "400");
        assert_eq!(code(&p, &request("d", "::1", "CURVE", &[&[1u8; 32]])).0, "200");
        assert_eq!(code(&p, &request("d", "::1", "CURVE", &[&[1u8; 31]])).0, "400");
        assert_eq!(code(&p, &request("d", "::1", "GSSAPI", &[b"x"])).0, "400");
    }

    #[test]
    fn malformed_requests_get_500() {
        let p = Policy::default();
        assert_eq!(code(&p, &request("", "", "NULL", &[])[..5]).0, "500");
        let mut r = request("", "", "NULL", &[]);
        r[0] = Bytes::from_static(b"2.0");
        assert_eq!(code(&p, &r).0, "500");
        assert_eq!(code(&p, &[]).0, "500");
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"ab", b"ab\xff"));
    }
}
