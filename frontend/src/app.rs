//! The root component: context, router, scoped styles, and (standalone) the App Manager frame.

use yew::prelude::*;
use yew_router::prelude::*;

use crate::api::Api;
use crate::components::shell::Shell;
use crate::hooks::{Operations, use_operations};
use crate::pages::backup_restore::BackupRestorePage;
use crate::pages::operation::OperationPage;
use crate::plugin::MountOptions;
use crate::style::CSS;

/// The page's routes, relative to the mount's base path.
#[derive(Debug, Clone, PartialEq, Routable)]
pub enum Route {
    /// The Backup and Restore page.
    #[at("/")]
    Home,
    /// One operation's progress page (a reload or shared link lands here).
    #[at("/operations/:id")]
    Operation {
        /// The operation id.
        id: String,
    },
    /// Anything else.
    #[not_found]
    #[at("/404")]
    NotFound,
}

fn switch(route: Route) -> Html {
    match route {
        Route::Home => html! { <BackupRestorePage /> },
        Route::Operation { id } => html! { <OperationPage {id} /> },
        Route::NotFound => html! {
            <section class="lb-card">
                <h2>{ "Page not found" }</h2>
                <Link<Route> to={Route::Home}>{ "Back to Backup and Restore" }</Link<Route>>
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

/// Properties of [`LiveOperations`].
#[derive(Debug, Clone, PartialEq, Properties)]
pub struct LiveOperationsProps {
    /// The pages that read the live operations.
    pub children: Html,
}

/// Follows the operations once for the whole mount (across route changes) and provides
/// them as context.
#[function_component(LiveOperations)]
pub fn live_operations(props: &LiveOperationsProps) -> Html {
    let operations = use_operations();
    html! {
        <ContextProvider<Operations> context={operations}>
            { props.children.clone() }
        </ContextProvider<Operations>>
    }
}

/// The root component.
#[function_component(App)]
pub fn app(props: &AppProps) -> Html {
    let api = use_memo(props.options.api_base.clone(), |base| Api::new(base));
    let basename =
        (props.options.base_path != "/").then(|| AttrValue::from(props.options.base_path.clone()));
    let content = html! { <LiveOperations><Switch<Route> render={switch} /></LiveOperations> };
    html! {
        <ContextProvider<Api> context={(*api).clone()}>
            <BrowserRouter {basename}>
                <div class="lb" data-lifeboat-root="">
                    <style>{ CSS }</style>
                    if props.options.standalone {
                        <Shell>{ content }</Shell>
                    } else {
                        <main class="lb-main">{ content }</main>
                    }
                </div>
            </BrowserRouter>
        </ContextProvider<Api>>
    }
}
