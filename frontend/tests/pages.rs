//! The pages in headless Chromium, without a server: the main page while loading, signed
//! out, with no bucket, and with a backup running; the operation page given live operations,
//! and its Retry restore failing. Where a page calls the API, `window.fetch` is replaced by
//! a table of canned answers (see [`serve`]), so each state is exactly the one under test.

#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)] // Test helpers: a panic is the failure report.

use lifeboat_shared::ApiError;
use lifeboat_shared::operation::{Operation, OperationKind, OperationStatus, Trigger};
use lifeboat_ui::MountOptions;
use lifeboat_ui::api::Api;
use lifeboat_ui::hooks::Operations;
use lifeboat_ui::pages::backup_restore::BackupRestorePage;
use lifeboat_ui::pages::operation::OperationPage;
use lifeboat_ui::router::Router;
use lifeboat_ui::state::{Link, OperationsState};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, HtmlInputElement};
use yew::prelude::*;

wasm_bindgen_test_configure!(run_in_browser);

fn fresh_div() -> Element {
    let doc = web_sys::window().unwrap().document().unwrap();
    let div = doc.create_element("div").unwrap();
    doc.body().unwrap().append_child(&div).unwrap();
    div
}

async fn settle() {
    yew::scheduler::flush().await;
    gloo_timers::future::TimeoutFuture::new(30).await;
}

/// Waits (up to a second) until `selector` matches inside `root`.
async fn wait_for(root: &Element, selector: &str) -> Element {
    for _ in 0..50 {
        if let Some(el) = root.query_selector(selector).unwrap() {
            return el;
        }
        gloo_timers::future::TimeoutFuture::new(20).await;
    }
    panic!("no {selector} in {}", root.inner_html());
}

fn find(root: &Element, testid: &str) -> Option<Element> {
    root.query_selector(&format!("[data-testid={testid}]"))
        .unwrap()
}

fn text(root: &Element, testid: &str) -> String {
    find(root, testid)
        .and_then(|e| e.text_content())
        .unwrap_or_default()
}

fn disabled(root: &Element, testid: &str) -> bool {
    find(root, testid).unwrap().has_attribute("disabled")
}

/// Replaces `window.fetch` with canned answers: `(API path, status, JSON body)`, matched on
/// the URL's path under `/api/v1` (a query string is ignored). Any other call fails as an
/// unreachable server does.
fn serve(routes: &[(&str, u16, &str)]) {
    let table = js_sys::Array::new();
    for (path, status, body) in routes {
        table.push(&js_sys::Array::of3(
            &JsValue::from_str(path),
            &JsValue::from(*status),
            &JsValue::from_str(body),
        ));
    }
    let make = js_sys::Function::new_with_args(
        "routes",
        "return (url) => {
            const path = new URL(url, location.href).pathname;
            for (const [p, status, body] of routes) {
                if (path === '/api/v1' + p) {
                    return Promise.resolve(new Response(body,
                        { status, headers: { 'Content-Type': 'application/json' } }));
                }
            }
            return Promise.reject(new TypeError('Failed to fetch'));
        };",
    );
    let fetch = make.call1(&JsValue::NULL, &table).unwrap();
    js_sys::Reflect::set(&js_sys::global(), &"fetch".into(), &fetch).unwrap();
}

/// Properties of [`Host`].
#[derive(Debug, Clone, PartialEq, Properties)]
struct HostProps {
    /// The API client, or none (every fetch stays loading).
    api: Option<Api>,
    /// The live operations the pages see.
    ops: Vec<Operation>,
    /// The operation page of `op-1` instead of the main page.
    operation_page: bool,
}

/// What the app gives a page: the API client, the router, the live operations.
#[function_component(Host)]
fn host(props: &HostProps) -> Html {
    let ops = props.ops.clone();
    let live: Operations = use_reducer(move || OperationsState {
        operations: ops,
        loaded: true,
        link: Link::Live,
    });
    let page = if props.operation_page {
        html! { <OperationPage id="op-1" /> }
    } else {
        html! { <BackupRestorePage /> }
    };
    let routed = html! {
        <Router base_path="/">
            <ContextProvider<Operations> context={live}>{ page }</ContextProvider<Operations>>
        </Router>
    };
    match &props.api {
        Some(api) => {
            html! { <ContextProvider<Api> context={api.clone()}>{ routed }</ContextProvider<Api>> }
        }
        None => routed,
    }
}

