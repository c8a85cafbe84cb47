//! restic's backup side: `backup --json` (its `status` and `summary` lines), `snapshots
//! --json`, `restore` and `forget` with a retention policy. Pure: commands and parsers only.

use lifeboat_shared::config::Retention;
use serde::Deserialize;

use super::{Repository, command, output_tail};
use crate::command::{Arg, Place, ToolCommand, ToolOutput};

/// Why a restic answer could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Not the JSON restic prints.
    #[error("unreadable restic output: {0}")]
    Json(#[from] serde_json::Error),
}

/// One line of `backup --json`.
#[derive(Debug, Clone, PartialEq)]
pub enum BackupMessage {
    /// Progress.
    Status(Status),
    /// The end: what was stored.
    Summary(Summary),
    /// An error restic reported and went on from (e.g. an unreadable file).
    Error(String),
    /// Anything else (other message types, or not JSON).
    Other,
}

/// A `status` line. Fields may be missing, especially early on.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Status {
    /// `0.0..=1.0`.
    pub percent_done: f64,
    /// Files found so far.
    pub total_files: u64,
    /// Files read so far.
    pub files_done: u64,
    /// Bytes found so far.
    pub total_bytes: u64,
    /// Bytes read so far.
    pub bytes_done: u64,
    /// Seconds since the start.
    pub seconds_elapsed: Option<u64>,
    /// restic's own estimate.
    pub seconds_remaining: Option<u64>,
    /// The files being read now.
    pub current_files: Vec<String>,
}

/// The `summary` line.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Summary {
    /// The new snapshot's short id.
    pub snapshot_id: String,
    /// Bytes of new data after deduplication, before compression (restic 0.14's only
    /// figure: not what the bucket grew by).
    pub data_added: u64,
    /// Bytes added to the repository after compression (restic 0.17 and later only).
    pub data_added_packed: Option<u64>,
    /// Files backed up.
    pub total_files_processed: u64,
    /// Bytes backed up.
    pub total_bytes_processed: u64,
    /// Seconds it took.
    pub total_duration: f64,
    /// New files.
    pub files_new: u64,
    /// Changed files.
    pub files_changed: u64,
    /// Unchanged files.
    pub files_unmodified: u64,
}

#[derive(Deserialize)]
struct Tagged {
    message_type: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ErrorLine {
    error: serde_json::Value,
    item: String,
}

/// Reads one line of `backup --json`, tolerating unknown types and fields.
pub fn parse_backup_line(line: &str) -> BackupMessage {
    let Ok(tagged) = serde_json::from_str::<Tagged>(line) else {
        return BackupMessage::Other;
    };
    match tagged.message_type.as_str() {
        "status" => serde_json::from_str(line).map_or(BackupMessage::Other, BackupMessage::Status),
        "summary" => {
            serde_json::from_str(line).map_or(BackupMessage::Other, BackupMessage::Summary)
        }
        "error" => {
            let e: ErrorLine = serde_json::from_str(line).unwrap_or_default();
            let what = match &e.error {
                serde_json::Value::Object(m) => m
                    .get("message")
                    .and_then(|v| v.as_str())
                    .unwrap_or("error")
                    .to_owned(),
                serde_json::Value::String(s) => s.clone(),
                _ => "error".to_owned(),
            };
            BackupMessage::Error(if e.item.is_empty() {
                what
            } else {
                format!("{}: {what}", e.item)
            })
        }
        _ => BackupMessage::Other,
    }
}

/// One snapshot from `snapshots --json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Snapshot {
    /// Full id.
    pub id: String,
    /// Short id (as `backup` prints it).
    #[serde(default)]
    pub short_id: String,
    /// RFC 3339 time.
    #[serde(default)]
    pub time: String,
    /// The host name it was taken under.
    #[serde(default)]
    pub hostname: String,
    /// Its tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// What it holds.
    #[serde(default)]
    pub paths: Vec<String>,
}

impl Snapshot {
    /// Whether `id` names this snapshot (full or any unambiguous prefix such as the short id).
    pub fn matches(&self, id: &str) -> bool {
        !id.is_empty() && self.id.starts_with(id)
    }
}

/// Parses `snapshots --json` (restic prints `null` for none in some versions).
pub fn parse_snapshots(json: &str) -> Result<Vec<Snapshot>, ParseError> {
    let v: Option<Vec<Snapshot>> = serde_json::from_str(json.trim())?;
    Ok(v.unwrap_or_default())
}

