//! The storage configuration card: the summary, the edit form, save and verify.

use lifeboat_shared::config::{ConfigView, PutConfig, VerifyReport};
use yew::prelude::*;

use crate::api::{Api, ApiFailure};
use crate::components::banner::error_banner;
use crate::components::config_form::ConfigForm;
use crate::components::config_summary::ConfigSummary;
use crate::hooks::Loadable;

/// Properties of [`StorageSection`].
#[derive(Debug, Clone, PartialEq, Properties)]
pub struct StorageSectionProps {
    /// The configuration as loaded by the page (replaced here after a save).
    pub config: UseStateHandle<Loadable<ConfigView>>,
    /// Why saving is not possible now.
    #[prop_or_default]
    pub locked_reason: Option<AttrValue>,
    /// Load the configuration again.
    pub on_reload: Callback<()>,
}

/// The storage card.
#[function_component(StorageSection)]
pub fn storage_section(props: &StorageSectionProps) -> Html {
    let api = use_context::<Api>();
    let editing = use_state(|| false);
    let saving = use_state(|| false);
    let save_error = use_state(|| None::<ApiFailure>);
    let verifying = use_state(|| false);
    let verify = use_state(|| None::<VerifyReport>);
    let verify_error = use_state(|| None::<ApiFailure>);

    // One verify helper for the saved configuration (None) and for a draft (Some).
    let run_verify = {
        let api = api.clone();
        let verifying = verifying.clone();
        let verify = verify.clone();
        let verify_error = verify_error.clone();
        Callback::from(move |candidate: Option<PutConfig>| {
            let Some(api) = api.clone() else { return };
            let (verifying, verify, verify_error) =
                (verifying.clone(), verify.clone(), verify_error.clone());
            verifying.set(true);
            verify_error.set(None);
            wasm_bindgen_futures::spawn_local(async move {
                match api.verify(candidate.as_ref()).await {
                    Ok(r) => verify.set(Some(r)),
                    Err(e) => {
                        verify.set(None);
                        verify_error.set(Some(e));
                    }
                }
                verifying.set(false);
            });
        })
    };
    let on_save = {
        let api = api.clone();
        let (saving, save_error, editing, verify, config) = (
            saving.clone(),
            save_error.clone(),
            editing.clone(),
            verify.clone(),
            props.config.clone(),
        );
        Callback::from(move |body: PutConfig| {
            let Some(api) = api.clone() else { return };
            let (saving, save_error, editing, verify, config) = (
                saving.clone(),
                save_error.clone(),
                editing.clone(),
                verify.clone(),
                config.clone(),
            );
            saving.set(true);
            save_error.set(None);
            wasm_bindgen_futures::spawn_local(async move {
                match api.put_config(&body).await {
                    Ok(saved) => {
                        config.set(Loadable::Loaded(saved.config));
                        verify.set(Some(saved.verify));
                        editing.set(false);
                    }
                    Err(e) => save_error.set(Some(e)),
                }
                saving.set(false);
            });
        })
    };
    let start_edit = {
        let (editing, verify, verify_error, save_error) = (
            editing.clone(),
            verify.clone(),
            verify_error.clone(),
            save_error.clone(),
        );
        Callback::from(move |()| {
            verify.set(None);
            verify_error.set(None);
            save_error.set(None);
            editing.set(true);
        })
    };
    let cancel_edit = {
        let (editing, verify, verify_error) =
            (editing.clone(), verify.clone(), verify_error.clone());
        Callback::from(move |()| {
            verify.set(None);
            verify_error.set(None);
            editing.set(false);
        })
    };

    // Focus follows the flow: into the form when it opens, back to its button when it closes.
    let section = use_node_ref();
    let was_editing = use_mut_ref(|| false);
    {
        let section = section.clone();
        use_effect_with(*editing, move |editing| {
            let selector = if *editing {
                Some("[data-testid=config-form] select, [data-testid=config-form] input")
            } else if *was_editing.borrow() {
                Some("[data-testid=edit-config]")
            } else {
                None
            };
            *was_editing.borrow_mut() = *editing;
            if let (Some(selector), Some(root)) = (selector, section.cast::<web_sys::Element>()) {
                use wasm_bindgen::JsCast;
                if let Some(el) = root
                    .query_selector(selector)
                    .ok()
                    .flatten()
                    .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
                {
                    let _ = el.focus();
                }
            }
        });
    }

    let body = match &*props.config {
        Loadable::Loading => html! {
            <p class="lb-loading" role="status">{ "Loading the storage configuration…" }</p>
        },
        Loadable::Failed(e) => html! {
            { error_banner(e, Some("The storage configuration could not be loaded."), Some(props.on_reload.clone())) }
        },
        Loadable::Loaded(view) if *editing => html! {
            <ConfigForm view={view.clone()}
                default_timezone={crate::pages::browser_time_zone()}
                saving={*saving} verifying={*verifying}
                verify={(*verify).clone()} error={(*save_error).clone()}
                verify_error={(*verify_error).clone()}
                locked_reason={props.locked_reason.clone()}
                on_save={on_save}
                on_verify={run_verify.reform(Some)}
                on_cancel={cancel_edit} />
        },
        Loadable::Loaded(view) => html! {
            <ConfigSummary view={view.clone()} verify={(*verify).clone()} verifying={*verifying}
                verify_error={(*verify_error).clone()}
                on_edit={start_edit} on_verify={run_verify.reform(|()| None)} />
        },
    };
    html! {
        <section class="lb-card" aria-labelledby="lb-storage-h" ref={section}>
            <h2 id="lb-storage-h">
                { if *editing { "Edit Configuration" } else { "Storage configuration" } }
            </h2>
            { body }
        </section>
    }
}
