//! `GET/PUT /api/v1/config`, `POST /api/v1/config/verify` and `GET
//! /api/v1/config/schedule` (a schedule's preview before it is saved).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use lifeboat_shared::config::{
    ConfigView, PutConfig, SaveResult, Schedule, SchedulePreview, VerifyReport,
};

use crate::config::schedule::{ParsedSchedule, ScheduleError};
use crate::config::{ConfigError, SaveError};
use crate::error::{AppError, Json, Query};
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/config", get(show).put(put))
        .route("/config/verify", post(verify))
        .route("/config/schedule", get(schedule_preview))
}

/// `?cron=…&timezone=…`: the schedule in plain words and its next five runs, or `422
/// invalid_cron` / `invalid_timezone` saying what is wrong (nothing is saved).
async fn schedule_preview(
    Query(schedule): Query<Schedule>,
) -> Result<Json<SchedulePreview>, AppError> {
    let parsed = ParsedSchedule::parse(&schedule).map_err(|e| {
        let (code, message) = match e {
            ScheduleError::TimeZone(tz) => (
                "invalid_timezone",
                format!("{} is not an IANA time zone", crate::error::quote(&tz)),
            ),
            ScheduleError::FieldCount(_) => (
                "invalid_cron",
                "the schedule must have five fields: minute hour day-of-month month day-of-week"
                    .to_owned(),
            ),
            ScheduleError::Cron { reason, .. } => ("invalid_cron", reason),
            ScheduleError::NeverRuns(_) => (
                "invalid_cron",
                "this schedule never runs (no such date, e.g. 30 February)".to_owned(),
            ),
        };
        AppError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message).with_hint(
            "use five cron fields, e.g. 0 2 * * *, and an IANA zone such as Europe/Berlin or UTC",
        )
    })?;
    Ok(Json(parsed.preview(chrono::Utc::now())))
}

async fn show(State(state): State<AppState>) -> Result<Json<ConfigView>, AppError> {
    Ok(Json(state.config().view().await.map_err(config_error)?))
}

async fn put(
    State(state): State<AppState>,
    caller: super::caller::Caller,
    Json(body): Json<PutConfig>,
) -> Result<Json<SaveResult>, AppError> {
    let result = state.config().save(&body).await.map_err(save_error);
    let outcome = match &result {
        Ok(_) => "saved".to_owned(),
        Err(e) => format!("refused: {}", e.body.code),
    };
    let provider = serde_json::to_value(&body.config.provider)
        .ok()
        .and_then(|v| {
            v.get("provider")
                .and_then(|p| p.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let mut detail = format!("{provider} storage");
    if let Some(s) = &body.config.schedule {
        detail.push_str(&format!(", schedule {} ({})", s.cron, s.timezone));
    }
    if body.credentials.is_some() {
        detail.push_str(", new credentials");
    }
    let audit = state.audit();
    audit.record(&caller.who, &caller.from, "config.save", &detail, &outcome);
    if let Some(change) = &body.passphrase {
        let what = match change {
            lifeboat_shared::config::PassphraseChange::Set { .. } => "set",
            lifeboat_shared::config::PassphraseChange::Change { .. } => "changed (old and new)",
            lifeboat_shared::config::PassphraseChange::Clear => "cleared",
        };
        audit.record(
            &caller.who,
            &caller.from,
            "passphrase.change",
            &format!("passphrase {what}"),
            &outcome,
        );
    }
    Ok(Json(result?))
}

/// The body is optional: empty verifies the configuration in effect.
async fn verify(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<VerifyReport>, AppError> {
    let candidate: Option<PutConfig> = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(serde_json::from_slice(&body).map_err(|e| {
            AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                format!("the body is not a configuration: {}", redact_serde(&e)),
            )
            .with_hint(
                "send a PUT /api/v1/config body, or nothing to verify the saved configuration",
            )
        })?)
    };
    let report = state
        .config()
        .verify_candidate(candidate.as_ref())
        .await
        .map_err(save_error)?;
    Ok(Json(report))
}

/// A serde error's category and position only: its text may quote input (a secret).
fn redact_serde(e: &serde_json::Error) -> String {
    format!(
        "{:?} error at line {} column {}",
        e.classify(),
        e.line(),
        e.column()
    )
}

fn config_error(e: ConfigError) -> AppError {
    match e {
        ConfigError::NotConfigured(t) => AppError::new(
            StatusCode::CONFLICT,
            "not_configured",
            format!("storage is not configured completely: {t}"),
        )
        .with_hint("open Edit Configuration and save the bucket's credentials"),
        ConfigError::Secrets(s) => super::secret_errors::secret_error(s),
        other => AppError::internal(&other),
    }
}

fn save_error(e: SaveError) -> AppError {
    match e {
        SaveError::Busy(id) => AppError::new(
            StatusCode::CONFLICT,
            "operation_running",
            format!("the configuration cannot change while operation {id} runs"),
        )
        .with_hint(format!("wait for operation {id} to finish, then save again")),
        SaveError::Invalid(i) => AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_config",
            format!("{}: {}", i.field, i.message),
        )
        .with_hint(i.hint),
        SaveError::OldPassphraseRejected => AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "passphrase_mismatch",
            "the current passphrase you entered does not open the backups in the bucket, so it was not changed",
        )
        .with_hint("enter the passphrase the existing backups were made with as the old passphrase"),
        SaveError::PassphraseChange(r) => {
            tracing::warn!(error = %r, "passphrase change failed");
            AppError::new(
                StatusCode::BAD_GATEWAY,
                "passphrase_change_failed",
                "the passphrase could not be changed in the bucket's repository; nothing was saved",
            )
            .with_hint("run Verify to see whether the bucket is reachable, then try again")
        }
        SaveError::Target(t) => AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_config",
            format!("the bucket cannot be opened: {t}"),
        )
        .with_hint("enter the bucket's credentials"),
        SaveError::Config(c) => config_error(c),
    }
}
