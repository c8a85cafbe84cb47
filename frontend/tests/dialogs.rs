//! The dialogs and progress views in headless Chromium, rendered from props (no server):
//! the typed phrase, Escape and focus, the description counter and limit, the namespace
//! check, the progress figures, the checklist, and the configuration form's managed Secret.

#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)] // Test helpers: a panic is the failure report.

use std::cell::RefCell;
use std::rc::Rc;

use lifeboat_shared::backup::{BackupManifest, Component, SourceInstance, StartRestore};
use lifeboat_shared::operation::{
    ChecklistItem, Operation, OperationKind, OperationStatus, Progress, Step, StepStatus, Trigger,
};
use lifeboat_ui::components::backup_dialog::{BackupDialog, BackupDialogProps};
use lifeboat_ui::components::checklist::checklist;

/// Properties of [`Checklist`].
#[derive(Debug, Clone, PartialEq, Properties)]
struct ChecklistProps {
    items: Vec<ChecklistItem>,
    #[prop_or_default]
    apps_only: bool,
}

/// The checklist (a plain function in the page) of operation `op-t` as a component, for
/// these tests.
#[function_component(Checklist)]
fn checklist_view(p: &ChecklistProps) -> Html {
    let update = use_force_update();
    checklist(
        &p.items,
        "op-t",
        p.apps_only,
        Callback::from(move |()| update.force_update()),
    )
}
use lifeboat_ui::components::operation_progress::operation_progress;

/// Properties of [`OperationProgress`].
#[derive(Debug, Clone, PartialEq, Properties)]
struct OperationProgressProps {
    operation: Operation,
    now: Option<f64>,
    compact: bool,
}

/// The progress view (a plain function in the page) as a component, for these tests.
#[function_component(OperationProgress)]
fn progress_view(p: &OperationProgressProps) -> Html {
    operation_progress(&p.operation, p.now, !p.compact)
}
use lifeboat_ui::components::restore_dialog::{RestoreDialog, RestoreDialogProps};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, HtmlInputElement};
use yew::prelude::*;

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

fn fresh_div() -> Element {
    let div = document().create_element("div").unwrap();
    document().body().unwrap().append_child(&div).unwrap();
    div
}

async fn settle() {
    yew::scheduler::flush().await;
    gloo_timers::future::TimeoutFuture::new(20).await;
}

fn find(root: &Element, testid: &str) -> Element {
    root.query_selector(&format!("[data-testid={testid}]"))
        .unwrap()
        .unwrap_or_else(|| panic!("no [data-testid={testid}] in {}", root.inner_html()))
}

fn exists(root: &Element, testid: &str) -> bool {
    root.query_selector(&format!("[data-testid={testid}]"))
        .unwrap()
        .is_some()
}

fn text(root: &Element, testid: &str) -> String {
    find(root, testid).text_content().unwrap_or_default()
}

fn disabled(root: &Element, testid: &str) -> bool {
    find(root, testid).has_attribute("disabled")
}

/// Types `value` into an input or textarea as a user would: set it, then fire `input`.
async fn type_into(root: &Element, testid: &str, value: &str) {
    let el = find(root, testid);
    if let Some(input) = el.dyn_ref::<HtmlInputElement>() {
        input.set_value(value);
    } else if let Some(area) = el.dyn_ref::<web_sys::HtmlTextAreaElement>() {
        area.set_value(value);
    }
    let init = web_sys::InputEventInit::new();
    init.set_bubbles(true);
    let event = web_sys::InputEvent::new_with_event_init_dict("input", &init).unwrap();
    el.dispatch_event(&event).unwrap();
    settle().await;
}

async fn click(root: &Element, testid: &str) {
    find(root, testid).unchecked_into::<HtmlElement>().click();
    settle().await;
}

async fn key(target: &Element, key: &str, shift: bool) {
    let init = web_sys::KeyboardEventInit::new();
    init.set_key(key);
    init.set_shift_key(shift);
    init.set_bubbles(true);
    init.set_cancelable(true);
    let event =
        web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    target.dispatch_event(&event).unwrap();
    settle().await;
}

fn active() -> Option<Element> {
    document().active_element()
}

fn recorder<T: 'static>() -> (Seen<T>, Callback<T>) {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let cb = {
        let seen = seen.clone();
        Callback::from(move |v: T| seen.borrow_mut().push(v))
    };
    (seen, cb)
}

/// A focused button outside the dialog, standing in for the page's Backup Now / Restore.
fn opener() -> HtmlElement {
    let button = document()
        .create_element("button")
        .unwrap()
        .unchecked_into::<HtmlElement>();
    button.set_text_content(Some("Open"));
    document().body().unwrap().append_child(&button).unwrap();
    button.focus().unwrap();
    button
}

fn manifest() -> BackupManifest {
    BackupManifest {
        backup_type: Default::default(),
        depends_on: None,
        id: "bk-20261125T110705Z-3f9a".into(),
        started_at: "2026-11-25T11:07:05Z".into(),
        finished_at: "2026-11-25T11:08:20Z".into(),
        trigger: Trigger::Manual { by: "admin".into() },
        description: "Before the upgrade".into(),
        source: SourceInstance {
            instance_id: "i-1".into(),
            namespace: "dash".into(),
        },
        platform_version: "5.5".into(),
        lifeboat_version: "0.1.0".into(),
        postgres_major: 15,
        components: vec![],
        bytes_added: 1024,
        size_bytes: 5 * 1024 * 1024,
        encrypted: true,
        key_fingerprint: None,
        counts: Default::default(),
        wal_until: None,
        consistent_at: None,
    }
}

#[wasm_bindgen_test]
async fn backup_dialog_counts_characters_and_enforces_the_limit() {
    let div = fresh_div();
    let (started, on_start) = recorder::<String>();
    let (_, on_cancel) = recorder::<()>();
    let handle = yew::Renderer::<BackupDialog>::with_root_and_props(
        div.clone(),
        BackupDialogProps {
            start: Default::default(),
            on_start,
            on_cancel,
        },
    )
    .render();
    settle().await;

    let dialog = find(&div, "backup-dialog");
    assert_eq!(dialog.get_attribute("role").as_deref(), Some("dialog"));
    assert_eq!(dialog.get_attribute("aria-modal").as_deref(), Some("true"));
    let title_id = dialog.get_attribute("aria-labelledby").unwrap();
    assert_eq!(
        document()
            .get_element_by_id(&title_id)
            .unwrap()
            .text_content()
            .unwrap(),
        "Back up now"
    );
    assert_eq!(text(&div, "description-counter"), "0 of 500 characters");
    assert!(
        !disabled(&div, "backup-start"),
        "the description is optional"
    );

    type_into(&div, "backup-description", "Before the upgrade").await;
    assert_eq!(text(&div, "description-counter"), "18 of 500 characters");

    // Characters, not bytes: 500 accented letters are fine.
    type_into(&div, "backup-description", &"é".repeat(500)).await;
    assert_eq!(text(&div, "description-counter"), "500 of 500 characters");
    assert!(!disabled(&div, "backup-start"));
    assert!(!exists(&div, "description-error"));

    type_into(&div, "backup-description", &"x".repeat(501)).await;
    assert_eq!(text(&div, "description-counter"), "501 of 500 characters");
    assert!(disabled(&div, "backup-start"));
    assert!(
        text(&div, "description-error").contains("1 character too long"),
        "{}",
        text(&div, "description-error")
    );
    assert_eq!(
        find(&div, "backup-description")
            .get_attribute("aria-invalid")
            .as_deref(),
        Some("true")
    );

    type_into(&div, "backup-description", "  Nightly\ncheck ").await;
    click(&div, "backup-start").await;
    assert_eq!(*started.borrow(), vec!["Nightly check".to_owned()]);
    handle.destroy();
}

