//! The pages in headless Chromium, without a server: the main page while loading, signed
//! out, with no bucket, and with a backup running; the operation page given live operations,
//! and its Retry restore failing; the managed Secret's command naming the instance's
//! namespace. Where a page calls the API, `window.fetch` is replaced by a table of canned
//! answers (see [`serve`]), so each state is exactly the one under test.

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

fn text_of(root: &Element, selector: &str) -> String {
    root.query_selector(selector)
        .unwrap()
        .and_then(|e| e.text_content())
        .unwrap_or_default()
}

fn disabled(root: &Element, testid: &str) -> bool {
    find(root, testid).unwrap().has_attribute("disabled")
}

/// The calls the page made since [`serve`] (`POST /operations/op-1/cancel`, with the query
/// string if any), and forgets them.
fn calls() -> Vec<String> {
    let got = js_sys::Reflect::get(&js_sys::global(), &"__lbCalls".into()).unwrap();
    js_sys::Reflect::set(
        &js_sys::global(),
        &"__lbCalls".into(),
        &js_sys::Array::new(),
    )
    .unwrap();
    if got.is_undefined() {
        return Vec::new();
    }
    got.unchecked_into::<js_sys::Array>()
        .iter()
        .filter_map(|v| v.as_string())
        .collect()
}

/// Replaces `window.fetch` with canned answers (and records each call for [`calls`]): `(API path, status, JSON body)`, matched on
/// the URL's path under `/api/v1` (a query string is ignored), or on `METHOD path` (`PUT
/// /config`) for one method only (list those first). Any other call fails as an
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
        "return (url, init) => {
            const path = new URL(url, location.href).pathname.slice(7);
            const method = (init && init.method) || 'GET';
            const query = new URL(url, location.href).search;
            (globalThis.__lbCalls = globalThis.__lbCalls || []).push(method + ' ' + path + query);
            for (const [p, status, body] of routes) {
                if (path === p || method + ' ' + path === p) {
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

/// Serves `extra` (first), then the main page's five calls with `config` as the
/// configuration, a local bucket's empty catalog and audit trail, the instance and health.
fn serve_main_page(config: &'static str, extra: &[(&'static str, u16, &'static str)]) {
    let mut routes = extra.to_vec();
    routes.extend([
        ("/config", 200, config),
        ("/backups", 200, NO_BACKUPS),
        ("/audit", 200, NO_AUDIT),
        ("/instance", 200, INSTANCE),
        ("/health", 200, HEALTH),
    ]);
    serve(&routes);
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
async fn signed_out_standalone_offers_keycloak_when_lifeboat_trusts_a_realm() {
    let signed_out =
        r#"{"code":"unauthenticated","message":"Sign in to use Lifeboat.","hint":null}"#;
    serve(&[
        ("/config", 401, signed_out),
        ("/backups", 401, signed_out),
        ("/audit", 401, signed_out),
        ("/instance", 401, signed_out),
        (
            "/health",
            200,
            r#"{"status":"ok","version":"0.1.0","keycloak_sign_in":"/auth/keycloak"}"#,
        ),
    ]);
    let (div, handle) = render(Some(standalone_api()), vec![], false);
    let link = wait_for(&div, "[data-testid=signin-keycloak]").await;
    assert_eq!(
        link.text_content().unwrap_or_default(),
        "Sign in with Keycloak"
    );
    let href = link.get_attribute("href").unwrap_or_default();
    assert!(href.starts_with("/auth/keycloak?return=%2F"), "{href}");
    assert!(
        find(&div, "signin-token").is_some(),
        "the admin token still works"
    );
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
        find(&div, "signin-keycloak").is_none(),
        "no Keycloak sign-in when the health names none"
    );
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
    // Focus is on the refusal, not lost to the page's body.
    settle().await;
    assert!(
        error.contains(active().as_deref()),
        "focus is on {:?}",
        active().map(|a| a.outer_html())
    );
    handle.destroy();
}

fn active() -> Option<Element> {
    web_sys::window()?.document()?.active_element()
}

async fn type_into(root: &Element, testid: &str, value: &str) {
    let input = find(root, testid).unwrap();
    input.unchecked_ref::<HtmlInputElement>().set_value(value);
    input
        .dispatch_event(&web_sys::InputEvent::new("input").unwrap())
        .unwrap();
    settle().await;
}

fn click(root: &Element, testid: &str) {
    find(root, testid)
        .unwrap()
        .unchecked_into::<HtmlElement>()
        .click();
}

/// Waits (up to two seconds) until `selector` inside `root` has text containing `needle`.
async fn wait_text(root: &Element, selector: &str, needle: &str) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        last = root
            .query_selector(selector)
            .unwrap()
            .and_then(|e| e.text_content())
            .unwrap_or_default();
        if last.contains(needle) {
            return last;
        }
        gloo_timers::future::TimeoutFuture::new(20).await;
    }
    panic!("{selector} never said {needle:?}: {last:?}");
}