fn render(api: Option<Api>, ops: Vec<Operation>, operation_page: bool) -> (Element, AppHandle) {
    let div = fresh_div();
    let handle = yew::Renderer::<Host>::with_root_and_props(
        div.clone(),
        HostProps {
            api,
            ops,
            operation_page,
        },
    )
    .render();
    (div, handle)
}

type AppHandle = yew::AppHandle<Host>;

fn standalone_api() -> Api {
    Api::new(&MountOptions::new("", "/", true))
}

fn operation(kind: OperationKind, status: OperationStatus) -> Operation {
    Operation {
        id: "op-1".into(),
        revision: 1,
        kind,
        status,
        steps: vec![],
        progress: None,
        warnings: vec![],
        error: None,
        created_at: "2026-11-25T11:00:00Z".into(),
        finished_at: None,
        outcome: None,
    }
}

const NO_BUCKET: &str = r#"{"passphrase_set":false,"credentials_set":false}"#;
const LOCAL_BUCKET: &str = r#"{"config":{"provider":{"provider":"local","path":""},"secret_name":"",
    "retention":{"keep_last":0,"keep_daily":0,"keep_weekly":0,"keep_monthly":0}},
    "passphrase_set":false,"credentials_set":false}"#;
const NO_BACKUPS: &str = r#"{"backups":[]}"#;
const NO_AUDIT: &str = r#"{"entries":[]}"#;
const HEALTH: &str = r#"{"status":"ok","version":"0.1.0"}"#;
const INSTANCE: &str =
    r#"{"instance_id":"i-1","namespace":"dash","runtime":"local","components":[]}"#;

#[wasm_bindgen_test]
async fn without_a_server_the_main_page_is_loading() {
    let (div, handle) = render(None, vec![], false);
    settle().await;
    let page = text(&div, "backup-restore");
    assert!(
        page.contains("Loading the storage configuration…"),
        "{page}"
    );
    assert!(page.contains("Loading the backups…"), "{page}");
    // Backup Now waits for the configuration; the reason is there for screen readers.
    assert!(disabled(&div, "backup-now"));
    assert!(find(&div, "backup-disabled-reason").is_none());
    assert!(find(&div, "current-operation").is_none());
    assert_eq!(text(&div, "health"), "Checking the Lifeboat server…");
    handle.destroy();
}

#[wasm_bindgen_test]
async fn signed_out_standalone_shows_the_sign_in_form_and_a_refused_token() {
    let signed_out =
        r#"{"code":"unauthenticated","message":"Sign in to use Lifeboat.","hint":null}"#;
    serve(&[
        ("/config", 401, signed_out),
        ("/backups", 401, signed_out),
        ("/audit", 401, signed_out),
        ("/instance", 401, signed_out),
        ("/health", 200, HEALTH),
        (
            "/session",
            401,
            r#"{"code":"invalid_token","message":"That token is not valid.","hint":"Copy it again."}"#,
        ),
    ]);
    let (div, handle) = render(Some(standalone_api()), vec![], false);
    wait_for(&div, "[data-testid=signin]").await;
    assert!(text(&div, "signin").contains("Sign in to use Lifeboat."));
    assert!(
        find(&div, "backup-now").is_none(),
        "no cards while signed out"
    );
    assert!(find(&div, "signin-error").is_none());

    let input = find(&div, "signin-token").unwrap();
    input.unchecked_ref::<HtmlInputElement>().set_value("wrong");
    input
        .dispatch_event(&web_sys::InputEvent::new("input").unwrap())
        .unwrap();
    settle().await;
    find(&div, "signin-submit")
        .unwrap()
        .unchecked_into::<HtmlElement>()
        .click();
    let error = wait_for(&div, "[data-testid=signin-error]").await;
    let words = error.text_content().unwrap_or_default();
    assert!(words.contains("That token is not valid."), "{words}");
    assert!(words.contains("Copy it again."), "{words}");
    assert!(
        !disabled(&div, "signin-submit"),
        "a refusal ends the busy state"
    );
    handle.destroy();
}

