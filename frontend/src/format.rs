//! Human units for sizes, durations, rates, progress and times. Pure (no clock, no browser),
//! so its tests are plain module tests (run in headless Chromium
//! with the other wasm tests).

/// `1536` → `1.5 KiB`; binary units, one decimal from KiB up.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    // Integer arithmetic in u64 (no float formatting: it weighs ~15 KB of wasm; no u128,
    // whose division and formatting weigh about 2 KB more): the whole units, then the
    // remainder's tenth, rounded half up.
    let mut unit = 0;
    let mut divisor: u64 = 1;
    while n / divisor >= 1024 && unit < UNITS.len() - 1 {
        divisor *= 1024;
        unit += 1;
    }
    let (mut whole, mut tenth) = (n / divisor, (n % divisor * 10 + divisor / 2) / divisor);
    if tenth == 10 {
        whole += 1;
        tenth = 0;
    }
    format!("{whole}.{tenth} {}", UNITS[unit])
}

/// Milliseconds as people read them: `320 ms` under a second, else as [`duration`].
pub fn millis(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        duration(ms as f64 / 1000.0)
    }
}

/// `1234567` → `1,234,567 bytes`: the exact value, for hover titles.
pub fn exact_bytes(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 6);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out.push_str(if n == 1 { " byte" } else { " bytes" });
    out
}

/// `75.0` → `1m 15s`; `3725.0` → `1h 2m`; under a minute, whole seconds.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "–".to_owned();
    }
    let s = seconds.round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        _ => format!("{}h {}m", s / 3600, (s % 3600) / 60),
    }
}

/// Bytes per second as `12.5 MiB/s`; `–` when not measurable.
pub fn rate(bytes_per_sec: f64) -> String {
    if !bytes_per_sec.is_finite() || bytes_per_sec < 0.0 {
        return "–".to_owned();
    }
    format!("{}/s", bytes(bytes_per_sec.round() as u64))
}

/// Seconds left as `about 2m 5s left`; `less than a second left` near the end; `–` when
/// it cannot be estimated.
pub fn eta(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "–".to_owned();
    }
    if seconds < 0.5 {
        return "less than a second left".to_owned();
    }
    format!("about {} left", duration(seconds))
}

/// A fraction in `0.0..=1.0` as a whole percent, rounded down so that `100%` means done:
/// `0.999` → `99%`. Out-of-range values are clamped; NaN gives `–`.
pub fn percent(fraction: f64) -> String {
    match whole_percent(fraction) {
        Some(p) => format!("{p}%"),
        None => "–".to_owned(),
    }
}

/// The whole percent of [`percent`], as a number (for `aria-valuenow` and bar widths).
pub fn whole_percent(fraction: f64) -> Option<u8> {
    if fraction.is_nan() {
        return None;
    }
    Some((fraction.clamp(0.0, 1.0) * 100.0).floor() as u8)
}

/// How long ago, for times within the last day: `just now`, `5 min ago`, `3 h ago`
/// (`None` when older, or in the future by more than a minute: then a date says more).
pub fn ago(seconds: f64) -> Option<String> {
    let s = seconds.round() as i64;
    match s {
        -60..45 => Some("just now".to_owned()),
        45..3_600 => Some(format!("{} min ago", (s + 30) / 60)),
        3_600..86_400 => Some(format!("{} h ago", s / 3_600)),
        _ => None,
    }
}

/// How long until a time, for a countdown: `in less than a minute`, `in 12 min`, `in 3 h 5
/// min`, `in 2 days`.
pub fn until(seconds: f64) -> String {
    let m = (seconds.max(0.0) / 60.0).ceil() as u64;
    match m {
        0..=1 if seconds < 60.0 => "in less than a minute".to_owned(),
        0..60 => format!("in {m} min"),
        60..1_440 => format!("in {} h {} min", m / 60, m % 60),
        1_440..2_880 => "in 1 day".to_owned(),
        _ => format!("in {} days", m / 1_440),
    }
}