#[wasm_bindgen_test]
async fn escape_closes_the_backup_dialog_and_focus_returns_to_the_opener() {
    let opener = opener();
    let div = fresh_div();
    let (cancelled, on_cancel) = recorder::<()>();
    let (_, on_start) = recorder::<String>();
    let handle = yew::Renderer::<BackupDialog>::with_root_and_props(
        div.clone(),
        BackupDialogProps {
            start: Default::default(),
            on_start,
            on_cancel,
        },
    )
    .render();
    settle().await;
    let dialog = find(&div, "backup-dialog");
    let focused = active().unwrap();
    assert!(
        dialog.contains(Some(&focused)),
        "focus moves into the dialog"
    );
    assert_eq!(focused.id(), "lb-backup-description");

    // Focus is trapped: Tab on the last control wraps to the first, Shift+Tab back.
    let start = find(&div, "backup-start");
    start.unchecked_ref::<HtmlElement>().focus().unwrap();
    key(&start, "Tab", false).await;
    assert_eq!(active().unwrap().id(), "lb-backup-description");
    key(&active().unwrap(), "Tab", true).await;
    assert_eq!(
        active().unwrap().get_attribute("data-testid").as_deref(),
        Some("backup-start")
    );

    key(&active().unwrap(), "Escape", false).await;
    assert_eq!(cancelled.borrow().len(), 1, "Escape cancels");
    // The parent stops rendering the dialog on cancel; focus goes back to the opener.
    handle.destroy();
    settle().await;
    assert_eq!(active().unwrap(), *opener.unchecked_ref::<Element>());
    opener.remove();
}

type Seen<T> = Rc<RefCell<Vec<T>>>;

fn render_restore(
    div: &Element,
    instance_namespace: Option<&'static str>,
) -> (Seen<StartRestore>, Seen<()>, yew::AppHandle<RestoreDialog>) {
    render_restore_into(div, instance_namespace, None)
}

fn render_restore_into(
    div: &Element,
    instance_namespace: Option<&'static str>,
    initial_namespace: Option<&'static str>,
) -> (Seen<StartRestore>, Seen<()>, yew::AppHandle<RestoreDialog>) {
    render_restore_judged(div, instance_namespace, initial_namespace, None)
}

/// The Restore dialog, with the downtime judged from an earlier restore when given.
fn render_restore_judged(
    div: &Element,
    instance_namespace: Option<&'static str>,
    initial_namespace: Option<&'static str>,
    unavailable_secs: Option<f64>,
) -> (Seen<StartRestore>, Seen<()>, yew::AppHandle<RestoreDialog>) {
    let dialog = Dialog {
        backup: manifest(),
        instance_namespace,
        initial_namespace,
        initial_apps: vec![],
        unavailable_secs,
    };
    dialog.render(div)
}

/// What a Restore dialog is opened with (its callbacks record what it sends).
struct Dialog {
    backup: BackupManifest,
    instance_namespace: Option<&'static str>,
    initial_namespace: Option<&'static str>,
    initial_apps: Vec<String>,
    unavailable_secs: Option<f64>,
}

impl Dialog {
    /// The dialog for `backup` on an instance in namespace `dash`, nothing preset.
    fn of(backup: BackupManifest) -> Self {
        Self {
            backup,
            instance_namespace: Some("dash"),
            initial_namespace: None,
            initial_apps: vec![],
            unavailable_secs: None,
        }
    }

    fn render(
        self,
        div: &Element,
    ) -> (Seen<StartRestore>, Seen<()>, yew::AppHandle<RestoreDialog>) {
        let (confirmed, on_confirm) = recorder::<StartRestore>();
        let (cancelled, on_cancel) = recorder::<()>();
        let handle = yew::Renderer::<RestoreDialog>::with_root_and_props(
            div.clone(),
            RestoreDialogProps {
                backup: self.backup,
                instance_namespace: self.instance_namespace.map(AttrValue::Static),
                initial_namespace: self.initial_namespace.map(AttrValue::Static),
                initial_apps: self.initial_apps,
                unavailable_secs: self.unavailable_secs,
                start: Default::default(),
                on_confirm,
                on_cancel,
            },
        )
        .render();
        (confirmed, cancelled, handle)
    }
}

/// A component of a backup, as the backend writes it.
fn component(name: &str, size_bytes: u64, method: &str, duration_ms: u64) -> Component {
    Component {
        name: name.into(),
        snapshot_id: "snap".into(),
        pgbackrest_label: None,
        size_bytes,
        path: None,
        method: Some(method.into()),
        duration_ms: Some(duration_ms),
    }
}

/// A backup holding the system and three apps' data (app-001 all three parts, app-005 a
/// database, sales-dash files) and a workspace's files.
fn manifest_with_apps() -> BackupManifest {
    BackupManifest {
        components: vec![
            component("postgres", 50 * 1024 * 1024, "pgbackrest", 4_200),
            component("configuration", 2048, "export", 30),
            component("app/app-001/postgres", 1536, "pg_dump -Fc", 320),
            component("app/app-001/redis", 512, "redis-cli --rdb", 80),
            component("app/app-001/files", 3 * 1024 * 1024, "restic", 1_500),
            component("app/app-005/postgres", 2048, "pg_dump -Fc", 290),
            component("app/sales-dash/files", 1024, "restic", 1_500),
            component("workspace/ws-1/files", 1024, "restic", 1_500),
        ],
        ..manifest()
    }
}

/// The `data-app` of every app the dialog lists, in order.
fn listed_apps(root: &Element) -> Vec<String> {
    let all = root
        .query_selector_all("[data-testid=restore-app]")
        .unwrap();
    (0..all.length())
        .filter_map(|i| all.item(i))
        .filter_map(|n| n.unchecked_into::<Element>().get_attribute("data-app"))
        .collect()
}

