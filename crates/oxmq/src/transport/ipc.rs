//! IPC: Unix domain sockets, by path or in Linux's abstract namespace.

use std::os::unix::fs::MetadataExt;
use std::os::unix::net::{SocketAddr, UnixListener as StdListener};
use std::path::PathBuf;

use tokio::net::{UnixListener, UnixStream};

use super::endpoint::IpcAddr;
use crate::error::{Error, Result};

fn sockaddr(addr: &IpcAddr) -> std::io::Result<SocketAddr> {
    // A name too long for sun_path is ENAMETOOLONG, as libzmq reports it (bindings name the
    // limit in their message); std says InvalidInput, as it does for a NUL in the name.
    let too_long = |name: &[u8], e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::InvalidInput && !name.contains(&0) {
            rustix::io::Errno::NAMETOOLONG.into()
        } else {
            e
        }
    };
    match addr {
        IpcAddr::Path(p) => {
            use std::os::unix::ffi::OsStrExt;
            SocketAddr::from_pathname(p).map_err(|e| too_long(p.as_os_str().as_bytes(), e))
        }
        #[cfg(target_os = "linux")]
        IpcAddr::Abstract(name) => {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(name.as_bytes()).map_err(|e| too_long(name.as_bytes(), e))
        }
        #[cfg(not(target_os = "linux"))]
        IpcAddr::Abstract(_) => Err(std::io::Error::other("abstract ipc names exist only on Linux")),
        IpcAddr::Wildcard => Err(std::io::Error::other("ipc://* is for bind only")),
    }
}

/// The socket file of a listener bound to a path, removed when the listener closes.
#[derive(Debug)]
pub(crate) struct SocketFile {
    path: PathBuf,
    /// The file's identity when it was made: a file another socket has bound at the same path
    /// since is not ours to remove.
    dev_ino: Option<(u64, u64)>,
    /// The directory made for an `ipc://*` bind, removed with the file.
    temp_dir: Option<PathBuf>,
}

impl SocketFile {
    pub fn remove(&self) -> std::io::Result<()> {
        let ours = match std::fs::symlink_metadata(&self.path) {
            Ok(m) => self.dev_ino == Some((m.dev(), m.ino())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(e),
        };
        if ours {
            std::fs::remove_file(&self.path)?;
        }
        if let Some(dir) = &self.temp_dir {
            match std::fs::remove_dir(dir) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }
}

/// A bound listener, the endpoint it resolved to, and the file to remove when it closes.
pub(crate) fn bind(addr: &IpcAddr) -> Result<(UnixListener, String, Option<SocketFile>)> {
    let (addr, temp_dir) = match addr {
        IpcAddr::Wildcard => {
            let dir = std::env::temp_dir().join(format!("oxmq-{}-{}", std::process::id(), unique()));
            std::fs::create_dir_all(&dir)?;
            (IpcAddr::Path(dir.join("socket")), Some(dir))
        }
        other => (other.clone(), None),
    };
    let resolved = match &addr {
        IpcAddr::Path(p) => {
            // As libzmq does: a socket file left behind by an earlier run is replaced.
            let _ = std::fs::remove_file(p);
            format!("ipc://{}", p.display())
        }
        IpcAddr::Abstract(name) => format!("ipc://@{name}"),
        IpcAddr::Wildcard => unreachable!("resolved above"),
    };
    let bound = StdListener::bind_addr(&sockaddr(&addr)?).map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => Error::AddrInUse(resolved.clone()),
        _ => Error::Io(e),
    });
    let std = match bound {
        Ok(l) => l,
        Err(e) => {
            if let Some(dir) = temp_dir {
                let _ = std::fs::remove_dir(dir);
            }
            return Err(e);
        }
    };
    std.set_nonblocking(true)?;
    let file = match addr {
        IpcAddr::Path(path) => {
            let dev_ino = std::fs::symlink_metadata(&path).ok().map(|m| (m.dev(), m.ino()));
            Some(SocketFile { path, dev_ino, temp_dir })
        }
        _ => None,
    };
    Ok((UnixListener::from_std(std)?, resolved, file))
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Can `addr` be connected to at all (its name fits in a socket address)? For `connect`, to
/// fail at once where libzmq does.
pub(crate) fn check(addr: &IpcAddr) -> std::io::Result<()> {
    match addr {
        IpcAddr::Wildcard => Ok(()),
        _ => sockaddr(addr).map(drop),
    }
}

/// Connect without blocking the I/O thread (a listener with a full backlog makes a local
/// connect wait or fail).
pub(crate) async fn connect(addr: &IpcAddr) -> std::io::Result<UnixStream> {
    match addr {
        IpcAddr::Path(p) => UnixStream::connect(p).await,
        // The abstract namespace: a path whose first byte is NUL.
        IpcAddr::Abstract(name) => {
            let mut path = std::ffi::OsString::from("\0");
            path.push(name);
            UnixStream::connect(PathBuf::from(path)).await
        }
        IpcAddr::Wildcard => Err(std::io::Error::other("ipc://* is for bind only")),
    }
}

/// IPC_FILTER_PID/UID/GID: with none set, every peer; else one whose process id, user id or
/// group id (SO_PEERCRED) is listed, or whose user is a member of a listed group (from the
/// group database, as libzmq's getgrgid). A peer the kernel gives no credentials for is not.
pub(crate) fn peer_allowed(s: &UnixStream, opts: &crate::options::Options) -> bool {
    if opts.ipc_filter_pids.is_empty() && opts.ipc_filter_uids.is_empty() && opts.ipc_filter_gids.is_empty() {
        return true;
    }
    let Ok(cred) = s.peer_cred() else { return false };
    if opts.ipc_filter_uids.contains(&cred.uid())
        || opts.ipc_filter_gids.contains(&cred.gid())
        || cred.pid().is_some_and(|pid| opts.ipc_filter_pids.contains(&pid))
    {
        return true;
    }
    !opts.ipc_filter_gids.is_empty() && in_listed_group(cred.uid(), &opts.ipc_filter_gids)
}

/// Whether the user `uid` is a member of one of `gids` in /etc/group (by the name /etc/passwd
/// gives it).
fn in_listed_group(uid: u32, gids: &[u32]) -> bool {
    let Ok(passwd) = std::fs::read_to_string("/etc/passwd") else { return false };
    let name = passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 2 && f[2].parse() == Ok(uid)).then(|| f[0].to_string())
    });
    let (Some(name), Ok(groups)) = (name, std::fs::read_to_string("/etc/group")) else { return false };
    groups.lines().any(|l| {
        let f: Vec<&str> = l.split(':').collect();
        f.len() > 3
            && f[2].parse::<u32>().is_ok_and(|g| gids.contains(&g))
            && f[3].split(',').any(|member| member == name)
    })
}

/// libzmq's `Peer-Address` for an ipc peer: `localhost:<uid>:<gid>:<pid>` of the process at
/// the other end (from SO_PEERCRED), or `localhost` when the kernel does not say.
pub(crate) fn peer_address(s: &UnixStream) -> Option<String> {
    Some(match s.peer_cred() {
        Ok(c) => format!("localhost:{}:{}:{}", c.uid(), c.gid(), c.pid().unwrap_or(0)),
        Err(_) => "localhost".to_string(),
    })
}
