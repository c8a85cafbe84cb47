//! The storage configuration at a glance, with Edit Configuration and Verify.

use lifeboat_shared::config::{ConfigView, Provider, Retention, VerifyReport};
use yew::prelude::*;

use crate::components::empty_state::empty_state;
use crate::components::operation_progress::local_time;
use crate::components::verify_result::{verify_area, verify_button};
use crate::hooks::ActionState;

/// What the summary draws.
#[derive(Debug)]
pub struct ConfigSummaryProps {
    /// The saved configuration.
    pub view: ConfigView,
    /// The last verify result, if any.
    pub verify: Option<VerifyReport>,
    /// The verify call: in flight, and why the last one failed.
    pub verify_call: ActionState,
    /// Edit Configuration.
    pub on_edit: Callback<()>,
    /// Verify the saved configuration.
    pub on_verify: Callback<()>,
}

/// Where the bucket is, in one line.
pub fn location(p: &Provider) -> (String, String) {
    let with_prefix = |base: String, prefix: &str| {
        if prefix.is_empty() {
            base
        } else {
            format!("{base}/{prefix}")
        }
    };
    match p {
        Provider::Local { path } if path.is_empty() => (
            "Local folder".to_owned(),
            "bucket/ in Lifeboat's data directory".to_owned(),
        ),
        Provider::Local { path } => ("Local folder".to_owned(), path.clone()),
        Provider::S3 {
            region,
            bucket,
            prefix,
            endpoint,
        } => {
            let place = with_prefix(format!("s3://{bucket}"), prefix);
            let at = if endpoint.is_empty() {
                format!("{place} ({region})")
            } else {
                format!("{place} at {endpoint} ({region})")
            };
            ("Amazon S3".to_owned(), at)
        }
        Provider::Azure {
            account,
            container,
            prefix,
        } => (
            "Azure Blob Storage".to_owned(),
            with_prefix(format!("{account}/{container}"), prefix),
        ),
        Provider::Gcs { bucket, prefix } => (
            "Google Cloud Storage".to_owned(),
            with_prefix(format!("gs://{bucket}"), prefix),
        ),
    }
}

/// The retention rule in words.
pub fn retention(r: &Retention) -> String {
    let parts: Vec<String> = [
        (r.keep_last, "latest"),
        (r.keep_daily, "daily"),
        (r.keep_weekly, "weekly"),
        (r.keep_monthly, "monthly"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    if parts.is_empty() {
        "Every backup is kept.".to_owned()
    } else {
        format!(
            "Keep the {} backups; older ones are removed after each backup.",
            parts.join(", ")
        )
    }
}

/// The summary card's content. A plain function rather than a component (a component
/// costs the bundle its own lifecycle code).
pub fn config_summary(props: &ConfigSummaryProps) -> Html {
    let v = &props.view;
    let edit = {
        let cb = props.on_edit.clone();
        Callback::from(move |_: MouseEvent| cb.emit(()))
    };
    let Some(c) = &v.config else {
        return html! {
            <div data-testid="config-summary" data-configured="false">
                { empty_state("No bucket is configured.",
                    "Configure a bucket to start backing up: a local folder works right away, or use S3, Azure or Google Cloud Storage.") }
                <div class="lb-actions">
                    <button type="button" class="lb-btn lb-btn-primary" onclick={edit} data-testid="edit-config">
                        { "Configure storage" }
                    </button>
                </div>
            </div>
        };
    };
    let verify = {
        let cb = props.on_verify.clone();
        Callback::from(move |_: MouseEvent| cb.emit(()))
    };
    let (kind, place) = location(&c.provider);
    let cloud = !matches!(c.provider, Provider::Local { .. });
    html! {
        <div data-testid="config-summary" data-configured="true" data-default={v.is_default.to_string()}>
            if v.is_default {
                <div class="lb-note" data-testid="config-default-note">
                    <p class="lb-empty-title">{ "No bucket is configured yet." }</p>
                    <p>
                        { "Until you save a configuration, backups go to the embedded default: a folder on the \
                           Lifeboat host, not encrypted with a passphrase. Configure a bucket to start backing up \
                           to storage you own (Amazon S3, Azure Blob Storage, Google Cloud Storage or an \
                           S3-compatible store)." }
                    </p>
                </div>
            }
            <dl class="lb-facts">
                <dt>{ "Storage" }</dt>
                <dd data-testid="config-location">{ kind }{ " · " }<code>{ place }</code></dd>
                if cloud || !c.secret_name.is_empty() {
                    <dt>{ "Credentials" }</dt>
                    <dd>
                        { format!("Secret {}", if c.secret_name.is_empty() { "(none)" } else { &c.secret_name }) }
                        { if v.credentials_set { " · stored" } else if cloud { " · not stored here (read from the Kubernetes Secret)" } else { "" } }
                    </dd>
                }
                <dt>{ "Encryption" }</dt>
                <dd data-testid="config-passphrase">
                    if v.passphrase_set {
                        <span aria-hidden="true">{ "🔒 " }</span>
                        { "A passphrase is set: restic encrypts every backup with it. Keep it safe; without it backups cannot be restored." }
                    } else {
                        <span aria-hidden="true">{ "▲ " }</span>
                        { "No passphrase: backups are not encrypted by Lifeboat and rely on the bucket's at-rest encryption." }
                    }
                </dd>
                <dt>{ "Schedule" }</dt>
                <dd data-testid="config-schedule">
                    { schedule(v) }
                </dd>
                <dt>{ "Retention" }</dt>
                <dd>{ retention(&c.retention) }</dd>
                if let Some(at) = &v.updated_at {
                    <dt>{ "Last saved" }</dt>
                    <dd title={at.clone()}>{ local_time(at) }</dd>
                }
            </dl>
            <div class="lb-actions">
                <button type="button" class="lb-btn lb-btn-primary" onclick={edit} data-testid="edit-config">
                    { if v.is_default { "Configure storage" } else { "Edit Configuration" } }
                </button>
                { verify_button(props.verify_call.busy, verify, "verify-saved") }
            </div>
            { verify_area(props.verify_call.error.as_ref(), props.verify.as_ref(), !cloud) }
        </div>
    }
}

/// A schedule's next run times, as a list (the time itself on hover).
pub fn next_runs(runs: &[String]) -> Html {
    html! {
        <ul class="lb-list">
            { for runs.iter().map(|t| html! { <li title={t.clone()}>{ local_time(t) }</li> }) }
        </ul>
    }
}

fn schedule(v: &ConfigView) -> Html {
    let Some(c) = &v.config else {
        return Html::default();
    };
    match (&c.schedule, &v.schedule_preview) {
        (None, _) => html! { { "No schedule: backups run when you select Backup Now." } },
        (Some(s), None) => {
            html! { <><code>{ s.cron.clone() }</code>{ format!(" ({})", s.timezone) }</> }
        }
        (Some(s), Some(p)) => html! {
            <>
                { p.description.clone() }
                <span class="lb-muted">{ " · " }<code>{ s.cron.clone() }</code></span>
                if !p.next_runs.is_empty() {
                    <details class="lb-details">
                        <summary>{ "Next runs" }</summary>
                        { next_runs(&p.next_runs) }
                    </details>
                }
            </>
        },
    }
}
