//! The Schedule Backups and Retention fieldsets.

use lifeboat_shared::config::SchedulePreview;
use yew::prelude::*;

use super::inputs::{Apply, Form, Input};
use crate::components::config_summary::next_runs;
use crate::config_draft::{ConfigDraft, field};

/// The schedule: on or off, its cron expression and time zone, and (as typed, before it
/// is saved) the schedule in words with its next runs.
pub fn schedule(form: &Form<'_>, d: &ConfigDraft, preview: Option<&SchedulePreview>) -> Html {
    let wrong = form.errors.contains_key(field::CRON) || form.errors.contains_key(field::TIMEZONE);
    html! {
        <fieldset class="lb-fieldset">
            <legend>{ "Schedule Backups" }</legend>
            <label class="lb-choice">
                <input type="checkbox" checked={d.schedule_enabled} data-testid="config-schedule-enabled"
                    onchange={form.update(Box::new(|d| d.schedule_enabled = !d.schedule_enabled))} />
                { "Back up on a schedule" }
            </label>
            if d.schedule_enabled {
                <div class="lb-nested lb-grid-2">
                    { form.input(field::CRON, "Cron expression", &d.cron, |d, v| d.cron = v, Input::Text(true,
                        (Some("Five fields: minute hour day-of-month month day-of-week. 0 2 * * * is every day at 02:00."), None))) }
                    { form.input(field::TIMEZONE, "Time zone", &d.timezone, |d, v| d.timezone = v, Input::Text(true,
                        (Some("An IANA name such as Europe/Berlin or America/New_York; daylight saving is handled."), None))) }
                </div>
                <div class="lb-nested" aria-live="polite" data-testid="schedule-preview">
                    if let Some(p) = preview {
                        <p><strong>{ p.description.clone() }</strong></p>
                        if !p.next_runs.is_empty() {
                            <p class="lb-hint">{ "Next runs:" }</p>
                            { next_runs(&p.next_runs) }
                        }
                    } else {
                        <p class="lb-hint">{ if wrong { "Correct the schedule to see it in plain words with its next five run times." } else { "Working out the next run times…" } }</p>
                    }
                </div>
                <p class="lb-hint">{ "Tip: schedule backups when Dash Enterprise is quiet. A scheduled backup is skipped while another backup or restore runs." }</p>
            }
        </fieldset>
    }
}

/// The retention counts.
pub fn retention(form: &Form<'_>, d: &ConfigDraft) -> Html {
    let counts: [(&'static str, &'static str, &String, Apply); 4] = [
        (field::KEEP_LAST, "Keep the latest", &d.keep_last, |d, v| {
            d.keep_last = v
        }),
        (field::KEEP_DAILY, "Daily backups", &d.keep_daily, |d, v| {
            d.keep_daily = v
        }),
        (
            field::KEEP_WEEKLY,
            "Weekly backups",
            &d.keep_weekly,
            |d, v| d.keep_weekly = v,
        ),
        (
            field::KEEP_MONTHLY,
            "Monthly backups",
            &d.keep_monthly,
            |d, v| d.keep_monthly = v,
        ),
    ];
    html! {
        <fieldset class="lb-fieldset">
            <legend>{ "Retention" }</legend>
            <p class="lb-hint">{ "Applied after each successful backup. Leave all empty (or 0) to keep every backup." }</p>
            <div class="lb-grid-4">
                { for counts.into_iter().map(|(key, label, value, apply)| form.input(key, label, value, apply, Input::Count)) }
            </div>
        </fieldset>
    }
}
