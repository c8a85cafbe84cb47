//! Start-up finishes with every instance before any request may touch one: once
//! `GET /api/v1/instance` answers `200`, the instances earlier restores made in other
//! namespaces are up and listed too (a restore sent earlier is refused with
//! `503 instance_starting`, never run beside start-up's bring-up of its target). Drives the
//! real binary.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

mod backup_support;

use std::time::Duration;

use backup_support::http::{ended, get, post, wait_instance, wait_until};
use backup_support::open_up;
use lifeboat_e2e::server::Lifeboat;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_instance_answers_only_once_every_instance_is_up() {
    let dir = tempfile::tempdir().unwrap();
    open_up(dir.path());
    let data = dir.path().join("data");
    let server = Lifeboat::start(&data, &[]).await.unwrap();
    let http = server.api();
    let base = server.url.clone();
    wait_instance(&http, &base).await;
    // A backup, restored into a second namespace: its instance is brought back at start.
    let (status, op) = post(&http, &format!("{base}/api/v1/backups"), &json!({})).await;
    assert_eq!(status, 202, "{op}");
    let url = format!("{base}/api/v1/operations/{}", op["id"].as_str().unwrap());
    let done = wait_until(&http, &url, Duration::from_secs(180), ended).await;
    assert_eq!(done["status"], "succeeded", "{done:#}");
    let backup = done["outcome"]["backup_id"].as_str().unwrap().to_owned();
    let (status, op) = post(
        &http,
        &format!("{base}/api/v1/backups/{backup}/restore"),
        &json!({"confirmation": "restore backup", "target_namespace": "second"}),
    )
    .await;
    assert_eq!(status, 202, "{op}");
    let url = format!("{base}/api/v1/operations/{}", op["id"].as_str().unwrap());
    let done = wait_until(&http, &url, Duration::from_secs(240), ended).await;
    assert!(
        done["status"].as_str().unwrap().starts_with("succeeded"),
        "{done:#}"
    );
    server.stop().await.unwrap();

    // Started again: from the first 200 on, both instances are there.
    let server = Lifeboat::start(&data, &[]).await.unwrap();
    let base = server.url.clone();
    for refused_while_starting in 0..1200 {
        let (status, body) = get(&http, &format!("{base}/api/v1/instance")).await;
        if status == 200 {
            let (_, list) = get(&http, &format!("{base}/api/v1/instances")).await;
            let namespaces: Vec<&str> = list["instances"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|i| i["namespace"].as_str())
                .collect();
            assert_eq!(
                namespaces,
                ["demo", "second"],
                "the first 200 came before start-up ended"
            );
            server.stop().await.unwrap();
            assert!(
                refused_while_starting > 0,
                "start-up was never seen in progress"
            );
            return;
        }
        assert_eq!(body["code"], "instance_starting", "{body}");
        // Meanwhile a restore is refused, not run beside start-up.
        let (status, body) = post(
            &http,
            &format!("{base}/api/v1/backups/{backup}/restore"),
            &json!({"confirmation": "restore backup", "target_namespace": "second", "replace_existing": true}),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (503, Some("instance_starting")),
            "{body}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the instance did not come up");
}
