//! `redis-cli --rdb` that cannot hang: a Redis that stops answering would hold the RDB
//! transfer forever (redis-cli reads without a timeout), so the run is cut off when the
//! RDB has not grown for [`STALL`] and the server does not answer `PING`. A server busy
//! forking still answers.

use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::process::Runner;
use crate::command::{ToolCommand, ToolOutput};
use crate::runtime::RuntimeError;

/// How long an RDB may stop growing while its Redis does not answer before the Redis is
/// taken to have stopped answering.
pub const STALL: Duration = Duration::from_secs(10);

/// The Redis stopped answering: the RDB did not grow for [`STALL`] (the partial file is
/// removed).
#[derive(Debug, thiserror::Error)]
#[error("its RDB did not grow for {} s and it did not answer PING", STALL.as_secs())]
pub struct Stalled;

/// Runs `cmd` (a `redis-cli --rdb` into `target`) with `runner`; `answers` says whether the
/// server answers `PING` now.
pub async fn until_stalled<F, Fut>(
    runner: &Runner,
    cmd: ToolCommand,
    cancel: CancellationToken,
    target: &Path,
    answers: F,
) -> Result<Result<ToolOutput, RuntimeError>, Stalled>
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    let token = cancel.child_token();
    let done = CancellationToken::new();
    let stalled = AtomicBool::new(false);
    let watch = async {
        let (mut last, mut since) = (0, tokio::time::Instant::now());
        loop {
            tokio::select! {
                () = done.cancelled() => return,
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
            let now = std::fs::metadata(target).map(|m| m.len()).unwrap_or(0);
            if now != last {
                (last, since) = (now, tokio::time::Instant::now());
            } else if since.elapsed() >= STALL && !answers().await {
                stalled.store(true, Ordering::SeqCst);
                token.cancel();
                return;
            }
        }
    };
    let run = async {
        let out = runner.run(cmd, token.clone(), &mut |_, _| {}).await;
        done.cancel();
        out
    };
    let (out, ()) = tokio::join!(run, watch);
    if matches!(out, Err(RuntimeError::Cancelled(_))) && stalled.load(Ordering::SeqCst) {
        let _ = std::fs::remove_file(target);
        return Err(Stalled);
    }
    Ok(out)
}
