//! The storage configuration card: the summary, the edit form, save and verify.

use lifeboat_shared::config::{ConfigView, PutConfig, VerifyReport};
use yew::prelude::*;

use crate::api::Api;
use crate::components::banner::error_banner;
use crate::components::config_form::ConfigForm;
use crate::components::config_summary::{ConfigSummaryProps, config_summary};
use crate::hooks::{Loadable, use_action};
use crate::pages::browser::{browser_time_zone, focus_soon};

/// Properties of [`StorageSection`].
#[derive(Debug, Clone, PartialEq, Properties)]
pub struct StorageSectionProps {
    /// The configuration as loaded by the page (replaced here after a save).
    pub config: UseStateHandle<Loadable<ConfigView>>,
    /// Why saving is not possible now.
    #[prop_or_default]
    pub locked_reason: Option<AttrValue>,
    /// The instance's namespace, when known.
    #[prop_or_default]
    pub namespace: Option<AttrValue>,
    /// Load the configuration again.
    pub on_reload: Callback<()>,
    /// The newest backup the page saw finish: a verify shown from before it says what the
    /// bucket held then ("No backups are stored here yet"), so it goes.
    #[prop_or_default]
    pub last_backup: Option<AttrValue>,
}

/// The storage card.
#[function_component(StorageSection)]
pub fn storage_section(props: &StorageSectionProps) -> Html {
    let editing = use_state(|| false);
    let verify = use_state(|| None::<VerifyReport>);
    {
        let verify = verify.clone();
        use_effect_with(props.last_backup.clone(), move |_| {
            if verify.is_some() {
                verify.set(None);
            }
        });
    }

    // One verify for the saved configuration (None) and for a draft (Some).
    let run_verify = {
        let verify = verify.clone();
        use_action(move |api: Api, candidate: Option<PutConfig>| {
            let verify = verify.clone();
            async move {
                let report = api.verify(candidate.as_ref()).await;
                let (shown, result) = match report {
                    Ok(r) => (Some(r), Ok(())),
                    Err(e) => (None, Err(e)),
                };
                verify.set(shown);
                result
            }
        })
    };
    let save = {
        let (editing, verify, config) = (editing.clone(), verify.clone(), props.config.clone());
        use_action(move |api: Api, body: PutConfig| {
            let (editing, verify, config) = (editing.clone(), verify.clone(), config.clone());
            async move {
                let saved = api.put_config(&body).await.inspect_err(|_| {
                    focus_soon("[data-testid=config-form] [data-testid=error-banner]")
                })?;
                config.set(Loadable::Loaded(saved.config));
                verify.set(Some(saved.verify));
                editing.set(false);
                Ok(())
            }
        })
    };
    // Opening or closing the form forgets the last verify (and, opening, the last save).
    let edit = {
        let (editing, verify, run_verify, save) = (
            editing.clone(),
            verify.clone(),
            run_verify.clone(),
            save.clone(),
        );
        move |open: bool| {
            let (editing, verify, run_verify, save) = (
                editing.clone(),
                verify.clone(),
                run_verify.clone(),
                save.clone(),
            );
            Callback::from(move |()| {
                verify.set(None);
                run_verify.clear();
                if open {
                    save.clear();
                }
                editing.set(open);
            })
        }
    };

    let section = use_focus_flow(*editing);

    let body = match &*props.config {
        Loadable::Loading => html! {
            <p class="lb-loading" role="status">{ "Loading the storage configuration…" }</p>
        },
        Loadable::Failed(e) => html! {
            { error_banner(e, Some("The storage configuration could not be loaded."), Some(props.on_reload.clone())) }
        },
        Loadable::Loaded(view) if *editing => html! {
            <ConfigForm view={view.clone()}
                default_timezone={browser_time_zone()}
                save={save.state()} verify_call={run_verify.state()}
                verify={(*verify).clone()}
                locked_reason={props.locked_reason.clone()}
                namespace={props.namespace.clone()}
                on_save={save.callback()}
                on_verify={run_verify.callback().reform(Some)}
                on_cancel={edit(false)} />
        },
        Loadable::Loaded(view) => config_summary(&ConfigSummaryProps {
            view: view.clone(),
            verify: (*verify).clone(),
            verify_call: run_verify.state(),
            on_edit: edit(true),
            on_verify: run_verify.callback().reform(|()| None),
        }),
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

/// Focus follows the flow: into the form when it opens, back to its button when it closes.
/// Returns the ref of the section it looks in.
#[hook]
fn use_focus_flow(editing: bool) -> NodeRef {
    let section = use_node_ref();
    let was_editing = use_mut_ref(|| false);
    {
        let section = section.clone();
        use_effect_with(editing, move |editing| {
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
    section
}
