//! The page's styles. Every selector starts at the `.lb` root, so nothing leaks into a host
//! page; the root resets what it would otherwise inherit from one.

/// The stylesheet, rendered inside the root element (and removed with it on unmount).
pub const CSS: &str = r#"
.lb { all: initial; display: block; box-sizing: border-box; color: #1f2933; background: #f4f6f9;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
.lb *, .lb *::before, .lb *::after { box-sizing: inherit; }
.lb h1, .lb h2, .lb p, .lb ul { margin: 0; padding: 0; }
.lb a { color: #1a56b8; }
.lb :focus-visible { outline: 3px solid #1a56b8; outline-offset: 2px; }
.lb .lb-shell { min-height: 100vh; display: flex; flex-direction: column; }
.lb .lb-topbar { display: flex; align-items: center; gap: 10px; height: 52px; padding: 0 20px;
  background: #0d1a2d; color: #fff; font-weight: 600; }
.lb .lb-logo { color: #53a6ff; font-size: 18px; }
.lb .lb-topbar-sep { font-weight: 400; color: #c5d1e0; border-left: 1px solid #3a4b63; padding-left: 10px; }
.lb .lb-body { display: flex; flex: 1; }
.lb .lb-sidenav { width: 220px; padding: 20px 0; background: #fff; border-right: 1px solid #dde3ea; }
.lb .lb-sidenav-title { font-size: 12px; text-transform: uppercase; letter-spacing: .06em; color: #52606d; padding: 0 20px 8px; }
.lb .lb-sidenav ul { list-style: none; }
.lb .lb-navitem { display: block; padding: 8px 20px; color: #3e4c59; }
.lb .lb-navitem-active { background: #e8f1fd; color: #0b4194; font-weight: 600; border-left: 3px solid #1a56b8; }
.lb .lb-main { flex: 1; padding: 24px 32px; display: block; }
.lb .lb-page { max-width: 1100px; display: flex; flex-direction: column; gap: 16px; }
.lb .lb-title { font-size: 22px; font-weight: 600; }
.lb .lb-card { background: #fff; border: 1px solid #dde3ea; border-radius: 8px; padding: 16px 20px; }
.lb .lb-card h2 { font-size: 16px; font-weight: 600; margin-bottom: 10px; }
.lb .lb-empty { padding: 16px; border: 1px dashed #c3ccd6; border-radius: 6px; text-align: center; }
.lb .lb-empty-title { font-weight: 600; }
.lb .lb-empty-hint { color: #52606d; }
.lb .lb-footer { color: #52606d; font-size: 12px; }
.lb .lb-health-ok::before { content: "● "; color: #1b7f3b; }
.lb .lb-health-warn::before { content: "▲ "; color: #8a5a00; }
.lb .lb-health-down::before { content: "✕ "; color: #b42318; }
"#;
