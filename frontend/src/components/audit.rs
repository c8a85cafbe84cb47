//! The Activity card: the newest entries of the audit trail (who did what, from where, and
//! how it ended), collapsed until opened.

use lifeboat_shared::backup::AuditList;
use yew::prelude::*;

use crate::components::banner::error_banner;
use crate::components::operation_progress::local_time;
use crate::hooks::Loadable;

/// The table's columns.
const COLUMNS: [&str; 6] = ["When", "Who", "From", "Action", "Detail", "Outcome"];

/// The card, of the entries (newest first) as loaded by the page. A plain function rather
/// than a component (a component costs the bundle its own lifecycle code).
pub fn activity(audit: &Loadable<AuditList>) -> Html {
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
                                       e.action.clone(), e.detail.clone(), e.outcome.clone()]
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
                <summary>{ "Show the 20 newest entries" }</summary>
                { body }
            </details>
        </section>
    }
}
