//! Component tests in headless Chromium (`wasm-bindgen-test`): mount and unmount as a host
//! would, and the health line's states.

#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)] // Test helpers: a panic is the failure report.

use lifeboat_shared::{ApiError, Health, HealthStatus, InstanceStart};
use lifeboat_ui::MountOptions;
use lifeboat_ui::api::ApiFailure;
use lifeboat_ui::components::health_badge::{HealthLine, HealthLineProps, HealthView};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn fresh_div() -> web_sys::Element {
    let doc = web_sys::window().unwrap().document().unwrap();
    let div = doc.create_element("div").unwrap();
    doc.body().unwrap().append_child(&div).unwrap();
    div
}

async fn settle() {
    yew::scheduler::flush().await;
    gloo_timers::future::TimeoutFuture::new(20).await;
}

#[wasm_bindgen_test]
async fn mount_renders_the_section_and_unmount_cleans_up() {
    let div = fresh_div();
    lifeboat_ui::plugin::mount_with(
        div.clone(),
        MountOptions::new("http://127.0.0.1:9", "/", false),
    );
    settle().await;
    let text = div.text_content().unwrap_or_default();
    assert!(text.contains("Backup and Restore"), "{text}");
    // Nothing listens on port 9: the page says so with the server's words (here, the
    // browser's) and what to do, instead of an empty or spinning page.
    for _ in 0..50 {
        if div
            .query_selector("[data-testid=error-banner]")
            .unwrap()
            .is_some()
        {
            break;
        }
        gloo_timers::future::TimeoutFuture::new(50).await;
    }
    let text = div.text_content().unwrap_or_default();
    assert!(
        text.contains("The storage configuration could not be loaded."),
        "{text}"
    );
    assert!(text.contains("Check that Lifeboat is running"), "{text}");
    assert!(
        div.query_selector("style").unwrap().is_none(),
        "the scoped stylesheet is lifeboat.css (which plugin.js links once), not a copy in each root"
    );
    assert!(
        div.query_selector("nav").unwrap().is_none(),
        "plugin mode draws no frame"
    );
    assert_eq!(lifeboat_ui::plugin::mounted_count(), 1);

    lifeboat_ui::plugin::unmount(div.clone());
    settle().await;
    assert_eq!(div.inner_html(), "");
    assert_eq!(lifeboat_ui::plugin::mounted_count(), 0);
    // Unmounting again is harmless.
    lifeboat_ui::plugin::unmount(div);
}

#[wasm_bindgen_test]
async fn standalone_mount_draws_the_settings_frame() {
    let div = fresh_div();
    lifeboat_ui::plugin::mount_with(div.clone(), MountOptions::new("", "/", true));
    settle().await;
    let nav = div
        .query_selector("nav[aria-label=Settings] [aria-current=page]")
        .unwrap()
        .unwrap();
    assert_eq!(nav.text_content().unwrap(), "Backup and Restore");
    lifeboat_ui::plugin::unmount(div);
}

async fn render_health(view: HealthView) -> String {
    let div = fresh_div();
    let handle =
        yew::Renderer::<HealthLine>::with_root_and_props(div.clone(), HealthLineProps { view })
            .render();
    settle().await;
    let text = div.text_content().unwrap_or_default();
    handle.destroy();
    text
}

#[wasm_bindgen_test]
async fn health_line_states() {
    let up = Health {
        status: HealthStatus::Ok,
        version: "1.2.3".into(),
        keycloak_sign_in: None,
        instance_start: None,
    };
    assert_eq!(
        render_health(HealthView::Up(up)).await,
        "Server OK · Lifeboat 1.2.3"
    );
    let degraded = Health {
        status: HealthStatus::Degraded,
        version: "1.2.3".into(),
        keycloak_sign_in: None,
        instance_start: None,
    };
    assert!(
        render_health(HealthView::Up(degraded))
            .await
            .contains("a tool is missing")
    );
    let starting = |failed_attempts, retry_in_seconds| {
        HealthView::Up(Health {
            status: HealthStatus::Ok,
            version: "1.2.3".into(),
            keycloak_sign_in: None,
            instance_start: Some(InstanceStart {
                failed_attempts,
                retry_in_seconds,
            }),
        })
    };
    assert_eq!(
        render_health(starting(0, None)).await,
        "The instance is starting (0 failed attempts so far; reload to check) · Lifeboat 1.2.3"
    );
    assert_eq!(
        render_health(starting(3, Some(8))).await,
        "The instance is starting (3 failed attempts so far; reload to check) · Lifeboat 1.2.3"
    );
    let down = HealthView::Down(ApiFailure::Server(
        ApiError::new("x", "Bucket gone").with_hint("Fix it"),
    ));
    assert_eq!(render_health(down).await, "Bucket gone (Fix it)");
    let net = HealthView::Down(ApiFailure::Network("refused".into()));
    assert!(
        render_health(net)
            .await
            .starts_with("Cannot reach the Lifeboat server")
    );
}

