//! Inline validation of what admins type. Pure, so its tests are plain module tests. The server
//! validates again; these checks only catch mistakes before a round trip, with messages
//! that say what is expected.

/// The longest backup description the server accepts, in characters.
pub const DESCRIPTION_MAX: usize = 500;

/// Checks a namespace name: a DNS-1123 label (1–63 characters, lowercase letters, digits
/// and `-`, starting and ending with a letter or digit).
pub fn namespace(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("Enter a namespace name.".to_owned());
    }
    if name.chars().count() > 63 {
        return Err("A namespace name has at most 63 characters.".to_owned());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err("Use only lowercase letters (a–z), digits (0–9) and hyphens (-).".to_owned());
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err("Start and end the name with a letter or a digit.".to_owned());
    }
    Ok(())
}

/// Checks a Kubernetes object name (DNS-1123 subdomain), as used for the credentials
/// Secret.
pub fn secret_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("Enter the name of the Secret that holds the bucket's credentials.".to_owned());
    }
    if name.len() > 253 {
        return Err("A Secret name has at most 253 characters.".to_owned());
    }
    let ok = name
        .split('.')
        .all(|part| !part.is_empty() && namespace(part).is_ok() && part.len() <= 63);
    if ok {
        Ok(())
    } else {
        Err("Use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit.".to_owned())
    }
}

/// Checks a backup description: at most [`DESCRIPTION_MAX`] characters and no control
/// characters other than line breaks and tabs (the form turns those into spaces).
pub fn description(text: &str) -> Result<(), String> {
    let count = text.chars().count();
    if count > DESCRIPTION_MAX {
        let over = count - DESCRIPTION_MAX;
        return Err(format!(
            "The description is {over} character{} too long (at most {DESCRIPTION_MAX}).",
            if over == 1 { "" } else { "s" }
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err("Remove the control characters from the description.".to_owned());
    }
    Ok(())
}

/// The description as sent: line breaks and tabs become spaces, the ends are trimmed.
pub fn clean_description(text: &str) -> String {
    text.chars()
        .map(|c| {
            if matches!(c, '\n' | '\r' | '\t') {
                ' '
            } else {
                c
            }
        })
        .collect::<String>()
        .trim()
        .to_owned()
}

fn lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// Checks an S3 bucket name (3–63 characters; lowercase letters, digits, `.` and `-`;
/// starts and ends with a letter or digit; not an IP address).
pub fn s3_bucket(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("Enter the bucket name.".to_owned());
    }
    if !(3..=63).contains(&name.len()) {
        return Err("A bucket name has 3 to 63 characters.".to_owned());
    }
    if !name.chars().all(|c| lower_alnum(c) || c == '.' || c == '-') {
        return Err("Use only lowercase letters, digits, '.' and '-'.".to_owned());
    }
    if !name.starts_with(lower_alnum) || !name.ends_with(lower_alnum) {
        return Err("Start and end the bucket name with a letter or a digit.".to_owned());
    }
    if name.contains("..") {
        return Err("A bucket name cannot contain two dots in a row.".to_owned());
    }
    if name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return Err("A bucket name cannot look like an IP address.".to_owned());
    }
    Ok(())
}

/// Checks a Google Cloud Storage bucket name (3–63 characters without dots; lowercase
/// letters, digits, `-`, `_` and `.`; starts and ends with a letter or digit).
pub fn gcs_bucket(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("Enter the bucket name.".to_owned());
    }
    let max = if name.contains('.') { 222 } else { 63 };
    if name.len() < 3 || name.len() > max {
        return Err("A bucket name has 3 to 63 characters.".to_owned());
    }
    if !name
        .chars()
        .all(|c| lower_alnum(c) || matches!(c, '.' | '-' | '_'))
    {
        return Err("Use only lowercase letters, digits, '-', '_' and '.'.".to_owned());
    }
    if !name.starts_with(lower_alnum) || !name.ends_with(lower_alnum) {
        return Err("Start and end the bucket name with a letter or a digit.".to_owned());
    }
    if name.starts_with("goog") {
        return Err("A bucket name cannot start with \"goog\".".to_owned());
    }
    Ok(())
}