/// `backup --json` of `paths` (relative to the command's working directory, so the
/// snapshot holds them at its root), tagged and under a stable host name.
pub fn backup_command(
    repo: &Repository,
    host: &str,
    tags: &[String],
    paths: &[&str],
) -> ToolCommand {
    let mut args: Vec<String> = vec!["backup".into(), "--json".into(), format!("--host={host}")];
    for t in tags {
        args.push(format!("--tag={t}"));
    }
    args.push("--".into());
    args.extend(paths.iter().map(|p| (*p).to_owned()));
    command(repo, args)
}

/// `snapshots --json`, optionally only those carrying `tag`.
pub fn snapshots_command(repo: &Repository, tag: Option<&str>) -> ToolCommand {
    let mut args = vec!["snapshots".to_owned(), "--json".to_owned()];
    if let Some(t) = tag {
        args.push(format!("--tag={t}"));
    }
    command(repo, args)
}

/// `restore <snapshot> --target <place>`: the snapshot's tree (`pgbackrest/`, `config/`)
/// lands directly under `target`. restic 0.14 prints no restore progress; callers measure it.
pub fn restore_command(repo: &Repository, snapshot: &str, target: Place) -> ToolCommand {
    let mut cmd = command(repo, ["restore", snapshot]);
    cmd.arg(Arg::Place {
        prefix: "--target=".into(),
        place: target,
    });
    cmd
}

/// Whether a failed restic run named a snapshot the repository does not hold.
pub fn no_such_snapshot(output: &ToolOutput) -> bool {
    let tail = output_tail(output);
    tail.contains("no matching ID found") || tail.contains("failed to find snapshot")
}

/// Whether a failed restic run ran out of disk space.
pub fn out_of_space(output: &ToolOutput) -> bool {
    output_tail(output).contains("no space left on device")
}

/// Whether a failed `restore` says the repository's data is damaged: a pack whose bytes do
/// not match its hash, or a pack that is gone.
pub fn data_damaged(output: &ToolOutput) -> bool {
    let tail = output_tail(output);
    tail.contains("ciphertext verification failed")
        || tail.contains("StreamPack")
        || tail.contains("pack file cannot be listed")
        || tail.contains("blob not found")
}

/// `forget` with the retention policy for snapshots tagged `tag` taken under `host`, pruning
/// what is no longer referenced. `None` when the policy keeps everything.
/// `forget --dry-run --json` of the policy: which snapshots it would remove
/// ([`parse_forget_plan`]), without removing any. Retention deletes their catalog entries
/// first, then forgets exactly those ([`forget_ids_command`]), so that a catalog entry
/// never names a snapshot that is gone.
pub fn forget_command(
    repo: &Repository,
    retention: &Retention,
    host: &str,
    tag: &str,
) -> Option<ToolCommand> {
    let rules = [
        ("--keep-last", retention.keep_last),
        ("--keep-daily", retention.keep_daily),
        ("--keep-weekly", retention.keep_weekly),
        ("--keep-monthly", retention.keep_monthly),
    ];
    if rules.iter().all(|(_, n)| *n == 0) {
        return None;
    }
    let mut args = vec![
        "forget".to_owned(),
        "--dry-run".to_owned(),
        "--json".to_owned(),
        format!("--host={host}"),
        format!("--tag={tag}"),
    ];
    for (flag, n) in rules {
        if n > 0 {
            args.push(format!("{flag}={n}"));
        }
    }
    Some(command(repo, args))
}

/// The snapshots (full ids) a `forget --dry-run --json` would remove.
pub fn parse_forget_plan(json: &str) -> Result<Vec<String>, ParseError> {
    #[derive(serde::Deserialize)]
    struct Group {
        #[serde(default)]
        remove: Option<Vec<Snapshot>>,
    }
    // The JSON is the last line: restic may print words before it.
    let line = json
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('['))
        .unwrap_or("null");
    let groups: Option<Vec<Group>> = serde_json::from_str(line.trim())?;
    Ok(groups
        .unwrap_or_default()
        .into_iter()
        .flat_map(|g| g.remove.unwrap_or_default())
        .map(|s| s.id)
        .collect())
}