/// Clicks `testid`, then checks that focus went to `selector` (not the page's body).
async fn focus_after(div: &Element, testid: &str, selector: &str) {
    click(div, testid);
    let target = wait_for(div, selector).await;
    settle().await;
    assert_eq!(active(), Some(target), "focus after {testid}");
}

const DEFAULT_BUCKET: &str = r#"{"config":{"provider":{"provider":"local","path":""},"secret_name":"",
        "retention":{"keep_last":0,"keep_daily":0,"keep_weekly":0,"keep_monthly":0}},
        "is_default":true,"passphrase_set":false,"credentials_set":false}"#;

/// The main page with a local bucket, the configuration form open and the schedule switched
/// on; `/config/schedule` answers `status` with `preview`.
async fn schedule_form(status: u16, preview: &'static str) -> (Element, AppHandle) {
    serve_main_page(LOCAL_BUCKET, &[("/config/schedule", status, preview)]);
    let (div, handle) = render(Some(standalone_api()), vec![], false);
    wait_for(&div, "[data-testid=edit-config]").await;
    click(&div, "edit-config");
    wait_for(&div, "[data-testid=config-form]").await;
    click(&div, "config-schedule-enabled");
    settle().await;
    (div, handle)
}

#[wasm_bindgen_test]
async fn the_schedule_is_checked_as_typed_in_our_words_and_previewed_before_saving() {
    let (div, handle) = schedule_form(
        200,
        r#"{"description":"At 02:00 (Europe/Berlin)","next_runs":["2026-11-26T02:00:00+01:00",
            "2026-11-27T02:00:00+01:00","2026-11-28T02:00:00+01:00","2026-11-29T02:00:00+01:00",
            "2026-11-30T02:00:00+01:00"]}"#,
    )
    .await;
    // Both mistakes at once, each beside its field, in our words.
    type_into(&div, "config-cron", "61 * * * *").await;
    type_into(&div, "config-timezone", "Mars/Olympus").await;
    let cron = text_of(&div, "#lb-cfg-cron-error");
    assert!(cron.contains("61 is not a minute (0–59)."), "{cron}");
    assert!(!cron.contains("Component error"), "{cron}");
    let tz = text_of(&div, "#lb-cfg-timezone-error");
    assert!(tz.contains("Mars/Olympus is not a time zone"), "{tz}");
    assert!(text(&div, "schedule-preview").contains("Correct the schedule"));
    // Fixed: the errors go, and the schedule is explained before it is saved.
    type_into(&div, "config-cron", "0 2 * * *").await;
    type_into(&div, "config-timezone", "Europe/Berlin").await;
    assert!(div.query_selector("#lb-cfg-cron-error").unwrap().is_none());
    assert!(
        div.query_selector("#lb-cfg-timezone-error")
            .unwrap()
            .is_none()
    );
    wait_text(
        &div,
        "[data-testid=schedule-preview]",
        "At 02:00 (Europe/Berlin)",
    )
    .await;
    let runs = div
        .query_selector_all("[data-testid=schedule-preview] li")
        .unwrap();
    assert_eq!(runs.length(), 5);
    handle.destroy();
}

#[wasm_bindgen_test]
async fn a_schedule_the_server_objects_to_is_marked_beside_its_field() {
    let (div, handle) = schedule_form(
            422,
            r#"{"code":"invalid_cron","message":"this schedule never runs (no such date, e.g. 30 February)","hint":null}"#,
        )
        .await;
    type_into(&div, "config-cron", "0 0 30 2 *").await;
    wait_text(&div, "#lb-cfg-cron-error", "never runs").await;
    handle.destroy();
}

