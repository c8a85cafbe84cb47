//! Component tests in headless Chromium (`wasm-bindgen-test`): mount and unmount as a host
//! would, and the health line's states.

#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)] // Test helpers: a panic is the failure report.

use lifeboat_shared::{ApiError, Health, HealthStatus};
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
        div.query_selector("style").unwrap().is_some(),
        "scoped styles live inside the root"
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
    };
    assert_eq!(
        render_health(HealthView::Up(up)).await,
        "Server OK · Lifeboat 1.2.3"
    );
    let degraded = Health {
        status: HealthStatus::Degraded,
        version: "1.2.3".into(),
    };
    assert!(
        render_health(HealthView::Up(degraded))
            .await
            .contains("a tool is missing")
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
