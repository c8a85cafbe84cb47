//! The demo with a real Keycloak, as `make run` starts it: Lifeboat lays out the realms on
//! the demo's first start, writes `demo-users.json` (0600) and reports the URL in
//! `GET /api/v1/instance`; it trusts the demo realm, so an `admin` user's token from the
//! password grant gets in and a `viewer`'s is refused, and the page's "Sign in with
//! Keycloak" (the code flow with PKCE, in headless Chromium) shows a viewer why not, offers
//! signing in as someone else, signs an admin in, names them, and signs them out of
//! Lifeboat and of Keycloak. After a backup the realm's login theme changes, its identity provider and
//! a group are deleted; after the restore the admin API shows all three back and SSO through
//! the identity provider signs a user of the second realm in again. A restore into
//! a new namespace runs a second Keycloak beside the first, serving the same realm. A backup, a user deleted and another's
//! password changed, a restore in place (Keycloak is stopped and started again on the
//! restored realm): the deleted user signs in again with the password they had, the changed
//! one with the old password. A restarted Lifeboat keeps the realms as they are.
//!
//! Needs `target/debug/lifeboat`, PostgreSQL, pgBackRest, restic and Keycloak (`make test`
//! installs all of them), and root (psql runs as the `postgres` user).

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use anyhow::Context as _;
use fantoccini::Locator;
use lifeboat_e2e::browser::Browser;
use lifeboat_e2e::keycloak::{
    change_the_realm, keycloak_login, lifeboat_with_token, page_sso, password_grant, password_of,
    realm_state,
};
use lifeboat_e2e::page::{element, open_up};
use lifeboat_e2e::remote::{Remote, succeeded};
use lifeboat_e2e::server::Lifeboat;
use serde_json::{Value, json};

/// The demo's first start with Keycloak: its schema, then the realms' 202 users.
const FIRST_START_SECS: u64 = 300;

