//! `/operations`: the list, one operation, cancel, and the live stream (SSE).

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use futures::Stream;
use lifeboat_shared::operation::{Operation, OperationEvent, OperationList};
use tokio::sync::broadcast::error::RecvError;

use crate::error::{AppError, Json, Path};
use crate::jobs::JobsError;
use crate::state::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/operations", get(list))
        .route("/operations/events", get(events))
        .route("/operations/{id}", get(one))
        .route("/operations/{id}/cancel", post(cancel))
        .route("/operations/{id}/log", get(log))
}

async fn list(State(state): State<AppState>) -> Json<OperationList> {
    Json(OperationList {
        operations: state.operations().list(),
    })
}

/// One operation, and beside its fields the newest lines of its run's log (`log`), for
/// the progress page; the full log is `GET /operations/{id}/log`.
#[derive(serde::Serialize)]
struct WithLog {
    #[serde(flatten)]
    operation: Operation,
    #[serde(skip_serializing_if = "String::is_empty")]
    log: String,
}

/// Lines of the log that come with `GET /operations/{id}`.
const LOG_TAIL: usize = 300;

async fn one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<WithLog>, AppError> {
    let operation = state
        .operations()
        .get(&id)
        .ok_or_else(|| AppError::not_found(format!("no operation {}", crate::error::quote(&id))))?;
    let log = crate::jobs::context::log::text(&id)
        .map(|t| {
            let lines: Vec<&str> = t.lines().collect();
            let from = lines.len().saturating_sub(LOG_TAIL);
            let mut tail = lines[from..].join("\n");
            if from > 0 {
                tail = format!("… {from} earlier lines in GET /api/v1/operations/{id}/log\n{tail}");
            }
            tail
        })
        .unwrap_or_default();
    Ok(Json(WithLog { operation, log }))
}

/// `GET /operations/{id}/log`: what the tools printed for it, secrets removed, as text.
async fn log(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl axum::response::IntoResponse, AppError> {
    if state.operations().get(&id).is_none() {
        return Err(AppError::not_found(format!(
            "no operation {}",
            crate::error::quote(&id)
        )));
    }
    let text = crate::jobs::context::log::text(&id).unwrap_or_else(|| {
        "No log is kept for this operation: Lifeboat keeps the logs of its recent runs \
         until it restarts.\n"
            .to_owned()
    });
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        text,
    ))
}

async fn cancel(
    State(state): State<AppState>,
    caller: super::caller::Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Operation>), AppError> {
    match state.jobs().cancel(&id) {
        Ok(op) => {
            state.audit().record(
                &caller.who,
                &caller.from,
                "operation.cancel",
                &format!("cancel {}", crate::error::quote(&id)),
                "accepted",
            );
            Ok((StatusCode::ACCEPTED, Json(op)))
        }
        Err(JobsError::NotFound(_)) => Err(AppError::not_found(format!(
            "no operation {}",
            crate::error::quote(&id)
        ))),
        Err(JobsError::NotRunning(_)) => Err(AppError::new(
            StatusCode::CONFLICT,
            "not_running",
            format!("operation {} is not running", crate::error::quote(&id)),
        )),
        Err(e) => Err(AppError::internal(&e)),
    }
}

fn event(e: &OperationEvent) -> Event {
    let name = match e {
        OperationEvent::Snapshot { .. } => "snapshot",
        OperationEvent::Upsert { .. } => "upsert",
    };
    Event::default()
        .event(name)
        .json_data(e)
        .unwrap_or_else(|_| Event::default().comment("unencodable event"))
}

/// `snapshot` first, then one `upsert` per change. A subscriber that falls behind the bus
/// is disconnected; the client reconnects and gets a fresh snapshot.
async fn events(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let (operations, rx) = state.operations().subscribe();
    let first = event(&OperationEvent::Snapshot { operations });
    let shutdown = state.jobs().shutdown_token().clone();
    let updates = futures::stream::unfold((rx, shutdown), |(mut rx, shutdown)| async move {
        let next = tokio::select! {
            () = shutdown.cancelled() => return None,
            next = rx.recv() => next,
        };
        match next {
            Ok(op) => Some((
                Ok(event(&OperationEvent::Upsert {
                    operation: Box::new(op),
                })),
                (rx, shutdown),
            )),
            Err(RecvError::Lagged(n)) => {
                tracing::debug!(skipped = n, "closing a lagging event stream so it resyncs");
                None
            }
            Err(RecvError::Closed) => None,
        }
    });
    let stream =
        futures::StreamExt::chain(futures::stream::once(async move { Ok(first) }), updates);
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