/// `1.0 GiB of 4.0 GiB`, or just `1.0 GiB` while the total is unknown.
pub fn bytes_of(done: u64, total: Option<u64>) -> String {
    match total {
        Some(t) => format!("{} of {}", bytes(done), bytes(t)),
        None => bytes(done),
    }
}

/// An RFC 3339 time as seconds since the Unix epoch (fractional), or `None` when it does
/// not parse. Accepts `Z` or a `±HH:MM` offset and optional fractional seconds.
pub fn parse_rfc3339(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    if b.len() < 20 || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    if b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let mut i = 19;
    let mut frac = 0.0;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
        // Milliseconds from the first three digits, without float parsing.
        let digits = s.get(start..i)?;
        let mut millis = 0_u32;
        for (k, d) in digits.bytes().take(3).enumerate() {
            millis += u32::from(d - b'0') * [100, 10, 1][k];
        }
        frac = f64::from(millis) / 1000.0;
    }
    let offset = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let h = num(i + 1..i + 3)?;
            let m = num(i + 4..i + 6)?;
            let o = h * 3600 + m * 60;
            if *sign == b'-' { -o } else { o }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Some(secs as f64 + frac)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Seconds from `start` to `end` (both RFC 3339), when both parse and `end` is not earlier.
pub fn seconds_between(start: &str, end: &str) -> Option<f64> {
    let d = parse_rfc3339(end)? - parse_rfc3339(start)?;
    (d >= 0.0).then_some(d)
}