#[wasm_bindgen_test]
async fn focus_goes_to_the_new_operation_after_start_backup_and_to_the_refusal_of_a_save() {
    serve_main_page(
        DEFAULT_BUCKET,
        &[
            (
                "POST /backups",
                200,
                r#"{"id":"op-9","revision":1,"kind":{"type":"backup","description":"",
                "trigger":{"type":"manual","by":"admin"}},"status":"running","steps":[],
                "created_at":"2026-11-25T11:00:00Z"}"#,
            ),
            (
                "PUT /config",
                422,
                r#"{"code":"invalid_config","message":"schedule: refused here","hint":"Fix it."}"#,
            ),
        ],
    );
    let (div, handle) = render(Some(standalone_api()), vec![], false);
    wait_for(&div, "[data-testid=empty-state]").await;
    // The empty state names the button as it reads.
    assert_eq!(text(&div, "edit-config"), "Configure storage");
    assert!(text(&div, "empty-state").contains("set a schedule with Configure storage above"));

    click(&div, "backup-now");
    wait_for(&div, "[data-testid=backup-dialog]").await;
    focus_after(
        &div,
        "backup-start",
        "[data-testid=current-operation] #lb-op-h",
    )
    .await;
    handle.destroy();

    // Without a backup running, a save the server refuses.
    let (div, handle) = render(Some(standalone_api()), vec![], false);
    wait_for(&div, "[data-testid=edit-config]").await;
    click(&div, "edit-config");
    wait_for(&div, "[data-testid=config-form]").await;
    let banner = "[data-testid=config-form] [data-testid=error-banner]";
    focus_after(&div, "save-config", banner).await;
    assert!(text(&div, "config-form").contains("schedule: refused here"));
    handle.destroy();
}

#[wasm_bindgen_test]
async fn with_no_bucket_the_page_says_what_to_do_first() {
    serve_main_page(NO_BUCKET, &[]);
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
    serve_main_page(LOCAL_BUCKET, &[]);
    let running = operation(
        OperationKind::Backup {
            backup_type: None,
            description: "Before the upgrade".into(),
            trigger: Trigger::Scheduled,
            include_apps: true,
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

/// What Retry restore loads: the catalog `backups` and the instance (the operation itself
/// is gone from the server: the page has it live).
fn serve_retry(backups: &'static str) {
    serve(&[
        (
            "/operations/op-1",
            404,
            r#"{"code":"not_found","message":"gone","hint":null}"#,
        ),
        ("/backups", 200, backups),
        ("/instance", 200, INSTANCE),
    ]);
}

fn failed_restore() -> Operation {
    let mut op = operation(
        OperationKind::Restore {
            backup_id: "bk-1".into(),
            target_namespace: "dash".into(),
            requested_by: "admin".into(),
            apps: None,
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
        "Restore of bk-1 into namespace dash"
    );
    assert!(text(&div, "operation-error").contains("The database did not restore."));
    assert!(text(&div, "retry-note").contains("Retry restore"));
    assert!(!disabled(&div, "retry-restore"));
    assert!(find(&div, "checklist").is_none());
    handle.destroy();
}

#[wasm_bindgen_test]
async fn a_retry_of_a_backup_no_longer_in_the_catalog_says_so() {
    serve_retry(NO_BACKUPS);
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

const TWO_BACKUPS: &str = r#"{"backups":[
    {"id":"bk-2","started_at":"2026-11-26T02:00:00Z","finished_at":"2026-11-26T02:01:00Z",
    "trigger":{"type":"scheduled"},"description":"","source":{"instance_id":"i","namespace":"dash"},
    "platform_version":"5.4","lifeboat_version":"0.1.0","postgres_major":15,"components":[],
    "bytes_added":5,"size_bytes":100,"encrypted":false},
    {"id":"bk-1","started_at":"2026-11-25T02:00:00Z","finished_at":"2026-11-25T02:01:00Z",
    "trigger":{"type":"scheduled"},"description":"","source":{"instance_id":"i","namespace":"dash"},
    "platform_version":"5.4","lifeboat_version":"0.1.0","postgres_major":15,"components":[],
    "bytes_added":90,"size_bytes":100,"encrypted":false}]}"#;

#[wasm_bindgen_test]
async fn the_main_page_counts_down_to_the_next_run_and_shows_the_buckets_growth() {
    let at = |ms: f64| {
        String::from(
            js_sys::Date::new(&JsValue::from_f64(js_sys::Date::now() + ms)).to_iso_string(),
        )
    };
    // The first of the saved next runs has passed since the configuration was loaded.
    let config = format!(
        r#"{{"config":{{"provider":{{"provider":"local","path":""}},"secret_name":"",
        "schedule":{{"cron":"5 * * * *","timezone":"UTC"}},
        "retention":{{"keep_last":0,"keep_daily":0,"keep_weekly":0,"keep_monthly":0}}}},
        "passphrase_set":false,"credentials_set":false,
        "schedule_preview":{{"description":"At 5 minutes past the hour (UTC)",
        "next_runs":["{}","{}"]}}}}"#,
        at(-60_000.0),
        at(7_500_000.0)
    );
    let config: &'static str = Box::leak(config.into_boxed_str());
    serve(&[
        ("/config", 200, config),
        ("/backups", 200, TWO_BACKUPS),
        (
            "/bucket",
            200,
            r#"{"stored_bytes":3145728,"objects":42,"measured_at":"2026-11-27T02:00:00Z"}"#,
        ),
        ("/audit", 200, NO_AUDIT),
        ("/instance", 200, INSTANCE),
        ("/health", 200, HEALTH),
    ]);
    let (div, handle) = render(Some(standalone_api()), vec![], false);
    wait_for(&div, "[data-testid=backup-row]").await;
    wait_for(&div, "[data-testid=repository-stored]").await;
    assert_eq!(
        text(&div, "repository-stored"),
        "The bucket holds 3.0 MiB in 42 objects below Lifeboat's prefix (what the provider bills)."
    );
    // The chart says what it draws: the amounts, the dates, the axis.
    let labels: Vec<String> = {
        let all = div
            .query_selector_all("[data-testid=repository-timeline] text")
            .unwrap();
        (0..all.length())
            .filter_map(|i| all.item(i)?.text_content())
            .collect()
    };
    assert_eq!(labels.len(), 5, "{labels:?}");
    assert_eq!(labels[0], "95 B");
    assert!(labels[4].contains("added to the bucket"), "{labels:?}");
    let next = text(&div, "next-run");
    assert!(next.starts_with("Next scheduled backup: "), "{next}");
    assert!(next.ends_with("(in 2 h 5 min)"), "{next}");
    assert_eq!(
        text(&div, "repository-figures"),
        "2 backups protect 200 B in all and added 95 B to the bucket (2.1× less than storing each in full)."
    );
    let dots = div
        .query_selector_all("[data-testid=repository-timeline] circle")
        .unwrap();
    assert_eq!(dots.length(), 2, "one dot a backup");
    let label = find(&div, "repository-timeline")
        .unwrap()
        .get_attribute("aria-label")
        .unwrap_or_default();
    assert!(
        label.starts_with("The bucket's growth, backup by backup"),
        "{label}"
    );
    handle.destroy();
}

