//! How much of an operation is done and how long it has left.
//!
//! With a history (the steps' durations in the last operations of the same kind that
//! succeeded), both come from time: a step that moves no data (starting Postgres and waiting
//! for Keycloak) counts for as long as it usually takes, its share grows with its clock,
//! and its time left is what is left of its usual time. A step that has run past its usual
//! time has no time left to show ("unknown"), never "less than a second". Without a history
//! (the first operation of its kind), the steps are weighed by the data they move and the
//! time left is the pace so far.

use std::collections::HashMap;

use lifeboat_shared::operation::{Operation, OperationKind, OperationStatus};

use crate::operations::clock;

/// How many past operations the typical durations come from.
pub const HISTORY: usize = 3;

/// One step as the estimate sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct StepPlan {
    /// The step's id.
    pub id: String,
    /// Its share of the data the operation moves (the weights sum to 1).
    pub weight: f64,
    /// How long it usually takes, in seconds, when the history says.
    pub typical: Option<f64>,
}

/// Where the operation is.
#[derive(Debug, Clone, Copy)]
pub struct Position {
    /// The running step's index in the plan.
    pub step: usize,
    /// The running step's own share done, when it knows its total.
    pub step_fraction: Option<f64>,
    /// Seconds since the running step started.
    pub step_elapsed: f64,
    /// Seconds since the operation started.
    pub elapsed: f64,
}

/// The whole operation's share done (`0.0..=1.0`) and seconds left, when known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Share done.
    pub fraction: f64,
    /// Seconds left.
    pub eta: Option<f64>,
}

/// Whether two operations are of the same kind (a backup, a restore).
fn same_kind(a: &OperationKind, b: &OperationKind) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

/// The median duration of each step over the last [`HISTORY`] operations of `kind` that
/// succeeded (newest first by creation time); steps none of them ran are absent.
pub fn typical_durations(kind: &OperationKind, past: &[Operation]) -> HashMap<String, f64> {
    let mut like: Vec<&Operation> = past
        .iter()
        .filter(|op| {
            same_kind(&op.kind, kind)
                && matches!(
                    op.status,
                    OperationStatus::Succeeded | OperationStatus::SucceededWithWarnings
                )
        })
        .collect();
    like.sort_by_key(|op| std::cmp::Reverse(clock::sort_key(&op.created_at)));
    let mut runs: HashMap<String, Vec<f64>> = HashMap::new();
    for op in like.into_iter().take(HISTORY) {
        for s in &op.steps {
            if let (Some(a), Some(b)) = (&s.started_at, &s.finished_at) {
                let (a, b) = (clock::sort_key(a), clock::sort_key(b));
                if a > 0 && b >= a {
                    runs.entry(s.id.clone())
                        .or_default()
                        .push((b - a) as f64 / 1e9);
                }
            }
        }
    }
    runs.into_iter()
        .map(|(id, mut d)| {
            d.sort_by(f64::total_cmp);
            (id, d[d.len() / 2])
        })
        .collect()
}

/// The estimate at `at`.
pub fn estimate(plan: &[StepPlan], at: Position) -> Option<Estimate> {
    let current = plan.get(at.step)?;
    let timed = plan[at.step..].iter().all(|s| s.typical.is_some());
    let total: f64 = plan.iter().filter_map(|s| s.typical).sum();
    if timed && total > 0.0 {
        let usual = current.typical.unwrap_or(0.0);
        let before: f64 = plan[..at.step].iter().filter_map(|s| s.typical).sum();
        let after: f64 = plan[at.step + 1..].iter().filter_map(|s| s.typical).sum();
        let done_here = match at.step_fraction {
            Some(f) => f * usual,
            None => at.step_elapsed.min(usual),
        };
        let left_here = match at.step_fraction {
            Some(f) if f >= 0.05 && at.step_elapsed >= 2.0 => at.step_elapsed * (1.0 - f) / f,
            Some(f) => usual * (1.0 - f),
            None => usual - at.step_elapsed,
        };
        return Some(Estimate {
            fraction: ((before + done_here) / total).clamp(0.0, 1.0),
            // Past its usual time, a step's end is not known: no figure rather than a wrong one.
            eta: (left_here > 0.0).then_some(left_here + after),
        });
    }
    let before: f64 = plan[..at.step].iter().map(|s| s.weight).sum();
    let fraction = (before + current.weight * at.step_fraction.unwrap_or(0.0)).clamp(0.0, 1.0);
    // Early figures swing wildly: no estimate before 5 % and 2 s; and none once the steps
    // that move data are done (what is left takes time the weights cannot tell).
    let eta = ((0.05..0.999).contains(&fraction) && at.elapsed >= 2.0)
        .then(|| at.elapsed * (1.0 - fraction) / fraction);
    Some(Estimate { fraction, eta })
}