/// Ticks (or unticks) app `app`'s checkbox in the list.
async fn tick(root: &Element, app: &str) {
    root.query_selector(&format!("[data-testid=restore-app][data-app={app}] input"))
        .unwrap()
        .unwrap_or_else(|| panic!("{app} is not listed: {}", root.inner_html()))
        .unchecked_into::<HtmlElement>()
        .click();
    settle().await;
}

fn checked(root: &Element, css: &str) -> bool {
    root.query_selector(css)
        .unwrap()
        .unwrap_or_else(|| panic!("no {css}"))
        .unchecked_into::<HtmlInputElement>()
        .checked()
}

#[wasm_bindgen_test]
async fn some_apps_data_is_chosen_from_a_list_filtered_by_name_and_goes_into_this_namespace() {
    let div = fresh_div();
    let (confirmed, _, handle) = Dialog::of(manifest_with_apps()).render(&div);
    settle().await;
    // Everything, as before, unless the admin chooses otherwise; the backup's apps' data
    // is said.
    assert!(checked(&div, "[data-testid=restore-scope-all]"));
    assert!(!exists(&div, "restore-apps-filter"));
    assert_eq!(
        text(&div, "restore-apps-size"),
        "3 apps, 3.0 MiB",
        "the apps' and the workspace's data"
    );
    let what = text(&div, "restore-what");
    assert!(what.contains("the own data of the 3 apps"), "{what}");
    // A new namespace chosen first (with Replace): some apps' data still goes into this
    // one, and replaces nothing there but the apps' data.
    type_into(&div, "restore-namespace", "dash-copy").await;
    click(&div, "restore-replace").await;
    click(&div, "restore-scope-apps").await;
    assert!(checked(&div, "[data-testid=restore-scope-apps]"));
    for hidden in [
        "restore-target-same",
        "restore-target-new",
        "restore-namespace",
    ] {
        assert!(
            !exists(&div, hidden),
            "{hidden} is offered for some apps' data"
        );
    }
    let note = text(&div, "restore-apps-namespace");
    assert!(note.contains("Into this namespace (dash) only"), "{note}");

    // Each app with what it has and the sizes.
    assert_eq!(listed_apps(&div), ["app-001", "app-005", "sales-dash"]);
    let parts = div
        .query_selector(
            "[data-testid=restore-app][data-app=app-001] [data-testid=restore-app-parts]",
        )
        .unwrap()
        .unwrap()
        .text_content()
        .unwrap();
    assert_eq!(parts, "Postgres 1.5 KiB · Redis 512 B · files 3.0 MiB");
    assert_eq!(text(&div, "restore-apps-count"), "0 of 3 apps chosen");

    // The phrase alone does not do: nothing is chosen, and the dialog says so.
    type_into(&div, "restore-phrase", "restore backup").await;
    assert!(disabled(&div, "restore-confirm"));
    assert!(
        text(&div, "restore-apps-blocked").contains("Choose at least one app"),
        "{}",
        text(&div, "restore-apps-blocked")
    );
    click(&div, "restore-confirm").await;
    assert!(confirmed.borrow().is_empty());

    // The filter: by any part of the name, in any case.
    type_into(&div, "restore-apps-filter", "APP-0").await;
    assert_eq!(listed_apps(&div), ["app-001", "app-005"]);
    type_into(&div, "restore-apps-filter", " sales").await;
    assert_eq!(listed_apps(&div), ["sales-dash"]);
    type_into(&div, "restore-apps-filter", "nope").await;
    assert!(listed_apps(&div).is_empty());
    assert!(
        text(&div, "restore-apps-none").contains("\u{201c}nope\u{201d}"),
        "{}",
        text(&div, "restore-apps-none")
    );
    type_into(&div, "restore-apps-filter", "001").await;
    assert_eq!(listed_apps(&div), ["app-001"]);
    tick(&div, "app-001").await;
    assert_eq!(text(&div, "restore-apps-count"), "1 of 3 apps chosen");
    assert!(!exists(&div, "restore-apps-blocked"));
    assert!(!disabled(&div, "restore-confirm"));
    // What will happen: that app's parts, and what is left alone.
    let what = text(&div, "restore-what");
    assert!(
        what.contains("Restoring replaces, in namespace dash, the data of:")
            && what.contains("app-001: Postgres 1.5 KiB · Redis 512 B · files 3.0 MiB")
            && !what.contains("app-005"),
        "{what}"
    );
    let untouched = text(&div, "restore-untouched");
    assert!(
        untouched.contains("Keycloak")
            && untouched.contains("every other app")
            && untouched.contains("not touched"),
        "{untouched}"
    );
    // A chosen app the filter hides stays chosen.
    type_into(&div, "restore-apps-filter", "sales").await;
    tick(&div, "sales-dash").await;
    type_into(&div, "restore-apps-filter", "").await;
    assert_eq!(listed_apps(&div), ["app-001", "app-005", "sales-dash"]);
    assert!(checked(
        &div,
        "[data-testid=restore-app][data-app=app-001] input"
    ));
    assert!(!checked(
        &div,
        "[data-testid=restore-app][data-app=app-005] input"
    ));
    assert_eq!(text(&div, "restore-apps-count"), "2 of 3 apps chosen");
    // Unticked again: out of the request.
    tick(&div, "sales-dash").await;
    click(&div, "restore-confirm").await;
    assert_eq!(
        *confirmed.borrow(),
        vec![StartRestore {
            confirmation: "restore backup".into(),
            target_namespace: "dash".into(),
            replace_existing: false,
            apps: Some(vec!["app-001".into()]),
            target_time: None,
        }]
    );
    // Back to Everything: the new namespace typed before is there again, and nothing of
    // the apps is sent.
    click(&div, "restore-scope-all").await;
    assert!(exists(&div, "restore-namespace"));
    click(&div, "restore-confirm").await;
    assert_eq!(confirmed.borrow().len(), 2);
    assert_eq!(
        confirmed.borrow()[1],
        StartRestore {
            confirmation: "restore backup".into(),
            target_namespace: "dash-copy".into(),
            replace_existing: true,
            apps: None,
            target_time: None,
        }
    );
    handle.destroy();
}

#[wasm_bindgen_test]
async fn some_apps_data_is_not_offered_without_apps_data_or_this_namespace() {
    // A backup of the system alone.
    let div = fresh_div();
    let (_, _, handle) = Dialog::of(manifest()).render(&div);
    settle().await;
    assert!(disabled(&div, "restore-scope-apps"));
    assert_eq!(
        text(&div, "restore-apps-unavailable"),
        "This backup holds no apps' data."
    );
    assert_eq!(
        find(&div, "restore-scope-apps")
            .get_attribute("aria-describedby")
            .as_deref(),
        Some("lb-restore-apps-why")
    );
    assert_eq!(text(&div, "restore-apps-size"), "none");
    let what = text(&div, "restore-what");
    assert!(!what.contains("own data of"), "{what}");
    click(&div, "restore-scope-apps").await;
    assert!(!exists(&div, "restore-apps-filter"));
    assert!(checked(&div, "[data-testid=restore-scope-all]"));
    handle.destroy();

    // Apps' data, but this instance's namespace is not known: it cannot go anywhere.
    let div = fresh_div();
    let (_, _, handle) = Dialog {
        instance_namespace: None,
        ..Dialog::of(manifest_with_apps())
    }
    .render(&div);
    settle().await;
    assert!(disabled(&div, "restore-scope-apps"));
    assert!(
        text(&div, "restore-apps-unavailable").contains("could not be loaded"),
        "{}",
        text(&div, "restore-apps-unavailable")
    );
    handle.destroy();
}

