//! The Backups table: every backup in the bucket, newest first, with what it holds (its
//! apps' data in a line, every component on demand) and a Restore action.

use lifeboat_shared::backup::BackupManifest;
use lifeboat_shared::operation::{Operation, OperationKind, Trigger};
use yew::prelude::*;

use crate::components::app_data::apps_data;
use crate::components::operation_progress::{local_time, when};
use crate::components::status;
use crate::format;

/// What the table draws.
#[derive(Debug)]
pub struct BackupsTableProps {
    /// The catalog, newest first.
    pub backups: Vec<BackupManifest>,
    /// A backup operation that has not finished: shown as the first row.
    pub running: Option<Operation>,
    /// Ids of backups whose operation ended with warnings.
    pub with_warnings: Vec<String>,
    /// Why Restore is unavailable right now (shown above the table), if it is.
    pub restore_disabled: Option<AttrValue>,
    /// Restore was selected on a row.
    pub on_restore: Callback<BackupManifest>,
    /// Now, in seconds since the epoch, for "5 min ago".
    pub now: Option<f64>,
}

/// `Manual (alice)` or `Scheduled`.
pub fn trigger(t: &Trigger) -> String {
    match t {
        Trigger::Manual { by } if by.is_empty() => "Manual".to_owned(),
        Trigger::Manual { by } => format!("Manual ({by})"),
        Trigger::Scheduled => "Scheduled".to_owned(),
        Trigger::Unknown => "Other".to_owned(),
    }
}

fn running_row(op: &Operation, now: Option<f64>) -> Html {
    let (description, trig) = match &op.kind {
        OperationKind::Backup {
            description,
            trigger: t,
            ..
        } => (description.clone(), trigger(t)),
        _ => (String::new(), String::new()),
    };
    // The whole operation's share, as on its card and progress page: one operation shows
    // one percentage wherever it appears (a step's own bytes are only in its step's row).
    let pct = crate::components::operation_progress::overall_fraction(op).map(format::percent);
    html! {
        <tr class="lb-row-running" data-testid="backup-row-running">
            <td data-label="Date">{ when(&op.created_at, now) }</td>
            <td data-label="Description">{ description_cell(&description) }</td>
            <td data-label="Trigger">{ trig }</td>
            <td data-label="Size">{ "–" }</td>
            <td data-label="Duration">{ "–" }</td>
            <td data-label="Status">{ status::badge_with(status::operation(op.status), pct.map(|p| format!(" · {p}"))) }</td>
            <td data-label="Source">{ "this instance" }</td>
            <td></td>
        </tr>
    }
}

/// `Full`, or `Incremental · needs the backup of 7 Dec, 21:05` (its `depends_on`).
fn chain(b: &BackupManifest, all: &[BackupManifest]) -> String {
    use lifeboat_shared::backup::BackupType;
    let kind = match b.backup_type {
        BackupType::Full => "Full",
        BackupType::Diff => "Differential",
        BackupType::Incr => "Incremental",
    };
    match b.depends_on.as_deref() {
        None => kind.to_owned(),
        Some(id) => match all.iter().find(|o| o.id == id) {
            Some(o) => format!("{kind} · needs the backup of {}", local_time(&o.started_at)),
            None => format!("{kind} · needs {id}"),
        },
    }
}

fn description_cell(d: &str) -> Html {
    if d.is_empty() {
        html! { <span class="lb-muted">{ "No description" }</span> }
    } else {
        html! { { d.to_owned() } }
    }
}

/// The fragment of the page's address (`#backup-<id>` after "Backups table" on a finished
/// backup's page): that row is highlighted, and scrolled into view ([`scroll_once`]).
fn target_row() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

/// Scrolls the row `anchor` into view once it is drawn, once per link followed, and again
/// over the next seconds while the cards above it load and push it down.
fn scroll_once(anchor: &str) {
    thread_local! {
        static SCROLLED: std::cell::RefCell<String> = std::cell::RefCell::default();
    }
    if SCROLLED.with(|s| s.replace(anchor.to_owned())) == anchor {
        return;
    }
    for ms in [0, 300, 1000, 2500] {
        let id = anchor.to_owned();
        gloo_timers::callback::Timeout::new(ms, move || {
            if let Some(row) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.get_element_by_id(&id))
            {
                row.scroll_into_view();
            }
        })
        .forget();
    }
}

/// What backup `b` (of `local`, its local time) holds: its apps' data in one line, which
/// opens to every component with its size, how it was taken and how long that took.
fn contents(b: &BackupManifest, local: &str) -> Html {
    let (apps, bytes) = apps_data(b);
    let summary = match apps {
        0 => "System only, no apps' data".to_owned(),
        n => format!("Apps' data: {n} apps, {}", format::bytes(bytes)),
    };
    let items = b.components.iter().map(|c| {
        html! {
            <li data-testid="backup-component" data-component={c.name.clone()}>
                <code>{ c.name.clone() }</code>{ " " }{ format::bytes(c.size_bytes) }
                if let Some(m) = &c.method { { " · " }{ m.clone() } }
                if let Some(ms) = c.duration_ms { { " · " }{ format::millis(ms) } }
            </li>
        }
    });
    html! {
        <details class="lb-details lb-contents" data-testid="backup-contents">
            <summary data-testid="backup-apps-summary">{ summary }</summary>
            <ul class="lb-list" role="list" aria-label={format!("What the backup of {local} holds")}>
                { for items }
            </ul>
        </details>
    }
}