/// The wire types read from what `JSON.parse` makes, without serde-wasm-bindgen: tagged
/// enums, unknown values from a newer backend, optional and defaulted fields, fractions,
/// maps, and a mismatch in one sentence.
#[wasm_bindgen_test]
fn the_wire_types_are_read_from_parsed_json() {
    use lifeboat_shared::backup::BackupList;
    use lifeboat_shared::operation::{Operation, OperationKind, OperationStatus, Outcome};
    use lifeboat_ui::from_js::from_value;
    let parse = |s: &str| js_sys::JSON::parse(s).unwrap();
    let op: Operation = from_value(parse(
        r#"{"id":"op-1","revision":7,"kind":{"type":"restore","backup_id":"bk-1",
        "target_namespace":"dash","requested_by":"admin"},"status":"succeeded_with_warnings",
        "steps":[{"id":"fetch","title":"Fetch","status":"paused","detail":null}],
        "progress":{"bytes_done":5,"bytes_total":10,"rate_bytes_per_sec":1.5,"overall_fraction":0.25},
        "created_at":"2026-11-25T11:00:00Z","outcome":{"type":"restore","checklist":
        [{"action":"Log in again","subject":""}]},"a_newer_field":[1,{"x":null}]}"#,
    ))
    .unwrap();
    assert_eq!(op.revision, 7);
    assert!(matches!(op.kind, OperationKind::Restore { ref backup_id, .. } if backup_id == "bk-1"));
    assert_eq!(op.status, OperationStatus::SucceededWithWarnings);
    assert_eq!(
        op.steps[0].status,
        lifeboat_shared::operation::StepStatus::Unknown
    );
    assert_eq!(op.steps[0].detail, None);
    let p = op.progress.unwrap();
    assert_eq!(
        (p.bytes_done, p.bytes_total, p.files_done),
        (5, Some(10), 0)
    );
    assert_eq!(p.rate_bytes_per_sec, Some(1.5));
    assert_eq!(p.overall_fraction, Some(0.25));
    assert!(matches!(op.outcome, Some(Outcome::Restore { ref checklist }) if checklist.len() == 1));
    let kind: OperationKind = from_value(parse(r#"{"type":"verify"}"#)).unwrap();
    assert_eq!(kind, OperationKind::Unknown);

    let list: BackupList = from_value(parse(
        r#"{"backups":[{"id":"bk-1","started_at":"a","finished_at":"b","trigger":{"type":"manual","by":"admin"},
        "description":"","source":{"instance_id":"i","namespace":"dash"},"platform_version":"5.4",
        "lifeboat_version":"0.1.0","postgres_major":15,"components":[{"name":"postgres",
        "snapshot_id":"s","size_bytes":3}],"bytes_added":2,"size_bytes":3,"encrypted":true,
        "counts":{"keycloak.user_entity":12}}]}"#,
    ))
    .unwrap();
    assert_eq!(
        list.backups[0].counts.get("keycloak.user_entity"),
        Some(&12)
    );
    assert_eq!(
        list.backups[0].component("postgres").map(|c| c.size_bytes),
        Some(3)
    );

    let wrong = from_value::<Operation>(parse(r#"{"id":5}"#)).unwrap_err();
    assert!(
        wrong.to_string().contains("not what this page expects"),
        "{wrong}"
    );
    assert!(
        from_value::<BackupList>(parse(r#"{"backups":[{"id":"x","size_bytes":1.5}]}"#)).is_err()
    );
}
