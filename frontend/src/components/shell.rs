//! The App Manager frame drawn when running standalone: top bar and Settings navigation.

use yew::prelude::*;

/// Top bar (with `account`: who is signed in, and Sign out) plus the Settings side navigation with "Backup and Restore" selected, around
/// `content`. A plain function rather than a component (a component costs the bundle its
/// own lifecycle code).
pub fn shell(content: Html, account: Html) -> Html {
    html! {
        <div class="lb-shell">
            <header class="lb-topbar">
                <span class="lb-logo" aria-hidden="true">{ "◆" }</span>
                <span class="lb-product">{ "Dash Enterprise" }</span>
                <span class="lb-topbar-sep">{ "App Manager" }</span>
                { account }
            </header>
            <div class="lb-body">
                <nav class="lb-sidenav" aria-label="Settings">
                    <h2 class="lb-sidenav-title">{ "Settings" }</h2>
                    <ul>
                        <li><span class="lb-navitem">{ "General" }</span></li>
                        <li><span class="lb-navitem">{ "Users" }</span></li>
                        <li><span class="lb-navitem lb-navitem-active" aria-current="page">{ "Backup and Restore" }</span></li>
                    </ul>
                </nav>
                <main class="lb-main">{ content }</main>
            </div>
        </div>
    }
}