#[wasm_bindgen_test]
async fn a_retry_of_some_apps_data_opens_with_those_apps_chosen() {
    let div = fresh_div();
    let (confirmed, _, handle) = Dialog {
        initial_namespace: Some("dash"),
        initial_apps: vec!["app-005".into()],
        ..Dialog::of(manifest_with_apps())
    }
    .render(&div);
    settle().await;
    assert!(checked(&div, "[data-testid=restore-scope-apps]"));
    assert!(checked(
        &div,
        "[data-testid=restore-app][data-app=app-005] input"
    ));
    assert!(!checked(
        &div,
        "[data-testid=restore-app][data-app=app-001] input"
    ));
    assert!(
        disabled(&div, "restore-confirm"),
        "the phrase is still needed"
    );
    type_into(&div, "restore-phrase", "restore backup").await;
    click(&div, "restore-confirm").await;
    assert_eq!(
        *confirmed.borrow(),
        vec![StartRestore {
            confirmation: "restore backup".into(),
            target_namespace: "dash".into(),
            replace_existing: false,
            apps: Some(vec!["app-005".into()]),
            target_time: None,
        }]
    );
    handle.destroy();
}

#[wasm_bindgen_test]
async fn restore_needs_the_exact_phrase() {
    let div = fresh_div();
    let (confirmed, _, handle) = render_restore(&div, Some("dash"));
    settle().await;
    let body = text(&div, "restore-dialog");
    assert!(
        body.contains("every user, group and SSO"),
        "explains what is replaced: {body}"
    );
    assert!(body.contains("the platform configuration"), "{body}");
    assert!(
        body.contains("stops its system Postgres")
            && body.contains("unavailable until the restore ends"),
        "says the platform goes down: {body}"
    );
    // The destructive target is chosen by the admin, never preselected.
    assert!(
        exists(&div, "restore-namespace"),
        "a new namespace by default"
    );
    click(&div, "restore-target-same").await;
    assert!(disabled(&div, "restore-confirm"));
    assert_eq!(text(&div, "restore-confirm"), "Yes, restore now");

    for wrong in [
        "restore",
        "Restore backup",
        "restore backup ",
        "restore  backup",
    ] {
        type_into(&div, "restore-phrase", wrong).await;
        assert!(disabled(&div, "restore-confirm"), "enabled by {wrong:?}");
    }
    // A disabled button does nothing, even when clicked.
    click(&div, "restore-confirm").await;
    assert!(confirmed.borrow().is_empty());

    type_into(&div, "restore-phrase", "restore backup").await;
    assert!(!disabled(&div, "restore-confirm"));
    click(&div, "restore-confirm").await;
    assert_eq!(
        *confirmed.borrow(),
        vec![StartRestore {
            confirmation: "restore backup".into(),
            target_namespace: "dash".into(),
            replace_existing: false,
            apps: None,
            target_time: None,
        }]
    );
    handle.destroy();
}

#[wasm_bindgen_test]
async fn restore_to_a_new_namespace_validates_the_name() {
    let div = fresh_div();
    let (confirmed, _, handle) = render_restore(&div, Some("dash"));
    settle().await;
    assert!(
        exists(&div, "restore-namespace"),
        "a new namespace by default"
    );
    type_into(&div, "restore-phrase", "restore backup").await;

    type_into(&div, "restore-namespace", "Dash_Copy").await;
    let msg = text(&div, "namespace-error");
    assert!(msg.contains("lowercase letters"), "{msg}");
    assert!(disabled(&div, "restore-confirm"));
    assert_eq!(
        find(&div, "restore-namespace")
            .get_attribute("aria-invalid")
            .as_deref(),
        Some("true")
    );

    type_into(&div, "restore-namespace", "-copy").await;
    assert!(text(&div, "namespace-error").contains("Start and end"));
    type_into(&div, "restore-namespace", &"a".repeat(64)).await;
    assert!(text(&div, "namespace-error").contains("63"));
    type_into(&div, "restore-namespace", "dash").await;
    assert!(text(&div, "namespace-error").contains("this instance's namespace"));
    assert!(disabled(&div, "restore-confirm"));

    type_into(&div, "restore-namespace", "dash-copy").await;
    assert!(!exists(&div, "namespace-error"));
    click(&div, "restore-replace").await;
    assert!(!disabled(&div, "restore-confirm"));
    click(&div, "restore-confirm").await;
    assert_eq!(
        *confirmed.borrow(),
        vec![StartRestore {
            confirmation: "restore backup".into(),
            target_namespace: "dash-copy".into(),
            replace_existing: true,
            apps: None,
            target_time: None,
        }]
    );
    handle.destroy();
}

#[wasm_bindgen_test]
async fn a_retry_presets_the_namespace_it_went_into() {
    // Into this instance's namespace: "This namespace", as usual.
    let div = fresh_div();
    let (_, _, handle) = render_restore_into(&div, Some("dash"), Some("dash"));
    settle().await;
    assert!(!exists(&div, "restore-namespace"));
    handle.destroy();

    // Into another one: that name, to be replaced (the half-restored instance is there).
    let div = fresh_div();
    let (confirmed, _, handle) = render_restore_into(&div, Some("dash"), Some("dash-copy"));
    settle().await;
    let ns = find(&div, "restore-namespace").unchecked_into::<HtmlInputElement>();
    assert_eq!(ns.value(), "dash-copy");
    assert!(
        disabled(&div, "restore-confirm"),
        "the phrase is still needed"
    );
    type_into(&div, "restore-phrase", "restore backup").await;
    click(&div, "restore-confirm").await;
    assert_eq!(
        *confirmed.borrow(),
        vec![StartRestore {
            confirmation: "restore backup".into(),
            target_namespace: "dash-copy".into(),
            replace_existing: true,
            apps: None,
            target_time: None,
        }]
    );
    handle.destroy();
}

