//! An operation's progress: status, bar, the whole operation's percent and ETA, the step's
//! percent, bytes, rate and ETA, current step, the steps with their state and duration,
//! warnings, and the error with its hint.

use lifeboat_shared::operation::{
    Operation, OperationKind, OperationStatus, Progress, Step, StepStatus,
};
use yew::prelude::*;

use crate::components::status;
use crate::format;

/// Properties of [`OperationProgress`].
#[derive(Debug, Clone, PartialEq, Properties)]
pub struct OperationProgressProps {
    /// The operation.
    pub operation: Operation,
    /// Now, in seconds since the epoch, for the duration of running steps.
    #[prop_or_default]
    pub now: Option<f64>,
    /// Leave out the per-step list (the main page's summary card).
    #[prop_or_default]
    pub compact: bool,
}

/// "Backup · Before the upgrade" or "Restore of bk-… into dash".
pub fn title(op: &Operation) -> String {
    match &op.kind {
        OperationKind::Backup { description, .. } if description.is_empty() => "Backup".to_owned(),
        OperationKind::Backup { description, .. } => format!("Backup · {description}"),
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

/// The progress view.
#[function_component(OperationProgress)]
pub fn operation_progress(props: &OperationProgressProps) -> Html {
    let op = &props.operation;
    let running = !op.status.is_terminal();
    let progress = op.progress.clone().filter(|_| running);
    let fraction = match op.status {
        OperationStatus::Succeeded | OperationStatus::SucceededWithWarnings => Some(1.0),
        _ => progress.as_ref().and_then(|p| p.fraction()),
    };
    let pct = fraction.and_then(format::whole_percent);
    let bar_label = format!("{} progress", title(op));

    let steps = op.steps.iter().map(|s| {
        let (icon, word, tone) = status::step(s.status);
        let dur = step_duration(s, props.now);
        html! {
            <li key={s.id.clone()} class={classes!("lb-step", tone)} data-testid="operation-step"
                data-step={s.id.clone()} data-status={word}
                aria-current={(s.status == StepStatus::Running).then_some("step")}>
                <span class="lb-step-icon" aria-hidden="true">{ icon }</span>
                <span class="lb-step-title">{ s.title.clone() }</span>
                <span class="lb-step-state">
                    { word }
                    if let Some(d) = dur { { format!(" · {d}") } }
                </span>
                if let Some(detail) = &s.detail {
                    <span class="lb-step-detail">{ detail.clone() }</span>
                }
            </li>
        }
    });

    html! {
        <div class="lb-progress" data-testid="operation-progress" data-status={status::operation(op.status).1}>
            <div class="lb-progress-head">
                <span class="lb-progress-title">{ title(op) }</span>
                { status::badge(status::operation(op.status)) }
            </div>
            <p class="lb-sr" aria-live="polite" aria-atomic="true">{ announcement(op) }</p>
            if running || fraction.is_some() {
                <div class="lb-bar" role="progressbar" aria-label={bar_label}
                    aria-valuemin="0" aria-valuemax="100"
                    aria-valuenow={pct.map(|p| p.to_string())}
                    aria-valuetext={pct.map(|p| format!("{p}%")).unwrap_or_else(|| "Size not known yet".to_owned())}
                    data-testid="progress-bar">
                    <div class={classes!("lb-bar-fill", pct.is_none().then_some("lb-bar-indeterminate"))}
                        style={format!("width: {}%", pct.map_or(100, u32::from))}></div>
                </div>
            }
            if let Some(o) = progress.as_ref().and_then(|p| format::overall(p.overall_fraction, p.overall_eta_seconds)) {
                <p data-testid="progress-overall">{ o }</p>
            }
            { facts(op, progress.as_ref(), pct) }
            if !props.compact && !op.steps.is_empty() {
                <ol class="lb-steps" aria-label="Steps">{ for steps }</ol>
            }
            { problems(op) }
        </div>
    }
}

/// The figures: done, data, rate, time left, current step, what it works on, and when it
/// started and finished.
fn facts(op: &Operation, progress: Option<&Progress>, pct: Option<u8>) -> Html {
    let total = op.steps.len();
    let position = op
        .steps
        .iter()
        .position(|s| s.status == StepStatus::Running)
        .map(|i| i + 1);
    let current = op.current_step();
    html! {
        <dl class="lb-facts">
            if let Some(p) = pct {
                <dt>{ "Done" }</dt><dd data-testid="progress-percent">{ format!("{p}%") }</dd>
            }
            if let Some(p) = &progress {
                <dt>{ "Data" }</dt>
                <dd data-testid="progress-bytes"
                    title={p.bytes_total.map(|t| format!("{} of {}", format::exact_bytes(p.bytes_done), format::exact_bytes(t)))}>
                    { format::bytes_of(p.bytes_done, p.bytes_total) }
                    if let Some(ft) = p.files_total {
                        { format!(" · {} of {ft} files", p.files_done) }
                    }
                </dd>
                if let Some(r) = p.rate_bytes_per_sec {
                    <dt>{ "Rate" }</dt><dd data-testid="progress-rate">{ format::rate(r) }</dd>
                }
                if let Some(e) = p.eta_seconds {
                    <dt>{ "Time left" }</dt><dd data-testid="progress-eta">{ format::eta(e) }</dd>
                }
            }
            if let Some(step) = current {
                <dt>{ "Current step" }</dt>
                <dd data-testid="progress-step">
                    { step.title.clone() }
                    if let (Some(i), true) = (position, total > 0) {
                        <span class="lb-muted">{ format!(" (step {i} of {total})") }</span>
                    }
                </dd>
            }
            if let Some(item) = progress.as_ref().and_then(|p| p.current.clone()) {
                <dt>{ "Working on" }</dt><dd class="lb-ellipsis" title={item.clone()}>{ item }</dd>
            }
            <dt>{ "Started" }</dt>
            <dd title={op.created_at.clone()}>{ format::date_time(&op.created_at) }</dd>
            if let Some(end) = &op.finished_at {
                <dt>{ "Finished" }</dt>
                <dd title={end.clone()}>
                    { format::date_time(end) }
                    if let Some(d) = format::seconds_between(&op.created_at, end) {
                        <span class="lb-muted">{ format!(" (took {})", format::duration(d)) }</span>
                    }
                </dd>
            }
        </dl>
    }
}

/// The error with its hint, and the warnings.
fn problems(op: &Operation) -> Html {
    html! {
        <>
            if let Some(err) = &op.error {
                <div class="lb-banner lb-banner-error" role="alert" data-testid="operation-error">
                    <span class="lb-banner-icon" aria-hidden="true">{ "✕" }</span>
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
