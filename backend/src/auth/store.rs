//! The admin token, one-time login codes and cookie sessions.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use subtle::ConstantTimeEq as _;

pub use lifeboat_shared::session::SignInVia as Via;

use crate::secret::Secret;

/// How long a one-time login code stays valid.
pub const LOGIN_CODE_TTL: Duration = Duration::from_secs(15 * 60);
/// How long a session lasts without being used.
pub const SESSION_IDLE_TTL: Duration = Duration::from_secs(12 * 60 * 60);
/// The admin token file in the data dir.
pub const TOKEN_FILE: &str = "admin-token";

/// Why the token store could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Reading or writing the token file failed.
    #[error("cannot use the admin token file {path}: {source}")]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The token given in the environment is too weak.
    #[error("LIFEBOAT_ADMIN_TOKEN must be at least 16 characters")]
    WeakToken,
    /// The system's random source failed.
    #[error("no randomness available: {0}")]
    Random(String),
}

/// The user of a session made with the admin token or the one-time link.
pub const ADMIN_USER: &str = "admin";

/// A session just created: the cookie values to set.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The session id (the HttpOnly cookie's value).
    pub id: Secret,
    /// The CSRF token (the readable cookie's value).
    pub csrf: Secret,
}

#[derive(Debug)]
struct Session {
    csrf: Secret,
    user: String,
    via: Via,
    last_used: Instant,
}

/// The authentication state of one Lifeboat.
#[derive(Debug)]
pub struct Auth {
    admin_token: Secret,
    login_code: Mutex<Option<(Secret, Instant)>>,
    sessions: Mutex<HashMap<String, Session>>,
}

fn random_hex(bytes: usize) -> Result<String, AuthError> {
    Secret::random_hex(bytes)
        .map(|s| s.expose().to_owned())
        .map_err(|e| AuthError::Random(e.to_string()))
}

fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

impl Auth {
    /// Uses `env_token` if given, else the token file in `data_dir`, creating it (0600) with
    /// a fresh random token at first start.
    pub fn load_or_create(data_dir: &Path, env_token: Option<Secret>) -> Result<Self, AuthError> {
        let admin_token = match env_token {
            Some(t) if t.expose().trim().len() < 16 => return Err(AuthError::WeakToken),
            Some(t) => Secret::new(t.expose().trim()),
            None => Self::token_from_file(&data_dir.join(TOKEN_FILE))?,
        };
        Ok(Self::with_token(admin_token))
    }

    /// An authenticator with a given token (tests).
    pub fn with_token(admin_token: Secret) -> Self {
        Self {
            admin_token,
            login_code: Mutex::new(None),
            sessions: Mutex::new(HashMap::new()),
        }
    }

    fn token_from_file(path: &Path) -> Result<Secret, AuthError> {
        let err = |source| AuthError::TokenFile {
            path: path.to_owned(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(s) if !s.trim().is_empty() => return Ok(Secret::new(s.trim())),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(err(e)),
        }
        let token = random_hex(32)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(path).map_err(err)?;
        f.write_all(token.as_bytes()).map_err(err)?;
        f.sync_all().map_err(err)?;
        Ok(Secret::new(token))
    }

    /// Whether `token` is the admin token (constant time).
    pub fn check_token(&self, token: &str) -> bool {
        ct_eq(token, self.admin_token.expose())
    }

    /// Issues a new one-time login code (replacing any earlier one).
    pub fn issue_login_code(&self) -> Result<Secret, AuthError> {
        let code = Secret::new(random_hex(24)?);
        if let Ok(mut slot) = self.login_code.lock() {
            *slot = Some((code.clone(), Instant::now()));
        }
        Ok(code)
    }

    /// Trades a one-time login code for a session; the code is spent either way.
    pub fn redeem_login_code(&self, code: &str) -> Option<NewSession> {
        let issued = self.login_code.lock().ok()?.take()?;
        let valid = ct_eq(code, issued.0.expose()) && issued.1.elapsed() < LOGIN_CODE_TTL;
        if valid {
            self.new_session(ADMIN_USER, Via::LoginLink).ok()
        } else {
            None
        }
    }

    /// Trades the admin token for a session.
    pub fn login_with_token(&self, token: &str) -> Option<NewSession> {
        if self.check_token(token) {
            self.new_session(ADMIN_USER, Via::Token).ok()
        } else {
            None
        }
    }

    /// A session for `user`, whom the identity provider vouched for (Keycloak sign-in).
    pub fn login_as(&self, user: &str) -> Option<NewSession> {
        self.new_session(user, Via::Keycloak).ok()
    }

    fn new_session(&self, user: &str, via: Via) -> Result<NewSession, AuthError> {
        let s = NewSession {
            id: Secret::new(random_hex(32)?),
            csrf: Secret::new(random_hex(24)?),
        };
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.retain(|_, v| v.last_used.elapsed() < SESSION_IDLE_TTL);
            sessions.insert(
                s.id.expose().to_owned(),
                Session {
                    csrf: s.csrf.clone(),
                    user: user.to_owned(),
                    via,
                    last_used: Instant::now(),
                },
            );
        }
        Ok(s)
    }

    /// The session's CSRF token, user and how it was started if `id` is a live session
    /// (and marks it used).
    pub fn session(&self, id: &str) -> Option<(Secret, String, Via)> {
        let mut sessions = self.sessions.lock().ok()?;
        let s = sessions.get_mut(id)?;
        if s.last_used.elapsed() >= SESSION_IDLE_TTL {
            sessions.remove(id);
            return None;
        }
        s.last_used = Instant::now();
        Some((s.csrf.clone(), s.user.clone(), s.via))
    }

    /// Ends a session.
    pub fn logout(&self, id: &str) {
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_file_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let a = Auth::load_or_create(dir.path(), None).unwrap();
        let token = std::fs::read_to_string(dir.path().join(TOKEN_FILE)).unwrap();
        assert_eq!(token.len(), 64);
        assert!(a.check_token(&token));
        assert!(!a.check_token("nope"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(TOKEN_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let b = Auth::load_or_create(dir.path(), None).unwrap();
        assert!(b.check_token(&token), "the token survives a restart");
    }

    #[test]
    fn env_token_wins_and_must_be_long_enough() {
        let dir = tempfile::tempdir().unwrap();
        let a = Auth::load_or_create(dir.path(), Some(Secret::new("0123456789abcdef"))).unwrap();
        assert!(a.check_token("0123456789abcdef"));
        assert!(!dir.path().join(TOKEN_FILE).exists());
        assert!(matches!(
            Auth::load_or_create(dir.path(), Some(Secret::new("short"))),
            Err(AuthError::WeakToken)
        ));
    }

    #[test]
    fn login_codes_are_one_time() {
        let a = Auth::with_token(Secret::new("t".repeat(20)));
        let code = a.issue_login_code().unwrap();
        assert!(a.redeem_login_code("wrong").is_none());
        // A wrong guess spends the code, so it cannot be brute-forced.
        assert!(a.redeem_login_code(code.expose()).is_none());
        let code = a.issue_login_code().unwrap();
        let s = a.redeem_login_code(code.expose()).unwrap();
        assert!(a.redeem_login_code(code.expose()).is_none());
        assert_eq!(
            a.session(s.id.expose()).unwrap(),
            (s.csrf.clone(), ADMIN_USER.to_owned(), Via::LoginLink)
        );
        a.logout(s.id.expose());
        assert!(a.session(s.id.expose()).is_none());
    }
}