/// `forget --prune <ids…>`: removes exactly these snapshots and the data only they use.
pub fn forget_ids_command(repo: &Repository, ids: &[String]) -> ToolCommand {
    let mut args = vec!["forget".to_owned(), "--prune".to_owned()];
    args.extend(ids.iter().cloned());
    command(repo, args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> Repository {
        Repository::new("/b/restic")
    }

    #[test]
    fn parses_status_and_summary_tolerantly() {
        let msgs: Vec<BackupMessage> = include_str!("testdata/backup.jsonl")
            .lines()
            .map(parse_backup_line)
            .collect();
        let BackupMessage::Status(first) = &msgs[0] else {
            panic!("{:?}", msgs[0])
        };
        assert_eq!((first.files_done, first.total_bytes), (0, 16_777_216));
        let BackupMessage::Status(third) = &msgs[2] else {
            panic!("{:?}", msgs[2])
        };
        assert_eq!(third.seconds_remaining, Some(9));
        assert_eq!(third.bytes_done, 260_915_200);
        assert_eq!(msgs[3], BackupMessage::Other);
        assert_eq!(msgs[4], BackupMessage::Other);
        let BackupMessage::Summary(s) = &msgs[5] else {
            panic!("{:?}", msgs[5])
        };
        assert_eq!(s.snapshot_id, "22d49fb9");
        assert_eq!(s.data_added, 9_596_836);
        assert_eq!(
            s.data_added_packed, None,
            "restic 0.14 has no packed figure"
        );
        assert_eq!(s.total_bytes_processed, 39_986_760);
        // restic 0.17's summary adds what the repository grew by after compression.
        let BackupMessage::Summary(s) = parse_backup_line(
            r#"{"message_type":"summary","data_added":9596836,"data_added_packed":2101447,"snapshot_id":"22d49fb9"}"#,
        ) else {
            panic!("not a summary")
        };
        assert_eq!(s.data_added_packed, Some(2_101_447));
    }

    #[test]
    fn error_lines_name_the_item() {
        let m = parse_backup_line(
            r#"{"message_type":"error","error":{"message":"permission denied"},"during":"archival","item":"/x/y"}"#,
        );
        assert_eq!(m, BackupMessage::Error("/x/y: permission denied".into()));
    }

    #[test]
    fn parses_captured_snapshots() {
        let s = parse_snapshots(include_str!("testdata/snapshots.json")).unwrap();
        assert_eq!(s.len(), 1);
        assert!(s[0].matches("22d49fb9"));
        assert!(!s[0].matches(""));
        assert_eq!(s[0].tags, vec!["lifeboat", "backup=bk-1"]);
        assert!(parse_snapshots("null").unwrap().is_empty());
        assert!(parse_snapshots("[]").unwrap().is_empty());
    }

    #[test]
    fn backup_and_forget_arguments() {
        let b = backup_command(
            &repo(),
            "lifeboat-demo",
            &["lifeboat".into()],
            &["pgbackrest", "config"],
        );
        assert_eq!(
            b.text_args(),
            vec![
                "backup",
                "--json",
                "--host=lifeboat-demo",
                "--tag=lifeboat",
                "--",
                "pgbackrest",
                "config"
            ]
        );
        let keep_all = Retention::default();
        assert!(forget_command(&repo(), &keep_all, "h", "lifeboat").is_none());
        let r = Retention {
            keep_last: 3,
            keep_daily: 7,
            ..Retention::default()
        };
        let f = forget_command(&repo(), &r, "h", "lifeboat").unwrap();
        let args = f.text_args();
        assert!(args.contains(&"--keep-last=3"));
        assert!(args.contains(&"--keep-daily=7"));
        assert!(!args.iter().any(|a| a.starts_with("--keep-weekly")));
        assert!(args.contains(&"--dry-run") && !args.contains(&"--prune"));
        let ids = ["a1".to_owned(), "b2".to_owned()];
        assert_eq!(
            forget_ids_command(&repo(), &ids).text_args(),
            vec!["forget", "--prune", "a1", "b2"]
        );
    }

    #[test]
    fn the_forget_plan_lists_what_would_go() {
        let json = r#"[{"tags":["lifeboat"],"host":"h","paths":["/x"],"keep":[{"id":"k1","short_id":"k"}],"remove":[{"id":"r1","short_id":"r"},{"id":"r2","short_id":"s"}],"reasons":[]},{"host":"g","keep":[],"remove":null}]"#;
        assert_eq!(parse_forget_plan(json).unwrap(), ["r1", "r2"]);
        assert!(parse_forget_plan("null").unwrap().is_empty());
        assert!(
            parse_forget_plan("Applying Policy: keep 1 latest snapshots\n[]")
                .unwrap()
                .is_empty()
        );
    }
}
