//! Start-up serves this Lifeboat's own instance as soon as it is up, whatever else there
//! is to bring up: with four instances (its own and three that restores made in other
//! namespaces), `GET /api/v1/instance` answers `200` while the others are still starting,
//! side by side; from that first `200` on, every instance is either listed by
//! `GET /api/v1/instances` or named in its `starting`, and a restore into one still starting
//! is refused with `503 instance_starting` (never run beside its bring-up). Drives the real
//! binary.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

mod backup_support;

use std::time::{Duration, Instant};

use backup_support::http::{ended, get, post, wait_instance, wait_until};
use backup_support::open_up;
use lifeboat_e2e::server::Lifeboat;
use serde_json::{Value, json};

const OTHERS: [&str; 3] = ["second", "third", "fourth"];

/// The namespaces `GET /api/v1/instances` lists, and those it reports starting.
fn listed(list: &Value) -> (Vec<String>, Vec<String>) {
    let names = |key: &str, field: Option<&str>| -> Vec<String> {
        list[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| field.map_or(i.as_str(), |f| i[f].as_str()))
            .map(str::to_owned)
            .collect()
    };
    (
        names("instances", Some("namespace")),
        names("starting", None),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_own_instance_serves_while_the_others_start_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    open_up(dir.path());
    let data = dir.path().join("data");
    let clock = Instant::now();
    let server = Lifeboat::start(&data, &[]).await.unwrap();
    let http = server.api();
    let base = server.url.clone();
    wait_instance(&http, &base).await;
    let alone = clock.elapsed();
    // A backup, restored into three other namespaces: their instances come back at start.
    let (status, op) = post(&http, &format!("{base}/api/v1/backups"), &json!({})).await;
    assert_eq!(status, 202, "{op}");
    let url = format!("{base}/api/v1/operations/{}", op["id"].as_str().unwrap());
    let done = wait_until(&http, &url, Duration::from_secs(180), ended).await;
    assert_eq!(done["status"], "succeeded", "{done:#}");
    let backup = done["outcome"]["backup_id"].as_str().unwrap().to_owned();
    for namespace in OTHERS {
        let (status, op) = post(
            &http,
            &format!("{base}/api/v1/backups/{backup}/restore"),
            &json!({"confirmation": "restore backup", "target_namespace": namespace}),
        )
        .await;
        assert_eq!(status, 202, "{op}");
        let url = format!("{base}/api/v1/operations/{}", op["id"].as_str().unwrap());
        let done = wait_until(&http, &url, Duration::from_secs(240), ended).await;
        assert!(
            done["status"].as_str().unwrap().starts_with("succeeded"),
            "{done:#}"
        );
    }
    server.stop().await.unwrap();

    // Started again: the own instance answers first; the others are starting, not missing.
    let clock = Instant::now();
    let server = Lifeboat::start(&data, &[]).await.unwrap();
    let base = server.url.clone();
    let mut refused = 0;
    let first = loop {
        let (status, body) = get(&http, &format!("{base}/api/v1/instance")).await;
        if status == 200 {
            break clock.elapsed();
        }
        assert_eq!(body["code"], "instance_starting", "{body}");
        refused += 1;
        assert!(refused < 2400, "the instance did not come up");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let (_, list) = get(&http, &format!("{base}/api/v1/instances")).await;
    let (up, starting) = listed(&list);
    eprintln!(
        "startup_order: demo alone up in {:.1} s; with three more, the demo answered in {:.1} s \
         (listed {up:?}, starting {starting:?})",
        alone.as_secs_f64(),
        first.as_secs_f64()
    );
    assert_eq!(up.first().map(String::as_str), Some("demo"), "{list}");
    for namespace in OTHERS {
        assert!(
            up.iter().chain(&starting).any(|n| n == namespace),
            "{namespace} is neither listed nor starting: {list}"
        );
    }
    assert!(
        !starting.is_empty(),
        "the own instance answered only once every other one was up: {list}"
    );
    // A restore into one still starting is refused, not run beside its bring-up.
    let (status, body) = post(
        &http,
        &format!("{base}/api/v1/backups/{backup}/restore"),
        &json!({"confirmation": "restore backup", "target_namespace": starting[0], "replace_existing": true}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("instance_starting")),
        "{body}"
    );
    // Then every one comes up, and none is starting any more.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (_, list) = get(&http, &format!("{base}/api/v1/instances")).await;
        let (up, starting) = listed(&list);
        if starting.is_empty() {
            assert_eq!(up, ["demo", "fourth", "second", "third"], "{list}");
            eprintln!(
                "startup_order: all four up {:.1} s after the start",
                clock.elapsed().as_secs_f64()
            );
            break;
        }
        assert!(Instant::now() < deadline, "still starting: {list}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.stop().await.unwrap();
}
