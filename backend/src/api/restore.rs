//! The restores: `POST /backups/{id}/restore` (of that backup, to its point or to a
//! moment) and `POST /restore` (to a moment, Lifeboat choosing the backup).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use lifeboat_shared::backup::StartRestore;

use super::backups::{busy, current_target, not_started, storage_error};
use crate::error::{AppError, Json, Path};
use crate::jobs::JobsError;
use crate::state::AppState;
use crate::storage::catalog;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/backups/{id}/restore", axum::routing::post(restore))
        .route("/restore", axum::routing::post(to_moment))
}

async fn restore(
    State(state): State<AppState>,
    Path(id): Path<String>,
    caller: super::caller::Caller,
    Json(body): Json<StartRestore>,
) -> Result<axum::response::Response, AppError> {
    if !catalog::is_valid_id(&id) {
        return Err(AppError::not_found(format!(
            "no backup {} in the catalog",
            crate::error::quote(&id)
        )));
    }
    start_restore(&state, id, &caller, body, None).await
}

/// Starts a restore of backup `id` as `body` asks (to a moment when it names one: `chosen`
/// when the caller already chose the backup and WAL for it), after every check.
async fn start_restore(
    state: &AppState,
    id: String,
    caller: &super::caller::Caller,
    body: StartRestore,
    chosen: Option<crate::jobs::restore::ToMoment>,
) -> Result<axum::response::Response, AppError> {
    use crate::jobs::restore::{RequestError, RestoreRequest, TargetKind, resolve};
    let detail = format!(
        "restore of {id}{} into namespace {}{}",
        body.target_time
            .as_deref()
            .map(|t| format!(" to {}", t.chars().take(40).collect::<String>()))
            .unwrap_or_default(),
        body.target_namespace.chars().take(80).collect::<String>(),
        if body.replace_existing {
            " (replace)"
        } else {
            ""
        }
    );
    let audit = |outcome: &str| {
        state.audit().record(
            &caller.who,
            &caller.from,
            "restore.confirm",
            &detail,
            outcome,
        );
    };
    let target = resolve(state.runtime().instances(), &body)
        .map_err(|e| match e {
            RequestError::Confirmation => AppError::new(
                StatusCode::BAD_REQUEST,
                "confirmation_mismatch",
                e.to_string(),
            )
            .with_hint("type the phrase exactly, in lowercase"),
            RequestError::Namespace(_) => {
                AppError::new(StatusCode::BAD_REQUEST, "invalid_namespace", e.to_string())
            }
            RequestError::Taken(_) => {
                AppError::new(StatusCode::CONFLICT, "namespace_taken", e.to_string()).with_hint(
                    "choose another namespace, or confirm that its instance is to be replaced",
                )
            }
            RequestError::NotReady => super::instance::instance_starting(state),
            RequestError::Starting(_) => AppError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "instance_starting",
                e.to_string(),
            )
            .with_hint("try again in a minute, once GET /api/v1/instances lists it"),
        })
        .inspect_err(|e| audit(&format!("refused: {}", e.body.code)))?;
    if matches!(target.kind, TargetKind::New { .. }) {
        foreign_refused(state, &target.namespace)
            .await
            .inspect_err(|e| audit(&format!("refused: {}", e.body.code)))?;
    }
    if let Some(apps) = &body.apps {
        apps_refused(state, &id, &target, apps)
            .await
            .inspect_err(|e| audit(&format!("refused: {}", e.body.code)))?;
    }
    let to_moment = match (chosen, &body.target_time) {
        (Some(c), _) => Some(c),
        (None, None) => None,
        (None, Some(t)) => Some(
            super::recovery::moment(state, Some(&id), t, body.apps.is_some())
                .await
                .inspect_err(|e| audit(&format!("refused: {}", e.body.code)))?,
        ),
    };
    let req = RestoreRequest {
        backup_id: id.clone(),
        target,
        apps: body.apps.clone(),
        to_moment,
    };
    match state.jobs().start_restore(req, caller.who.clone()) {
        Ok(op) => {
            audit(&format!("accepted as {}", op.id));
            Ok((StatusCode::ACCEPTED, Json(op)).into_response())
        }
        Err(JobsError::Busy(running)) => {
            audit("refused: operation_running");
            Ok(busy(&running))
        }
        Err(e) => {
            let e = not_started(e);
            audit(&format!("refused: {}", e.body.code));
            Err(e)
        }
    }
}

