//! The root component: context, router, and (standalone) the App Manager frame. The scoped
//! styles are a file of their own, `lifeboat.css` (index.html links it; plugin.js adds it to
//! a host page).

use yew::prelude::*;

use crate::api::Api;
use crate::components::account::use_account;
use crate::components::shell::shell;
use crate::hooks::{Operations, use_operations};
use crate::mount::MountOptions;
use crate::pages::backup_restore::BackupRestorePage;
use crate::pages::operation::OperationPage;
use crate::router::{Link, Route, Router, use_route};

/// Draws the current route.
#[function_component(Switch)]
fn switch() -> Html {
    match use_route() {
        Route::Home => html! { <BackupRestorePage /> },
        Route::Operation { id } => html! { <OperationPage {id} /> },
        Route::NotFound => html! {
            <section class="lb-card">
                <h2>{ "Page not found" }</h2>
                <Link to={Route::Home}>{ "Back to Backup and Restore" }</Link>
            </section>
        },
    }
}

/// Properties of [`App`].
#[derive(Debug, Clone, PartialEq, Properties)]
pub struct AppProps {
    /// How it was mounted.
    pub options: MountOptions,
}

/// The root component.
#[function_component(App)]
pub fn app(props: &AppProps) -> Html {
    let api = use_memo(props.options.clone(), Api::new);
    // The operations are followed once for the whole mount, across route changes.
    let operations = use_operations(Some((*api).clone()));
    let account = use_account(props.options.standalone.then(|| (*api).clone()));
    let base_path = AttrValue::from(props.options.base_path.clone());
    let content = html! {
        <ContextProvider<Operations> context={operations}><Switch /></ContextProvider<Operations>>
    };
    html! {
        <ContextProvider<Api> context={(*api).clone()}>
            <Router {base_path}>
                <div class="lb" data-lifeboat-root="">
                    if props.options.standalone {
                        { shell(content, account) }
                    } else {
                        <main class="lb-main">{ content }</main>
                    }
                </div>
            </Router>
        </ContextProvider<Api>>
    }
}