#[cfg(test)]
mod tests {
    use lifeboat_shared::operation::{Step, StepStatus};

    use super::*;

    fn plan(typical: [Option<f64>; 3]) -> Vec<StepPlan> {
        ["fetch", "start", "verify"]
            .iter()
            .zip([0.5, 0.5, 0.0])
            .zip(typical)
            .map(|((id, weight), typical)| StepPlan {
                id: (*id).into(),
                weight,
                typical,
            })
            .collect()
    }

    fn at(step: usize, step_fraction: Option<f64>, step_elapsed: f64) -> Position {
        Position {
            step,
            step_fraction,
            step_elapsed,
            elapsed: 100.0,
        }
    }

    #[test]
    fn a_step_that_moves_no_data_counts_by_its_usual_time_and_never_says_almost_done() {
        let p = plan([Some(10.0), Some(30.0), Some(2.0)]);
        // 10 s into a 30 s start: a third of it done, 20 s of it left and verify's 2 s.
        let e = estimate(&p, at(1, None, 10.0)).unwrap();
        assert!((e.fraction - 20.0 / 42.0).abs() < 1e-9, "{e:?}");
        assert_eq!(e.eta, Some(22.0));
        // The clock moves the estimate: 5 s later, 5 s less.
        assert_eq!(estimate(&p, at(1, None, 15.0)).unwrap().eta, Some(17.0));
        // Past its usual 30 s, nobody knows: no figure, and the share stops at its end.
        let late = estimate(&p, at(1, None, 45.0)).unwrap();
        assert_eq!(late.eta, None);
        assert!((late.fraction - 40.0 / 42.0).abs() < 1e-9);
        // A step with its own total goes by it.
        let e = estimate(&p, at(0, Some(0.5), 5.0)).unwrap();
        assert_eq!(e.eta, Some(5.0 + 30.0 + 2.0));
    }

    #[test]
    fn without_a_history_the_data_weighs_and_a_weightless_end_has_no_figure() {
        let p = plan([None, Some(30.0), None]);
        let e = estimate(&p, at(0, Some(0.5), 5.0)).unwrap();
        assert_eq!(e.fraction, 0.25);
        assert_eq!(e.eta, Some(300.0));
        let end = estimate(&p, at(2, None, 1.0)).unwrap();
        assert_eq!((end.fraction, end.eta), (1.0, None));
    }

    #[test]
    fn typical_durations_are_the_median_of_the_last_three_successes_of_the_kind() {
        let restore = |created: &str, status, start_secs: u32| Operation {
            id: created.into(),
            revision: 1,
            kind: OperationKind::Restore {
                backup_id: "b".into(),
                target_namespace: "dash".into(),
                requested_by: String::new(),
                apps: None,
            },
            status,
            steps: vec![Step {
                id: "start".into(),
                title: "Start".into(),
                status: StepStatus::Succeeded,
                started_at: Some(format!("{created}T10:00:00Z")),
                finished_at: Some(format!("{created}T10:00:{start_secs:02}Z")),
                detail: None,
            }],
            progress: None,
            warnings: vec![],
            error: None,
            created_at: format!("{created}T10:00:00Z"),
            finished_at: None,
            outcome: None,
        };
        let past = vec![
            restore("2026-01-01", OperationStatus::Succeeded, 50),
            restore("2026-01-02", OperationStatus::Succeeded, 30),
            restore("2026-01-03", OperationStatus::Failed, 1),
            restore("2026-01-04", OperationStatus::SucceededWithWarnings, 20),
            restore("2026-01-05", OperationStatus::Succeeded, 40),
        ];
        let kind = past[0].kind.clone();
        assert_eq!(typical_durations(&kind, &past)["start"], 30.0);
        let backup = OperationKind::Backup {
            backup_type: None,
            description: String::new(),
            trigger: lifeboat_shared::operation::Trigger::Scheduled,
            include_apps: true,
        };
        assert!(typical_durations(&backup, &past).is_empty());
    }
}
