//! An operation's progress: status, one bar for the whole operation with its percent, the
//! step it is on and its time left beside it; the steps with their state and duration, the
//! running one with its own figures (data, files, rate, what it works on) in its row;
//! warnings, and the error with its hint.
//!
//! The bar, the percent and the time left are the whole operation's (`overall_fraction`,
//! which the backend never lets go back); a step's own figures appear only in that step's
//! row, so no two figures on the screen contradict each other.

use lifeboat_shared::operation::{
    Operation, OperationKind, OperationStatus, Progress, Step, StepStatus,
};
use yew::prelude::*;

use crate::components::status;
use crate::format;

/// "Backup · Before the upgrade", "Restore of bk-… into namespace dash", or for some apps'
/// data alone "Restore of app-001's data from bk-… into namespace dash".
pub fn title(op: &Operation) -> String {
    match &op.kind {
        OperationKind::Backup { description, .. } if description.is_empty() => "Backup".to_owned(),
        OperationKind::Backup { description, .. } => format!("Backup · {description}"),
        OperationKind::Restore {
            backup_id,
            target_namespace,
            apps: Some(apps),
            ..
        } => format!(
            "Restore of {} from {backup_id} into namespace {target_namespace}",
            match apps.as_slice() {
                [app] => format!("{app}'s data"),
                _ => format!("{} apps' data", apps.len()),
            }
        ),
        OperationKind::Restore {
            backup_id,
            target_namespace,
            ..
        } => format!("Restore of {backup_id} into namespace {target_namespace}"),
        OperationKind::Unknown => "Operation".to_owned(),
    }
}

fn step_duration(step: &Step, now: Option<f64>) -> Option<String> {
    let start = step.started_at.as_deref()?;
    let secs = match (&step.finished_at, now) {
        (Some(end), _) => format::seconds_between(start, end)?,
        (None, Some(now)) if step.status == StepStatus::Running => {
            (now - format::parse_rfc3339(start)?).max(0.0)
        }
        _ => return None,
    };
    Some(format::duration(secs))
}

/// What a screen reader hears: the status, the step, and progress (the whole operation's
/// when known, else the step's) in steps of ten percent (so that it is not read out every
/// second).
fn announcement(op: &Operation) -> String {
    let (_, word, _) = status::operation(op.status);
    let mut s = word.to_owned();
    if let Some(step) = op.current_step() {
        s.push_str(": ");
        s.push_str(&step.title);
    }
    if let Some(p) = op
        .progress
        .as_ref()
        .and_then(|p| p.overall_fraction.or_else(|| p.fraction()))
        .and_then(format::whole_percent)
        .filter(|_| op.status == OperationStatus::Running)
    {
        s.push_str(&format!(", about {}% done", p / 10 * 10));
    }
    s.push('.');
    s
}

/// The whole operation's share done: all of it once it succeeded, else what the backend
/// reported (older backends report only the step's, which is better than nothing).
pub fn overall_fraction(op: &Operation) -> Option<f64> {
    match op.status {
        OperationStatus::Succeeded | OperationStatus::SucceededWithWarnings => Some(1.0),
        _ => op
            .progress
            .as_ref()
            .and_then(|p| p.overall_fraction.or_else(|| p.fraction())),
    }
}

/// The progress view: `now` (seconds since the epoch) times the running step and says how
/// long ago things happened; `with_steps` adds the list of steps (the progress page).
pub fn operation_progress(op: &Operation, now: Option<f64>, with_steps: bool) -> Html {
    let running = !op.status.is_terminal();
    let pct = overall_fraction(op).and_then(format::whole_percent);
    let bar_label = format!("{} progress", title(op));
    let total = op.steps.len();
    let position = op
        .steps
        .iter()
        .position(|s| s.status == StepStatus::Running);
    let eta = op
        .progress
        .as_ref()
        .and_then(|p| p.overall_eta_seconds)
        .filter(|_| running);
    let steps = op
        .steps
        .iter()
        .map(|s| step_row(s, op.progress.as_ref(), now));

    html! {
        <div class="lb-progress" data-testid="operation-progress" data-status={status::operation(op.status).1}>
            <div class="lb-progress-head">
                <span class="lb-progress-title">{ title(op) }</span>
                { status::badge(status::operation(op.status)) }
            </div>
            <p class="lb-sr" aria-live="polite" aria-atomic="true">{ announcement(op) }</p>
            if running || pct.is_some() {
                <div class="lb-bar" role="progressbar" aria-label={bar_label}
                    aria-valuemin="0" aria-valuemax="100"
                    aria-valuenow={pct.map(|p| p.to_string())}
                    aria-valuetext={pct.map(|p| format!("{p}%")).unwrap_or_else(|| "Size not known yet".to_owned())}
                    data-testid="progress-bar">
                    <div class={classes!("lb-bar-fill", pct.is_none().then_some("lb-bar-indeterminate"))}
                        style={format!("width: {}%", pct.map_or(100, u32::from))}></div>
                </div>
                <p class="lb-progress-line" data-testid="progress-overall">
                    if let Some(p) = pct {
                        <strong data-testid="progress-percent">{ format!("{p}%") }</strong>
                    }
                    if let (Some(i), true) = (position, running) {
                        <span data-testid="progress-step">
                            { format!("Step {} of {total}: {}", i + 1, op.steps[i].title) }
                        </span>
                    }
                    if let Some(e) = eta {
                        <span data-testid="progress-eta">{ format::eta(e) }</span>
                    }
                </p>
            }
            <dl class="lb-facts">
                <dt>{ "Started" }</dt>
                <dd>{ when(&op.created_at, now) }</dd>
                if let Some(end) = &op.finished_at {
                    <dt>{ "Finished" }</dt>
                    <dd>
                        { when(end, now) }
                        if let Some(d) = format::seconds_between(&op.created_at, end) {
                            <span class="lb-muted">{ format!(" (took {})", format::duration(d)) }</span>
                        }
                    </dd>
                }
            </dl>
            if with_steps && !op.steps.is_empty() {
                <ol class="lb-steps" aria-label="Steps">{ for steps }</ol>
            }
            { problems(op) }
        </div>
    }
}

