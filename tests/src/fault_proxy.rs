//! A fault proxy: a TCP proxy on 127.0.0.1 between Lifeboat (and the tools it runs) and a
//! bucket's server, that fails things on purpose. The fault can be changed while traffic
//! flows; [`Fault::None`] forwards bytes untouched.
//!
//! Ours rather than Toxiproxy: a few hundred lines in the test crate, no daemon and no
//! HTTP control API to start, and it answers S3 errors itself (Toxiproxy works on bytes
//! only and cannot answer `503 SlowDown`).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the proxy does to the traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Forwards untouched.
    None,
    /// Waits this long before forwarding each chunk, both ways.
    Latency(Duration),
    /// At most this many bytes per second each way, per connection.
    Bandwidth(u64),
    /// Resets (TCP RST) the next `times` connections once `after` bytes have gone up
    /// (client to server: mid-upload) or down (mid-download).
    Reset {
        /// Which way the bytes are counted.
        direction: Direction,
        /// Bytes after which the connection is reset.
        after: u64,
        /// How many connections are reset; the others pass.
        times: u32,
    },
    /// Accepts connections and reads what is sent, never answers: a server that hangs.
    Silent,
    /// Answers the first request of every `every`-th new connection itself with an S3
    /// error (`SlowDown` for 503, `InternalError` otherwise) and closes it; the statuses
    /// are taken in turn.
    HttpError {
        /// e.g. `&[503, 500]`.
        statuses: &'static [u16],
        /// One connection in this many.
        every: u32,
    },
}

/// The way bytes flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Client to server.
    Up,
    /// Server to client.
    Down,
}

/// What the proxy did, for the test's report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Injected {
    /// Connections accepted.
    pub connections: u64,
    /// Connections reset on purpose.
    pub resets: u64,
    /// Requests answered with an error.
    pub errors: u64,
    /// Connections left without an answer.
    pub silenced: u64,
}

#[derive(Debug, Default)]
struct Shared {
    fault: Option<Fault>,
    injected: Injected,
    /// Resets still to do under the current [`Fault::Reset`].
    resets_left: u32,
}

/// A running proxy; stopped when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    /// `http://127.0.0.1:<port>`: give this to the client instead of the server's.
    pub endpoint: String,
    shared: Arc<Mutex<Shared>>,
    accept: JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

fn lock(shared: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FaultProxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `upstream` (`host:port`, a
    /// loopback address).
    pub async fn start(upstream: &str) -> anyhow::Result<Self> {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        anyhow::ensure!(
            upstream.starts_with("127.0.0.1:"),
            "the fault proxy forwards to loopback only, not {upstream}"
        );
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("fault proxy: bind")?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Mutex::new(Shared {
            fault: Some(Fault::None),
            ..Shared::default()
        }));
        let s = shared.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (s, upstream) = (s.clone(), upstream.clone());
                tokio::spawn(async move {
                    let _ = serve(client, &upstream, &s).await;
                });
            }
        });
        Ok(Self {
            endpoint,
            shared,
            accept,
        })
    }

    /// Applies `fault` to connections from now on (and, for latency and bandwidth, to the
    /// bytes of open ones).
    pub fn set(&self, fault: Fault) {
        let mut s = lock(&self.shared);
        s.resets_left = match fault {
            Fault::Reset { times, .. } => times,
            _ => 0,
        };
        s.fault = Some(fault);
    }

    /// What was injected so far.
    pub fn injected(&self) -> Injected {
        lock(&self.shared).injected.clone()
    }
}

fn fault(shared: &Mutex<Shared>) -> Fault {
    lock(shared).fault.clone().unwrap_or(Fault::None)
}

/// One client connection.
async fn serve(
    mut client: TcpStream,
    upstream: &str,
    shared: &Mutex<Shared>,
) -> std::io::Result<()> {
    let nth = {
        let mut s = lock(shared);
        s.injected.connections += 1;
        s.injected.connections
    };
    match fault(shared) {
        Fault::Silent => {
            lock(shared).injected.silenced += 1;
            let mut sink = [0_u8; 16 * 1024];
            while client.read(&mut sink).await? > 0 {}
            return Ok(());
        }
        Fault::HttpError { statuses, every } if every > 0 && nth % u64::from(every) == 0 => {
            let status = {
                let mut s = lock(shared);
                s.injected.errors += 1;
                let turn = usize::try_from(s.injected.errors).unwrap_or_default();
                statuses
                    .get(turn % statuses.len().max(1))
                    .copied()
                    .unwrap_or(503)
            };
            return answer_error(client, status).await;
        }
        _ => {}
    }
    let server = TcpStream::connect(upstream).await?;
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    // A reset ends both ways at once: the direction that takes it tells the other to stop,
    // and every half is dropped with SO_LINGER 0, so both peers get an RST.
    let (cut, cut_seen) = tokio::sync::watch::channel(false);
    let up = pump(cr, sw, Direction::Up, shared, &cut, cut_seen.clone());
    let down = pump(sr, cw, Direction::Down, shared, &cut, cut_seen);
    let _ = tokio::join!(up, down);
    Ok(())
}

/// Copies `from` to `to` one chunk at a time, applying the fault in force for each chunk.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    direction: Direction,
    shared: &Mutex<Shared>,
    cut: &tokio::sync::watch::Sender<bool>,
    mut cut_seen: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut buf = vec![0_u8; 16 * 1024];
    let mut sent: u64 = 0;
    loop {
        let n = tokio::select! {
            n = from.read(&mut buf) => n?,
            _ = cut_seen.wait_for(|c| *c) => return Ok(()),
        };
        if n == 0 {
            let _ = to.shutdown().await;
            return Ok(());
        }
        match fault(shared) {
            Fault::Latency(d) => tokio::time::sleep(d).await,
            Fault::Bandwidth(per_second) if per_second > 0 => {
                let secs = n as f64 / per_second as f64;
                tokio::time::sleep(Duration::from_secs_f64(secs)).await;
            }
            Fault::Reset {
                direction: d,
                after,
                ..
            } if d == direction && sent + n as u64 > after => {
                let take = {
                    let mut s = lock(shared);
                    let take = s.resets_left > 0;
                    if take {
                        s.resets_left -= 1;
                        s.injected.resets += 1;
                    }
                    take
                };
                if take {
                    // Forward up to the count, then reset both sockets.
                    let head = usize::try_from(after.saturating_sub(sent)).map_or(n, |h| h.min(n));
                    to.write_all(&buf[..head]).await?;
                    from.as_ref().set_zero_linger()?;
                    to.as_ref().set_zero_linger()?;
                    let _ = cut.send(true);
                    return Ok(());
                }
            }
            _ => {}
        }
        to.write_all(&buf[..n]).await?;
        sent += n as u64;
    }
}

/// Reads the request head (up to its blank line) and answers it with an S3 error.
async fn answer_error(mut client: TcpStream, status: u16) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0_u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
        if client.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let (reason, code) = match status {
        503 => ("Slow Down", "SlowDown"),
        _ => ("Internal Server Error", "InternalError"),
    };
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>injected by the fault proxy</Message></Error>"
    );
    let answer = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    client.write_all(answer.as_bytes()).await?;
    client.shutdown().await
}
