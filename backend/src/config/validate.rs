//! Checks a configuration before it is saved or verified: names per provider rules, endpoint
//! URLs, paths, the secret name, the schedule and retention. Each problem names the field,
//! what is wrong and what to do.

use std::net::Ipv4Addr;

use lifeboat_shared::config::{Credentials, PassphraseChange, Provider, Retention, StorageConfig};

use super::schedule::ParsedSchedule;

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    /// The field, as the API names it (e.g. `provider.bucket`).
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub hint: String,
}

fn invalid(field: &'static str, message: impl Into<String>, hint: impl Into<String>) -> Invalid {
    Invalid {
        field,
        message: message.into(),
        hint: hint.into(),
    }
}

/// The most a retention count may be (a safety net against typos).
pub const MAX_RETENTION: u32 = 100_000;

/// Checks a whole configuration.
pub fn config(c: &StorageConfig) -> Result<(), Invalid> {
    provider(&c.provider)?;
    secret_name(&c.secret_name)?;
    if let Some(s) = &c.schedule {
        let problems = ParsedSchedule::problems(s);
        if !problems.is_empty() {
            let words: Vec<String> = problems.iter().map(ToString::to_string).collect();
            return Err(invalid(
                "schedule",
                words.join("; and "),
                "use five cron fields (minute hour day-of-month month day-of-week), e.g. \"0 2 * * *\", and an IANA zone such as \"Europe/Berlin\" or \"UTC\"",
            ));
        }
    }
    retention(&c.retention)?;
    c.backup_policy.as_ref().map_or(Ok(()), backup_policy)
}

/// Checks that credentials fit the provider and are complete.
pub fn credentials(p: &Provider, creds: &Credentials) -> Result<(), Invalid> {
    let hint = "give the credentials of the provider the configuration uses";
    match (p, creds) {
        (
            Provider::S3 { .. },
            Credentials::S3 {
                access_key_id,
                secret_access_key,
            },
        ) => {
            if access_key_id.trim().is_empty() || secret_access_key.trim().is_empty() {
                return Err(invalid(
                    "credentials",
                    "both the access key id and the secret access key are needed",
                    "copy both from the IAM user or the S3-compatible store's console",
                ));
            }
        }
        (
            Provider::Azure { .. },
            Credentials::Azure {
                account_key,
                sas_token,
            },
        ) => {
            let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
            if set(account_key) == set(sas_token) {
                return Err(invalid(
                    "credentials",
                    "give either the storage account key or a SAS token (exactly one)",
                    "find the key under the storage account's Access keys in the Azure portal",
                ));
            }
        }
        (
            Provider::Gcs { .. },
            Credentials::Gcs {
                service_account_json,
            },
        ) => {
            let ok = serde_json::from_str::<serde_json::Value>(service_account_json)
                .ok()
                .is_some_and(|v| v.get("client_email").is_some() && v.get("private_key").is_some());
            if !ok {
                return Err(invalid(
                    "credentials",
                    "the service account key is not a JSON key file (it needs client_email and private_key)",
                    "paste the whole JSON key file created under IAM → Service accounts → Keys",
                ));
            }
        }
        (Provider::Local { .. }, _) => {
            return Err(invalid(
                "credentials",
                "a local folder needs no credentials",
                "leave the credentials out",
            ));
        }
        _ => {
            return Err(invalid(
                "credentials",
                "the credentials are for a different provider than the configuration",
                hint,
            ));
        }
    }
    Ok(())
}

/// Checks a passphrase change.
pub fn passphrase(change: &PassphraseChange) -> Result<(), Invalid> {
    let hint = "use at least 8 characters; keep it somewhere safe: without it, encrypted backups cannot be restored";
    let check = |field, p: &str| {
        if p.chars().count() < 8 {
            Err(invalid(
                field,
                "the passphrase is shorter than 8 characters",
                hint,
            ))
        } else if p.trim() != p {
            Err(invalid(
                field,
                "the passphrase starts or ends with a space",
                hint,
            ))
        } else {
            Ok(())
        }
    };
    match change {
        PassphraseChange::Set { passphrase } => check("passphrase.passphrase", passphrase),
        PassphraseChange::Change { old, new } => {
            check("passphrase.new", new)?;
            if old == new {
                return Err(invalid(
                    "passphrase.new",
                    "the new passphrase is the same as the old one",
                    "choose a different passphrase, or leave the passphrase out to keep it",
                ));
            }
            Ok(())
        }
        PassphraseChange::Clear => Ok(()),
    }
}