/// A step's row: its state and duration, its detail, and while it runs its own figures.
fn step_row(s: &Step, progress: Option<&Progress>, now: Option<f64>) -> Html {
    let (icon, word, tone) = status::step(s.status);
    let dur = step_duration(s, now);
    let running = s.status == StepStatus::Running;
    let figures = progress.filter(|_| running).and_then(step_figures);
    html! {
        <li key={s.id.clone()} class={classes!("lb-step", tone)} data-testid="operation-step"
            data-step={s.id.clone()} data-status={word}
            aria-current={running.then_some("step")}>
            <span class="lb-step-icon" aria-hidden="true">{ icon }</span>
            <span class="lb-step-title">{ s.title.clone() }</span>
            <span class="lb-step-state">
                { word }
                if let Some(d) = dur { { format!(" · {d}") } }
            </span>
            if let Some(detail) = &s.detail {
                <span class="lb-step-detail">{ detail.clone() }</span>
            }
            if let Some((line, item)) = figures {
                <span class="lb-step-detail" data-testid="step-figures">
                    { line }
                    if let Some(item) = item {
                        <span class="lb-ellipsis">{ format!("Copying {item}") }</span>
                    }
                </span>
            }
        </li>
    }
}

/// A running step's own figures: `12.0 MiB of 40.0 MiB (30%) · 3 of 120 files · 5.0 MiB/s`,
/// and what it works on; `None` before it has any.
fn step_figures(p: &Progress) -> Option<(String, Option<String>)> {
    if p.bytes_done == 0 && p.bytes_total.is_none() && p.current.is_none() {
        return None;
    }
    let mut line = format::bytes_of(p.bytes_done, p.bytes_total);
    if let Some(f) = p.fraction() {
        line += &format!(" ({})", format::percent(f));
    }
    if let Some(ft) = p.files_total {
        line += &format!(" · {} of {ft} files", p.files_done);
    }
    if let Some(r) = p.rate_bytes_per_sec {
        line += &format!(" · {}", format::rate(r));
    }
    Some((line, p.current.clone()))
}

/// An RFC 3339 time in the browser's zone, as `1 Dec 2026, 10:55 CET`; anything that does
/// not parse, as it came.
pub fn local_time(iso: &str) -> String {
    let Some(at) = format::parse_rfc3339(iso) else {
        return iso.to_owned();
    };
    let options = js_sys::Object::new();
    for (k, v) in [
        ("day", "numeric"),
        ("month", "short"),
        ("year", "numeric"),
        ("hour", "2-digit"),
        ("minute", "2-digit"),
        ("timeZoneName", "short"),
    ] {
        let _ = js_sys::Reflect::set(&options, &k.into(), &v.into());
    }
    js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at * 1000.0))
        .to_locale_string("en-GB", &options)
        .into()
}

/// A time as people read it: how long ago (or the local date and time, when older than a
/// day), with the local time and the server's exact stamp on hover.
pub fn when(iso: &str, now: Option<f64>) -> Html {
    let local = local_time(iso);
    let shown = now
        .zip(format::parse_rfc3339(iso))
        .and_then(|(n, at)| format::ago(n - at))
        .unwrap_or_else(|| local.clone());
    html! {
        <time datetime={iso.to_owned()} title={format!("{local} ({iso})")}>{ shown }</time>
    }
}
/// The error with its hint (a cancel, neutral), and the warnings.
fn problems(op: &Operation) -> Html {
    // Cancelled is what the admin asked for: said plainly, not as a failure.
    let (tone, role, icon) = if op.status == OperationStatus::Cancelled {
        ("lb-banner-info", "status", "■")
    } else {
        ("lb-banner-error", "alert", "✕")
    };
    html! {
        <>
            if let Some(err) = &op.error {
                <div class={classes!("lb-banner", tone)} role={role} data-testid="operation-error">
                    <span class="lb-banner-icon" aria-hidden="true">{ icon }</span>
                    <div class="lb-banner-body">
                        <p class="lb-banner-message">{ err.message.clone() }</p>
                        if let Some(hint) = &err.hint {
                            <p class="lb-banner-hint">{ hint.clone() }</p>
                        }
                    </div>
                </div>
            }
            if !op.warnings.is_empty() {
                <div class="lb-banner lb-banner-warn" data-testid="operation-warnings">
                    <span class="lb-banner-icon" aria-hidden="true">{ "▲" }</span>
                    <div class="lb-banner-body">
                        <p class="lb-banner-title">{ "Warnings" }</p>
                        <ul class="lb-list">
                            { for op.warnings.iter().map(|w| html! { <li>{ w.clone() }</li> }) }
                        </ul>
                    </div>
                </div>
            }
        </>
    }
}
