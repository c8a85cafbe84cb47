//! The demo's realms, laid out as Dash Enterprise's are: realm `dash` with the realm roles
//! `viewer`, `licensed_user` and `admin`, a few groups, a few hundred users with passwords,
//! the `lifeboat` client (authorization code with PKCE, as App Manager users sign in), a
//! `dash-scripts` client that allows the password grant, and an OIDC identity provider
//! pointing at a second realm of the same Keycloak (`corporate`), so SSO works for real.
//!
//! Pure: the caller supplies the passwords and writes [`DemoUsers`] to
//! `<data_dir>/demo-users.json`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::secret::Secret;

/// The demo's realm.
pub const REALM: &str = "dash";
/// The realm behind the SSO identity provider.
pub const SSO_REALM: &str = "corporate";
/// The identity provider's alias in [`REALM`].
pub const IDP_ALIAS: &str = "corporate-sso";
/// The client [`REALM`] uses to broker sign-ins through [`SSO_REALM`].
pub const BROKER_CLIENT: &str = "dash-broker";
/// The client that allows the password grant (scripts and tests).
pub const SCRIPTS_CLIENT: &str = "dash-scripts";
/// Lifeboat's own client (authorization code flow with PKCE).
pub const LIFEBOAT_CLIENT: &str = "lifeboat";
/// The realm roles.
pub const ROLES: [&str; 3] = ["viewer", "licensed_user", "admin"];
/// The groups, each user in one of them (admins in `admins`).
pub const GROUPS: [&str; 5] = [
    "admins",
    "developers",
    "data-scientists",
    "analysts",
    "operations",
];
/// How many ordinary users (`user001` …) besides `dash-admin` and `dash-viewer`.
pub const USERS: usize = 200;

/// One demo user as `demo-users.json` lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DemoUser {
    /// The user name.
    pub username: String,
    /// The password (the file is 0600).
    pub password: String,
    /// The realm roles.
    pub roles: Vec<String>,
}

/// `<data_dir>/demo-users.json`: where the demo's Keycloak is and who can sign in.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DemoUsers {
    /// Keycloak's URL (`http://127.0.0.1:<port>/auth`).
    pub keycloak_url: String,
    /// The realm ([`REALM`]).
    pub realm: String,
    /// A client that allows the password grant ([`SCRIPTS_CLIENT`]).
    pub client_id: String,
    /// The users of [`REALM`].
    pub users: Vec<DemoUser>,
    /// The users of the SSO realm, who sign in to [`REALM`] through [`IDP_ALIAS`].
    pub sso_users: Vec<DemoUser>,
}

/// Both realms' representations and the users they hold.
#[derive(Debug)]
pub struct DemoRealms {
    /// [`SSO_REALM`], to create first (the identity provider points at it).
    pub corporate: Value,
    /// [`REALM`].
    pub dash: Value,
    /// What to write to `demo-users.json`.
    pub users: DemoUsers,
}

fn user(username: &str, password: &Secret, roles: &[&str], group: &str) -> Value {
    json!({
        "username": username,
        "enabled": true,
        "email": format!("{username}@example.com"),
        "emailVerified": true,
        "firstName": username,
        "lastName": "Demo",
        "credentials": [{"type": "password", "value": password.expose(), "temporary": false}],
        "realmRoles": roles,
        "groups": [format!("/{group}")],
    })
}

fn audience_mapper() -> Value {
    json!({
        "name": "lifeboat-audience",
        "protocol": "openid-connect",
        "protocolMapper": "oidc-audience-mapper",
        "config": {
            "included.client.audience": LIFEBOAT_CLIENT,
            "access.token.claim": "true",
            "id.token.claim": "false"
        }
    })
}

