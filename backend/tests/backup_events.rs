//! The operations API without an instance (no tools run): the SSE stream sends a snapshot,
//! then an upsert per change with growing revisions; Backup Now with no instance is refused
//! (`503 instance_starting`) and a scheduled backup fails in pre-flight with a plain reason; operations survive a restart of the state.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use lifeboat::app::app;
use lifeboat::runtime::host::toolbox::Toolbox;
use lifeboat::state::{AppState, Settings};
use lifeboat_shared::operation::{OperationEvent, OperationStatus};
use tower::ServiceExt;

fn state(dir: &std::path::Path) -> AppState {
    lifeboat::cli::local_state(
        Settings {
            data_dir: dir.join("data"),
            static_dir: dir.join("dist"),
            allowed_origins: vec![],
        },
        Toolbox::discover(),
        None,
    )
}

/// Reads SSE events (name, data) until `stop` says so.
async fn read_events(
    body: Body,
    mut stop: impl FnMut(&[(String, OperationEvent)]) -> bool,
) -> Vec<(String, OperationEvent)> {
    let mut body = body;
    let mut buf = String::new();
    let mut events = Vec::new();
    while !stop(&events) {
        let frame = tokio::time::timeout(Duration::from_secs(20), body.frame())
            .await
            .expect("no event within 20 s")
            .unwrap()
            .unwrap();
        if let Ok(data) = frame.into_data() {
            buf.push_str(std::str::from_utf8(&data).unwrap());
        }
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let name = block.lines().find_map(|l| l.strip_prefix("event: "));
            let data = block.lines().find_map(|l| l.strip_prefix("data: "));
            if let (Some(n), Some(d)) = (name, data) {
                events.push((n.to_owned(), serde_json::from_str(d).unwrap()));
            }
        }
    }
    events
}

#[tokio::test]
async fn snapshot_then_upserts_and_preflight_explains_a_missing_instance() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path());
    let router = app(state.clone());

    let resp = router
        .clone()
        .oneshot(
            Request::get("/api/v1/operations/events")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let reader = tokio::spawn(read_events(resp.into_body(), |ev| {
        ev.iter().any(|(_, e)| {
            matches!(e, OperationEvent::Upsert { operation } if operation.status.is_terminal())
        })
    }));

    // Backup Now with no instance is refused at once…
    let resp = router
        .clone()
        .oneshot(
            Request::post("/api/v1/backups")
                .header("content-type", "application/json")
                .body(Body::from(r#"{"description":"no instance"}"#))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["code"], "instance_starting", "{body}");
    // …while a scheduled one (the scheduler does not ask first) fails in pre-flight.
    state
        .jobs()
        .start_backup(
            "no instance".into(),
            lifeboat_shared::operation::Trigger::Scheduled,
            true,
            None,
        )
        .unwrap();

    let events = reader.await.unwrap();
    assert_eq!(events[0].0, "snapshot");
    assert!(
        matches!(&events[0].1, OperationEvent::Snapshot { operations } if operations.is_empty())
    );
    let revisions: Vec<u64> = events[1..]
        .iter()
        .map(|(name, e)| {
            assert_eq!(name, "upsert");
            match e {
                OperationEvent::Upsert { operation } => operation.revision,
                OperationEvent::Snapshot { .. } => panic!("a second snapshot"),
            }
        })
        .collect();
    assert!(revisions.windows(2).all(|w| w[0] < w[1]), "{revisions:?}");
    let OperationEvent::Upsert { operation } = &events.last().unwrap().1 else {
        panic!()
    };
    assert_eq!(operation.status, OperationStatus::Failed);
    let err = operation.error.as_ref().unwrap();
    assert_eq!(err.code, "instance_not_ready");
    assert!(
        err.message.starts_with("Pre-flight checks failed"),
        "{}",
        err.message
    );

    // Durable: a new state on the same data dir knows it.
    let again = state_with_same_dir(dir.path());
    assert_eq!(
        again.operations().get(&operation.id).unwrap().revision,
        operation.revision
    );
    let resp = app(again)
        .oneshot(
            Request::get("/api/v1/instance")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
}

fn state_with_same_dir(dir: &std::path::Path) -> AppState {
    state(dir)
}

#[tokio::test]
async fn a_subscriber_that_falls_behind_is_closed_so_it_resyncs() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path());
    let router = app(state.clone());
    let resp = router
        .oneshot(
            Request::get("/api/v1/operations/events")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let mut body = resp.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert!(
        std::str::from_utf8(&first)
            .unwrap()
            .starts_with("event: snapshot")
    );
    // More changes than the bus holds, while the client reads nothing.
    let template = lifeboat_shared::operation::Operation {
        id: String::new(),
        revision: 0,
        kind: lifeboat_shared::operation::OperationKind::Unknown,
        status: OperationStatus::Succeeded,
        steps: vec![],
        progress: None,
        warnings: vec![],
        error: None,
        created_at: "2026-11-25T00:00:00Z".into(),
        finished_at: None,
        outcome: None,
    };
    for i in 0..(lifeboat::operations::BUS_CAPACITY + 50) {
        let mut op = template.clone();
        op.id = format!("op-{i:04}");
        state.operations().insert(op).unwrap();
    }
    let mut upserts = 0;
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .expect("the stream neither ended nor sent anything");
        match frame {
            None => break,
            Some(f) => {
                if let Ok(data) = f.unwrap().into_data() {
                    upserts += std::str::from_utf8(&data)
                        .unwrap()
                        .matches("event: upsert")
                        .count();
                }
            }
        }
    }
    assert!(
        upserts < lifeboat::operations::BUS_CAPACITY + 50,
        "the stream ended after {upserts} upserts instead of delivering a gap"
    );
}
