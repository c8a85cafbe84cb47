//! Storage configuration on the local folder: defaults, validation, the 409 gate, verify,
//! passphrase mismatch and change, the atomic store. Uses the real restic.
#![allow(clippy::unwrap_used)]

mod config_support;

use axum::http::{Method, StatusCode};
use config_support::{Fixture, check, local_config, restic};
use serde_json::json;

#[tokio::test]
async fn default_is_the_local_folder_without_passphrase_and_backups_work_out_of_the_box() {
    let f = Fixture::new();
    let v = f.get_config().await;
    assert_eq!(v["is_default"], true);
    assert_eq!(v["config"]["provider"]["provider"], "local");
    assert_eq!(v["passphrase_set"], false);
    let target = f.state.config().current_target().await.unwrap();
    assert_eq!(
        target.restic.repository,
        f.data_dir().join("bucket/restic").to_string_lossy()
    );
    let report = f.verify(None).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["repository"], "empty");
    // A folder is not said to have credentials, an endpoint or a bucket.
    assert_eq!(
        check(&report, "credentials")["title"],
        "A local folder needs no credentials"
    );
    assert_eq!(check(&report, "bucket")["title"], "The folder exists");
    for c in report["checks"].as_array().unwrap() {
        let words = format!("{} {}", c["title"], c["message"]);
        assert!(
            !words.contains("bucket") && !words.contains("accepted"),
            "{words}"
        );
    }
}

#[tokio::test]
async fn save_and_verify_a_local_folder_with_schedule_preview() {
    let f = Fixture::new();
    let folder = f.dir.path().join("elsewhere");
    let mut cfg = local_config(folder.to_str().unwrap());
    cfg["schedule"] = json!({"cron": "30 1 * * 1-5", "timezone": "America/New_York"});
    cfg["retention"] = json!({"keep_last": 7, "keep_weekly": 4});
    let (s, v) = f.put_config(json!({"config": cfg})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["verify"]["ok"], true, "{v}");
    assert_eq!(v["config"]["is_default"], false);
    assert!(v["config"]["updated_at"].is_string());
    let preview = &v["config"]["schedule_preview"];
    assert_eq!(
        preview["next_runs"].as_array().unwrap().len(),
        5,
        "{preview}"
    );
    assert!(
        preview["description"]
            .as_str()
            .unwrap()
            .contains("America/New_York")
    );
    for r in preview["next_runs"].as_array().unwrap() {
        let r = r.as_str().unwrap();
        assert!(r.contains("T01:30:00-0"), "{r}");
    }
    assert!(folder.is_dir());
    let got = f.get_config().await;
    assert_eq!(got["config"]["retention"]["keep_last"], 7);
}

#[tokio::test]
async fn a_folder_that_cannot_be_created_fails_the_bucket_check_in_words() {
    let f = Fixture::new();
    let file = f.dir.path().join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let path = file.join("bucket");
    let path = path.to_str().unwrap();
    let report = f.verify(Some(json!({"config": local_config(path)}))).await;
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(check(&report, "credentials")["status"], "ok", "{report}");
    let bucket = check(&report, "bucket");
    assert_eq!(bucket["status"], "failed", "{report}");
    let message = bucket["message"].as_str().unwrap();
    assert!(message.contains("cannot be created or used"), "{message}");
    assert!(message.contains(path), "{message}");
    assert!(
        bucket["hint"].as_str().unwrap().contains("choose a folder"),
        "{report}"
    );
    assert_eq!(check(&report, "write_read_delete")["status"], "skipped");
    // A verify of a candidate saves nothing.
    assert_eq!(f.get_config().await["is_default"], true);
}

