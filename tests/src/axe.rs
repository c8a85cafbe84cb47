//! Accessibility checks with axe-core (pinned in `scripts/install.sh`, installed into
//! `.tools/npm`): inject `axe.min.js` into the current page and run the WCAG 2.0/2.1 A and
//! AA rules; any violation fails the test with its rule id, impact and target selectors.

use std::path::PathBuf;
use std::sync::OnceLock;

use anyhow::{Context as _, bail};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::browser::Browser;

/// The rule tags run: WCAG 2.0 and 2.1, levels A and AA.
pub const WCAG_TAGS: [&str; 4] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/// Where `scripts/install.sh` puts axe-core.
pub fn axe_path() -> PathBuf {
    crate::workspace_root().join(".tools/npm/node_modules/axe-core/axe.min.js")
}

fn axe_source() -> anyhow::Result<&'static str> {
    static SOURCE: OnceLock<String> = OnceLock::new();
    if let Some(s) = SOURCE.get() {
        return Ok(s);
    }
    let path = axe_path();
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read {}: run scripts/install.sh (it installs axe-core)",
            path.display()
        )
    })?;
    Ok(SOURCE.get_or_init(|| text))
}

/// One failing element of a violation.
#[derive(Debug, Clone, Deserialize)]
pub struct Node {
    /// CSS selectors (one per frame / shadow root) of the element.
    pub target: Vec<Value>,
    /// The element's HTML (abridged by axe).
    #[serde(default)]
    pub html: String,
    /// axe's explanation of what to fix.
    #[serde(default, rename = "failureSummary")]
    pub failure_summary: Option<String>,
}

/// A rule that failed.
#[derive(Debug, Clone, Deserialize)]
pub struct Violation {
    /// The rule id, e.g. `color-contrast`.
    pub id: String,
    /// `minor`, `moderate`, `serious` or `critical`.
    #[serde(default)]
    pub impact: Option<String>,
    /// What the rule checks.
    #[serde(default)]
    pub help: String,
    /// The failing elements.
    pub nodes: Vec<Node>,
}

/// What to check: the whole document, or the elements matching `include` (minus `exclude`),
/// and rules to leave out (each exclusion must say why where it is used).
#[derive(Debug, Clone, Default)]
pub struct Scope<'a> {
    /// CSS selectors to check (empty: the whole document).
    pub include: &'a [&'a str],
    /// CSS selectors to skip inside `include`.
    pub exclude: &'a [&'a str],
    /// Rule ids not to run.
    pub disable_rules: &'a [&'a str],
}

/// Runs axe on the current page (injecting it first if the page does not have it yet) and
/// returns the violations.
pub async fn violations(browser: &Browser, scope: &Scope<'_>) -> anyhow::Result<Vec<Violation>> {
    let loaded = browser
        .client
        .execute("return typeof window.axe === 'object';", vec![])
        .await?;
    if loaded != Value::Bool(true) {
        browser
            .client
            .execute(axe_source()?, vec![])
            .await
            .context("injecting axe-core")?;
    }
    let context = if scope.include.is_empty() && scope.exclude.is_empty() {
        Value::Null
    } else {
        json!({
            "include": if scope.include.is_empty() { vec!["html"] } else { scope.include.to_vec() },
            "exclude": scope.exclude,
        })
    };
    let rules: serde_json::Map<String, Value> = scope
        .disable_rules
        .iter()
        .map(|r| ((*r).to_owned(), json!({ "enabled": false })))
        .collect();
    let options = json!({
        "runOnly": { "type": "tag", "values": WCAG_TAGS },
        "rules": rules,
        "resultTypes": ["violations"],
    });
    let script = r#"
        const [context, options, done] = arguments;
        axe.run(context === null ? document : context, options)
          .then(r => done({ ok: r.violations }))
          .catch(e => done({ err: String(e && e.stack || e) }));
    "#;
    let out = browser
        .client
        .execute_async(script, vec![context, options])
        .await
        .context("running axe-core")?;
    if let Some(err) = out.get("err") {
        bail!("axe-core failed: {err}");
    }
    let list = out
        .get("ok")
        .cloned()
        .context("axe-core returned nothing")?;
    Ok(serde_json::from_value(list)?)
}

/// Formats violations as one line per failing element: rule, impact, selector, fix.
pub fn describe(violations: &[Violation]) -> String {
    let mut out = String::new();
    for v in violations {
        let impact = v.impact.as_deref().unwrap_or("unknown");
        out.push_str(&format!("- {} ({impact}): {}\n", v.id, v.help));
        for n in &v.nodes {
            let target: Vec<String> = n
                .target
                .iter()
                .map(|t| match t {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            out.push_str(&format!("    at {}  {}\n", target.join(" > "), n.html));
            if let Some(summary) = &n.failure_summary {
                for line in summary.lines() {
                    out.push_str(&format!("      {line}\n"));
                }
            }
        }
    }
    out
}

/// Fails when axe finds a WCAG 2.0/2.1 A or AA violation in `scope` of the current page;
/// `state` names the page state in the message (e.g. "the Backup Now dialog").
pub async fn check_scoped(browser: &Browser, state: &str, scope: &Scope<'_>) -> anyhow::Result<()> {
    let found = violations(browser, scope).await?;
    if !found.is_empty() {
        bail!(
            "axe-core found {} accessibility violation(s) on {state}:\n{}",
            found.len(),
            describe(&found)
        );
    }
    Ok(())
}

/// [`check_scoped`] on the whole document.
pub async fn check(browser: &Browser, state: &str) -> anyhow::Result<()> {
    check_scoped(browser, state, &Scope::default()).await
}