#[wasm_bindgen_test]
async fn damaged_backups_are_listed_with_what_is_wrong() {
    let with_damaged: &'static str = Box::leak(
        TWO_BACKUPS
            .replace(
                "]}",
                r#"],"damaged":[{"id":"bk-0","problem":"its manifest is not valid JSON (truncated?)"}]}"#,
            )
            .into_boxed_str(),
    );
    serve_main_page(LOCAL_BUCKET, &[("/backups", 200, with_damaged)]);
    let (div, handle) = render(Some(standalone_api()), vec![], false);
    wait_for(&div, "[data-testid=damaged]").await;
    let said = text(&div, "damaged");
    assert!(
        said.contains("cannot be restored")
            && said.contains("bk-0 (bk-0): its manifest is not valid JSON (truncated?)")
            && said.contains("Select Backup Now"),
        "{said}"
    );
    assert!(
        find(&div, "damaged")
            .unwrap()
            .get_attribute("class")
            .unwrap_or_default()
            .contains("lb-banner-warn"),
        "a warning"
    );
    assert_eq!(
        div.query_selector_all("[data-testid=backup-row]")
            .unwrap()
            .length(),
        2,
        "the others are listed as ever"
    );
    handle.destroy();
}

#[wasm_bindgen_test]
async fn a_retried_restore_says_for_about_how_long_the_platform_is_down() {
    serve_retry(TWO_BACKUPS);
    // An earlier restore of bk-2 (as large as bk-1) was down for 40 s.
    let mut earlier = operation(
        OperationKind::Restore {
            backup_id: "bk-2".into(),
            target_namespace: "dash".into(),
            requested_by: "admin".into(),
            apps: None,
        },
        OperationStatus::Succeeded,
    );
    earlier.id = "op-0".into();
    earlier.steps = vec![lifeboat_shared::operation::Step {
        id: "stop".into(),
        title: "Stop the system Postgres".into(),
        status: lifeboat_shared::operation::StepStatus::Succeeded,
        started_at: Some("2026-11-24T11:00:10Z".into()),
        finished_at: None,
        detail: None,
    }];
    earlier.finished_at = Some("2026-11-24T11:00:50Z".into());
    let (div, handle) = render(
        Some(standalone_api()),
        vec![failed_restore(), earlier],
        true,
    );
    settle().await;
    click(&div, "retry-restore");
    let downtime = wait_text(&div, "[data-testid=restore-downtime]", "about").await;
    assert!(
        downtime.contains("(about 40s, judging by the last restore)"),
        "{downtime}"
    );
    handle.destroy();
}

