//! An app's managed Redis on the local runtime: a `redis-server` (Debian's package) run as
//! Lifeboat's child on 127.0.0.1, persistence on (RDB snapshots), in a folder of its own.
//!
//! Like the postmaster it runs in its own process group with a parent-death signal, so it
//! never outlives a killed Lifeboat. A backup reads it with `redis-cli --rdb` (a
//! point-in-time RDB over the replication protocol: the server forks, it is not blocked); a
//! restore stops it without saving, puts the RDB in place as `dump.rdb`, and starts it again,
//! which loads it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::process::Child;
use tokio::sync::Mutex;

use crate::runtime::InstanceError;
use crate::runtime::host::process::launcher;

/// How long Redis may take to answer after a start (loading an RDB of a million keys takes
/// about a second).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// One app's Redis server.
#[derive(Debug)]
pub struct RedisServer {
    app: String,
    port: u16,
    dir: PathBuf,
    program: PathBuf,
    child: Mutex<Option<Child>>,
}

impl RedisServer {
    /// The server of `app` in `dir` on `port`, not started.
    pub fn new(app: &str, port: u16, dir: PathBuf, program: PathBuf) -> Self {
        Self {
            app: app.to_owned(),
            port,
            dir,
            program,
            child: Mutex::new(None),
        }
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its folder (`dump.rdb`, `redis.conf`, `redis.log`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where its RDB is loaded from at start.
    pub fn rdb(&self) -> PathBuf {
        self.dir.join("dump.rdb")
    }

    fn err(&self, what: &str) -> InstanceError {
        InstanceError::App(format!(
            "{}'s Redis (port {}): {what}; see {}",
            self.app,
            self.port,
            self.dir.join("redis.log").display()
        ))
    }

    /// Starts it (or adopts one that already answers on its port) and waits until it
    /// answers `PING`.
    pub async fn start(&self) -> Result<(), InstanceError> {
        let mut slot = self.child.lock().await;
        if let Some(c) = slot.as_mut()
            && matches!(c.try_wait(), Ok(None))
        {
            return self.wait_ready(Some(c)).await;
        }
        *slot = None;
        if self.ping().await {
            return Ok(());
        }
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| self.err(&format!("cannot create its folder: {e}")))?;
        let conf = self.dir.join("redis.conf");
        let text = format!(
            "# Written by Lifeboat at every start.\n\
             bind 127.0.0.1\n\
             port {port}\n\
             protected-mode yes\n\
             daemonize no\n\
             dir {dir}\n\
             dbfilename dump.rdb\n\
             save 60 1\n\
             appendonly no\n\
             repl-diskless-sync-delay 0\n\
             logfile {log}\n",
            port = self.port,
            dir = self.dir.display(),
            log = self.dir.join("redis.log").display(),
        );
        std::fs::write(&conf, text)
            .map_err(|e| self.err(&format!("cannot write redis.conf: {e}")))?;
        let mut cmd = launcher(&self.program, None);
        cmd.arg(&conf)
            .current_dir(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = cmd
            .spawn()
            .map_err(|e| self.err(&format!("cannot start redis-server: {e}")))?;
        let ready = self.wait_ready(Some(&mut child)).await;
        *slot = Some(child);
        ready
    }

    async fn wait_ready(&self, mut child: Option<&mut Child>) -> Result<(), InstanceError> {
        let started = Instant::now();
        loop {
            if self.ping().await {
                return Ok(());
            }
            if let Some(c) = child.as_deref_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                return Err(self.err(&format!("redis-server exited with {status}")));
            }
            if started.elapsed() > START_TIMEOUT {
                return Err(self.err(&format!(
                    "no answer {} s after its start",
                    START_TIMEOUT.as_secs()
                )));
            }
            // Often: a restore waits here while it loads the RDB.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Whether it answers `PING` now.
    pub async fn ping(&self) -> bool {
        matches!(self.command(&["PING"]).await, Ok(r) if r.starts_with("+PONG"))
    }

    /// Stops it, saving its data first (`SHUTDOWN SAVE`, as at the instance's stop) or not
    /// (`NOSAVE`: a restore is about to replace its data). Waits up to 30 s.
    pub async fn stop(&self, save: bool) {
        let how = if save { "SAVE" } else { "NOSAVE" };
        let _ = self.command(&["SHUTDOWN", how]).await;
        let mut slot = self.child.lock().await;
        let deadline = Instant::now() + Duration::from_secs(30);
        if let Some(c) = slot.as_mut()
            && tokio::time::timeout_at(deadline.into(), c.wait())
                .await
                .is_err()
        {
            let _ = c.kill().await;
        }
        *slot = None;
        while Instant::now() < deadline && self.ping().await {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends `script`'s lines as inline commands in one go; fails on any error reply.
    pub async fn pipe(&self, script: &str) -> Result<(), InstanceError> {
        let run = async {
            let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await?;
            let mut req = String::new();
            for line in script.lines().filter(|l| !l.trim().is_empty()) {
                req.push_str(line);
                req.push_str("\r\n");
            }
            req.push_str("PING\r\n");
            stream.write_all(req.as_bytes()).await?;
            let mut got = Vec::new();
            let mut buf = vec![0u8; 64 * 1024];
            while !got.ends_with(b"+PONG\r\n") {
                let n = stream.read(&mut buf).await?;
                if n == 0 {
                    return Err(std::io::Error::other("closed before answering everything"));
                }
                got.extend_from_slice(&buf[..n]);
            }
            let text = String::from_utf8_lossy(&got);
            match text.lines().find(|l| l.starts_with('-')) {
                Some(e) => Err(std::io::Error::other(e.to_owned())),
                None => Ok(()),
            }
        };
        tokio::time::timeout(Duration::from_secs(60), run)
            .await
            .map_err(|_| self.err("no answer within 60 s"))?
            .map_err(|e| self.err(&e.to_string()))
    }

    /// Sends one command in RESP and returns the first line of the answer.
    async fn command(&self, args: &[&str]) -> std::io::Result<String> {
        let connect = tokio::net::TcpStream::connect(("127.0.0.1", self.port));
        let mut stream = tokio::time::timeout(Duration::from_secs(2), connect)
            .await
            .map_err(|_| std::io::Error::other("connect timed out"))??;
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        stream.write_all(req.as_bytes()).await?;
        let mut buf = vec![0u8; 512];
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .map_err(|_| std::io::Error::other("no answer"))??;
        Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
    }
}