#[wasm_bindgen_test]
async fn restore_dialog_escape_cancels_and_returns_focus() {
    let opener = opener();
    let div = fresh_div();
    let (confirmed, cancelled, handle) = render_restore(&div, None);
    settle().await;
    let dialog = find(&div, "restore-dialog");
    assert!(dialog.contains(Some(&active().unwrap())));
    // Without the instance's namespace, only a new namespace can be chosen.
    assert!(disabled(&div, "restore-target-same"));
    assert!(exists(&div, "restore-namespace"));

    key(&active().unwrap(), "Escape", false).await;
    assert_eq!(cancelled.borrow().len(), 1);
    assert!(confirmed.borrow().is_empty());
    handle.destroy();
    settle().await;
    assert_eq!(active().unwrap(), *opener.unchecked_ref::<Element>());
    opener.remove();
}

fn step(id: &str, status: StepStatus, start: Option<&str>, end: Option<&str>) -> Step {
    Step {
        id: id.into(),
        title: format!("Step {id}"),
        status,
        started_at: start.map(Into::into),
        finished_at: end.map(Into::into),
        detail: None,
    }
}

fn restore_op(status: OperationStatus) -> Operation {
    Operation {
        id: "op-1".into(),
        revision: 3,
        kind: OperationKind::Restore {
            backup_id: "bk-1".into(),
            target_namespace: "dash".into(),
            requested_by: "admin".into(),
            apps: None,
        },
        status,
        steps: vec![
            step(
                "fetch",
                StepStatus::Succeeded,
                Some("2026-11-25T11:00:00Z"),
                Some("2026-11-25T11:01:15Z"),
            ),
            step(
                "postgres",
                StepStatus::Running,
                Some("2026-11-25T11:01:15Z"),
                None,
            ),
            step("verify", StepStatus::Pending, None, None),
        ],
        progress: Some(Progress {
            bytes_done: 512 * 1024 * 1024,
            bytes_total: Some(2048 * 1024 * 1024),
            files_done: 10,
            files_total: Some(40),
            rate_bytes_per_sec: Some(64.0 * 1024.0 * 1024.0),
            eta_seconds: Some(24.0),
            current: Some("base/16384/2619".into()),
            overall_fraction: Some(0.3),
            overall_eta_seconds: Some(60.0),
        }),
        warnings: vec![],
        error: None,
        created_at: "2026-11-25T11:00:00Z".into(),
        finished_at: None,
        outcome: None,
    }
}

#[wasm_bindgen_test]
async fn progress_shows_one_bar_for_the_whole_operation_and_the_steps_figures_in_its_row() {
    let div = fresh_div();
    let handle = yew::Renderer::<OperationProgress>::with_root_and_props(
        div.clone(),
        OperationProgressProps {
            operation: restore_op(OperationStatus::Running),
            now: None,
            compact: false,
        },
    )
    .render();
    settle().await;
    // The bar, the percent and the time left are the whole operation's (30 %, 60 s), with
    // the step it is on beside them.
    let bar = find(&div, "progress-bar");
    assert_eq!(bar.get_attribute("role").as_deref(), Some("progressbar"));
    assert_eq!(bar.get_attribute("aria-valuenow").as_deref(), Some("30"));
    assert_eq!(text(&div, "progress-percent"), "30%");
    assert_eq!(text(&div, "progress-eta"), "about 1m 0s left");
    assert_eq!(text(&div, "progress-step"), "Step 2 of 3: Step postgres");
    // The step's own figures are in its row, and only there.
    let figures = text(&div, "step-figures");
    assert!(
        figures.starts_with("512.0 MiB of 2.0 GiB (25%) · 10 of 40 files · 64.0 MiB/s"),
        "{figures}"
    );
    assert!(figures.contains("Copying base/16384/2619"), "{figures}");
    let row = div
        .query_selector("[data-testid=operation-step][aria-current=step]")
        .unwrap()
        .unwrap()
        .text_content()
        .unwrap();
    assert!(row.contains("25%"), "{row}");
    let head = text(&div, "progress-overall");
    assert!(!head.contains("25%") && !head.contains("MiB"), "{head}");
    let steps = div
        .query_selector_all("[data-testid=operation-step]")
        .unwrap();
    assert_eq!(steps.length(), 3);
    let first = steps.item(0).unwrap().text_content().unwrap();
    assert!(first.contains("Done · 1m 15s"), "{first}");
    // Status is told in words too, not only by colour; one live region.
    let live = div.query_selector_all("[aria-live]").unwrap();
    assert_eq!(live.length(), 1);
    let said = live.item(0).unwrap().text_content().unwrap();
    assert!(
        said.starts_with("Running: Step postgres, about 30% done"),
        "{said}"
    );
    handle.destroy();
}

#[wasm_bindgen_test]
async fn progress_makes_up_nothing_it_does_not_know() {
    let render = |op: Operation| {
        let div = fresh_div();
        let handle = yew::Renderer::<OperationProgress>::with_root_and_props(
            div.clone(),
            OperationProgressProps {
                operation: op,
                now: None,
                compact: true,
            },
        )
        .render();
        (div, handle)
    };
    // No time left known: none shown; the share still is.
    let mut op = restore_op(OperationStatus::Running);
    if let Some(p) = op.progress.as_mut() {
        p.overall_eta_seconds = None;
    }
    let (div, handle) = render(op.clone());
    settle().await;
    assert_eq!(text(&div, "progress-percent"), "30%");
    assert!(!exists(&div, "progress-eta"), "{}", div.inner_html());
    // Compact (the main page's card): no step rows, so no step figures either.
    assert!(!exists(&div, "step-figures"), "{}", div.inner_html());
    handle.destroy();

    // A finished operation: a full bar, and no estimate.
    let mut done = restore_op(OperationStatus::Succeeded);
    done.finished_at = Some("2026-11-25T11:05:00Z".into());
    let (div, handle) = render(done);
    settle().await;
    assert_eq!(text(&div, "progress-percent"), "100%");
    assert!(!exists(&div, "progress-eta"), "{}", div.inner_html());
    assert!(!exists(&div, "progress-step"), "{}", div.inner_html());
    handle.destroy();
}

#[wasm_bindgen_test]
async fn a_failed_operation_shows_the_message_and_hint() {
    let div = fresh_div();
    let mut op = restore_op(OperationStatus::Failed);
    op.error = Some(
        lifeboat_shared::ApiError::new(
            "passphrase_mismatch",
            "The passphrase does not open the backups.",
        )
        .with_hint("Enter the passphrase the backups were made with."),
    );
    let handle = yew::Renderer::<OperationProgress>::with_root_and_props(
        div.clone(),
        OperationProgressProps {
            operation: op,
            now: None,
            compact: false,
        },
    )
    .render();
    settle().await;
    let error = text(&div, "operation-error");
    assert!(
        error.contains("The passphrase does not open the backups."),
        "{error}"
    );
    assert!(
        error.contains("Enter the passphrase the backups were made with."),
        "{error}"
    );
    assert_eq!(
        find(&div, "operation-error")
            .get_attribute("role")
            .as_deref(),
        Some("alert")
    );
    handle.destroy();
}

