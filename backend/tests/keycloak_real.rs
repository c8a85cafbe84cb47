//! A real Keycloak (the pinned server distribution `scripts/install.sh keycloak` installs)
//! on a real system Postgres: the demo realms are laid out through its admin REST API, and
//! Lifeboat's OIDC verifier meets the tokens it issues — an admin gets in, a viewer is
//! refused for the role, a disabled user or a wrong password gets no token, a token of
//! another realm or an expired one is refused, and a rotated realm key is fetched again. Then the server is stopped and started again on the same database.
//!
//! Prints how long Keycloak's first start (which creates its schema) and a later one take.
#![allow(clippy::unwrap_used, clippy::print_stdout)] // Tests: a panic is the failure report.

mod backup_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use backup_support::query;
use lifeboat::auth::oidc::{OidcConfig, OidcError, OidcVerifier};
use lifeboat::keycloak::admin::{Admin, password_grant};
use lifeboat::keycloak::install::KeycloakInstall;
use lifeboat::keycloak::realm::{self, REALM, SCRIPTS_CLIENT};
use lifeboat::keycloak::server::{Database, ServerSpec};
use lifeboat::runtime::Instance;
use lifeboat::runtime::host::paths::Paths;
use lifeboat::runtime::host::process::Runner;
use lifeboat::runtime::host::toolbox::Toolbox;
use lifeboat::runtime::local::instance::keycloak::KeycloakProcess;
use lifeboat::runtime::local::instance::{DEMO_NAMESPACE, LocalInstance};
use lifeboat::secret::Secret;
use serde_json::json;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn random_password() -> Secret {
    let mut bytes = [0u8; 12];
    getrandom::getrandom(&mut bytes).unwrap();
    Secret::new(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_realms_on_a_real_keycloak_sign_users_in_to_lifeboat() {
    let install = KeycloakInstall::find(None).expect("make install installs Keycloak");
    let dir = tempfile::tempdir().unwrap();
    backup_support::open_up(dir.path());
    let data = dir.path().join("data");
    let runner = Arc::new(Runner::new(Toolbox::discover(), Paths::new(&data)));
    let pg = LocalInstance::ensure(runner, None, DEMO_NAMESPACE)
        .await
        .unwrap();
    let info = pg.info();
    let db_password = random_password();
    query(
        &info,
        "postgres",
        &format!(
            "CREATE ROLE kc_real LOGIN PASSWORD '{}'",
            db_password.expose()
        ),
    );
    query(&info, "postgres", "CREATE DATABASE kc_real OWNER kc_real");

    let state = dir.path().join("keycloak");
    std::fs::create_dir_all(&state).unwrap();
    let admin_password = random_password();
    let spec = ServerSpec {
        http_port: free_port(),
        management_port: free_port(),
        database: Database {
            host: "127.0.0.1".into(),
            port: info.postgres_port.unwrap(),
            name: "kc_real".into(),
            username: "kc_real".into(),
            password: db_password,
        },
        state_dir: state.clone(),
        bootstrap_admin: Some(("lifeboat-admin".into(), admin_password.clone())),
    };
    let base = spec.base_url();
    let log = dir.path().join("keycloak.log");
    let started = Instant::now();
    let mut kc = KeycloakProcess::start(&install, spec.clone(), &log).unwrap();
    kc.wait_ready(Duration::from_secs(300)).await.unwrap();
    let first_start = started.elapsed();

    let admin = Admin::login(&base, "lifeboat-admin", &admin_password)
        .await
        .unwrap();
    assert!(!admin.realm_exists(REALM).await.unwrap());
    let realms = realm::demo(&base, "http://127.0.0.1:9", &mut random_password);
    let created = Instant::now();
    admin.create_realm(&realms.corporate).await.unwrap();
    admin.create_realm(&realms.dash).await.unwrap();
    let realm_took = created.elapsed();
    assert!(admin.realm_exists(REALM).await.unwrap());
    // Keycloak's own tables hold it: users, groups, the identity provider, the clients.
    let count = |sql: &str| query(&info, "kc_real", sql);
    assert_eq!(
        count(
            "SELECT count(*) FROM user_entity u JOIN realm r ON r.id = u.realm_id WHERE r.name = 'dash'"
        ),
        (realm::USERS + 2).to_string()
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM keycloak_group g JOIN realm r ON r.id = g.realm_id WHERE r.name = 'dash'"
        ),
        realm::GROUPS.len().to_string()
    );
    assert_eq!(
        count("SELECT provider_alias FROM identity_provider"),
        realm::IDP_ALIAS
    );

    let issuer = format!("{base}/realms/{REALM}");
    let verifier = OidcVerifier::new(OidcConfig::keycloak(&issuer, "lifeboat")).unwrap();
    let user = |name: &str| {
        realms
            .users
            .users
            .iter()
            .find(|u| u.username == name)
            .unwrap()
            .clone()
    };
    let token = |name: &str| {
        let u = user(name);
        let base = base.clone();
        async move {
            password_grant(
                &base,
                REALM,
                SCRIPTS_CLIENT,
                &u.username,
                &Secret::new(u.password),
            )
            .await
        }
    };

    // An admin gets in.
    let claims = verifier
        .verify(&token("dash-admin").await.unwrap().access_token)
        .await
        .unwrap();
    assert_eq!(claims.user(), "dash-admin");
    // A viewer has a valid token but not the role.
    let viewer = verifier
        .verify(&token("dash-viewer").await.unwrap().access_token)
        .await
        .unwrap_err();
    assert!(
        matches!(viewer, OidcError::MissingRole(ref r) if r == "admin"),
        "{viewer}"
    );
    // A wrong password and a disabled user get no token.
    let wrong = password_grant(
        &base,
        REALM,
        SCRIPTS_CLIENT,
        "dash-admin",
        &Secret::new("nope"),
    )
    .await
    .unwrap_err();
    assert!(
        wrong.to_string().contains("401") || wrong.to_string().contains("400"),
        "{wrong}"
    );
    let found = admin
        .get(&format!("/{REALM}/users?username=user007&exact=true"))
        .await
        .unwrap();
    let id = found[0]["id"].as_str().unwrap().to_owned();
    admin
        .send(
            reqwest::Method::PUT,
            &format!("/{REALM}/users/{id}"),
            Some(&json!({"enabled": false})),
        )
        .await
        .unwrap();
    let disabled = token("user007").await.unwrap_err();
    assert!(disabled.to_string().contains("disabled"), "{disabled}");
    // A token of another realm (the master realm's admin) is refused: its key is not the
    // dash realm's.
    let master = password_grant(
        &base,
        "master",
        "admin-cli",
        "lifeboat-admin",
        &admin_password,
    )
    .await
    .unwrap();
    let other = verifier.verify(&master.access_token).await.unwrap_err();
    assert!(
        matches!(
            other,
            OidcError::UnknownKey | OidcError::WrongIssuer | OidcError::WrongAudience
        ),
        "{other}"
    );

    // An expired token is refused: the realm's tokens made to live one second, and a
    // verifier without leeway.
    let realm_path = format!("/{REALM}");
    admin
        .send(
            reqwest::Method::PUT,
            &realm_path,
            Some(&json!({"accessTokenLifespan": 1})),
        )
        .await
        .unwrap();
    let short = token("dash-admin").await.unwrap().access_token;
    let mut strict = OidcConfig::keycloak(&issuer, "lifeboat");
    strict.leeway = Duration::ZERO;
    let strict = OidcVerifier::new(strict).unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let expired = strict.verify(&short).await.unwrap_err();
    assert!(matches!(expired, OidcError::Expired), "{expired}");
    admin
        .send(
            reqwest::Method::PUT,
            &realm_path,
            Some(&json!({"accessTokenLifespan": 300})),
        )
        .await
        .unwrap();

    // The realm's key rotated: a new RSA key of higher priority signs the next tokens, and
    // Lifeboat fetches the issuer's keys again for the key id it does not know.
    let before = token("dash-admin").await.unwrap().access_token;
    let realm_id = admin.get(&realm_path).await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    admin
        .send(
            reqwest::Method::POST,
            &format!("/{REALM}/components"),
            Some(&json!({
                "name": "rotated",
                "providerId": "rsa-generated",
                "providerType": "org.keycloak.keys.KeyProvider",
                "parentId": realm_id,
                "config": {"priority": ["500"], "keySize": ["2048"], "active": ["true"], "enabled": ["true"]}
            })),
        )
        .await
        .unwrap();
    let after = token("dash-admin").await.unwrap().access_token;
    let kid = |t: &str| jsonwebtoken::decode_header(t).unwrap().kid.unwrap();
    assert_ne!(kid(&before), kid(&after), "the new key signs");
    let mut rotating = OidcConfig::keycloak(&issuer, "lifeboat");
    rotating.min_refetch = Duration::ZERO;
    let rotating = OidcVerifier::new(rotating).unwrap();
    rotating.verify(&before).await.unwrap();
    rotating.verify(&after).await.unwrap();

    // Stopped and started again on the same database: the realm and its users are there.
    kc.stop().await;
    let started = Instant::now();
    let mut again = KeycloakProcess::start(
        &install,
        ServerSpec {
            bootstrap_admin: None,
            ..spec
        },
        &log,
    )
    .unwrap();
    again.wait_ready(Duration::from_secs(300)).await.unwrap();
    let later_start = started.elapsed();
    // (`rotating`: the first verifier fetched the keys less than its 30 s apart ago, for the
    // other realm's token, and would refuse the rotated key's tokens until that has passed.)
    rotating
        .verify(&token("dash-admin").await.unwrap().access_token)
        .await
        .unwrap();
    again.stop().await;
    pg.stop().await.unwrap();
    println!(
        "Keycloak {}: first start (creates its schema) {:.1} s, realms with {} users {:.1} s, \
         later start {:.1} s",
        lifeboat::keycloak::VERSION,
        first_start.as_secs_f64(),
        realm::USERS + 2,
        realm_took.as_secs_f64(),
        later_start.as_secs_f64()
    );
}
