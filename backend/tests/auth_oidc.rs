//! OIDC bearer tokens: real RS256 JWTs signed with keys made by `openssl` for this run, a
//! JWKS served on 127.0.0.1, and the verifier checking signature, issuer, audience, expiry,
//! key rotation and the realm role.
#![allow(clippy::unwrap_used)] // Test helpers: a panic is the failure report.

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::get;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use lifeboat::auth::oidc::{OidcConfig, OidcError, OidcVerifier};
use serde_json::{Value, json};

struct Key {
    kid: String,
    pem: Vec<u8>,
    jwk: Value,
}

fn make_key(dir: &std::path::Path, kid: &str) -> Key {
    let path = dir.join(format!("{kid}.pem"));
    let ok = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(ok.status.success(), "openssl genpkey failed: {ok:?}");
    let modulus = std::process::Command::new("openssl")
        .args(["rsa", "-noout", "-modulus", "-in"])
        .arg(&path)
        .output()
        .unwrap();
    let hex = String::from_utf8(modulus.stdout).unwrap();
    let hex = hex.trim().trim_start_matches("Modulus=");
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let n = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    Key {
        kid: kid.to_owned(),
        pem: std::fs::read(&path).unwrap(),
        jwk: json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": n, "e": "AQAB"}),
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

const ISSUER: &str = "http://127.0.0.1/auth/realms/dash";

fn sign(key: &Key, claims: Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(key.kid.clone());
    encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_pem(&key.pem).unwrap(),
    )
    .unwrap()
}

fn claims(overrides: Value) -> Value {
    let mut c = json!({
        "iss": ISSUER, "aud": "lifeboat", "sub": "u-1", "preferred_username": "alice",
        "exp": now() + 300, "iat": now(), "realm_access": {"roles": ["admin", "user"]}
    });
    for (k, v) in overrides.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

async fn jwks_server(keys: Arc<Mutex<Vec<Value>>>) -> String {
    let app = Router::new().route(
        "/certs",
        get(move || {
            let keys = keys.clone();
            async move { axum::Json(json!({"keys": *keys.lock().unwrap()})) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/certs", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test]
async fn verifies_keycloak_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let k1 = make_key(dir.path(), "k1");
    let k2 = make_key(dir.path(), "k2");
    let stranger = make_key(dir.path(), "k1-stranger");
    let published = Arc::new(Mutex::new(vec![k1.jwk.clone()]));
    let jwks_url = jwks_server(published.clone()).await;
    let mut config = OidcConfig::keycloak(ISSUER, "lifeboat");
    config.jwks_url = jwks_url;
    config.leeway = std::time::Duration::from_secs(5);
    config.min_refetch = std::time::Duration::ZERO;
    let v = OidcVerifier::new(config).unwrap();

    let ok = v.verify(&sign(&k1, claims(json!({})))).await.unwrap();
    assert_eq!(ok.user(), "alice");

    let expired = sign(&k1, claims(json!({"exp": now() - 60})));
    assert!(matches!(v.verify(&expired).await, Err(OidcError::Expired)));
    let within_leeway = sign(&k1, claims(json!({"exp": now() - 2})));
    assert!(
        v.verify(&within_leeway).await.is_ok(),
        "clock skew within the leeway is tolerated"
    );

    let wrong_iss = sign(
        &k1,
        claims(json!({"iss": "http://127.0.0.1/auth/realms/other"})),
    );
    assert!(matches!(
        v.verify(&wrong_iss).await,
        Err(OidcError::WrongIssuer)
    ));
    let wrong_aud = sign(&k1, claims(json!({"aud": "someone-else"})));
    assert!(matches!(
        v.verify(&wrong_aud).await,
        Err(OidcError::WrongAudience)
    ));
    let no_role = sign(&k1, claims(json!({"realm_access": {"roles": ["user"]}})));
    assert!(matches!(v.verify(&no_role).await, Err(OidcError::MissingRole(r)) if r == "admin"));

    // Same key id, different key: the signature does not verify.
    let forged = Key {
        kid: "k1".into(),
        pem: stranger.pem.clone(),
        jwk: Value::Null,
    };
    assert!(matches!(
        v.verify(&sign(&forged, claims(json!({})))).await,
        Err(OidcError::Invalid)
    ));
    assert!(matches!(
        v.verify("not-a-jwt").await,
        Err(OidcError::Malformed)
    ));

    // Rotation: the provider adds k2 and drops k1; a k2 token is accepted after one refetch.
    published.lock().unwrap().push(k2.jwk.clone());
    published.lock().unwrap().retain(|k| k["kid"] != "k1");
    assert!(
        v.verify(&sign(&k2, claims(json!({})))).await.is_ok(),
        "k2 is fetched on first sight"
    );
    let unknown = Key {
        kid: "k9".into(),
        pem: k1.pem.clone(),
        jwk: Value::Null,
    };
    assert!(matches!(
        v.verify(&sign(&unknown, claims(json!({})))).await,
        Err(OidcError::UnknownKey)
    ));
}