#[wasm_bindgen_test]
async fn the_restore_dialog_says_for_about_how_long_the_platform_is_down() {
    let div = fresh_div();
    let (_, _, handle) = render_restore_judged(&div, Some("dash"), None, Some(125.0));
    settle().await;
    assert_eq!(
        text(&div, "restore-downtime"),
        "Restoring into a namespace in use stops its system Postgres: the platform there is \
         unavailable until the restore ends (about 2m 5s, judging by the last restore)."
    );
    handle.destroy();
    // Without an earlier restore to judge by, no figure is made up.
    let div = fresh_div();
    let (_, _, handle) = render_restore(&div, Some("dash"));
    settle().await;
    assert!(!text(&div, "restore-downtime").contains("about"));
    handle.destroy();
}

#[wasm_bindgen_test]
async fn the_checklist_keeps_its_ticks_across_reloads_and_counts_them() {
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    storage.remove_item("lifeboat-checklist-op-t").unwrap();
    let items: Vec<ChecklistItem> = ["Log in again", "Rebuild and Deploy", "Recreate"]
        .into_iter()
        .map(|a| ChecklistItem {
            action: a.into(),
            subject: String::new(),
            copy: None,
            detail: None,
        })
        .collect();
    let render = |div: &Element| {
        yew::Renderer::<Checklist>::with_root_and_props(
            div.clone(),
            ChecklistProps {
                items: items.clone(),
                apps_only: false,
            },
        )
        .render()
    };
    let div = fresh_div();
    let handle = render(&div);
    settle().await;
    assert_eq!(text(&div, "checklist-count"), "0 of 3 done");
    div.query_selector("#lb-check-1")
        .unwrap()
        .unwrap()
        .unchecked_into::<HtmlElement>()
        .click();
    settle().await;
    assert_eq!(text(&div, "checklist-count"), "1 of 3 done");
    handle.destroy();
    // Drawn again (a reload): the tick is still there.
    let div = fresh_div();
    let handle = render(&div);
    settle().await;
    assert_eq!(text(&div, "checklist-count"), "1 of 3 done");
    let ticked = |i: u32| {
        div.query_selector(&format!("#lb-check-{i}"))
            .unwrap()
            .unwrap()
            .unchecked_into::<HtmlInputElement>()
            .checked()
    };
    assert!(ticked(1) && !ticked(0) && !ticked(2));
    handle.destroy();
    storage.remove_item("lifeboat-checklist-op-t").unwrap();
}

#[wasm_bindgen_test]
async fn checklist_lists_each_item() {
    let div = fresh_div();
    let items = vec![
        ChecklistItem {
            action: "Log in again".into(),
            subject: String::new(),
            copy: None,
            detail: None,
        },
        ChecklistItem {
            action: "Rebuild and Deploy".into(),
            subject: "sales-dashboard".into(),
            copy: None,
            detail: None,
        },
        ChecklistItem {
            action: "Delete and recreate from the latest commit".into(),
            subject: "workspace of sales-dashboard".into(),
            copy: None,
            detail: None,
        },
        ChecklistItem {
            action: "Register the new redirect URI at the identity provider".into(),
            subject: "corporate-sso (realm dash)".into(),
            copy: Some(
                "http://127.0.0.1:41234/auth/realms/dash/broker/corporate-sso/endpoint".into(),
            ),
            detail: None,
        },
    ];
    let handle = yew::Renderer::<Checklist>::with_root_and_props(
        div.clone(),
        ChecklistProps {
            items,
            apps_only: false,
        },
    )
    .render();
    settle().await;
    let list = div
        .query_selector_all("[data-testid=checklist-item]")
        .unwrap();
    assert_eq!(list.length(), 4);
    // A URI to give an identity provider is shown whole, with a Copy button beside it.
    let uri = list.item(3).unwrap();
    let uri = uri.unchecked_ref::<web_sys::Element>();
    assert_eq!(
        uri.query_selector("[data-testid=checklist-copy]")
            .unwrap()
            .unwrap()
            .text_content()
            .unwrap(),
        "http://127.0.0.1:41234/auth/realms/dash/broker/corporate-sso/endpoint"
    );
    assert_eq!(
        uri.query_selector("button")
            .unwrap()
            .unwrap()
            .text_content()
            .unwrap(),
        "Copy"
    );
    assert_eq!(
        list.item(1).unwrap().text_content().unwrap(),
        "Rebuild and Deploy: sales-dashboard"
    );
    // Each item is a labelled checkbox the admin can tick with the keyboard.
    let label = div
        .query_selector("label[for=lb-check-0]")
        .unwrap()
        .unwrap();
    assert_eq!(label.text_content().unwrap(), "Log in again");
    handle.destroy();
}

#[wasm_bindgen_test]
async fn after_some_apps_data_the_checklist_says_only_they_came_back() {
    let div = fresh_div();
    let items = vec![ChecklistItem {
        action: "Restart the app: its data came back".into(),
        subject: "app-001".into(),
        copy: None,
        detail: Some("its Postgres database, Redis, files came back".into()),
    }];
    let handle = yew::Renderer::<Checklist>::with_root_and_props(
        div.clone(),
        ChecklistProps {
            items,
            apps_only: true,
        },
    )
    .render();
    settle().await;
    let what = text(&div, "checklist-what");
    assert!(
        what.contains("Only these apps' data came back")
            && what.contains("every other app were not touched"),
        "{what}"
    );
    assert_eq!(
        text(&div, "checklist-item"),
        "Restart the app: its data came back: app-001 (its Postgres database, Redis, files came back)"
    );
    let all = text(&div, "checklist");
    assert!(!all.contains("Delete and recreate workspaces"), "{all}");
    handle.destroy();

    // After a restore of everything: the apps' own data came back with the system.
    let div = fresh_div();
    let handle = yew::Renderer::<Checklist>::with_root_and_props(
        div.clone(),
        ChecklistProps {
            items: vec![],
            apps_only: false,
        },
    )
    .render();
    settle().await;
    let what = text(&div, "checklist-what");
    assert!(
        what.contains("the apps' own data the backup held") && !what.contains("not restored"),
        "{what}"
    );
    handle.destroy();
}