#[wasm_bindgen_test]
async fn a_retried_restore_of_some_apps_data_opens_on_those_apps() {
    serve_retry(
        r#"{"backups":[
        {"id":"bk-1","started_at":"2026-11-25T02:00:00Z","finished_at":"2026-11-25T02:01:00Z",
        "trigger":{"type":"scheduled"},"description":"","source":{"instance_id":"i","namespace":"dash"},
        "platform_version":"5.4","lifeboat_version":"0.1.0","postgres_major":15,"components":[
        {"name":"postgres","snapshot_id":"s1","pgbackrest_label":"20261125-020000F","size_bytes":90},
        {"name":"app/app-001/postgres","snapshot_id":"s2","size_bytes":2048,
         "path":"dumps/app-001/postgres.dump","method":"pg_dump -Fc","duration_ms":300},
        {"name":"app/app-002/redis","snapshot_id":"s2","size_bytes":512,
         "path":"dumps/app-002/redis.rdb","method":"redis-cli --rdb","duration_ms":40}],
        "bytes_added":90,"size_bytes":2650,"encrypted":false}]}"#,
    );
    let mut failed = failed_restore();
    failed.kind = OperationKind::Restore {
        backup_id: "bk-1".into(),
        target_namespace: "dash".into(),
        requested_by: "admin".into(),
        apps: Some(vec!["app-002".into()]),
    };
    let (div, handle) = render(Some(standalone_api()), vec![failed], true);
    settle().await;
    let title = wait_text(&div, "h1", "Restore of app-002's data from bk-1").await;
    assert!(title.ends_with("into namespace dash"), "{title}");
    click(&div, "retry-restore");
    wait_for(&div, "[data-testid=restore-dialog]").await;
    let checked = |css: &str| {
        div.query_selector(css)
            .unwrap()
            .unwrap_or_else(|| panic!("no {css}"))
            .unchecked_into::<web_sys::HtmlInputElement>()
            .checked()
    };
    assert!(checked("[data-testid=restore-scope-apps]"));
    assert!(checked("[data-testid=restore-app][data-app=app-002] input"));
    assert!(!checked(
        "[data-testid=restore-app][data-app=app-001] input"
    ));
    assert!(find(&div, "restore-target-same").is_none());
    let what = text(&div, "restore-what");
    assert!(what.contains("app-002: Redis 512 B"), "{what}");
    handle.destroy();
}

#[wasm_bindgen_test]
async fn the_managed_secrets_command_names_the_instances_namespace() {
    serve_main_page(
        r#"{"config":{"provider":{"provider":"gcs","bucket":"dash-backups","prefix":""},
        "secret_name":"lifeboat-storage","retention":{"keep_last":0,"keep_daily":0,
        "keep_weekly":0,"keep_monthly":0}},"passphrase_set":true,"credentials_set":true,
        "managed_secret":{"name":"lifeboat-storage",
        "keys":["GOOGLE_SERVICE_ACCOUNT_JSON","RESTIC_PASSPHRASE"]}}"#,
        &[],
    );
    let (div, handle) = render(Some(standalone_api()), vec![], false);
    wait_for(&div, "[data-testid=edit-config]").await;
    click(&div, "edit-config");
    let command = wait_text(
        &div,
        "[data-testid=managed-secret-command]",
        "kubectl -n dash ",
    )
    .await;
    assert!(
        command.contains("--from-file=GOOGLE_SERVICE_ACCOUNT_JSON=./service-account.json"),
        "{command}"
    );
    assert!(find(&div, "managed-secret-missing").is_none());
    assert!(text(&div, "managed-secret-passphrase").contains("passphrase set in the Secret"));
    handle.destroy();
}