/// The demo realms on the Keycloak at `keycloak_url`, for a Lifeboat served at
/// `lifeboat_origin`; `password` makes each user's password (and the broker's secret).
pub fn demo(
    keycloak_url: &str,
    lifeboat_origin: &str,
    password: &mut dyn FnMut() -> Secret,
) -> DemoRealms {
    let mut users = Vec::new();
    let mut listed = Vec::new();
    let mut add = |name: String, roles: &[&str], group: &str| {
        let pw = password();
        users.push(user(&name, &pw, roles, group));
        listed.push(DemoUser {
            username: name,
            password: pw.expose().to_owned(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        });
    };
    add(
        "dash-admin".into(),
        &["admin", "licensed_user", "viewer"],
        "admins",
    );
    add("dash-viewer".into(), &["viewer"], "analysts");
    for i in 1..=USERS {
        let group = GROUPS[1 + i % (GROUPS.len() - 1)];
        add(format!("user{i:03}"), &["licensed_user", "viewer"], group);
    }
    let broker_secret = password();
    let sso_password = password();
    let dash = json!({
        "realm": REALM,
        "enabled": true,
        "displayName": "Dash Enterprise",
        "loginTheme": "keycloak",
        "accessTokenLifespan": 300,
        "sslRequired": "external",
        "roles": {"realm": ROLES.iter().map(|r| json!({"name": r, "description": format!("Dash Enterprise {r}")})).collect::<Vec<_>>()},
        "groups": GROUPS.iter().map(|g| json!({"name": g})).collect::<Vec<_>>(),
        "users": users,
        "clients": dash_clients(lifeboat_origin),
        "identityProviders": [identity_provider(keycloak_url, &broker_secret)],
    });
    DemoRealms {
        corporate: corporate_realm(keycloak_url, &broker_secret, &sso_password),
        dash,
        users: DemoUsers {
            keycloak_url: keycloak_url.to_owned(),
            realm: REALM.into(),
            client_id: SCRIPTS_CLIENT.into(),
            users: listed,
            sso_users: vec![DemoUser {
                username: "sso-alice".into(),
                password: sso_password.expose().to_owned(),
                roles: Vec::new(),
            }],
        },
    }
}

/// Lifeboat's client, the scripts' client and App Manager's.
fn dash_clients(lifeboat_origin: &str) -> Value {
    json!([
        {
            "clientId": LIFEBOAT_CLIENT,
            "name": "Lifeboat (Backup and Restore)",
            "enabled": true,
            "publicClient": true,
            "standardFlowEnabled": true,
            "directAccessGrantsEnabled": false,
            "redirectUris": [format!("{lifeboat_origin}/*")],
            "webOrigins": [lifeboat_origin],
            "attributes": {"pkce.code.challenge.method": "S256", "post.logout.redirect.uris": format!("{lifeboat_origin}/*")},
            "protocolMappers": [audience_mapper()],
        },
        {
            "clientId": SCRIPTS_CLIENT,
            "name": "Scripts (password grant)",
            "enabled": true,
            "publicClient": true,
            "standardFlowEnabled": false,
            "directAccessGrantsEnabled": true,
            "protocolMappers": [audience_mapper()],
        },
        {
            "clientId": "dash-app-manager",
            "name": "App Manager",
            "enabled": true,
            "publicClient": true,
            "standardFlowEnabled": true,
            "redirectUris": ["/*"],
        },
    ])
}

/// [`IDP_ALIAS`]: OIDC against [`SSO_REALM`] of the same Keycloak.
fn identity_provider(keycloak_url: &str, broker_secret: &Secret) -> Value {
    let sso = format!("{keycloak_url}/realms/{SSO_REALM}");
    json!({
        "alias": IDP_ALIAS,
        "displayName": "Corporate SSO",
        "providerId": "oidc",
        "enabled": true,
        "trustEmail": true,
        "firstBrokerLoginFlowAlias": "first broker login",
        "config": {
            "issuer": sso,
            "authorizationUrl": format!("{sso}/protocol/openid-connect/auth"),
            "tokenUrl": format!("{sso}/protocol/openid-connect/token"),
            "userInfoUrl": format!("{sso}/protocol/openid-connect/userinfo"),
            "jwksUrl": format!("{sso}/protocol/openid-connect/certs"),
            "useJwksUrl": "true",
            "validateSignature": "true",
            "clientId": BROKER_CLIENT,
            "clientSecret": broker_secret.expose(),
            "clientAuthMethod": "client_secret_post",
            "defaultScope": "openid profile email",
            "syncMode": "IMPORT",
        },
    })
}

/// [`SSO_REALM`]: the broker's client and one user.
fn corporate_realm(keycloak_url: &str, broker_secret: &Secret, sso_password: &Secret) -> Value {
    json!({
        "realm": SSO_REALM,
        "enabled": true,
        "displayName": "Corporate directory (SSO for the demo)",
        "clients": [{
            "clientId": BROKER_CLIENT,
            "enabled": true,
            "publicClient": false,
            "secret": broker_secret.expose(),
            "standardFlowEnabled": true,
            "directAccessGrantsEnabled": false,
            "redirectUris": [format!("{keycloak_url}/realms/{REALM}/broker/{IDP_ALIAS}/endpoint*")],
        }],
        "users": [{
            "username": "sso-alice",
            "enabled": true,
            "email": "alice@corporate.example.com",
            "emailVerified": true,
            "firstName": "Alice",
            "lastName": "Corporate",
            "credentials": [{"type": "password", "value": sso_password.expose(), "temporary": false}],
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn realms() -> DemoRealms {
        let mut n = 0;
        demo(
            "http://127.0.0.1:18080/auth",
            "http://127.0.0.1:8080",
            &mut || {
                n += 1;
                Secret::new(format!("pw{n}"))
            },
        )
    }

    #[test]
    fn lists_an_admin_a_viewer_only_and_a_few_hundred_users_each_with_a_password() {
        let r = realms();
        let users = &r.users.users;
        assert_eq!(users.len(), USERS + 2);
        assert!(users.iter().any(|u| u.roles.contains(&"admin".to_owned())));
        assert!(users.iter().any(|u| u.roles == ["viewer"]));
        let mut passwords: Vec<&str> = users.iter().map(|u| u.password.as_str()).collect();
        passwords.sort_unstable();
        passwords.dedup();
        assert_eq!(passwords.len(), users.len(), "every password is its own");
        assert_eq!(r.dash["users"].as_array().unwrap().len(), users.len());
        assert_eq!(r.users.client_id, SCRIPTS_CLIENT);
    }

    #[test]
    fn the_identity_provider_points_at_the_second_realm_and_its_broker_client() {
        let r = realms();
        let idp = &r.dash["identityProviders"][0];
        assert_eq!(idp["providerId"], "oidc");
        assert_eq!(
            idp["config"]["issuer"],
            "http://127.0.0.1:18080/auth/realms/corporate"
        );
        let broker = &r.corporate["clients"][0];
        assert_eq!(broker["clientId"], idp["config"]["clientId"]);
        assert_eq!(broker["secret"], idp["config"]["clientSecret"]);
        assert_eq!(
            broker["redirectUris"][0],
            "http://127.0.0.1:18080/auth/realms/dash/broker/corporate-sso/endpoint*"
        );
    }

    #[test]
    fn lifeboat_signs_in_with_pkce_and_tokens_name_it_as_audience() {
        let r = realms();
        let clients = r.dash["clients"].as_array().unwrap();
        let lifeboat = clients
            .iter()
            .find(|c| c["clientId"] == LIFEBOAT_CLIENT)
            .unwrap();
        assert_eq!(lifeboat["attributes"]["pkce.code.challenge.method"], "S256");
        assert_eq!(lifeboat["publicClient"], true);
        let scripts = clients
            .iter()
            .find(|c| c["clientId"] == SCRIPTS_CLIENT)
            .unwrap();
        assert_eq!(scripts["directAccessGrantsEnabled"], true);
        for c in [lifeboat, scripts] {
            assert_eq!(
                c["protocolMappers"][0]["config"]["included.client.audience"],
                LIFEBOAT_CLIENT
            );
        }
    }

    #[test]
    fn the_file_has_the_documented_shape() {
        let v = serde_json::to_value(realms().users).unwrap();
        for key in ["keycloak_url", "realm", "client_id", "users"] {
            assert!(v.get(key).is_some(), "{key}");
        }
        let first = &v["users"][0];
        for key in ["username", "password", "roles"] {
            assert!(first.get(key).is_some(), "{key}");
        }
    }
}
