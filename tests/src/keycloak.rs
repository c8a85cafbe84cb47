//! Talking to a real Keycloak as its users and its admin do: the password grant, the admin
//! REST API of realm `dash`, its login form in headless Chromium, and SSO through the
//! realm's identity provider. The demo's test and the Kubernetes namespace's share them.

use std::time::Duration;

use anyhow::Context as _;
use fantoccini::Locator;
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::page::element;

/// A password grant at `keycloak_url`'s realm `realm` for `client_id`: the access token,
/// or the HTTP status and body of the refusal.
pub async fn password_grant(
    keycloak_url: &str,
    realm: &str,
    client_id: &str,
    username: &str,
    password: &str,
) -> Result<String, String> {
    let r = reqwest::Client::new()
        .post(format!(
            "{keycloak_url}/realms/{realm}/protocol/openid-connect/token"
        ))
        .form(&[
            ("grant_type", "password"),
            ("client_id", client_id),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    match body["access_token"].as_str() {
        Some(t) if status == 200 => Ok(t.to_owned()),
        _ => Err(format!("{status} {body}")),
    }
}

/// The password of `username` in a `demo-users.json`-shaped list.
pub fn password_of(users: &Value, username: &str) -> String {
    users["users"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|u| u["username"] == username)
        .and_then(|u| u["password"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// `GET <lifeboat_url>/api/v1/config` (signed-in users only) with a token from Keycloak:
/// the status and body.
pub async fn lifeboat_with_token(lifeboat_url: &str, token: &str) -> anyhow::Result<(u16, Value)> {
    let r = reqwest::Client::new()
        .get(format!("{lifeboat_url}/api/v1/config"))
        .bearer_auth(token)
        .send()
        .await?;
    Ok((r.status().as_u16(), r.json().await.unwrap_or(Value::Null)))
}

/// `method <keycloak_url>/admin/realms/dash<path>` as the master admin: status and JSON.
pub async fn realm_call(
    keycloak_url: &str,
    admin: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut req = reqwest::Client::new()
        .request(method, format!("{keycloak_url}/admin/realms/dash{path}"))
        .bearer_auth(admin);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await?;
    Ok((r.status().as_u16(), r.json().await.unwrap_or(Value::Null)))
}

/// What a restore must bring back, read through the admin API: the login theme, the
/// identity providers' aliases and the group names.
pub async fn realm_state(
    keycloak_url: &str,
    admin: &str,
) -> anyhow::Result<(Value, Value, Vec<String>)> {
    let get = reqwest::Method::GET;
    let (_, realm) = realm_call(keycloak_url, admin, get.clone(), "", None).await?;
    let (_, idps) = realm_call(
        keycloak_url,
        admin,
        get.clone(),
        "/identity-provider/instances",
        None,
    )
    .await?;
    let (_, groups) = realm_call(keycloak_url, admin, get, "/groups", None).await?;
    let mut names: Vec<String> = groups
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| g["name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    let aliases: Vec<Value> = idps
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| i["alias"].clone())
        .collect();
    Ok((realm["loginTheme"].clone(), Value::from(aliases), names))
}

/// What both Keycloak restore tests change in realm `dash` after their backup, through
/// the admin API: the login theme (`base`), the identity provider `corporate-sso` and the
/// group `operations` deleted, user042 deleted and user043's password changed.
pub async fn change_the_realm(keycloak_url: &str, admin: &str) -> anyhow::Result<()> {
    use reqwest::Method;
    let (_, groups) = realm_call(
        keycloak_url,
        admin,
        Method::GET,
        "/groups?search=operations&exact=true",
        None,
    )
    .await?;
    let group = groups[0]["id"]
        .as_str()
        .context("group operations")?
        .to_owned();
    let gone = user_id(keycloak_url, admin, "user042").await?;
    let changed = user_id(keycloak_url, admin, "user043").await?;
    let password =
        json!({"type": "password", "value": "changed-after-the-backup", "temporary": false});
    for (method, path, body) in [
        (
            Method::PUT,
            String::new(),
            Some(json!({"loginTheme": "base"})),
        ),
        (
            Method::DELETE,
            "/identity-provider/instances/corporate-sso".to_owned(),
            None,
        ),
        (Method::DELETE, format!("/groups/{group}"), None),
        (Method::DELETE, format!("/users/{gone}"), None),
        (
            Method::PUT,
            format!("/users/{changed}/reset-password"),
            Some(password),
        ),
    ] {
        let (status, answer) = realm_call(keycloak_url, admin, method.clone(), &path, body).await?;
        anyhow::ensure!(status == 204, "{method} {path}: {status} {answer}");
    }
    Ok(())
}

/// The id of user `name` in realm `dash`.
pub async fn user_id(keycloak_url: &str, admin: &str, name: &str) -> anyhow::Result<String> {
    let found: Value = reqwest::Client::new()
        .get(format!(
            "{keycloak_url}/admin/realms/dash/users?username={name}&exact=true"
        ))
        .bearer_auth(admin)
        .send()
        .await?
        .json()
        .await?;
    found[0]["id"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no user {name}: {found}"))
}

/// Fills and sends a Keycloak login form (any realm's) once it is shown.
pub async fn keycloak_login(
    browser: &Browser,
    username: &str,
    password: &str,
) -> anyhow::Result<()> {
    browser
        .client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Id("username"))
        .await
        .context("Keycloak's login form")?
        .send_keys(username)
        .await?;
    browser
        .client
        .find(Locator::Id("password"))
        .await?
        .send_keys(password)
        .await?;
    browser
        .client
        .find(Locator::Id("kc-login"))
        .await?
        .click()
        .await?;
    Ok(())
}

/// SSO for real, in `browser`: Lifeboat's page at `lifeboat_url`, its "Sign in with
/// Keycloak", then the dash realm's "Corporate SSO" button, the corporate realm's login as
/// the first of `users["sso_users"]` (`sso-alice`), and back through the broker (its first
/// login creates her in realm `dash`) to Lifeboat, which names her and refuses her: she
/// holds no `admin` role.
pub async fn page_sso(browser: &Browser, lifeboat_url: &str, users: &Value) -> anyhow::Result<()> {
    let alice = &users["sso_users"][0];
    browser.client.goto(lifeboat_url).await?;
    element(browser, "[data-testid=signin-keycloak]")
        .await?
        .click()
        .await?;
    browser
        .client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Id("social-corporate-sso"))
        .await
        .context("the identity provider's button on the dash realm's login page")?
        .click()
        .await?;
    keycloak_login(
        browser,
        alice["username"].as_str().unwrap_or_default(),
        alice["password"].as_str().unwrap_or_default(),
    )
    .await?;
    // The broker's first login may ask to review the profile: accept it as it is.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        // Between two pages of the redirect chain there may be no body yet: look again.
        let body = match browser.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if body.contains("realm role") {
            anyhow::ensure!(body.contains("sso-alice"), "the refusal names her: {body}");
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the SSO sign-in did not come back to Lifeboat: {body}"
        );
        if let Ok(submit) = browser
            .client
            .find(Locator::Css(
                "form input[type=submit], form button[type=submit]",
            ))
            .await
        {
            let _ = submit.click().await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