/// `GET /api/v1/instance` once the demo instance (and its Keycloak) is up.
async fn instance(api: &Remote) -> anyhow::Result<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(FIRST_START_SECS);
    loop {
        if let Ok((200, body)) = api.call(reqwest::Method::GET, "/instance", None).await {
            return Ok(body);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the demo instance did not start within {FIRST_START_SECS} s"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A password grant through the demo realm's password-grant client (`demo-users.json`).
async fn grant(users: &Value, username: &str, password: &str) -> Result<String, String> {
    password_grant(
        users["keycloak_url"].as_str().unwrap_or_default(),
        users["realm"].as_str().unwrap_or_default(),
        users["client_id"].as_str().unwrap_or_default(),
        username,
        password,
    )
    .await
}

/// `GET /api/v1/config` with a token from Keycloak: the status and body.
async fn with_token(server: &Lifeboat, token: &str) -> anyhow::Result<(u16, Value)> {
    lifeboat_with_token(&server.url, token).await
}

/// The master realm's admin Lifeboat made (its password in the instance's 0600 file).
async fn admin_token(data: &std::path::Path, keycloak_url: &str) -> anyhow::Result<String> {
    let secrets: Value = serde_json::from_slice(&std::fs::read(
        data.join("instances/demo/keycloak/secrets.json"),
    )?)?;
    password_grant(
        keycloak_url,
        "master",
        "admin-cli",
        "lifeboat-admin",
        secrets["admin_password"].as_str().unwrap_or_default(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("no admin token: {e}"))
}

/// Waits until the page shows its cards (signed in), on Lifeboat's origin.
async fn signed_in_page(browser: &Browser, server: &Lifeboat) -> anyhow::Result<()> {
    element(browser, "[data-testid=backup-restore] .lb-card").await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while browser
        .client
        .find(Locator::Css("[data-testid=signin]"))
        .await
        .is_ok()
    {
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "still signed out");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let url = browser.client.current_url().await?;
    anyhow::ensure!(
        url.as_str().starts_with(&server.url),
        "back on Lifeboat: {url}"
    );
    Ok(())
}

/// Keycloak's "Do you want to log out?" (RP-initiated logout without an ID token hint): yes.
async fn confirm_keycloak_sign_out(browser: &Browser) -> anyhow::Result<()> {
    browser
        .client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Id("kc-logout"))
        .await
        .context("Keycloak's sign-out confirmation")?
        .click()
        .await?;
    Ok(())
}

/// `GET /api/v1/session` from the page's own origin, with its cookie: `(status, body)`.
async fn session_in(browser: &Browser) -> anyhow::Result<(u16, Value)> {
    let got = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch('/api/v1/session').then(async r => done([r.status, await r.json()]));",
            vec![],
        )
        .await?;
    Ok(serde_json::from_value(got)?)
}

/// In one headless Chromium, through the page: a viewer signs in with Keycloak and gets the
/// refusal (in the page's own style) naming the role; "Sign in as another user" ends
/// Keycloak's session (the viewer's), Keycloak asks who signs in, and the admin does; the header and
/// `GET /api/v1/session` name them (`via` Keycloak); Sign out ends Lifeboat's session and,
/// through Keycloak's end-session endpoint, Keycloak's: back on the page, signed out, and
/// "Sign in with Keycloak" shows Keycloak's form again instead of signing straight in.
async fn page_sign_in_and_out(server: &Lifeboat, users: &Value) -> anyhow::Result<()> {
    let browser = Browser::start().await?;
    let c = &browser.client;
    c.goto(&server.url).await?;
    element(&browser, "[data-testid=signin-keycloak]")
        .await?
        .click()
        .await?;
    // Keycloak's login page (its own theme), on Keycloak's origin.
    keycloak_login(&browser, "dash-viewer", &password_of(users, "dash-viewer")).await?;
    let text = browser
        .wait_for_text("[data-testid=auth-page]", "realm role")
        .await?;
    anyhow::ensure!(
        text.contains("dash-viewer") && text.contains("admin"),
        "the refusal names the user and the role: {text}"
    );
    let styled: bool = serde_json::from_value(
        c.execute(
            "return getComputedStyle(document.querySelector('[data-testid=auth-page]')).backgroundColor !== 'rgba(0, 0, 0, 0)';",
            vec![],
        )
        .await?,
    )?;
    anyhow::ensure!(styled, "the refusal is drawn with the page's stylesheet");

    // As someone else: Keycloak's session (which would sign the viewer straight in again)
    // ends first, once confirmed on Keycloak's page; then Keycloak asks who signs in.
    element(&browser, "[data-testid=signin-other]")
        .await?
        .click()
        .await?;
    confirm_keycloak_sign_out(&browser).await?;
    keycloak_login(&browser, "dash-admin", &password_of(users, "dash-admin")).await?;
    signed_in_page(&browser, server).await?;
    let who = browser
        .wait_for_text("[data-testid=account-user]", "dash-admin")
        .await?;
    anyhow::ensure!(who == "Signed in as dash-admin", "{who}");
    let (status, session) = session_in(&browser).await?;
    anyhow::ensure!(
        status == 200 && session == json!({"user": "dash-admin", "via": "keycloak"}),
        "{status} {session}"
    );

    // Sign out: Keycloak asks to confirm ending its session, then sends the browser back.
    element(&browser, "[data-testid=sign-out]")
        .await?
        .click()
        .await?;
    confirm_keycloak_sign_out(&browser).await?;
    element(&browser, "[data-testid=signin-keycloak]").await?;
    let url = c.current_url().await?;
    anyhow::ensure!(
        url.as_str().starts_with(&server.url),
        "back on Lifeboat: {url}"
    );
    let (status, _) = session_in(&browser).await?;
    anyhow::ensure!(status == 401, "Lifeboat's session ended: {status}");
    // Keycloak's session ended too: it asks who, rather than signing the admin straight in.
    element(&browser, "[data-testid=signin-keycloak]")
        .await?
        .click()
        .await?;
    c.wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Id("username"))
        .await
        .context("Keycloak asks who signs in after the sign-out")?;
    browser.close().await
}