/// Checks an Azure storage account name (3–24 lowercase letters and digits).
pub fn azure_account(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("Enter the storage account name.".to_owned());
    }
    if !(3..=24).contains(&name.len()) || !name.chars().all(lower_alnum) {
        return Err("An account name has 3 to 24 lowercase letters and digits.".to_owned());
    }
    Ok(())
}

/// Checks an Azure container name (3–63 characters; lowercase letters, digits and single
/// `-`; starts and ends with a letter or digit).
pub fn azure_container(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("Enter the container name.".to_owned());
    }
    if !(3..=63).contains(&name.len()) {
        return Err("A container name has 3 to 63 characters.".to_owned());
    }
    if !name.chars().all(|c| lower_alnum(c) || c == '-')
        || !name.starts_with(lower_alnum)
        || !name.ends_with(lower_alnum)
        || name.contains("--")
    {
        return Err(
            "Use lowercase letters, digits and single hyphens, starting and ending with a letter or digit."
                .to_owned(),
        );
    }
    Ok(())
}

/// Checks an AWS region such as `us-east-1`.
pub fn region(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("Enter the region, e.g. us-east-1.".to_owned());
    }
    if !name.chars().all(|c| lower_alnum(c) || c == '-') {
        return Err("A region looks like us-east-1.".to_owned());
    }
    Ok(())
}

/// Checks an optional S3-compatible endpoint URL.
pub fn endpoint(url: &str) -> Result<(), String> {
    if url.is_empty() {
        return Ok(());
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') && !host.contains(' ') => Ok(()),
        _ => Err(
            "Enter a URL starting with https:// or http://, or leave it empty for AWS.".to_owned(),
        ),
    }
}

/// Checks an optional key prefix inside a bucket.
pub fn prefix(p: &str) -> Result<(), String> {
    if p.starts_with('/') {
        return Err("Leave out the leading '/'.".to_owned());
    }
    if p.chars().any(char::is_control) {
        return Err("Remove the control characters.".to_owned());
    }
    Ok(())
}

/// Checks a local folder: empty (the default under the data directory) or absolute.
pub fn local_path(p: &str) -> Result<(), String> {
    if p.is_empty() || p.starts_with('/') {
        Ok(())
    } else {
        Err(
            "Enter an absolute path (starting with /), or leave it empty for the default."
                .to_owned(),
        )
    }
}

/// Checks a five-field cron expression: its shape and every value (the server checks it
/// again, and whether it ever runs).
pub fn cron(expr: &str) -> Result<(), String> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(
            "Enter five fields: minute hour day-of-month month day-of-week, e.g. 0 2 * * *."
                .to_owned(),
        );
    }
    if !fields.iter().all(|f| {
        f.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | '/' | ',' | '-' | '?'))
    }) {
        return Err("Use digits, names (MON, JAN) and * / , - in each field.".to_owned());
    }
    lifeboat_shared::schedule::cron_values(expr).map_err(|m| m + ".")
}

/// Checks an IANA time zone name such as `Europe/Berlin` or `UTC`: its shape, and in the
/// browser that the browser knows the zone.
pub fn timezone(tz: &str) -> Result<(), String> {
    if tz.is_empty() {
        return Err("Enter a time zone, e.g. Europe/Berlin or UTC.".to_owned());
    }
    if tz
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+'))
        && known_zone(tz)
    {
        Ok(())
    } else {
        Err(format!(
            "{tz} is not a time zone: use an IANA name such as Europe/Berlin or America/New_York."
        ))
    }
}

