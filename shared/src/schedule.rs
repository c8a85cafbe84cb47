//! The values of a five-field cron expression, checked in words an admin understands (the
//! page checks them as they are typed, the backend before its cron parser, whose own words
//! are "Component error: Number out of bounds").

/// Each field's name, its range, and the names it accepts besides numbers.
const FIELDS: [(&str, u8, u8, &str); 5] = [
    ("a minute", 0, 59, ""),
    ("an hour", 0, 23, ""),
    ("a day of the month", 1, 31, "L"),
    (
        "a month",
        1,
        12,
        "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC",
    ),
    ("a day of the week", 0, 7, "SUN MON TUE WED THU FRI SAT L"),
];

/// Checks every number and name of a five-field expression (minute 0–59, hour 0–23, day of
/// the month 1–31, month 1–12 or JAN–DEC, day of the week 0–7 or SUN–SAT): the first value
/// out of range, as `61 is not a minute (0–59)`. Parts with cron's rarer forms (`5L`,
/// `1#2`, `15W`) are left to the parser; the number of fields is checked by the caller.
pub fn cron_values(expr: &str) -> Result<(), String> {
    for (field, (name, lo, hi, names)) in expr.split_whitespace().zip(FIELDS) {
        for part in field.split([',', '-', '/']) {
            let fits = match part.parse::<u32>() {
                Ok(n) => (u32::from(lo)..=u32::from(hi)).contains(&n),
                Err(_) if part.chars().all(|c| c.is_ascii_alphabetic()) => names
                    .split(' ')
                    .any(|n| !part.is_empty() && n.eq_ignore_ascii_case(part)),
                Err(_) => part == "*" || part == "?" || part.chars().any(|c| c.is_ascii_digit()),
            };
            if !fits {
                // At most 20 characters of what was typed are quoted back.
                let shown: String = if part.is_empty() { field } else { part }
                    .chars()
                    .take(20)
                    .collect();
                return Err(format!("{shown} is not {name} ({lo}–{hi})"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_out_of_range_are_named() {
        for ok in [
            "0 2 * * *",
            "*/15 9-17 * * MON-FRI",
            "0 0 1,15 jan-jun 0",
            "0 0 L * 5L",
            "0 0 ? * 1#2",
            "59 23 31 12 7",
        ] {
            assert_eq!(cron_values(ok), Ok(()), "{ok}");
        }
        assert_eq!(
            cron_values("61 * * * *").unwrap_err(),
            "61 is not a minute (0–59)"
        );
        assert_eq!(
            cron_values("0 24 * * *").unwrap_err(),
            "24 is not an hour (0–23)"
        );
        assert!(
            cron_values("0 0 0 * *")
                .unwrap_err()
                .starts_with("0 is not a day of the month")
        );
        assert!(cron_values("0 0 * 13 *").is_err());
        assert!(cron_values("0 0 * * 8").is_err());
        assert!(cron_values("0 0 * FOO *").is_err());
        assert!(cron_values("0 0 * * MONDAY").is_err());
        assert_eq!(
            cron_values("5- * * * *").unwrap_err(),
            "5- is not a minute (0–59)"
        );
    }
}
