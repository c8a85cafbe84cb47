//! The Restore dialog's "Only some apps' data": the apps the backup holds, found by name,
//! each with what it has and the sizes; and, once some are chosen, what restoring them
//! replaces and what it leaves alone.

use lifeboat_shared::backup::BackupManifest;
use yew::prelude::*;

use crate::components::app_data::{app_names, app_parts};
use crate::components::field::event_value;

/// The apps whose data backup `b` holds, those whose name contains what `filter` holds
/// (in any case) listed, each a checkbox that adds it to `chosen` or takes it out. Apps
/// the filter hides stay chosen: the count and the warning name them.
pub fn apps_picker(
    b: &BackupManifest,
    chosen: &UseStateHandle<Vec<String>>,
    filter: &UseStateHandle<String>,
) -> Html {
    let all = app_names(b);
    // App names are DNS labels, lowercase ASCII: no Unicode case tables (kilobytes of
    // wasm) are needed to match them in any case.
    let needle = filter.trim().to_ascii_lowercase();
    let shown: Vec<&str> = all
        .iter()
        .copied()
        .filter(|a| a.contains(&needle))
        .collect();
    let on_filter = {
        let filter = filter.clone();
        Callback::from(move |e: InputEvent| filter.set(event_value(&e)))
    };
    let items = shown.iter().map(|&app| {
        let onchange = {
            let (chosen, app) = (chosen.clone(), app.to_owned());
            Callback::from(move |_: Event| {
                let mut next = (*chosen).clone();
                match next.iter().position(|a| *a == app) {
                    Some(i) => drop(next.remove(i)),
                    None => next.push(app.clone()),
                }
                chosen.set(next);
            })
        };
        html! {
            <li data-testid="restore-app" data-app={app.to_owned()}>
                <label class="lb-choice">
                    <input type="checkbox" checked={chosen.iter().any(|a| a == app)} {onchange} />
                    <span>
                        <strong>{ app.to_owned() }</strong>{ " " }
                        <span class="lb-muted" data-testid="restore-app-parts">{ app_parts(b, app) }</span>
                    </span>
                </label>
            </li>
        }
    });
    html! {
        <div class="lb-nested">
            <div class="lb-field">
                <label for="lb-restore-filter">{ "Find an app by name" }</label>
                <input id="lb-restore-filter" class="lb-input" type="search" value={(**filter).clone()}
                    oninput={on_filter} autocomplete="off" spellcheck="false"
                    aria-describedby="lb-restore-apps-count" data-testid="restore-apps-filter" />
            </div>
            <p id="lb-restore-apps-count" class="lb-hint" aria-live="polite" data-testid="restore-apps-count">
                { format!("{} of {} apps chosen", chosen.len(), all.len()) }
            </p>
            if shown.is_empty() {
                <p class="lb-hint" data-testid="restore-apps-none">
                    { format!("No app in this backup has \u{201c}{}\u{201d} in its name.", filter.trim()) }
                </p>
            } else {
                <ul class="lb-app-list" role="list" aria-label="Apps whose data the backup holds"
                    data-testid="restore-apps">
                    { for items }
                </ul>
            }
        </div>
    }
}

/// What restoring the data of the `chosen` apps of backup `b` into namespace `ns` replaces
/// (each app with its parts and sizes), and what it leaves alone.
pub fn apps_replaced(b: &BackupManifest, chosen: &[String], ns: &str, when: &str) -> Html {
    html! {
        <div id="lb-restore-what" class="lb-warning-box" data-testid="restore-what">
            <p>
                <span aria-hidden="true">{ "▲ " }</span>
                <strong>{ format!("Restoring replaces, in namespace {ns}, the data of:") }</strong>
            </p>
            if chosen.is_empty() {
                <p>{ "no app yet: choose the apps above." }</p>
            } else {
                <ul class="lb-list" data-testid="restore-what-apps">
                    { for chosen.iter().map(|a| html! { <li>{ format!("{a}: {}", app_parts(b, a)) }</li> }) }
                </ul>
            }
            <p>
                { format!("What these apps stored since {when} is lost. While the restore runs they may \
                    fail: each one's database is replaced, its Redis restarted and its files swapped.") }
            </p>
            <p data-testid="restore-untouched">
                { "The system (Keycloak: users, groups, SSO and realm settings), the platform \
                   configuration, every other app and the workspaces' files are not touched: the \
                   platform stays up." }
            </p>
        </div>
    }
}
