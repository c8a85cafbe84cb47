//! Components only render their props (and, for small self-contained widgets, fetch their
//! own data through the API context).

pub mod empty_state;
pub mod health_badge;
pub mod shell;
