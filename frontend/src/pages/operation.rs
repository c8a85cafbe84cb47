//! An operation's progress page, reachable by URL so a reload or a shared link lands here.

use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::Route;

/// Properties of [`OperationPage`].
#[derive(Debug, Clone, PartialEq, Properties)]
pub struct OperationPageProps {
    /// The operation id from the URL.
    pub id: AttrValue,
}

/// The page.
#[function_component(OperationPage)]
pub fn operation_page(props: &OperationPageProps) -> Html {
    html! {
        <div class="lb-page" data-testid="operation">
            <h1 class="lb-title">{ "Operation " }{ props.id.clone() }</h1>
            <p><Link<Route> to={Route::Home}>{ "Back to Backup and Restore" }</Link<Route>></p>
        </div>
    }
}
