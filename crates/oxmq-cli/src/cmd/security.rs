//! The security flags every socket-opening command takes: PLAIN or CURVE as a client or a
//! server (`--curve-server`, `--curve-serverkey KEY`, `--plain-server`, ...), and for a
//! server the clients it admits (`--curve-allow KEY`, `--curve-allow-dir DIR`,
//! `--plain-users FILE`), through the library's `Authenticator` (one per process, bound in
//! the command's context, configured for the socket's `--zap-domain` or for every domain).
//!
//! Decisions: a CURVE server without `--curve-allow`/`--curve-allow-dir` admits any client
//! that completes the handshake (it still needs the server's public key, so the traffic is
//! encrypted and the server authenticated); a PLAIN server without `--plain-users` is an
//! error at startup, since it could admit no one. A CURVE client without keys of its own gets
//! a new pair for the run (its public key is printed with -v, to be allowed by a server).

use std::path::PathBuf;
use std::sync::Mutex;

use clap::Args;
use oxmq::{Authenticator, Context, Socket};

use super::{CmdResult, Exit, setup_err};

/// How `--help` introduces the security flags.
pub const SECURITY_HELP: &str = "\
Security: --curve-server --curve-secretkey KEY [--curve-allow KEY | --curve-allow-dir DIR]
makes a CURVE server that admits those clients (any client if none is given); a client gives
--curve-serverkey KEY (the server's public key) and, to be known, --curve-secretkey KEY (its
public key is derived). --plain-server --plain-users FILE (lines user=password, # comments)
makes a PLAIN server; a client gives --plain-username and --plain-password. Keys are Z85, 40
characters, as `oxmq keygen` prints them. Keys and passwords on a command line are visible to
other users of the machine (ps): keep them to machines you trust.

Examples:
  oxmq keygen > server.keys; oxmq keygen > client.keys
  oxmq rep -b tcp://*:5557 --curve-server --curve-secretkey \"$(tail -1 server.keys)\" \\
      --curve-allow \"$(head -1 client.keys)\"
  oxmq req -c tcp://localhost:5557 --curve-serverkey \"$(head -1 server.keys)\" \\
      --curve-secretkey \"$(tail -1 client.keys)\" hello
  oxmq rep -b tcp://*:5558 --plain-server --plain-users users.txt
  oxmq req -c tcp://localhost:5558 --plain-username alice --plain-password s3cret hello";

/// Where `--help` lists the security flags.
const HEADING: &str = "Security (PLAIN, CURVE)";

/// The security flags (see the module documentation).
#[derive(Debug, Clone, Default, Args)]
pub struct SecurityArgs {
    /// Be a CURVE server (needs --curve-secretkey): encrypt, and admit the clients
    /// --curve-allow and --curve-allow-dir name, or any client if neither is given.
    #[arg(long, help_heading = HEADING, conflicts_with_all = ["curve_serverkey", "plain_server", "plain_username"])]
    pub curve_server: bool,
    /// This socket's CURVE secret key (Z85). A server needs it; a client without it uses a
    /// new key pair made for this run.
    #[arg(long, help_heading = HEADING, value_name = "KEY", allow_hyphen_values = true)]
    pub curve_secretkey: Option<String>,
    /// This socket's CURVE public key (Z85) [default: derived from --curve-secretkey].
    #[arg(long, help_heading = HEADING, value_name = "KEY", allow_hyphen_values = true, requires = "curve_secretkey")]
    pub curve_publickey: Option<String>,
    /// Be a CURVE client of the server with this public key (Z85): the handshake fails with
    /// any other server.
    #[arg(long, help_heading = HEADING, value_name = "KEY", allow_hyphen_values = true, conflicts_with_all = ["plain_username"])]
    pub curve_serverkey: Option<String>,
    /// CURVE server: admit the client with this public key (Z85); repeatable.
    #[arg(long, help_heading = HEADING, value_name = "KEY", allow_hyphen_values = true, requires = "curve_server")]
    pub curve_allow: Vec<String>,
    /// CURVE server: admit the clients whose certificates are in DIR (every file: ZeroMQ
    /// certificates as `zmq.auth.create_certificates` or czmq write them); repeatable.
    #[arg(long, help_heading = HEADING, value_name = "DIR", requires = "curve_server")]
    pub curve_allow_dir: Vec<PathBuf>,
    /// Be a PLAIN server (needs --plain-users): admit the users and passwords in the file.
    #[arg(long, help_heading = HEADING, requires = "plain_users", conflicts_with_all = ["plain_username", "curve_serverkey"])]
    pub plain_server: bool,
    /// PLAIN server: the users it admits, one `user=password` a line (`#` comments and blank
    /// lines skipped), as czmq's zauth reads them.
    #[arg(long, help_heading = HEADING, value_name = "FILE", requires = "plain_server")]
    pub plain_users: Option<PathBuf>,
    /// Be a PLAIN client with this user name.
    #[arg(long, help_heading = HEADING, value_name = "USER", requires = "plain_password")]
    pub plain_username: Option<String>,
    /// The PLAIN client's password.
    #[arg(long, help_heading = HEADING, value_name = "PASSWORD", requires = "plain_username")]
    pub plain_password: Option<String>,
    /// The ZAP domain of this socket (ZAP_DOMAIN): a server's admissions (--curve-allow,
    /// --plain-users, ...) are configured for that domain alone.
    #[arg(long, help_heading = HEADING, value_name = "DOMAIN")]
    pub zap_domain: Option<String>,
}

/// The process's authenticator, started by the first server socket (one per context, and the
/// tool's commands use one context).
static AUTHENTICATOR: Mutex<Option<Authenticator>> = Mutex::new(None);

/// Sets `socket` up as `a` says; for a server, starts (or reconfigures) the authenticator.
/// Bad keys, missing ones, unreadable files: exit 2, naming the flag.
pub fn apply(ctx: &Context, socket: &Socket, a: &SecurityArgs, verbose: bool) -> CmdResult {
    if let Some(domain) = &a.zap_domain {
        socket.set_zap_domain(domain).map_err(setup_err(format_args!("bad --zap-domain {domain:?}")))?;
    }
    if a.curve_server {
        curve_server(ctx, socket, a)
    } else if a.plain_server {
        plain_server(ctx, socket, a)
    } else if a.curve_serverkey.is_some() {
        curve_client(socket, a, verbose)
    } else if let (Some(user), Some(password)) = (&a.plain_username, &a.plain_password) {
        socket.set_plain_username(user).map_err(setup_err("bad --plain-username"))?;
        socket.set_plain_password(password).map_err(setup_err("bad --plain-password"))
    } else if a.curve_secretkey.is_some() {
        Err(Exit::setup(
            "--curve-secretkey needs --curve-server (a server) or --curve-serverkey KEY (a client of that server)",
        ))
    } else {
        Ok(())
    }
}

/// The domain a server's admissions are for.
fn domain(a: &SecurityArgs) -> &str {
    a.zap_domain.as_deref().unwrap_or("*")
}

fn curve_server(ctx: &Context, socket: &Socket, a: &SecurityArgs) -> CmdResult {
    let secret = a.curve_secretkey.as_deref().ok_or_else(|| {
        Exit::setup(
            "--curve-server needs --curve-secretkey KEY, the server's secret key (make a pair with `oxmq keygen`)",
        )
    })?;
    socket.set_curve_server(true).map_err(setup_err("--curve-server"))?;
    socket.set_curve_secretkey(secret).map_err(setup_err("bad --curve-secretkey"))?;
    if let Some(public) = &a.curve_publickey {
        socket.set_curve_publickey(public).map_err(setup_err("bad --curve-publickey"))?;
    }
    let mut keys = Vec::new();
    for key in &a.curve_allow {
        keys.push(parse_key(key).map_err(|e| Exit::setup(format!("bad --curve-allow {key:?}: {e}")))?);
    }
    for dir in &a.curve_allow_dir {
        let found = Authenticator::load_curve_dir(dir)
            .map_err(|e| Exit::setup(format!("bad --curve-allow-dir {}: {e}", dir.display())))?;
        keys.extend(found);
    }
    let any = a.curve_allow.is_empty() && a.curve_allow_dir.is_empty();
    with_authenticator(ctx, |auth| {
        if any {
            auth.configure_curve_any(domain(a));
        } else {
            auth.configure_curve(domain(a), keys);
        }
        Ok(())
    })
}

fn plain_server(ctx: &Context, socket: &Socket, a: &SecurityArgs) -> CmdResult {
    // clap makes --plain-users required with --plain-server; said again for a caller that
    // builds the arguments by hand.
    let users = a.plain_users.as_ref().ok_or_else(|| {
        Exit::setup("--plain-server needs --plain-users FILE (lines user=password): without it no client could get in")
    })?;
    socket.set_plain_server(true).map_err(setup_err("--plain-server"))?;
    with_authenticator(ctx, |auth| {
        auth.configure_plain_file(domain(a), users).map_err(|e| Exit::setup(format!("bad --plain-users: {e}")))
    })
}

fn curve_client(socket: &Socket, a: &SecurityArgs, verbose: bool) -> CmdResult {
    let server = a.curve_serverkey.as_deref().unwrap_or_default();
    socket.set_curve_serverkey(server).map_err(setup_err("bad --curve-serverkey"))?;
    let (public, secret) = match &a.curve_secretkey {
        Some(secret) => {
            let public = match &a.curve_publickey {
                Some(public) => public.clone(),
                None => oxmq::curve_public(secret).map_err(setup_err("bad --curve-secretkey"))?,
            };
            (public, oxmq::Zeroizing::new(secret.clone()))
        }
        None => {
            let (public, secret) = oxmq::curve_keypair().map_err(setup_err("cannot make a CURVE key pair"))?;
            if verbose {
                eprintln!("oxmq: CURVE client with a new key pair, public key {public}");
            }
            (public, secret)
        }
    };
    socket.set_curve_publickey(&public).map_err(setup_err("bad --curve-publickey"))?;
    socket.set_curve_secretkey(secret.as_str()).map_err(setup_err("bad --curve-secretkey"))
}

/// Runs `f` on the process's authenticator, started in `ctx` if there is none yet.
fn with_authenticator(ctx: &Context, f: impl FnOnce(&Authenticator) -> CmdResult) -> CmdResult {
    let mut slot = AUTHENTICATOR.lock().unwrap_or_else(|e| e.into_inner());
    if slot.is_none() {
        *slot = Some(Authenticator::start(ctx).map_err(setup_err("cannot start the authenticator"))?);
    }
    f(slot.as_ref().expect("started above"))
}

/// A CURVE public key in Z85.
fn parse_key(key: &str) -> Result<[u8; 32], String> {
    if key.len() != 40 {
        return Err(format!("a key is 40 Z85 characters, this is {}", key.len()));
    }
    let raw = oxmq::z85_decode(key).map_err(|e| e.to_string())?;
    raw.try_into().map_err(|_| "not 32 bytes".to_string())
}

/// Stops the authenticator (before the command's context is dropped).
pub fn stop() {
    let auth = AUTHENTICATOR.lock().unwrap_or_else(|e| e.into_inner()).take();
    drop(auth);
}
