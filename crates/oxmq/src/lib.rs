//! oxmq: ZeroMQ in pure Rust.
//!
//! Sockets of the ZeroMQ types bind and connect to `tcp://`, `ipc://` and `inproc://`
//! endpoints in any order, queue messages in the background, reconnect by themselves, and talk
//! ZMTP 3.1 (and 3.0) with libzmq and every other ZeroMQ implementation.
//!
//! ```
//! use oxmq::{Context, SocketType};
//! let ctx = Context::new();
//! let rep = ctx.socket(SocketType::Rep)?;
//! rep.bind("inproc://hello")?;
//! let req = ctx.socket(SocketType::Req)?;
//! req.connect("inproc://hello")?;
//! req.send("Hello")?;
//! assert_eq!(rep.recv()?, "Hello");
//! rep.send("World")?;
//! assert_eq!(req.recv()?, "World");
//! # Ok::<(), oxmq::Error>(())
//! ```
//!
//! Where things live, layer by layer from the bottom (ARCHITECTURE.md at the repository root
//! has the map; a module imports only the layers below its own):
//! - [`oxmq_wire`]: the ZMTP protocol as sans-IO state machines (bytes in, events out);
//! - `pipe`: the bounded queue between a socket and one peer; `monitor`: socket events;
//! - `pattern`: what each socket type does with its pipes (one file per type);
//! - `socket::mailbox`: the part of a socket the I/O side shares with it;
//! - `transport`: endpoints, tcp/ipc listeners and connections, the inproc name table;
//! - `engine`: drives one connection (`zmtp`, with `heartbeat`; `raw` for STREAM);
//! - `session`: binds and connects, accept loops and reconnects, and attaching each peer;
//! - `socket`: the public API ([`SocketBase`], the typed sockets, options, [`Monitor`]);
//! - `poll` / `proxy` / `adapters`: waiting on many sockets, the built-in proxy, and the
//!   futures `Stream`/`Sink` over a socket ([`RecvStream`], [`SendSink`]);
//! - `auth`: the [`Authenticator`], a ZAP handler admitting PLAIN users, CURVE keys and IP
//!   addresses (pyzmq's `zmq.auth`).

// No `unsafe` but one block: the registration of a raw descriptor with tokio's reactor
// (`transport::fd_stream`), which tokio makes unsafe.
#![deny(unsafe_code)]

mod adapters;
mod auth;
mod context;
mod engine;
mod error;
mod frame;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod io_thread;
#[cfg(all(test, oxmq_loom))]
mod loom_models;
mod monitor;
mod options;
mod pattern;
mod pipe;
mod poll;
mod properties;
mod proxy;
mod security;
mod session;
mod signal;
mod socket;
mod sync;
mod transport;
mod wake_fd;

pub use adapters::{RecvStream, SendSink};
pub use auth::Authenticator;
pub use bytes::Bytes;
pub use context::{Context, ContextBuilder};
pub use error::{Error, Result};
pub use frame::IntoFrame;
pub use monitor::{Event, EventMask, MonitorEvent, protocol_error};
pub use options::opt;
pub use oxmq_wire::Mechanism;
pub use oxmq_wire::SocketType;
pub use poll::{PollEvents, PollItem, Poller, poll, poll_async, poll_interruptible};
pub use properties::{Message, Properties};
pub use proxy::{proxy, proxy_interruptible, proxy_steerable};
pub use security::{curve_keypair, curve_public, has, version, z85_decode, z85_encode};
pub use socket::typed::{Dealer, Pair, Pub, Pull, Push, Rep, Req, Router, Socket, Stream, Sub, XPub, XSub};
pub use socket::{Monitor, ReadFrame, ReceivedFrame, SocketBase};
pub use zeroize::Zeroizing;