/// Whether the browser's `Intl` knows the zone (off the browser: every name).
fn known_zone(tz: &str) -> bool {
    #[cfg(target_arch = "wasm32")]
    {
        let options = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&options, &"timeZone".into(), &tz.into());
        let args = js_sys::Array::of2(&"en".into(), &options);
        // `new Intl.DateTimeFormat("en", { timeZone })` throws a RangeError for an unknown zone.
        js_sys::Reflect::get(&js_sys::global(), &"Intl".into())
            .and_then(|intl| js_sys::Reflect::get(&intl, &"DateTimeFormat".into()))
            .and_then(|ctor| {
                use wasm_bindgen::JsCast as _;
                js_sys::Reflect::construct(ctor.unchecked_ref::<js_sys::Function>(), &args)
            })
            .is_ok()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = tz;
        true
    }
}

/// Parses a retention count; empty means 0.
pub fn count(text: &str) -> Result<u32, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(0);
    }
    t.parse::<u32>()
        .map_err(|_| "Enter a whole number, 0 or more.".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn namespaces_are_dns_labels() {
        assert!(namespace("dash-restored").is_ok());
        assert!(namespace("a").is_ok());
        assert!(namespace(&"a".repeat(63)).is_ok());
        assert!(namespace(&"a".repeat(64)).is_err());
        assert!(namespace("").is_err());
        assert!(namespace("Dash").is_err());
        assert!(namespace("dash_prod").is_err());
        assert!(namespace("-dash").is_err());
        assert!(namespace("dash-").is_err());
        assert!(namespace("dash.prod").is_err());
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn descriptions_are_limited() {
        assert!(description("").is_ok());
        assert!(description(&"é".repeat(500)).is_ok());
        let err = description(&"x".repeat(502)).unwrap_err();
        assert!(err.contains("2 characters too long"), "{err}");
        assert!(description("line\nbreak").is_ok());
        assert!(description("bell\u{7}").is_err());
        assert_eq!(clean_description("  a\nb\tc "), "a b c");
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn bucket_names_follow_provider_rules() {
        assert!(s3_bucket("my-backups.eu").is_ok());
        assert!(s3_bucket("ab").is_err());
        assert!(s3_bucket("My-Bucket").is_err());
        assert!(s3_bucket("a..b").is_err());
        assert!(s3_bucket("192.168.1.1").is_err());
        assert!(gcs_bucket("my_backups").is_ok());
        assert!(gcs_bucket("google-x").is_err());
        assert!(gcs_bucket("goog-x").is_err());
        assert!(azure_account("acme01").is_ok());
        assert!(azure_account("Acme").is_err());
        assert!(azure_container("dash-backups").is_ok());
        assert!(azure_container("dash--backups").is_err());
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn other_fields() {
        assert!(secret_name("lifeboat-storage").is_ok());
        assert!(secret_name("a.b-c").is_ok());
        assert!(secret_name("A").is_err());
        assert!(secret_name("").is_err());
        assert!(endpoint("").is_ok());
        assert!(endpoint("http://127.0.0.1:9000").is_ok());
        assert!(endpoint("s3.example.com").is_err());
        assert!(region("us-east-1").is_ok());
        assert!(region("US East").is_err());
        assert!(prefix("dash/prod").is_ok());
        assert!(prefix("/dash").is_err());
        assert!(local_path("").is_ok());
        assert!(local_path("/var/backups").is_ok());
        assert!(local_path("backups").is_err());
        assert!(cron("0 2 * * *").is_ok());
        assert!(cron("*/15 9-17 * * MON-FRI").is_ok());
        assert!(cron("0 2 * *").is_err());
        assert!(cron("0 2 * * * *").is_err());
        assert!(cron("0 2 * * %").is_err());
        assert_eq!(
            cron("61 * * * *").unwrap_err(),
            "61 is not a minute (0–59)."
        );
        assert!(timezone("Europe/Berlin").is_ok());
        assert!(timezone("UTC").is_ok());
        assert!(timezone("").is_err());
        assert!(timezone("Europe Berlin").is_err());
        assert_eq!(count(""), Ok(0));
        assert_eq!(count(" 7 "), Ok(7));
        assert!(count("-1").is_err());
        assert!(count("two").is_err());
    }
}