/// An RFC 3339 time as `25 Nov 2026, 11:07 UTC` (or with its offset, `+01:00`), in the zone
/// the server stamped it with. Anything unparseable is shown as it came.
pub fn date_time(s: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    if parse_rfc3339(s).is_none() {
        return s.to_owned();
    }
    let month = s
        .get(5..7)
        .and_then(|m| m.parse::<usize>().ok())
        .and_then(|m| MONTHS.get(m.wrapping_sub(1)));
    let (Some(month), Some(year), Some(day), Some(hm)) =
        (month, s.get(0..4), s.get(8..10), s.get(11..16))
    else {
        return s.to_owned();
    };
    let zone = match s
        .get(19..)
        .map(|rest| rest.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit()))
    {
        Some("Z" | "z" | "+00:00") => "UTC".to_owned(),
        Some(offset) => offset.to_owned(),
        None => String::new(),
    };
    format!(
        "{} {month} {year}, {hm} {zone}",
        day.trim_start_matches('0')
    )
    .trim_end()
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn countdowns() {
        assert_eq!(until(20.0), "in less than a minute");
        assert_eq!(until(60.0), "in 1 min");
        assert_eq!(until(61.0), "in 2 min");
        assert_eq!(until(3.0 * 3600.0 + 5.0 * 60.0), "in 3 h 5 min");
        assert_eq!(until(86_400.0 + 5.0), "in 1 day");
        assert_eq!(until(5.0 * 86_400.0), "in 5 days");
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn bytes_in_binary_units() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(5 * 1024 * 1024 * 1024), "5.0 GiB");
        assert_eq!(bytes(u64::MAX), "16384.0 PiB");
        // Rounded half up to the tenth, carrying into the whole.
        assert_eq!(bytes(1996), "1.9 KiB");
        assert_eq!(bytes(1997), "2.0 KiB");
        assert_eq!(bytes(2047), "2.0 KiB");
        assert_eq!(bytes(3 * 1024 * 1024 - 1), "3.0 MiB");
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn milliseconds_under_a_second_stay_milliseconds() {
        assert_eq!(millis(0), "0 ms");
        assert_eq!(millis(999), "999 ms");
        assert_eq!(millis(1_000), "1s");
        assert_eq!(millis(75_400), "1m 15s");
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn exact_bytes_group_thousands() {
        assert_eq!(exact_bytes(0), "0 bytes");
        assert_eq!(exact_bytes(1), "1 byte");
        assert_eq!(exact_bytes(999), "999 bytes");
        assert_eq!(exact_bytes(1000), "1,000 bytes");
        assert_eq!(exact_bytes(1_234_567), "1,234,567 bytes");
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn durations_read_naturally() {
        assert_eq!(duration(0.4), "0s");
        assert_eq!(duration(59.4), "59s");
        assert_eq!(duration(75.0), "1m 15s");
        assert_eq!(duration(3725.0), "1h 2m");
        assert_eq!(duration(f64::NAN), "–");
        assert_eq!(duration(-1.0), "–");
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn rates_per_second() {
        assert_eq!(rate(0.0), "0 B/s");
        assert_eq!(rate(512.4), "512 B/s");
        assert_eq!(rate(12.5 * 1024.0 * 1024.0), "12.5 MiB/s");
        assert_eq!(rate(f64::INFINITY), "–");
        assert_eq!(rate(-3.0), "–");
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn eta_says_about_how_long() {
        assert_eq!(eta(125.0), "about 2m 5s left");
        assert_eq!(eta(3.2), "about 3s left");
        assert_eq!(eta(0.2), "less than a second left");
        assert_eq!(eta(f64::NAN), "–");
        assert_eq!(eta(-1.0), "–");
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn percent_rounds_down_and_clamps() {
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(0.426), "42%");
        assert_eq!(percent(0.999), "99%");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(1.7), "100%");
        assert_eq!(percent(-0.2), "0%");
        assert_eq!(percent(f64::NAN), "–");
        assert_eq!(whole_percent(0.5), Some(50));
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn how_long_ago() {
        assert_eq!(ago(3.0).as_deref(), Some("just now"));
        assert_eq!(ago(-20.0).as_deref(), Some("just now"));
        assert_eq!(ago(50.0).as_deref(), Some("1 min ago"));
        assert_eq!(ago(5.0 * 60.0 + 10.0).as_deref(), Some("5 min ago"));
        assert_eq!(ago(3.5 * 3600.0).as_deref(), Some("3 h ago"));
        assert_eq!(ago(2.0 * 86_400.0), None);
        assert_eq!(ago(-3600.0), None);
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn bytes_of_total() {
        assert_eq!(bytes_of(1024, Some(4096)), "1.0 KiB of 4.0 KiB");
        assert_eq!(bytes_of(10, None), "10 B");
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn rfc3339_parses_offsets_and_fractions() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(parse_rfc3339("2000-03-01T00:00:00Z"), Some(951_868_800.0));
        assert_eq!(parse_rfc3339("1970-01-01T01:00:00+01:00"), Some(0.0));
        assert_eq!(parse_rfc3339("1969-12-31T23:00:00-01:00"), Some(0.0));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01.5Z"), Some(1.5));
        assert_eq!(parse_rfc3339("2026-11-25"), None);
        assert_eq!(parse_rfc3339("2026-13-25T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2026-11-25T00:00:00"), None);
        assert_eq!(parse_rfc3339("not a time at all, no"), None);
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn seconds_between_times() {
        let a = "2026-11-25T11:07:05Z";
        assert_eq!(seconds_between(a, "2026-11-25T11:08:20.250Z"), Some(75.25));
        assert_eq!(seconds_between(a, "2026-11-25T12:07:05+01:00"), Some(0.0));
        assert_eq!(seconds_between("2026-11-25T11:08:20Z", a), None);
        assert_eq!(seconds_between("bad", a), None);
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn date_time_is_short_and_keeps_the_zone() {
        assert_eq!(date_time("2026-11-05T09:07:05Z"), "5 Nov 2026, 09:07 UTC");
        assert_eq!(
            date_time("2026-01-25T23:59:59.123+01:00"),
            "25 Jan 2026, 23:59 +01:00"
        );
        assert_eq!(date_time("yesterday"), "yesterday");
    }
}