fn provider(p: &Provider) -> Result<(), Invalid> {
    match p {
        Provider::Local { path } => local_path(path),
        Provider::S3 {
            region,
            bucket,
            prefix: pre,
            endpoint: ep,
        } => {
            s3_bucket(bucket)?;
            if !ep.is_empty() {
                endpoint(ep)?;
            }
            s3_region(region, ep.is_empty())?;
            prefix(pre)
        }
        Provider::Azure {
            account,
            container,
            prefix: pre,
        } => {
            azure_account(account)?;
            azure_container(container)?;
            prefix(pre)
        }
        Provider::Gcs {
            bucket,
            prefix: pre,
        } => {
            gcs_bucket(bucket)?;
            prefix(pre)
        }
    }
}

fn is_lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn looks_like_ipv4(s: &str) -> bool {
    s.parse::<Ipv4Addr>().is_ok()
}

fn local_path(path: &str) -> Result<(), Invalid> {
    if path.is_empty() {
        return Ok(());
    }
    let p = std::path::Path::new(path);
    if !p.is_absolute() {
        return Err(invalid(
            "provider.path",
            format!(
                "the folder {:?} is not an absolute path",
                crate::error::quote(path)
            ),
            "give a path starting with /, or leave it empty for the folder under the data dir",
        ));
    }
    if p.components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(invalid(
            "provider.path",
            format!("the folder {:?} contains \"..\"", crate::error::quote(path)),
            "give the folder's plain absolute path",
        ));
    }
    Ok(())
}

/// The error for a bucket name that breaks a rule (`why`), quoting the name cut.
fn bucket_error<'a>(b: &'a str, hint: &'a str) -> impl Fn(&str) -> Result<(), Invalid> + 'a {
    move |why| {
        Err(invalid(
            "provider.bucket",
            format!("the bucket name {:?} {why}", crate::error::quote(b)),
            hint,
        ))
    }
}

/// S3 general-purpose bucket naming rules.
pub fn s3_bucket(b: &str) -> Result<(), Invalid> {
    let hint = "S3 bucket names are 3-63 characters of lowercase letters, digits, dots and hyphens, and start and end with a letter or digit";
    let bad = bucket_error(b, hint);
    if b.is_empty() {
        return Err(invalid("provider.bucket", "the bucket name is empty", hint));
    }
    if !(3..=63).contains(&b.len()) {
        return bad("must be 3 to 63 characters long");
    }
    if !b.chars().all(|c| is_lower_alnum(c) || c == '.' || c == '-') {
        return bad("may only contain lowercase letters, digits, dots and hyphens");
    }
    if !b.starts_with(is_lower_alnum) || !b.ends_with(is_lower_alnum) {
        return bad("must start and end with a letter or digit");
    }
    if b.contains("..") || b.contains(".-") || b.contains("-.") {
        return bad("must not have two dots, or a dot next to a hyphen");
    }
    if looks_like_ipv4(b) {
        return bad("must not look like an IP address");
    }
    if b.starts_with("xn--")
        || b.starts_with("sthree-")
        || b.ends_with("-s3alias")
        || b.ends_with("--ol-s3")
    {
        return bad("uses a prefix or suffix AWS reserves");
    }
    Ok(())
}

fn s3_region(region: &str, required: bool) -> Result<(), Invalid> {
    let hint = "give the bucket's AWS region, e.g. us-east-1 or eu-central-1";
    if region.is_empty() {
        if required {
            return Err(invalid("provider.region", "the region is empty", hint));
        }
        return Ok(());
    }
    if region.len() > 32 || !region.chars().all(|c| is_lower_alnum(c) || c == '-') {
        return Err(invalid(
            "provider.region",
            format!("{:?} is not a region name", crate::error::quote(region)),
            hint,
        ));
    }
    Ok(())
}