#[wasm_bindgen_test]
async fn with_no_bucket_the_page_says_what_to_do_first() {
    serve(&[
        ("/config", 200, NO_BUCKET),
        ("/backups", 200, NO_BACKUPS),
        ("/audit", 200, NO_AUDIT),
        ("/instance", 200, INSTANCE),
        ("/health", 200, HEALTH),
    ]);
    let (div, handle) = render(Some(standalone_api()), vec![], false);
    let summary = wait_for(&div, "[data-testid=config-summary]").await;
    assert_eq!(
        summary.get_attribute("data-configured").as_deref(),
        Some("false")
    );
    assert_eq!(text(&div, "edit-config"), "Configure storage");
    let empty = div.query_selector_all("[data-testid=empty-state]").unwrap();
    assert_eq!(empty.length(), 2, "{}", div.inner_html());
    let backups = empty.item(1).unwrap().text_content().unwrap_or_default();
    assert!(
        backups.contains("Configure a bucket to start backing up"),
        "{backups}"
    );
    assert!(disabled(&div, "backup-now"));
    assert!(
        find(&div, "backup-disabled-reason").is_none(),
        "without a bucket the reason is read out, not shown"
    );
    wait_for(&div, ".lb-health-ok").await;
    handle.destroy();
}

#[wasm_bindgen_test]
async fn a_running_backup_is_in_progress_and_blocks_backup_now() {
    serve(&[
        ("/config", 200, LOCAL_BUCKET),
        ("/backups", 200, NO_BACKUPS),
        ("/audit", 200, NO_AUDIT),
        ("/instance", 200, INSTANCE),
        ("/health", 200, HEALTH),
    ]);
    let running = operation(
        OperationKind::Backup {
            description: "Before the upgrade".into(),
            trigger: Trigger::Scheduled,
        },
        OperationStatus::Running,
    );
    let (div, handle) = render(Some(standalone_api()), vec![running], false);
    let row = wait_for(&div, "[data-testid=backup-row-running]").await;
    let row = row.text_content().unwrap_or_default();
    assert!(row.contains("Before the upgrade"), "{row}");
    assert!(row.contains("Running"), "{row}");
    assert!(text(&div, "current-operation").contains("In progress"));
    assert!(disabled(&div, "backup-now"));
    // The icon is a drawn "i" (U+24D8 is an empty box in Debian's default fonts).
    let reason = text(&div, "backup-disabled-reason");
    assert_eq!(
        reason,
        "iA backup is running: start a new backup when it ends."
    );
    assert!(
        div.query_selector("[data-testid=backup-disabled-reason] .lb-i")
            .unwrap()
            .is_some()
    );
    handle.destroy();
}

fn failed_restore() -> Operation {
    let mut op = operation(
        OperationKind::Restore {
            backup_id: "bk-1".into(),
            target_namespace: "dash".into(),
            requested_by: "admin".into(),
        },
        OperationStatus::Failed,
    );
    op.error = Some(
        ApiError::new("restore_failed", "The database did not restore.").with_hint("See the log."),
    );
    op.finished_at = Some("2026-11-25T11:02:00Z".into());
    op
}

#[wasm_bindgen_test]
async fn the_operation_page_loads_then_shows_the_live_operation() {
    let (div, handle) = render(None, vec![], true);
    settle().await;
    assert!(text(&div, "operation").contains("Loading the operation…"));
    handle.destroy();

    let (div, handle) = render(None, vec![failed_restore()], true);
    settle().await;
    assert_eq!(
        div.query_selector("h1")
            .unwrap()
            .unwrap()
            .text_content()
            .unwrap(),
        "Operation op-1"
    );
    assert!(text(&div, "operation-error").contains("The database did not restore."));
    assert!(text(&div, "retry-note").contains("Retry restore"));
    assert!(!disabled(&div, "retry-restore"));
    assert!(find(&div, "checklist").is_none());
    handle.destroy();
}

#[wasm_bindgen_test]
async fn a_retry_of_a_backup_no_longer_in_the_catalog_says_so() {
    serve(&[
        (
            "/operations/op-1",
            404,
            r#"{"code":"not_found","message":"gone","hint":null}"#,
        ),
        ("/backups", 200, NO_BACKUPS),
        ("/instance", 200, INSTANCE),
    ]);
    let (div, handle) = render(Some(standalone_api()), vec![failed_restore()], true);
    settle().await;
    find(&div, "retry-restore")
        .unwrap()
        .unchecked_into::<HtmlElement>()
        .click();
    let banner = wait_for(&div, "[data-testid=error-banner]").await;
    let words = banner.text_content().unwrap_or_default();
    assert!(words.contains("The restore cannot be retried."), "{words}");
    assert!(
        words.contains("Backup bk-1 is no longer in the bucket's catalog."),
        "{words}"
    );
    assert!(find(&div, "restore-dialog").is_none());
    assert!(!disabled(&div, "retry-restore"));
    handle.destroy();
}