#[wasm_bindgen_test]
async fn a_restore_of_some_apps_names_them_and_each_part_as_it_goes() {
    let div = fresh_div();
    let mut op = restore_op(OperationStatus::Running);
    op.kind = OperationKind::Restore {
        backup_id: "bk-1".into(),
        target_namespace: "dash".into(),
        requested_by: "admin".into(),
        apps: Some(vec!["app-001".into()]),
    };
    op.steps = vec![
        step(
            "fetch",
            StepStatus::Succeeded,
            Some("2026-11-25T11:00:00Z"),
            Some("2026-11-25T11:00:05Z"),
        ),
        Step {
            detail: Some("app-001's Redis (2 of 3): restoring 512 B".into()),
            ..step(
                "apps",
                StepStatus::Running,
                Some("2026-11-25T11:00:05Z"),
                None,
            )
        },
        step("checklist", StepStatus::Pending, None, None),
    ];
    op.progress = None;
    let handle = yew::Renderer::<OperationProgress>::with_root_and_props(
        div.clone(),
        OperationProgressProps {
            operation: op,
            now: None,
            compact: false,
        },
    )
    .render();
    settle().await;
    let all = text(&div, "operation-progress");
    assert!(
        all.contains("Restore of app-001's data from bk-1 into namespace dash"),
        "{all}"
    );
    let apps = div
        .query_selector("[data-testid=operation-step][data-step=apps]")
        .unwrap()
        .unwrap()
        .text_content()
        .unwrap();
    assert!(
        apps.contains("app-001's Redis (2 of 3): restoring 512 B"),
        "{apps}"
    );
    handle.destroy();
}

use lifeboat_ui::components::backups_table::{BackupsTableProps, backups_table};

/// Properties of [`Table`].
#[derive(Debug, Clone, PartialEq, Properties)]
struct TableProps {
    backups: Vec<BackupManifest>,
}

/// The Backups table (a plain function in the page) as a component, for these tests.
#[function_component(Table)]
fn table_view(p: &TableProps) -> Html {
    backups_table(&BackupsTableProps {
        backups: p.backups.clone(),
        running: None,
        with_warnings: vec![],
        restore_disabled: None,
        on_restore: Callback::noop(),
        now: None,
    })
}

#[wasm_bindgen_test]
async fn each_backup_says_what_apps_data_it_holds_and_lists_its_components_on_demand() {
    let div = fresh_div();
    let with_apps = BackupManifest {
        id: "bk-apps".into(),
        ..manifest_with_apps()
    };
    let system = BackupManifest {
        id: "bk-sys".into(),
        ..manifest()
    };
    let handle = yew::Renderer::<Table>::with_root_and_props(
        div.clone(),
        TableProps {
            backups: vec![with_apps, system],
        },
    )
    .render();
    settle().await;
    let row = |id: &str| {
        div.query_selector(&format!("[data-testid=backup-row][data-backup-id={id}]"))
            .unwrap()
            .unwrap()
    };
    let (apps_row, system_row) = (row("bk-apps"), row("bk-sys"));
    assert_eq!(
        text(&apps_row, "backup-apps-summary"),
        "Apps' data: 3 apps, 3.0 MiB"
    );
    assert_eq!(
        text(&system_row, "backup-apps-summary"),
        "System only, no apps' data"
    );
    // Every component, with its size, how it was taken and how long that took: folded
    // until asked for.
    let details = find(&apps_row, "backup-contents");
    assert!(!details.has_attribute("open"));
    let components = apps_row
        .query_selector_all("[data-testid=backup-component]")
        .unwrap();
    assert_eq!(components.length(), 8);
    let component = |name: &str| {
        apps_row
            .query_selector(&format!(
                "[data-testid=backup-component][data-component=\"{name}\"]"
            ))
            .unwrap()
            .unwrap_or_else(|| panic!("no {name}"))
            .text_content()
            .unwrap()
    };
    assert_eq!(
        component("app/app-001/postgres"),
        "app/app-001/postgres 1.5 KiB · pg_dump -Fc · 320 ms"
    );
    assert_eq!(
        component("app/app-001/redis"),
        "app/app-001/redis 512 B · redis-cli --rdb · 80 ms"
    );
    assert_eq!(component("postgres"), "postgres 50.0 MiB · pgbackrest · 4s");
    find(&apps_row, "backup-apps-summary")
        .unchecked_into::<HtmlElement>()
        .click();
    settle().await;
    assert!(details.has_attribute("open"));
    handle.destroy();
}

use lifeboat_shared::config::{ConfigView, ManagedSecret, PutConfig};
use lifeboat_ui::components::config_form::{ConfigForm, ConfigFormProps};

/// An S3 bucket whose credentials live in the Secret `lifeboat-storage`, found with `keys`,
/// or not read because of `problem`.
fn managed_view(keys: &[&str], problem: Option<&str>) -> ConfigView {
    ConfigView {
        config: Some(lifeboat_shared::config::StorageConfig {
            backup_policy: None,
            provider: lifeboat_shared::config::Provider::S3 {
                region: "us-east-1".into(),
                bucket: "dash-backups".into(),
                prefix: String::new(),
                endpoint: String::new(),
            },
            secret_name: "lifeboat-storage".into(),
            schedule: None,
            retention: Default::default(),
        }),
        is_default: false,
        passphrase_set: false,
        credentials_set: false,
        updated_at: None,
        locked_by: None,
        schedule_preview: None,
        managed_secret: Some(ManagedSecret {
            name: "lifeboat-storage".into(),
            keys: keys.iter().map(|k| (*k).to_owned()).collect(),
            problem: problem.map(str::to_owned),
        }),
    }
}

/// The form for an S3 bucket whose credentials live in the Secret `lifeboat-storage`, found
/// with `keys`, or not read because of `problem`; what Save sends goes to the recorder.
fn render_managed(
    keys: &[&str],
    problem: Option<&str>,
) -> (Element, yew::AppHandle<ConfigForm>, Seen<PutConfig>) {
    let view = managed_view(keys, problem);
    let div = fresh_div();
    let (saved, on_save) = recorder::<PutConfig>();
    let (_, on_verify) = recorder::<PutConfig>();
    let (_, on_cancel) = recorder::<()>();
    let handle = yew::Renderer::<ConfigForm>::with_root_and_props(
        div.clone(),
        ConfigFormProps {
            view,
            default_timezone: "UTC".into(),
            save: Default::default(),
            verify_call: Default::default(),
            verify: None,
            locked_reason: None,
            namespace: Some("dash".into()),
            on_save,
            on_verify,
            on_cancel,
        },
    )
    .render();
    (div, handle, saved)
}

/// Chooses `value` in a `<select>` as a user would: set it, then fire `change`.
async fn choose(root: &Element, testid: &str, value: &str) {
    let el = find(root, testid);
    el.unchecked_ref::<web_sys::HtmlSelectElement>()
        .set_value(value);
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    let event = web_sys::Event::new_with_event_init_dict("change", &init).unwrap();
    el.dispatch_event(&event).unwrap();
    settle().await;
}

