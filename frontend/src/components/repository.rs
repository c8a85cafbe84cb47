//! What the bucket holds, under the Backups table: what it stores now (measured by listing
//! it: what the provider bills), how much the backups protect against what they added to
//! it (restic's deduplication and compression), and a timeline of the backups drawn as the
//! bucket's growth, one dot a backup, with its axes labelled.

use lifeboat_shared::backup::BackupManifest;
use yew::prelude::*;

use crate::components::operation_progress::local_time;
use crate::format;

/// The timeline's points, oldest first: when each backup finished (seconds since the epoch)
/// and what the backups up to it had added to the bucket. Backups whose time does not
/// parse are left out.
pub fn growth(backups: &[BackupManifest]) -> Vec<(f64, u64, &BackupManifest)> {
    let mut points: Vec<(f64, u64, &BackupManifest)> = backups
        .iter()
        .filter_map(|b| Some((format::parse_rfc3339(&b.finished_at)?, 0, b)))
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut total = 0;
    for p in &mut points {
        total += p.2.bytes_added;
        p.1 = total;
    }
    points
}

/// The figures and the timeline (nothing without a backup); `stored`: the bucket's bytes
/// and objects, measured. A plain function rather than a component (a component costs the
/// bundle its own lifecycle code).
pub fn repository(backups: &[BackupManifest], stored: Option<(f64, f64)>) -> Html {
    let points = growth(backups);
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Html::default();
    };
    let protected: u64 = backups.iter().map(|b| b.size_bytes).sum();
    let (n, one) = (backups.len(), backups.len() == 1);
    let added = last.1.max(1);
    // Whole tenths: no float formatting in the bundle.
    let ratio = protected * 10 / added;
    let span = (last.0 - first.0).max(1.0);
    // Drawn in a 300 × 90 box, in whole units: the plot from x 56 to 296 and y 6 to 66,
    // the amounts left of it, the dates below.
    let at = |t: f64, bytes: u64| {
        let x = 56 + ((t - first.0) / span * 240.0) as u32;
        (x, 66 - (bytes * 60 / added) as u32)
    };
    let line: String = points
        .iter()
        .map(|(t, bytes, _)| {
            let (x, y) = at(*t, *bytes);
            format!("{x},{y} ")
        })
        .collect();
    let dots = points.iter().map(|(t, bytes, b)| {
        let (x, y) = at(*t, *bytes);
        let what = format!(
            "{}: added {}, {} in the bucket",
            local_time(&b.finished_at),
            format::bytes(b.bytes_added),
            format::bytes(*bytes)
        );
        html! { <circle cx={x.to_string()} cy={y.to_string()} r="3"><title>{ what }</title></circle> }
    });
    let (from, to) = (
        local_time(&first.2.finished_at),
        local_time(&last.2.finished_at),
    );
    let label = format!("The bucket's growth, backup by backup, from {from} to {to}");
    html! {
        <div class="lb-repo" data-testid="repository">
            if let Some((bytes, objects)) = stored {
                <p data-testid="repository-stored">
                    { format!("The bucket holds {} in {} objects below Lifeboat's prefix (what the provider bills).",
                        format::bytes(bytes as u64), objects as u64) }
                </p>
            }
            <p data-testid="repository-figures">
                { format!("{n} backup{} protect{} {} in all and added {} to the bucket ({}.{}× less than storing each in full).",
                    if one { "" } else { "s" }, if one { "s" } else { "" },
                    format::bytes(protected), format::bytes(last.1), ratio / 10, ratio % 10) }
            </p>
            if points.len() > 1 {
                <svg viewBox="0 0 300 90" role="img" aria-label={label} data-testid="repository-timeline">
                    <path class="lb-axis" d="M56 4V66H296" />
                    <text x="52" y="10" text-anchor="end">{ format::bytes(last.1) }</text>
                    <text x="52" y="66" text-anchor="end">{ "0 B" }</text>
                    <text x="56" y="80">{ from }</text>
                    <text x="296" y="80" text-anchor="end">{ to }</text>
                    <text x="176" y="89" text-anchor="middle">{ "added to the bucket, by backup date" }</text>
                    <polyline points={line} />
                    { for dots }
                </svg>
            }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lifeboat_shared::backup::SourceInstance;
    use lifeboat_shared::operation::Trigger;

    fn backup(id: &str, at: &str, size: u64, added: u64) -> BackupManifest {
        BackupManifest {
            backup_type: Default::default(),
            depends_on: None,
            id: id.into(),
            started_at: at.into(),
            finished_at: at.into(),
            trigger: Trigger::Scheduled,
            description: String::new(),
            source: SourceInstance {
                instance_id: "i".into(),
                namespace: "dash".into(),
            },
            platform_version: String::new(),
            lifeboat_version: String::new(),
            postgres_major: 15,
            components: vec![],
            bytes_added: added,
            size_bytes: size,
            encrypted: false,
            key_fingerprint: None,
            counts: Default::default(),
            wal_until: None,
            consistent_at: None,
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn the_bucket_grows_by_what_each_backup_added_oldest_first() {
        // The catalog comes newest first.
        let list = [
            backup("bk-3", "2026-11-27T02:00:00Z", 100, 5),
            backup("bk-1", "2026-11-25T02:00:00Z", 100, 90),
            backup("bk-2", "2026-11-26T02:00:00Z", 100, 5),
            backup("bad", "yesterday", 100, 1),
        ];
        let g: Vec<(u64, &str)> = growth(&list)
            .iter()
            .map(|(_, total, b)| (*total, b.id.as_str()))
            .collect();
        assert_eq!(g, [(90, "bk-1"), (95, "bk-2"), (100, "bk-3")]);
    }
}