/// The table. A plain function rather than a component (a component costs the bundle its
/// own lifecycle code).
pub fn backups_table(props: &BackupsTableProps) -> Html {
    let now = props.now;
    let target = target_row();
    let rows = props.backups.iter().map(|b| {
        let anchor = format!("backup-{}", b.id);
        let class = (target.get(1..) == Some(anchor.as_str())).then(|| {
            scroll_once(&anchor);
            "lb-row-target"
        });
        let on_restore = props.on_restore.clone();
        let backup = b.clone();
        let onclick = Callback::from(move |_: MouseEvent| on_restore.emit(backup.clone()));
        let local = local_time(&b.started_at);
        let duration = format::seconds_between(&b.started_at, &b.finished_at)
            .map(format::duration)
            .unwrap_or_else(|| "–".to_owned());
        let size_title = format!(
            "{} in all; {} added to the bucket",
            format::exact_bytes(b.size_bytes),
            format::exact_bytes(b.bytes_added)
        );
        html! {
            <tr key={b.id.clone()} id={anchor} {class} data-testid="backup-row" data-backup-id={b.id.clone()}>
                <td data-label="Date">{ when(&b.started_at, now) }</td>
                <td data-label="Description">{ description_cell(&b.description) }</td>
                <td data-label="Trigger">{ trigger(&b.trigger) }
                    <br /><span class="lb-muted" data-testid="backup-type">{ chain(b, &props.backups) }</span></td>
                <td data-label="Size">
                    // One block: stacked, the cell is a flex row of its label and this.
                    <div>
                        <span title={size_title}>
                            { format::bytes(b.size_bytes) }
                            <span class="lb-muted">{ format!(" · +{} added", format::bytes(b.bytes_added)) }</span>
                        </span>
                        if b.encrypted {
                            <span class="lb-muted">{ " · " }<span aria-hidden="true">{ "🔒" }</span>{ "encrypted" }</span>
                        }
                        { contents(b, &local) }
                    </div>
                </td>
                <td data-label="Duration">{ duration }</td>
                <td data-label="Status">{ status::badge(status::backup(props.with_warnings.contains(&b.id))) }</td>
                <td data-label="Source">{ b.source.namespace.clone() }</td>
                <td>
                    <button type="button" class="lb-btn lb-btn-secondary lb-btn-small"
                        disabled={props.restore_disabled.is_some()}
                        {onclick} data-testid="restore-button">
                        { "Restore" }<span class="lb-sr">{ format!(" the backup of {local}") }</span>
                    </button>
                </td>
            </tr>
        }
    });
    html! {
        <>
            if let Some(reason) = &props.restore_disabled {
                <p class="lb-note" data-testid="restore-disabled-reason">
                    <span class="lb-i" aria-hidden="true">{ "i" }</span>{ reason.clone() }
                </p>
            }
            <div class="lb-table-wrap">
                <table class="lb-table lb-stack" data-testid="backups-table">
                    <caption class="lb-sr">{ "Backups in the bucket, newest first" }</caption>
                    <thead>
                        <tr>
                            <th scope="col">{ "Date" }</th>
                            <th scope="col">{ "Description" }</th>
                            <th scope="col">{ "Trigger" }</th>
                            <th scope="col">{ "Size" }</th>
                            <th scope="col">{ "Duration" }</th>
                            <th scope="col">{ "Status" }</th>
                            <th scope="col">{ "Source namespace" }</th>
                            <th scope="col"><span class="lb-sr">{ "Actions" }</span></th>
                        </tr>
                    </thead>
                    <tbody>
                        if let Some(op) = &props.running { { running_row(op, now) } }
                        { for rows }
                    </tbody>
                </table>
            </div>
        </>
    }
}

#[cfg(test)]
mod tests {
    use lifeboat_shared::backup::{BackupType, SourceInstance};

    use super::*;

    fn backup(id: &str, kind: BackupType, on: Option<&str>) -> BackupManifest {
        BackupManifest {
            backup_type: kind,
            depends_on: on.map(str::to_owned),
            id: id.into(),
            started_at: "2026-12-07T21:05:00Z".into(),
            finished_at: String::new(),
            trigger: Trigger::Scheduled,
            description: String::new(),
            source: SourceInstance {
                instance_id: "i".into(),
                namespace: "dash".into(),
            },
            platform_version: String::new(),
            lifeboat_version: String::new(),
            postgres_major: 15,
            components: Vec::new(),
            bytes_added: 0,
            size_bytes: 0,
            encrypted: false,
            key_fingerprint: None,
            counts: Default::default(),
            wal_until: None,
            consistent_at: None,
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn each_row_says_its_type_and_what_it_needs() {
        let all = vec![
            backup("bk-2", BackupType::Incr, Some("bk-1")),
            backup("bk-1", BackupType::Full, None),
            backup("bk-3", BackupType::Diff, Some("bk-gone")),
        ];
        assert_eq!(chain(&all[1], &all), "Full");
        let incr = chain(&all[0], &all);
        assert!(
            incr.starts_with("Incremental · needs the backup of "),
            "{incr}"
        );
        assert!(!incr.contains("bk-1"), "named by its time: {incr}");
        assert_eq!(chain(&all[2], &all), "Differential · needs bk-gone");
    }
}