#[wasm_bindgen_test]
async fn a_managed_secret_replaces_the_credential_and_passphrase_fields() {
    let (div, handle, saved) = render_managed(&["AWS_ACCESS_KEY_ID", "AWS_REGION"], None);
    settle().await;
    let form = find(&div, "config-form");
    // No field to type a credential or a passphrase into.
    let secrets = form
        .query_selector_all("input[type=password], textarea, [name=lb-pass-mode]")
        .unwrap();
    assert_eq!(secrets.length(), 0, "{}", form.inner_html());
    assert!(!exists(&div, "config-access_key_id") && !exists(&div, "passphrase-set"));

    let panel = find(&div, "managed-secret");
    assert_eq!(panel.tag_name(), "FIELDSET");
    assert!(text(&div, "managed-secret").starts_with("Credentials and passphrase"));
    assert_eq!(text(&div, "managed-secret-name"), "lifeboat-storage");
    let found = div
        .query_selector_all("[data-testid=managed-secret-keys] li")
        .unwrap();
    assert_eq!(found.length(), 2);
    assert_eq!(
        found.item(0).unwrap().text_content().unwrap(),
        "✓ AWS_ACCESS_KEY_ID"
    );
    let missing = text(&div, "managed-secret-missing");
    assert!(missing.contains("AWS_SECRET_ACCESS_KEY"), "{missing}");
    assert!(!missing.contains("AWS_ACCESS_KEY_ID"), "{missing}");
    assert!(
        text(&div, "managed-secret-passphrase")
            .contains("No passphrase: backups are not encrypted")
    );
    assert!(!exists(&div, "managed-secret-problem"));
    let command = find(&div, "managed-secret-command");
    assert_eq!(command.tag_name(), "PRE");
    assert_eq!(
        command.get_attribute("tabindex").as_deref(),
        Some("0"),
        "reachable by keyboard"
    );
    let command = text(&div, "managed-secret-command");
    assert_eq!(
        command,
        "kubectl -n dash create secret generic lifeboat-storage \\\n  \
         --from-literal=AWS_ACCESS_KEY_ID='AKIA...' \\\n  \
         --from-literal=AWS_SECRET_ACCESS_KEY='...' \\\n  \
         --from-literal=RESTIC_PASSPHRASE='...'          # optional"
    );

    // Another provider: its keys, its command.
    choose(&div, "config-provider", "azure").await;
    let missing = text(&div, "managed-secret-missing");
    assert!(
        missing.contains("AZURE_ACCOUNT_KEY or AZURE_SAS_TOKEN"),
        "{missing}"
    );
    assert!(
        text(&div, "managed-secret-command").contains("--from-literal=AZURE_ACCOUNT_KEY='...'")
    );
    choose(&div, "config-provider", "local").await;
    assert!(
        !exists(&div, "managed-secret-missing"),
        "a folder needs no key"
    );
    assert!(!exists(&div, "config-secret_name"));

    // Saving sends neither credentials nor a passphrase.
    choose(&div, "config-provider", "s3").await;
    click(&div, "save-config").await;
    let saved = saved.borrow();
    assert_eq!(saved.len(), 1, "{}", div.inner_html());
    assert_eq!(
        (&saved[0].credentials, &saved[0].passphrase),
        (&None, &None)
    );
    assert_eq!(saved[0].config.secret_name, "lifeboat-storage");
    drop(saved);
    handle.destroy();
}

#[wasm_bindgen_test]
async fn a_managed_secret_that_cannot_be_read_says_why() {
    let problem = "the Secret \"lifeboat-storage\" does not exist in the namespace \"dash\"; \
                   create it with `kubectl -n dash create secret generic lifeboat-storage ...`";
    let (div, handle, _) = render_managed(&[], Some(problem));
    settle().await;
    let shown = find(&div, "managed-secret-problem");
    assert_eq!(shown.get_attribute("role").as_deref(), Some("alert"));
    assert!(text(&div, "managed-secret-problem").contains(problem));
    assert!(
        !exists(&div, "managed-secret-keys"),
        "unread: no keys to list"
    );
    assert!(
        text(&div, "managed-secret-command")
            .starts_with("kubectl -n dash create secret generic lifeboat-storage")
    );
    handle.destroy();
}

/// While a dialog is open the page behind it is `inert` (no focus, no click reaches it),
/// and focus fallen out of the dialog to the body is not lost: Tab brings it back in and
/// Escape cancels. It opens on its title, never on the choice "This namespace".
#[wasm_bindgen_test]
async fn the_page_behind_an_open_dialog_is_inert_and_its_keys_work_from_the_body() {
    let opener = opener();
    let div = fresh_div();
    let (_, cancelled, handle) = render_restore(&div, Some("dash"));
    settle().await;
    assert_eq!(active().unwrap().id(), "lb-restore-title");
    assert!(
        opener.has_attribute("inert"),
        "the opener behind is not inert"
    );
    assert!(!div.has_attribute("inert"));
    let body: Element = document().body().unwrap().into();
    let blur = || {
        active()
            .unwrap()
            .unchecked_into::<HtmlElement>()
            .blur()
            .unwrap()
    };
    blur();
    key(&body, "Tab", false).await;
    let dialog = find(&div, "restore-dialog");
    assert!(
        dialog.contains(Some(&active().unwrap())),
        "Tab from the body"
    );
    blur();
    key(&body, "Escape", false).await;
    assert_eq!(cancelled.borrow().len(), 1, "Escape from the body");
    handle.destroy();
    settle().await;
    assert!(!opener.has_attribute("inert"), "the page stayed inert");
    assert_eq!(active().unwrap(), *opener.unchecked_ref::<Element>());
    opener.remove();
}

/// A verify result belongs to the draft it verified: another provider hides it (and
/// choosing the verified one again shows it).
#[wasm_bindgen_test]
async fn a_verify_result_goes_when_the_draft_it_verified_changes() {
    use lifeboat_shared::config::{RepositoryState, VerifyReport};
    let view = managed_view(&["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"], None);
    let div = fresh_div();
    let (verified, on_verify) = recorder::<PutConfig>();
    let (_, on_save) = recorder::<PutConfig>();
    let (_, on_cancel) = recorder::<()>();
    let handle = yew::Renderer::<ConfigForm>::with_root_and_props(
        div.clone(),
        ConfigFormProps {
            view,
            default_timezone: "UTC".into(),
            save: Default::default(),
            verify_call: Default::default(),
            verify: Some(VerifyReport {
                ok: true,
                checks: vec![],
                repository: RepositoryState::Empty,
            }),
            locked_reason: None,
            namespace: Some("dash".into()),
            on_save,
            on_verify,
            on_cancel,
        },
    )
    .render();
    settle().await;
    assert!(
        !exists(&div, "verify-result"),
        "a result this form did not ask for"
    );
    click(&div, "verify-config").await;
    assert_eq!(verified.borrow().len(), 1);
    assert!(text(&div, "verify-result").contains("No backups are stored here yet"));
    choose(&div, "config-provider", "azure").await;
    assert!(
        !exists(&div, "verify-result"),
        "the S3 verify is shown for Azure"
    );
    choose(&div, "config-provider", "s3").await;
    assert!(exists(&div, "verify-result"));
    handle.destroy();
}