#[tokio::test]
async fn every_bad_input_is_rejected_with_a_message() {
    let f = Fixture::new();
    let s3 = |bucket: &str, endpoint: &str| json!({"config": {"provider": {"provider": "s3", "region": "us-east-1", "bucket": bucket, "endpoint": endpoint}}});
    let cases = vec![
        ("s3 bucket upper", s3("My_Bucket", "")),
        ("s3 bucket short", s3("ab", "")),
        ("s3 bucket ip", s3("10.0.0.1", "")),
        ("endpoint scheme", s3("good-bucket", "ftp://x")),
        (
            "endpoint creds",
            s3("good-bucket", "http://user:pw@127.0.0.1:9"),
        ),
        ("endpoint no host", s3("good-bucket", "http://")),
        (
            "region missing",
            json!({"config": {"provider": {"provider": "s3", "region": "", "bucket": "good-bucket"}}}),
        ),
        (
            "azure account",
            json!({"config": {"provider": {"provider": "azure", "account": "Bad-Account", "container": "c-1"}}}),
        ),
        (
            "azure container",
            json!({"config": {"provider": {"provider": "azure", "account": "acct1", "container": "a--b"}}}),
        ),
        (
            "gcs bucket",
            json!({"config": {"provider": {"provider": "gcs", "bucket": "google-things"}}}),
        ),
        (
            "prefix",
            json!({"config": {"provider": {"provider": "gcs", "bucket": "fine", "prefix": "a/../b"}}}),
        ),
        (
            "local relative",
            json!({"config": local_config("relative/dir")}),
        ),
        (
            "secret name",
            json!({"config": {"provider": {"provider": "local"}, "secret_name": "Not_DNS"}}),
        ),
        (
            "cron fields",
            json!({"config": {"provider": {"provider": "local"}, "schedule": {"cron": "* * *", "timezone": "UTC"}}}),
        ),
        (
            "cron value",
            json!({"config": {"provider": {"provider": "local"}, "schedule": {"cron": "99 1 * * *", "timezone": "UTC"}}}),
        ),
        (
            "timezone",
            json!({"config": {"provider": {"provider": "local"}, "schedule": {"cron": "0 1 * * *", "timezone": "Moon/Base"}}}),
        ),
        (
            "retention",
            json!({"config": {"provider": {"provider": "local"}, "retention": {"keep_last": 1000000}}}),
        ),
        (
            "short passphrase",
            json!({"config": local_config(""), "passphrase": {"action": "set", "passphrase": "short"}}),
        ),
        (
            "creds for local",
            json!({"config": local_config(""), "credentials": {"provider": "s3", "access_key_id": "a", "secret_access_key": "b"}}),
        ),
        (
            "creds mismatch",
            json!({"config": {"provider": {"provider": "azure", "account": "acct1", "container": "cont"}}, "credentials": {"provider": "s3", "access_key_id": "a", "secret_access_key": "b"}}),
        ),
        (
            "azure both",
            json!({"config": {"provider": {"provider": "azure", "account": "acct1", "container": "cont"}}, "credentials": {"provider": "azure", "account_key": "a", "sas_token": "b"}}),
        ),
        (
            "gcs json",
            json!({"config": {"provider": {"provider": "gcs", "bucket": "fine"}}, "credentials": {"provider": "gcs", "service_account_json": "not json"}}),
        ),
    ];
    for (name, body) in cases {
        let (s, v) = f.put_config(body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {v}");
        assert_eq!(v["code"], "invalid_config", "{name}: {v}");
        assert!(v["message"].as_str().unwrap().len() > 10, "{name}: {v}");
        assert!(v["hint"].is_string(), "{name}: {v}");
        // The same body is refused by verify too.
        let (s, _) = f
            .call(Method::POST, "/api/v1/config/verify", Some(body))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{name} (verify)");
    }
    // Shapes serde refuses: unknown provider, unknown field, not JSON.
    for body in [
        json!({"config": {"provider": {"provider": "ftp"}}}),
        json!({"config": {"provider": {"provider": "local"}, "colour": "red"}}),
    ] {
        let (s, v) = f.put_config(body).await;
        assert!(
            s == StatusCode::UNPROCESSABLE_ENTITY || s == StatusCode::BAD_REQUEST,
            "{v}"
        );
        assert_eq!(v["code"], "invalid_body", "{v}");
    }
    // Nothing was saved.
    assert_eq!(f.get_config().await["is_default"], true);
}

#[tokio::test]
async fn saving_is_refused_while_an_operation_runs() {
    let f = Fixture::new();
    let guard = f.state.gate().try_enter("op-backup-42").unwrap();
    let (s, v) = f.put_config(json!({"config": local_config("")})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["code"], "operation_running");
    assert!(v["message"].as_str().unwrap().contains("op-backup-42"));
    assert_eq!(f.get_config().await["locked_by"], "op-backup-42");
    drop(guard);
    let (s, _) = f.put_config(json!({"config": local_config("")})).await;
    assert_eq!(s, StatusCode::OK);
    assert!(f.get_config().await.get("locked_by").is_none());
}

#[tokio::test]
async fn wrong_passphrase_against_an_existing_repository_is_a_mismatch() {
    let f = Fixture::new();
    let repo = f.data_dir().join("bucket/restic");
    let repo = repo.to_str().unwrap();
    let (ok, _, err) = restic(
        repo,
        &[("RESTIC_PASSWORD", "the-real-passphrase")],
        &["init"],
    )
    .await;
    assert!(ok, "{err}");
    // No passphrase configured: the built-in key does not open it.
    let report = f.verify(None).await;
    assert_eq!(report["repository"], "passphrase_mismatch", "{report}");
    let (s, v) = f
        .put_config(json!({"config": local_config(""), "passphrase": {"action": "set", "passphrase": "a-wrong-passphrase"}}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["verify"]["ok"], false);
    assert_eq!(v["verify"]["repository"], "passphrase_mismatch");
    let c = check(&v["verify"], "repository");
    assert_eq!(c["status"], "failed");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("passphrase does not open"),
        "{c}"
    );
    assert!(
        c["hint"].as_str().unwrap().contains("set the passphrase"),
        "{c}"
    );
    // The right one: ready.
    let (_, v) = f
        .put_config(json!({"config": local_config(""), "passphrase": {"action": "set", "passphrase": "the-real-passphrase"}}))
        .await;
    assert_eq!(v["verify"]["repository"], "ready", "{v}");
    assert_eq!(v["config"]["passphrase_set"], true);
}

#[tokio::test]
async fn passphrase_change_keeps_earlier_snapshots_restorable() {
    let f = Fixture::new();
    let (s, v) = f
        .put_config(json!({"config": local_config(""), "passphrase": {"action": "set", "passphrase": "first-passphrase"}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let repo = f.data_dir().join("bucket/restic");
    let repo = repo.to_str().unwrap();
    let src = f.dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("realm.json"), "keycloak realm").unwrap();
    let old = [("RESTIC_PASSWORD", "first-passphrase")];
    assert!(restic(repo, &old, &["init"]).await.0);
    let (ok, _, err) = restic(repo, &old, &["backup", src.to_str().unwrap()]).await;
    assert!(ok, "{err}");

    // A wrong old passphrase changes nothing.
    let (s, v) = f
        .put_config(json!({"config": local_config(""), "passphrase": {"action": "change", "old": "not-the-passphrase", "new": "second-passphrase"}}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["code"], "passphrase_mismatch");
    assert!(restic(repo, &old, &["cat", "config"]).await.0);

    let (s, v) = f
        .put_config(json!({"config": local_config(""), "passphrase": {"action": "change", "old": "first-passphrase", "new": "second-passphrase"}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["verify"]["repository"], "ready", "{v}");
    let new = [("RESTIC_PASSWORD", "second-passphrase")];
    let target = f.dir.path().join("restored");
    let (ok, _, err) = restic(
        repo,
        &new,
        &["restore", "latest", "--target", target.to_str().unwrap()],
    )
    .await;
    assert!(ok, "{err}");
    let restored = target
        .join(src.strip_prefix("/").unwrap())
        .join("realm.json");
    assert_eq!(std::fs::read_to_string(restored).unwrap(), "keycloak realm");
    // The old key is gone.
    let (ok, _, err) = restic(repo, &old, &["cat", "config"]).await;
    assert!(!ok && err.contains("wrong password"), "{err}");
    // No password file is left behind.
    let run = f.data_dir().join("secrets/run");
    let left: Vec<_> = std::fs::read_dir(&run)
        .map(|d| d.collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_config_file_is_never_torn() {
    let f = Fixture::new();
    let path = f.data_dir().join("config.json");
    let store = f.state.config().store();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (path, stop) = (path.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(bytes) = std::fs::read(&path) {
                    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                        panic!("torn config ({e}): {}", String::from_utf8_lossy(&bytes))
                    });
                    assert!(v["config"]["provider"].is_object());
                    reads += 1;
                }
            }
            reads
        })
    };
    for i in 0..300 {
        let mut c = lifeboat::config::default_config();
        c.retention.keep_last = i;
        c.secret_name = format!("name-{}", "x".repeat((i % 50) as usize));
        store.save(&c).await.unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
    let names: Vec<_> = std::fs::read_dir(f.data_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["config.json"], "temporary files left behind");
}

#[tokio::test]
async fn a_schedule_is_previewed_before_it_is_saved_and_its_errors_are_in_our_words() {
    let f = Fixture::new();
    let get = |query: &'static str| f.call(Method::GET, query, None);
    let (s, v) =
        get("/api/v1/config/schedule?cron=30%201%20*%20*%201-5&timezone=Europe%2FBerlin").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        v["description"].as_str().unwrap().contains("Europe/Berlin"),
        "{v}"
    );
    assert_eq!(v["next_runs"].as_array().unwrap().len(), 5, "{v}");
    let (s, v) = get("/api/v1/config/schedule?cron=61%20*%20*%20*%20*&timezone=UTC").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["code"], "invalid_cron");
    assert_eq!(v["message"], "61 is not a minute (0–59)");
    let (s, v) = get("/api/v1/config/schedule?cron=0%200%2030%202%20*&timezone=UTC").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["message"].as_str().unwrap().contains("never runs"), "{v}");
    let (s, v) =
        get("/api/v1/config/schedule?cron=0%202%20*%20*%20*&timezone=Mars%2FOlympus").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["code"], "invalid_timezone");
    assert_eq!(v["message"], "Mars/Olympus is not an IANA time zone");
    // Saved with both a bad expression and a bad zone: both are named, nothing is saved.
    let (s, v) = f
        .put_config(json!({"config": {"provider": {"provider": "local"},
            "schedule": {"cron": "61 * * * *", "timezone": "Mars/Olympus"}}}))
        .await;
    assert!(s.is_client_error(), "{s} {v}");
    let said = v["message"].as_str().unwrap();
    assert!(
        said.contains("61 is not a minute") && said.contains("Mars/Olympus"),
        "{v}"
    );
    // Nothing was saved.
    assert_eq!(f.get_config().await["is_default"], true);
}