#[wasm_bindgen_test]
async fn cancel_asks_once_before_it_stops_a_restore_and_a_cancel_is_not_a_failure() {
    serve(&[
        ("POST /operations/op-1/cancel", 202, "{}"),
        (
            "/operations/op-1",
            404,
            r#"{"code":"not_found","message":"gone","hint":null}"#,
        ),
    ]);
    let mut running = failed_restore();
    running.status = OperationStatus::Running;
    (running.error, running.finished_at) = (None, None);
    let (div, handle) = render(Some(standalone_api()), vec![running.clone()], true);
    settle().await;
    calls();
    // The first press asks, naming what stopping leaves behind; nothing is sent.
    click(&div, "cancel-operation");
    settle().await;
    let ask = text(&div, "cancel-confirm");
    assert!(
        ask.contains("namespace dash") && ask.contains("stays stopped"),
        "{ask}"
    );
    assert!(find(&div, "cancel-operation").is_none());
    assert_eq!(calls(), Vec::<String>::new());
    // "Keep it running" goes back, still without a call.
    let keep = div
        .query_selector("[data-testid=cancel-confirm] .lb-btn:not(.lb-btn-danger)")
        .unwrap()
        .unwrap();
    keep.unchecked_into::<HtmlElement>().click();
    settle().await;
    assert!(find(&div, "cancel-confirm").is_none());
    assert_eq!(calls(), Vec::<String>::new());
    // Asked again and confirmed: one cancel.
    click(&div, "cancel-operation");
    settle().await;
    click(&div, "cancel-operation-confirm");
    settle().await;
    assert_eq!(calls(), vec!["POST /operations/op-1/cancel".to_owned()]);
    handle.destroy();

    // A backup is cancelled at once.
    let mut backup = running.clone();
    backup.kind = OperationKind::Backup {
        backup_type: None,
        description: String::new(),
        trigger: Trigger::Scheduled,
        include_apps: true,
    };
    let (div, handle) = render(Some(standalone_api()), vec![backup], true);
    settle().await;
    calls();
    click(&div, "cancel-operation");
    settle().await;
    assert!(find(&div, "cancel-confirm").is_none());
    assert_eq!(calls(), vec!["POST /operations/op-1/cancel".to_owned()]);
    handle.destroy();

    // Cancelled: said in a neutral note, not an alert.
    let mut cancelled = running;
    cancelled.status = OperationStatus::Cancelled;
    cancelled.error = Some(ApiError::new("cancelled", "Cancelled during \"Fetch\""));
    let (div, handle) = render(None, vec![cancelled], true);
    settle().await;
    let note = find(&div, "operation-error").unwrap();
    assert_eq!(note.get_attribute("role").as_deref(), Some("status"));
    assert!(
        note.get_attribute("class")
            .unwrap_or_default()
            .contains("lb-banner-info")
    );
    assert!(find(&div, "cancel-operation").is_none());
    handle.destroy();
}

#[wasm_bindgen_test]
async fn the_activity_says_what_happened_in_words_pages_and_hides_sign_ins() {
    let entries = r#"{"more":true,"entries":[
        {"at":"2026-11-27T02:00:00Z","who":"admin","from":"127.0.0.1","action":"backup.start","detail":"op-1","outcome":"accepted"},
        {"at":"2026-11-27T01:00:00Z","who":"admin","from":"127.0.0.1","action":"session.sign_in","detail":"admin token","outcome":"accepted"},
        {"at":"2026-11-27T00:00:00Z","who":"admin","from":"127.0.0.1","action":"something.new","detail":"","outcome":"ok"}]}"#;
    serve_main_page(LOCAL_BUCKET, &[("/audit", 200, entries)]);
    let (div, handle) = render(Some(standalone_api()), vec![], false);
    wait_for(&div, "[data-testid=audit-row]").await;
    let rows = text(&div, "audit");
    assert!(
        rows.contains("Backup started")
            && rows.contains("Sign-in")
            && rows.contains("something.new"),
        "{rows}"
    );
    assert!(!rows.contains("backup.start"), "{rows}");
    let audit_calls = || {
        calls()
            .into_iter()
            .filter(|c| c.starts_with("GET /audit"))
            .collect::<Vec<_>>()
    };
    audit_calls();
    click(&div, "audit-older");
    settle().await;
    assert_eq!(
        audit_calls(),
        vec!["GET /audit?limit=20&offset=20".to_owned()]
    );
    click(&div, "audit-hide-sign-ins");
    settle().await;
    assert_eq!(
        audit_calls(),
        vec!["GET /audit?limit=20&offset=0&without=session.sign_in".to_owned()]
    );
    handle.destroy();
}