/// A restore of some apps' data alone goes into this Lifeboat's own namespace and names
/// apps the backup holds data of: else `400 apps_restore_in_place_only`, or `422
/// unknown_app` naming the ones it does not hold (nothing is started either way).
async fn apps_refused(
    state: &AppState,
    id: &str,
    target: &crate::jobs::restore::Resolved,
    apps: &[String],
) -> Result<(), AppError> {
    let own = state.instance().map(|i| i.namespace().to_owned());
    if own.as_deref() != Some(target.namespace.as_str()) {
        return Err(AppError::new(
            StatusCode::BAD_REQUEST,
            "apps_restore_in_place_only",
            "some apps' data alone is restored into this instance's own namespace only",
        )
        .with_hint("leave `apps` out to restore everything into another namespace"));
    }
    if apps.is_empty() {
        return Err(AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_app",
            "`apps` names no app",
        )
        .with_hint("name at least one app, or leave `apps` out to restore everything"));
    }
    let unknown_app = |names: Vec<String>| {
        AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_app",
            format!("backup {id} holds no data of app {}", names.join(", ")),
        )
        .with_hint("choose apps the backup lists (GET /api/v1/backups/{id})")
    };
    let bad: Vec<String> = apps
        .iter()
        .filter(|a| !crate::secrets::is_dns1123_label(a))
        .map(|a| crate::error::quote(a))
        .collect();
    if !bad.is_empty() {
        return Err(unknown_app(bad));
    }
    let manifest = match catalog::get(&current_target(state).await?, id).await {
        Ok(Some(m)) => m,
        Ok(None) => {
            return Err(AppError::not_found(format!(
                "no backup {id} in the catalog"
            )));
        }
        Err(e) => return Err(storage_error(&e)),
    };
    let unknown: Vec<String> = crate::jobs::apps::unknown(&manifest, apps)
        .into_iter()
        .map(str::to_owned)
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(unknown_app(unknown))
    }
}

/// A new instance's namespace that exists and is not Lifeboat's (Kubernetes' `default`, an
/// application's): refused before anything is fetched, in words that say why.
async fn foreign_refused(state: &AppState, namespace: &str) -> Result<(), AppError> {
    match state.runtime().instances().is_foreign(namespace).await {
        Ok(false) => Ok(()),
        Ok(true) => Err(AppError::new(
            StatusCode::CONFLICT,
            "namespace_foreign",
            format!(
                "namespace {namespace} already exists and was not made by Lifeboat: a restore \
                 never replaces what is there"
            ),
        )
        .with_hint("choose a namespace that does not exist yet, or this instance's own")),
        Err(e) => Err(AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "cluster_unavailable",
            e.to_string(),
        )
        .with_hint("nothing was started; try again once the cluster answers")),
    }
}

/// `POST /api/v1/restore`: to `target_time`, or without one to the newest moment the
/// window reaches ("latest"), from the backup Lifeboat chooses.
async fn to_moment(
    State(state): State<AppState>,
    caller: super::caller::Caller,
    Json(mut body): Json<StartRestore>,
) -> Result<axum::response::Response, AppError> {
    if body.apps.is_some() {
        return Err(AppError::new(
            StatusCode::BAD_REQUEST,
            "target_time_with_apps",
            "POST /api/v1/restore restores everything to a moment; some apps' data alone is restored from a backup",
        )
        .with_hint("use POST /api/v1/backups/{id}/restore with apps"));
    }
    let (id, moment) = super::recovery::choose(&state, None, body.target_time.as_deref()).await?;
    body.target_time = Some(moment.at.clone());
    start_restore(&state, id, &caller, body, Some(moment)).await
}
