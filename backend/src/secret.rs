//! A string that must never be logged, returned or written in plain text by accident.

use std::fmt;

/// A secret value (credential, passphrase). `Debug` and `Display` print `[redacted]`; the
/// value is reachable only through [`Secret::expose`], which makes every use greppable.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// `bytes` random bytes from the OS, in hex (a token, a password Lifeboat makes).
    pub fn random_hex(bytes: usize) -> std::io::Result<Self> {
        let mut buf = vec![0u8; bytes];
        getrandom::getrandom(&mut buf).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Self(buf.iter().map(|b| format!("{b:02x}")).collect()))
    }

    /// The value itself: pass it only to a child's environment, a 0600 file or a client
    /// library, never to a log, response or argument list.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_formats_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(
            format!("{s} {s:?} {:?}", Some(&s)),
            "[redacted] [redacted] Some([redacted])"
        );
        assert_eq!(s.expose(), "hunter2");
    }
}
