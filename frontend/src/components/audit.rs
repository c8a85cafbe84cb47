//! The Activity card: the audit trail (who did what, from where, and how it ended), in
//! words, 20 entries a page, sign-ins shown or hidden; collapsed until opened.

use lifeboat_shared::backup::AuditList;
use yew::prelude::*;

use crate::components::banner::error_banner;
use crate::components::operation_progress::local_time;
use crate::hooks::Loadable;

/// The table's columns.
const COLUMNS: [&str; 6] = ["When", "Who", "From", "Action", "Detail", "Outcome"];

/// An action as people say it ("Backup started" for `backup.start`); one this page does not
/// know, as recorded.
pub fn action_words(action: &str) -> String {
    match action {
        "backup.start" => "Backup started",
        "restore.confirm" => "Restore confirmed",
        "operation.cancel" => "Cancel asked for",
        "operation.end" => "Operation ended",
        "config.save" => "Storage configuration saved",
        "session.sign_in" => "Sign-in",
        other => other,
    }
    .to_owned()
}

/// The card, of the page of entries (newest first) as loaded by the page; `view`: which
/// page (the offset of its first entry) and whether sign-ins are hidden, which its controls
/// change. A plain function rather than a component (a component costs the bundle its own
/// lifecycle code).
pub fn activity(audit: &Loadable<AuditList>, view: &UseStateHandle<(u32, bool)>) -> Html {
    let (offset, hide) = **view;
    let more = audit.ok().is_some_and(|l| l.more);
    let go = |to: u32, hide: bool| {
        let view = view.clone();
        Callback::from(move |_: MouseEvent| view.set((to, hide)))
    };
    let body = match audit {
        Loadable::Loading => html! { <p class="lb-loading" role="status">{ "Loading…" }</p> },
        Loadable::Failed(e) => error_banner(e, None, None),
        Loadable::Loaded(list) if list.entries.is_empty() => {
            html! { <p class="lb-muted">{ "Nothing recorded yet." }</p> }
        }
        Loadable::Loaded(list) => html! {
            <div class="lb-table-wrap">
                <table class="lb-table lb-stack">
                    <caption class="lb-sr">{ "Activity, newest first" }</caption>
                    <thead>
                        <tr>{ for COLUMNS.iter().map(|c| html! { <th scope="col">{ *c }</th> }) }</tr>
                    </thead>
                    <tbody>
                        // One cell template for every column: the table's markup is built
                        // once, which keeps the bundle small.
                        { for list.entries.iter().map(|e| html! {
                            <tr data-testid="audit-row">
                                { for [local_time(&e.at), e.who.clone(), e.from.clone(),
                                       action_words(&e.action), e.detail.clone(), e.outcome.clone()]
                                    .into_iter().zip(COLUMNS)
                                    .map(|(c, l)| html! { <td data-label={l}>{ c }</td> }) }
                            </tr>
                        }) }
                    </tbody>
                </table>
            </div>
        },
    };
    html! {
        <section class="lb-card" aria-labelledby="lb-audit-h" data-testid="audit">
            <h2 id="lb-audit-h">{ "Activity" }</h2>
            <details class="lb-details">
                <summary>{ "Show who did what" }</summary>
                <label class="lb-check">
                    <input type="checkbox" checked={hide} data-testid="audit-hide-sign-ins"
                        onclick={go(0, !hide)} />
                    { " Hide sign-ins" }
                </label>
                { body }
                <div class="lb-actions">
                    <button type="button" class="lb-btn" disabled={offset == 0}
                        onclick={go(offset.saturating_sub(20), hide)}>{ "Newer" }</button>
                    <button type="button" class="lb-btn" disabled={!more} data-testid="audit-older"
                        onclick={go(offset + 20, hide)}>{ "Older" }</button>
                </div>
            </details>
        </section>
    }
}