/// An S3-compatible endpoint: `http(s)://host[:port][/path]`, no credentials, no query.
pub fn endpoint(ep: &str) -> Result<(), Invalid> {
    let hint = "give the store's URL, e.g. https://minio.example.com:9000 (keys go in the secret, never in the URL)";
    let url = url::Url::parse(ep).map_err(|e| {
        invalid(
            "provider.endpoint",
            format!("{:?} is not a URL ({e})", crate::error::quote(ep)),
            hint,
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(
            "provider.endpoint",
            format!(
                "the endpoint must start with http:// or https://, not {}://",
                url.scheme()
            ),
            hint,
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid(
            "provider.endpoint",
            "the endpoint has no host",
            hint,
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "provider.endpoint",
            "the endpoint URL contains a user name or password",
            "remove them from the URL and put the keys in the credentials",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(
            "provider.endpoint",
            "the endpoint URL must not have a query or fragment",
            hint,
        ));
    }
    Ok(())
}

/// Azure storage account names: 3-24 lowercase letters and digits.
pub fn azure_account(a: &str) -> Result<(), Invalid> {
    if !(3..=24).contains(&a.len()) || !a.chars().all(is_lower_alnum) {
        return Err(invalid(
            "provider.account",
            format!("{:?} is not a storage account name", crate::error::quote(a)),
            "Azure storage account names are 3-24 lowercase letters and digits",
        ));
    }
    Ok(())
}

/// Azure container names: 3-63 of lowercase letters, digits and single hyphens.
pub fn azure_container(c: &str) -> Result<(), Invalid> {
    let ok = (3..=63).contains(&c.len())
        && c.chars().all(|ch| is_lower_alnum(ch) || ch == '-')
        && c.starts_with(is_lower_alnum)
        && c.ends_with(is_lower_alnum)
        && !c.contains("--");
    if !ok {
        return Err(invalid(
            "provider.container",
            format!("{:?} is not a container name", crate::error::quote(c)),
            "Azure container names are 3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit",
        ));
    }
    Ok(())
}

/// GCS bucket naming rules.
pub fn gcs_bucket(b: &str) -> Result<(), Invalid> {
    let hint = "GCS bucket names are 3-63 characters (up to 222 with dots) of lowercase letters, digits, hyphens, underscores and dots, start and end with a letter or digit, and do not contain \"google\"";
    let bad = bucket_error(b, hint);
    if b.is_empty() {
        return Err(invalid("provider.bucket", "the bucket name is empty", hint));
    }
    let max = if b.contains('.') { 222 } else { 63 };
    if b.len() < 3 || b.len() > max || b.split('.').any(|part| part.len() > 63 || part.is_empty()) {
        return bad("has the wrong length");
    }
    if !b
        .chars()
        .all(|c| is_lower_alnum(c) || matches!(c, '-' | '_' | '.'))
    {
        return bad("may only contain lowercase letters, digits, hyphens, underscores and dots");
    }
    if !b.starts_with(is_lower_alnum) || !b.ends_with(is_lower_alnum) {
        return bad("must start and end with a letter or digit");
    }
    if looks_like_ipv4(b) {
        return bad("must not look like an IP address");
    }
    if b.starts_with("goog") || b.contains("google") || b.contains("g00gle") {
        return bad("must not start with \"goog\" or contain \"google\"");
    }
    Ok(())
}

/// A prefix inside the bucket: relative, no empty, `.` or `..` segments, printable.
pub fn prefix(p: &str) -> Result<(), Invalid> {
    let hint = "use a path like team/lifeboat (no leading or trailing slash, no \"..\")";
    let trimmed = p.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(());
    }
    if p.len() > 512 {
        return Err(invalid(
            "provider.prefix",
            "the prefix is longer than 512 characters",
            hint,
        ));
    }
    if trimmed
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == ".." || s.trim() != s)
        || p.chars().any(|c| c.is_control() || c == '\\')
    {
        return Err(invalid(
            "provider.prefix",
            format!(
                "the prefix {:?} is not a clean path",
                crate::error::quote(p)
            ),
            hint,
        ));
    }
    Ok(())
}

/// A Kubernetes Secret name (DNS-1123 subdomain); empty means the default secret.
pub fn secret_name(n: &str) -> Result<(), Invalid> {
    if n.is_empty() {
        return Ok(());
    }
    let ok = n.len() <= 253
        && n.chars().all(|c| is_lower_alnum(c) || c == '-' || c == '.')
        && n.starts_with(is_lower_alnum)
        && n.ends_with(is_lower_alnum);
    if !ok {
        return Err(invalid(
            "secret_name",
            format!(
                "{:?} is not a Kubernetes Secret name",
                crate::error::quote(n)
            ),
            "use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit (e.g. lifeboat-s3)",
        ));
    }
    Ok(())
}

fn backup_policy(p: &lifeboat_shared::config::BackupPolicy) -> Result<(), Invalid> {
    if !(1..=366).contains(&p.full_every_days) {
        return Err(invalid(
            "backup_policy.full_every_days",
            format!("{} is not between 1 and 366", p.full_every_days),
            "use how many days may pass before the next backup is a full one again (7 by default)",
        ));
    }
    Ok(())
}

fn retention(r: &Retention) -> Result<(), Invalid> {
    for (field, v) in [
        ("retention.keep_last", r.keep_last),
        ("retention.keep_daily", r.keep_daily),
        ("retention.keep_weekly", r.keep_weekly),
        ("retention.keep_monthly", r.keep_monthly),
    ] {
        if v > MAX_RETENTION {
            return Err(invalid(
                field,
                format!("{v} is more than {MAX_RETENTION}"),
                "use a smaller count, or 0 to not limit by this rule",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_policy_rules() {
        use lifeboat_shared::backup::BackupType;
        use lifeboat_shared::config::BackupPolicy;
        assert!(backup_policy(&BackupPolicy::default()).is_ok());
        for (days, between) in [(0, BackupType::Incr), (367, BackupType::Diff)] {
            let p = BackupPolicy {
                full_every_days: days,
                between,
            };
            assert!(backup_policy(&p).is_err(), "{p:?}");
        }
        let every_backup_a_full = BackupPolicy {
            full_every_days: 1,
            between: BackupType::Full,
        };
        assert!(backup_policy(&every_backup_a_full).is_ok());
    }

    #[test]
    fn s3_bucket_rules() {
        for ok in ["abc", "my-bucket.2024", "a1b"] {
            assert!(s3_bucket(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "ab",
            "My-Bucket",
            "-abc",
            "abc-",
            "a..b",
            "192.168.1.1",
            "xn--abc",
            "abc-s3alias",
            "a_b",
            &"a".repeat(64),
        ] {
            assert!(s3_bucket(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn azure_and_gcs_rules() {
        assert!(azure_account("devstoreaccount1").is_ok());
        for bad in ["ab", "Upper", "has-dash", &"a".repeat(25)] {
            assert!(azure_account(bad).is_err(), "{bad}");
        }
        assert!(azure_container("backups-1").is_ok());
        for bad in ["ab", "a--b", "-ab", "ab-", "A-b", "a_b"] {
            assert!(azure_container(bad).is_err(), "{bad}");
        }
        assert!(gcs_bucket("my_bucket-1").is_ok());
        assert!(gcs_bucket("a.b.c").is_ok());
        for bad in ["ab", "goog-x", "my-google-b", "Abc", "1.2.3.4", "_ab"] {
            assert!(gcs_bucket(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn endpoints_prefixes_and_secret_names() {
        assert!(endpoint("http://127.0.0.1:9000").is_ok());
        assert!(endpoint("https://minio.example.com").is_ok());
        for bad in [
            "ftp://x",
            "127.0.0.1:9000",
            "https://user:pw@x",
            "http://x/?a=b",
            "http://",
        ] {
            assert!(endpoint(bad).is_err(), "{bad}");
        }
        assert!(prefix("team/lifeboat").is_ok());
        assert!(prefix("").is_ok());
        for bad in ["a/../b", "a//b", "./a", "a\\b"] {
            assert!(prefix(bad).is_err(), "{bad}");
        }
        assert!(secret_name("lifeboat-s3").is_ok());
        for bad in ["Lifeboat", "-x", "x_y", "x-"] {
            assert!(secret_name(bad).is_err(), "{bad}");
        }
    }
}
