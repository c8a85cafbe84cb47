//! The post-restore checklist: what the admin does after a restore, item by item.

use lifeboat_shared::operation::ChecklistItem;
use yew::prelude::*;

/// The checklist of `items` (in the order to do them, from `Outcome::Restore`); the boxes
/// are for the admin's own tracking. A plain function rather than a component (a component
/// costs the bundle its own lifecycle code).
pub fn checklist(items_in: &[ChecklistItem]) -> Html {
    let items = items_in.iter().enumerate().map(|(i, item)| {
        let id = format!("lb-check-{i}");
        html! {
            <li key={i} class="lb-check-item" data-testid="checklist-item">
                <input type="checkbox" id={id.clone()} />
                <label for={id}>
                    <strong>{ item.action.clone() }</strong>
                    if !item.subject.is_empty() { { ": " }{ item.subject.clone() } }
                </label>
            </li>
        }
    });
    html! {
        <section class="lb-card lb-checklist" aria-labelledby="lb-checklist-h" data-testid="checklist">
            <h2 id="lb-checklist-h">{ "After the restore" }</h2>
            <p>
                { "The system database and the platform configuration are back as they were at the backup. \
                   Apps and workspaces are not part of the backup: recover them now. Data that apps kept in a \
                   managed Redis or Postgres database or a persistent filesystem is not restored." }
            </p>
            if items_in.is_empty() {
                <p>{ "Log in to Dash Enterprise again. Nothing else needs doing." }</p>
            } else {
                <ol class="lb-checks">{ for items }</ol>
            }
            <p class="lb-hint">
                { "Delete and recreate workspaces from the latest commit rather than rebuilding them: a rebuild \
                   after a restore does not always keep the latest committed files." }
            </p>
        </section>
    }
}