/// [`page_sso`] in a fresh headless Chromium.
async fn sso(server: &Lifeboat, users: &Value) -> anyhow::Result<()> {
    let browser = Browser::start().await?;
    page_sso(&browser, &server.url, users).await?;
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_a_real_keycloak_whose_realm_signs_in_and_comes_back() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    open_up(dir.path())?;
    let data = dir.path().join("data");
    let server = Lifeboat::start(&data, &["--demo-keycloak=true"]).await?;
    let api = Remote::of(&server);
    let info = instance(&api).await?;
    let keycloak_url = info["keycloak_url"]
        .as_str()
        .context("the instance reports its Keycloak")?
        .to_owned();

    let file = data.join("demo-users.json");
    let mode = std::fs::metadata(&file)?.permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "demo-users.json is the owner's only");
    let users: Value = serde_json::from_slice(&std::fs::read(&file)?)?;
    assert_eq!(users["keycloak_url"], keycloak_url.as_str());
    assert_eq!(users["realm"], "dash");
    assert!(users["users"].as_array().is_some_and(|u| u.len() > 200));

    // An admin's token gets in; a viewer's is refused, saying why.
    let admin_pw = password_of(&users, "dash-admin");
    let token = grant(&users, "dash-admin", &admin_pw)
        .await
        .map_err(anyhow::Error::msg)?;
    let (status, body) = with_token(&server, &token).await?;
    assert_eq!(status, 200, "{body}");
    let viewer = grant(&users, "dash-viewer", &password_of(&users, "dash-viewer"))
        .await
        .map_err(anyhow::Error::msg)?;
    let (status, body) = with_token(&server, &viewer).await?;
    assert_eq!(status, 403, "{body}");
    assert!(
        body.to_string().contains("admin"),
        "the refusal names the role: {body}"
    );

    // The standalone page: "Sign in with Keycloak", Keycloak's own form, and back signed in;
    // a viewer is refused with a page that says why.
    page_sign_in_and_out(&server, &users).await?;

    // Back up; then delete a user and change another's password.
    let (op, _) = api
        .run("/backups", json!({"description": "with keycloak"}), 300)
        .await?;
    assert!(succeeded(&op), "{op:#}");
    let backup = op["outcome"]["backup_id"]
        .as_str()
        .context("backup id")?
        .to_owned();
    let kc_admin = admin_token(&data, &keycloak_url).await?;
    let at_backup = realm_state(&keycloak_url, &kc_admin).await?;
    assert_eq!(at_backup.1, json!(["corporate-sso"]), "{at_backup:?}");
    assert!(
        at_backup.2.contains(&"operations".to_owned()),
        "{at_backup:?}"
    );
    // A realm setting, the identity provider, a group and two users change after the backup.
    change_the_realm(&keycloak_url, &kc_admin).await?;
    assert_ne!(realm_state(&keycloak_url, &kc_admin).await?, at_backup);
    let old_042 = password_of(&users, "user042");
    let old_043 = password_of(&users, "user043");
    assert!(
        grant(&users, "user042", &old_042).await.is_err(),
        "user042 is gone"
    );
    assert!(
        grant(&users, "user043", &old_043).await.is_err(),
        "user043's password changed"
    );

    // Restore in place: Keycloak stops with Postgres and starts on the restored realm.
    let (op, _) = api
        .run(
            &format!("/backups/{backup}/restore"),
            json!({"confirmation": "restore backup", "target_namespace": "demo"}),
            600,
        )
        .await?;
    assert!(succeeded(&op), "{op:#}");
    grant(&users, "user042", &old_042)
        .await
        .map_err(|e| anyhow::anyhow!("the deleted user signs in again: {e}"))?;
    grant(&users, "user043", &old_043)
        .await
        .map_err(|e| anyhow::anyhow!("the changed password is the old one again: {e}"))?;
    assert!(
        grant(&users, "user043", "changed-after-the-backup")
            .await
            .is_err()
    );
    let token = grant(&users, "dash-admin", &admin_pw)
        .await
        .map_err(anyhow::Error::msg)?;
    assert_eq!(
        with_token(&server, &token).await?.0,
        200,
        "Lifeboat accepts the restored realm's token"
    );
    let kc_admin = admin_token(&data, &keycloak_url).await?;
    assert_eq!(
        realm_state(&keycloak_url, &kc_admin).await?,
        at_backup,
        "the login theme, the identity provider and the group are back"
    );
    // SSO through the restored identity provider works again.
    sso(&server, &users).await?;

    // Into a new namespace: its own Keycloak, side by side, serves the same realm.
    let (op, _) = api
        .run(
            &format!("/backups/{backup}/restore"),
            json!({"confirmation": "restore backup", "target_namespace": "demo-copy"}),
            600,
        )
        .await?;
    assert!(succeeded(&op), "{op:#}");
    let (_, list) = api.call(reqwest::Method::GET, "/instances", None).await?;
    let copy_url = list["instances"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["namespace"] == "demo-copy")
        .and_then(|i| i["keycloak_url"].as_str())
        .context("the new namespace reports its Keycloak")?
        .to_owned();
    assert_ne!(copy_url, keycloak_url);
    // Its checklist gives the identity provider's new redirect URI whole, to copy.
    let uris: Vec<&str> = op["outcome"]["checklist"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["copy"].as_str())
        .collect();
    assert_eq!(
        uris,
        vec![format!(
            "{copy_url}/realms/dash/broker/corporate-sso/endpoint"
        )],
        "{op:#}"
    );
    let mut copy_users = users.clone();
    copy_users["keycloak_url"] = Value::from(copy_url.clone());
    grant(&copy_users, "user042", &old_042)
        .await
        .map_err(|e| anyhow::anyhow!("the new namespace's Keycloak signs user042 in: {e}"))?;
    grant(&users, "dash-admin", &admin_pw)
        .await
        .map_err(|e| anyhow::anyhow!("the first one still serves: {e}"))?;

    // A restarted Lifeboat keeps the realm as it is: same users, same passwords.
    server.stop().await?;
    let before = std::fs::read(&file)?;
    let server = Lifeboat::start(&data, &["--demo-keycloak=true"]).await?;
    let api = Remote::of(&server);
    let again = instance(&api).await?;
    assert_eq!(again["keycloak_url"], keycloak_url.as_str());
    assert_eq!(
        std::fs::read(&file)?,
        before,
        "the realms are not laid out twice"
    );
    let token = grant(&users, "dash-admin", &admin_pw)
        .await
        .map_err(anyhow::Error::msg)?;
    assert_eq!(with_token(&server, &token).await?.0, 200);
    server.stop().await?;
    Ok(())
}
