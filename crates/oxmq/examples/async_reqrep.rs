//! REQ/REP with the async API, in one tokio runtime: a REP server task answers several REQ
//! client tasks over inproc.
//!
//! oxmq's `*_async` calls work under any executor (they do not need tokio) and are
//! cancel-safe: dropping a `recv_async` future before it completes takes no message, so it can
//! sit in a `tokio::select!` beside a shutdown signal, as the server here does. They have no
//! RCVTIMEO/SNDTIMEO: wrap them in the runtime's timeout, as the clients here do.
//!
//! Arguments: `[endpoint] [clients] [requests] [both|server|clients]` (default
//! `inproc://async-reqrep`, 4 clients, 5 requests each, both). With `both` the server and the
//! clients are tasks of this one process; `server` runs only the server (it answers
//! clients x requests requests, then ends) and `clients` only the clients, so that either side
//! can talk to another process over tcp or ipc: `hello C.N` in, `HELLO C.N` back.

use std::time::Duration;

use tokio::sync::oneshot;

// A current-thread runtime is enough: the tasks only wait on the sockets. (oxmq's own I/O
// runs on the context's threads, whatever the application's runtime.)
#[tokio::main(flavor = "current_thread")]
async fn main() -> oxmq::Result<()> {
    let mut args = std::env::args().skip(1);
    let endpoint = args.next().unwrap_or_else(|| "inproc://async-reqrep".to_string());
    let clients: u32 = args.next().map_or(4, |n| n.parse().expect("clients: a number"));
    let requests: u32 = args.next().map_or(5, |n| n.parse().expect("requests: a number"));
    let role = args.next().unwrap_or_else(|| "both".to_string());
    let (run_server, run_clients) = match role.as_str() {
        "both" => (true, true),
        "server" => (true, false),
        "clients" => (false, true),
        _ => panic!("role: both, server or clients, not {role:?}"),
    };

    let ctx = oxmq::Context::new();
    let (stop, mut stopped) = oneshot::channel::<()>();
    let mut server_task = None;
    let mut endpoint = endpoint;
    if run_server {
        let server = oxmq::Rep::new(&ctx)?;
        server.bind(&endpoint)?;
        endpoint = server.last_endpoint()?;
        println!("async_reqrep: server bound to {endpoint}");
        // Alone, the server ends after the requests it expects; beside the clients, when told.
        let expected = if run_clients { u32::MAX } else { clients * requests };
        server_task = Some(tokio::spawn(async move {
            let mut answered = 0u32;
            while answered < expected {
                tokio::select! {
                    // Cancel-safe: when `stopped` wins, this receive is dropped and no request is lost.
                    request = server.recv_async() => {
                        let request = request?;
                        server.send_async(request.to_ascii_uppercase()).await?;
                        answered += 1;
                    }
                    _ = &mut stopped => break,
                }
            }
            Ok::<u32, oxmq::Error>(answered)
        }));
    }

    if run_clients {
        let mut client_tasks = Vec::new();
        for c in 0..clients {
            // Each task owns its socket (sockets are Send): one socket per task, as one per thread.
            let client = oxmq::Req::new(&ctx)?;
            client.connect(&endpoint)?;
            client_tasks.push(tokio::spawn(async move {
                for n in 0..requests {
                    client.send_async(format!("hello {c}.{n}")).await?;
                    let reply = tokio::time::timeout(Duration::from_secs(10), client.recv_async())
                        .await
                        .map_err(|_| oxmq::Error::Again)??;
                    assert_eq!(reply, format!("HELLO {c}.{n}").as_str());
                }
                Ok::<(), oxmq::Error>(())
            }));
        }
        for task in client_tasks {
            task.await.expect("client task panicked")?;
        }
        println!("async_reqrep: {clients} clients, {} replies received", clients * requests);
        stop.send(()).ok();
    }
    if let Some(task) = server_task {
        let answered = task.await.expect("server task panicked")?;
        println!("async_reqrep: {clients} clients, {answered} requests answered");
        assert_eq!(answered, clients * requests);
    }
    Ok(())
}
