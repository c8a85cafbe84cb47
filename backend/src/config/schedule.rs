//! Schedules: a five-field cron expression in an IANA time zone, explained in plain words
//! with its next run times (DST-correct: computed in the zone itself).

use std::str::FromStr as _;

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use croner::Cron;
use lifeboat_shared::config::{Schedule, SchedulePreview};

/// Why a schedule is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// Not five fields.
    #[error("the schedule {0:?} must have five fields: minute hour day-of-month month day-of-week")]
    FieldCount(String),
    /// The cron parser refused it.
    #[error("the schedule {cron:?} is not a valid cron expression: {reason}")]
    Cron {
        /// The expression.
        cron: String,
        /// The parser's words.
        reason: String,
    },
    /// Not an IANA zone name.
    #[error("{0:?} is not an IANA time zone")]
    TimeZone(String),
    /// It never fires.
    #[error("the schedule {0:?} never runs")]
    NeverRuns(String),
}

/// A parsed, valid schedule.
#[derive(Debug, Clone)]
pub struct ParsedSchedule {
    cron: Cron,
    tz: Tz,
}

impl ParsedSchedule {
    /// Parses and checks a schedule.
    pub fn parse(schedule: &Schedule) -> Result<Self, ScheduleError> {
        let expr = schedule.cron.trim();
        if expr.split_whitespace().count() != 5 {
            return Err(ScheduleError::FieldCount(schedule.cron.clone()));
        }
        // Our words first (the parser's are "Component error: Number out of bounds").
        let invalid = |reason: String| ScheduleError::Cron {
            cron: schedule.cron.clone(),
            reason,
        };
        lifeboat_shared::schedule::cron_values(expr).map_err(invalid)?;
        let cron = Cron::from_str(expr).map_err(|_| {
            invalid(
                "use numbers, ranges (1-5), lists (1,15), steps (*/15) and names (MON, JAN)"
                    .to_owned(),
            )
        })?;
        let tz = Tz::from_str(schedule.timezone.trim())
            .map_err(|_| ScheduleError::TimeZone(schedule.timezone.clone()))?;
        let parsed = Self { cron, tz };
        if parsed.next_runs(Utc::now(), 1).is_empty() {
            return Err(ScheduleError::NeverRuns(schedule.cron.clone()));
        }
        Ok(parsed)
    }

    /// Every problem of a schedule, not only the first: a bad expression and a bad zone
    /// are both named (empty when it parses).
    pub fn problems(schedule: &Schedule) -> Vec<ScheduleError> {
        let Err(first) = Self::parse(schedule) else {
            return Vec::new();
        };
        let zone_too = !matches!(first, ScheduleError::TimeZone(_))
            && Tz::from_str(schedule.timezone.trim()).is_err();
        let mut all = vec![first];
        if zone_too {
            all.push(ScheduleError::TimeZone(schedule.timezone.clone()));
        }
        all
    }

    /// The next `n` runs strictly after `after`, in the schedule's zone.
    pub fn next_runs(&self, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Tz>> {
        self.cron
            .iter_after(after.with_timezone(&self.tz))
            .take(n)
            .collect()
    }

    /// e.g. "At 02:00 AM (Europe/Berlin)".
    pub fn describe(&self) -> String {
        format!("{} ({})", self.cron.describe(), self.tz.name())
    }

    /// The description and the next five runs after `now`.
    pub fn preview(&self, now: DateTime<Utc>) -> SchedulePreview {
        SchedulePreview {
            description: self.describe(),
            next_runs: self
                .next_runs(now, 5)
                .iter()
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, false))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sched(cron: &str, tz: &str) -> Schedule {
        Schedule {
            cron: cron.into(),
            timezone: tz.into(),
            include_apps: true,
        }
    }

    #[test]
    fn every_problem_of_a_schedule_is_named() {
        let both = ParsedSchedule::problems(&sched("61 * * * *", "Mars/Base"));
        assert_eq!(both.len(), 2, "{both:?}");
        assert!(matches!(both[0], ScheduleError::Cron { .. }), "{both:?}");
        assert_eq!(both[1], ScheduleError::TimeZone("Mars/Base".into()));
        let zone = ParsedSchedule::problems(&sched("0 2 * * *", "Mars/Base"));
        assert_eq!(zone, vec![ScheduleError::TimeZone("Mars/Base".into())]);
        assert!(ParsedSchedule::problems(&sched("0 2 * * *", "UTC")).is_empty());
    }

    #[test]
    fn next_runs_follow_the_zone_across_dst() {
        let s = ParsedSchedule::parse(&sched("0 2 * * *", "Europe/Berlin")).unwrap();
        // Berlin leaves summer time on 2026-10-25 at 03:00 CEST: 02:00 happens twice and the
        // backup runs once, at the first (summer-time) 02:00; then the offset is +01:00.
        let now = DateTime::parse_from_rfc3339("2026-10-23T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let p = s.preview(now);
        assert_eq!(
            p.next_runs,
            vec![
                "2026-10-24T02:00:00+02:00",
                "2026-10-25T02:00:00+02:00",
                "2026-10-26T02:00:00+01:00",
                "2026-10-27T02:00:00+01:00",
                "2026-10-28T02:00:00+01:00",
            ]
        );
        assert!(p.description.contains("Europe/Berlin"), "{}", p.description);
        assert!(p.description.contains("02:00"), "{}", p.description);
    }

    #[test]
    fn bad_schedules_are_named() {
        assert!(matches!(
            ParsedSchedule::parse(&sched("0 2 * *", "UTC")),
            Err(ScheduleError::FieldCount(_))
        ));
        assert!(matches!(
            ParsedSchedule::parse(&sched("0 0 2 * * *", "UTC")),
            Err(ScheduleError::FieldCount(_))
        ));
        let e = ParsedSchedule::parse(&sched("61 2 * * *", "UTC")).unwrap_err();
        assert!(matches!(e, ScheduleError::Cron { .. }));
        assert!(e.to_string().ends_with("61 is not a minute (0–59)"), "{e}");
        assert!(matches!(
            ParsedSchedule::parse(&sched("0 2 * * *", "Mars/Olympus")),
            Err(ScheduleError::TimeZone(_))
        ));
    }
}
