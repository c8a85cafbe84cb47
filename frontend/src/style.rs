//! The page's styles. Every selector starts at the `.lb` root, so nothing leaks into a host
//! page; the root resets what it would otherwise inherit from one.

/// The stylesheet, rendered inside the root element (and removed with it on unmount).
pub const CSS: &str = "\
.lb{all:initial;display:block;box-sizing:border-box;color:#1f2933;background:#f4f6f9;\
font:14px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,Helvetica,Arial,sans-serif}\
.lb *,.lb *::before,.lb *::after{box-sizing:inherit}\
.lb{overflow-wrap:break-word}\
.lb .lb-main{container-type:inline-size}\
.lb h1,.lb h2,.lb p,.lb ul{margin:0;padding:0}\
.lb a{color:#1a56b8}\
.lb :focus-visible{outline:3px solid #1a56b8;outline-offset:2px}\
.lb .lb-shell{min-height:100vh;display:flex;flex-direction:column}\
.lb .lb-topbar{display:flex;align-items:center;gap:10px;height:52px;padding:0 20px;\
background:#0d1a2d;color:#fff;font-weight:600}\
.lb .lb-logo{color:#53a6ff;font-size:18px}\
.lb .lb-topbar-sep{font-weight:400;color:#c5d1e0;border-left:1px solid #3a4b63;padding-left:10px}\
.lb .lb-body{display:flex;flex:1}\
.lb .lb-sidenav{width:220px;padding:20px 0;background:#fff;border-right:1px solid #dde3ea}\
.lb .lb-sidenav-title{font-size:12px;text-transform:uppercase;letter-spacing:.06em;color:#52606d;padding:0 20px 8px}\
.lb .lb-sidenav ul{list-style:none}\
.lb .lb-navitem{display:block;padding:8px 20px;color:#3e4c59}\
.lb .lb-navitem-active{background:#e8f1fd;color:#0b4194;font-weight:600;border-left:3px solid #1a56b8}\
.lb .lb-main{flex:1;min-width:0;padding:24px 32px;display:block}\
.lb .lb-page{max-width:1100px;display:flex;flex-direction:column;gap:16px}\
.lb .lb-title{font-size:22px;font-weight:600}\
.lb .lb-card{background:#fff;border:1px solid #dde3ea;border-radius:8px;padding:16px 20px}\
.lb .lb-card h2{font-size:16px;font-weight:600;margin-bottom:10px}\
.lb .lb-empty{padding:16px;border:1px dashed #c3ccd6;border-radius:6px;text-align:center}\
.lb .lb-empty-title{font-weight:600}\
.lb .lb-empty-hint{color:#52606d}\
.lb .lb-footer{color:#52606d;font-size:12px}\
.lb h3,.lb ol,.lb dl,.lb dd,.lb fieldset,.lb legend{margin:0;padding:0}\
.lb fieldset{border:0;min-width:0}\
.lb code{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f0f3f7;padding:1px 4px;border-radius:4px}\
.lb .lb-sr{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;\
clip:rect(0 0 0 0);white-space:nowrap;border:0}\
.lb .lb-muted{color:#52606d}\
.lb .lb-hint{color:#52606d;font-size:13px}\
.lb .lb-note{background:#eef4fc;border:1px solid #c4d8f3;border-radius:6px;padding:8px 12px;margin:8px 0}\
.lb .lb-loading{color:#52606d;padding:12px 0}\
.lb .lb-loading::before{content:\"⟳ \"}\
.lb .lb-breadcrumb{font-size:13px}\
.lb .lb-card-head{display:flex;align-items:center;justify-content:space-between;gap:12px;margin-bottom:10px}\
.lb .lb-card-head h2{margin-bottom:0}\
.lb .lb-actions,.lb .lb-dialog-actions{display:flex;flex-wrap:wrap;gap:8px;margin-top:14px}\
.lb .lb-dialog-actions{justify-content:flex-end}\
.lb .lb-btn{font:inherit;font-weight:600;border-radius:6px;padding:7px 14px;cursor:pointer;\
border:1px solid transparent;line-height:1.3}\
.lb a.lb-btn{display:inline-block;text-decoration:none}\
.lb .lb-signin-alt{margin:4px 0 16px}\
.lb .lb-btn:disabled{cursor:not-allowed;opacity:1;background:#e4e7eb;color:#52606d;border-color:#cbd2d9}\
.lb .lb-btn-primary{background:#1a56b8;color:#fff}\
.lb .lb-btn-primary:hover:not(:disabled){background:#0b4194}\
.lb .lb-btn-secondary{background:#fff;color:#1a56b8;border-color:#9fb7dd}\
.lb .lb-btn-secondary:hover:not(:disabled){background:#eef4fc}\
.lb .lb-btn-danger{background:#b42318;color:#fff}\
.lb .lb-btn-danger:hover:not(:disabled){background:#912018}\
.lb .lb-btn-link{background:none;color:#1a56b8;text-decoration:underline}\
.lb .lb-btn-small{padding:4px 10px;font-size:13px}\
.lb .lb-link{font-weight:600}\
.lb .lb-facts{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:6px 16px;margin:4px 0 0}\
.lb .lb-facts dt{color:#52606d}\
.lb .lb-facts-compact{margin:10px 0}\
.lb .lb-details summary{cursor:pointer;color:#1a56b8}\
.lb .lb-list{padding-left:20px}\
.lb .lb-status{display:inline-flex;align-items:center;gap:4px;font-weight:600;white-space:nowrap}\
.lb .lb-tone-ok{color:#1b6e33}\
.lb .lb-tone-warn{color:#7a4f00}\
.lb .lb-tone-bad{color:#a1201a}\
.lb .lb-tone-info{color:#0b4194}\
.lb .lb-tone-muted{color:#52606d}\
.lb .lb-banner{display:flex;gap:10px;align-items:flex-start;border-radius:6px;padding:10px 12px;margin:10px 0}\
.lb .lb-banner-error{background:#fdf1f0;border:1px solid #f0b4ae;color:#5c1410}\
.lb .lb-banner-warn{background:#fff8e6;border:1px solid #efd089;color:#4d3300}\
.lb .lb-banner-icon{font-weight:700}\
.lb .lb-banner-body{flex:1}\
.lb .lb-banner-title{font-weight:600}\
.lb .lb-banner-hint{margin-top:2px}\
.lb .lb-table-wrap{overflow-x:auto}\
.lb .lb-repo{margin-top:12px;color:#52606d}\
.lb .lb-repo svg{display:block;width:100%;max-width:480px;height:64px;margin-top:4px}\
.lb .lb-repo polyline{fill:none;stroke:#1a56b8;stroke-width:2}\
.lb .lb-repo circle{fill:#1a56b8}\
.lb .lb-table{width:100%;border-collapse:collapse}\
.lb .lb-table th{text-align:left;font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:#52606d;\
border-bottom:2px solid #dde3ea;padding:8px}\
.lb .lb-table td{border-bottom:1px solid #e9edf2;padding:8px;vertical-align:top}\
.lb .lb-table tbody tr:hover{background:#f7f9fc}\
.lb .lb-row-running{background:#f3f8ff}\
.lb .lb-form{display:flex;flex-direction:column;gap:18px}\
.lb .lb-fieldset{display:flex;flex-direction:column;gap:10px}\
.lb .lb-fieldset > legend{font-weight:600;font-size:15px;margin-bottom:8px}\
.lb .lb-inline{flex-direction:row;flex-wrap:wrap;gap:16px}\
.lb .lb-field{display:flex;flex-direction:column;gap:4px;max-width:560px}\
.lb .lb-field label{font-weight:600}\
.lb .lb-optional{font-weight:400;color:#52606d}\
.lb .lb-input{font:inherit;color:#1f2933;background:#fff;border:1px solid #7b8794;border-radius:6px;padding:7px 10px;width:100%}\
.lb textarea.lb-input{resize:vertical}\
.lb .lb-field-invalid .lb-input{border:2px solid #a1201a}\
.lb .lb-error{color:#a1201a;font-weight:600;font-size:13px}\
.lb .lb-counter{font-size:13px;color:#52606d;text-align:right}\
.lb .lb-counter-over{color:#a1201a;font-weight:600}\
.lb .lb-choice{display:flex;align-items:baseline;gap:8px;font-weight:400;cursor:pointer}\
.lb .lb-field .lb-choice{font-weight:400}\
.lb .lb-nested{margin-left:24px;display:flex;flex-direction:column;gap:10px}\
.lb .lb-grid-2{display:grid;grid-template-columns:repeat(auto-fit,minmax(220px,1fr));gap:12px;margin-left:24px}\
.lb .lb-grid-4{display:grid;grid-template-columns:repeat(auto-fit,minmax(130px,1fr));gap:12px}\
.lb .lb-verify{border:1px solid #dde3ea;border-radius:6px;padding:10px 14px;margin-top:12px}\
.lb .lb-verify-summary{margin-bottom:8px}\
.lb .lb-checks-list{list-style:none;display:flex;flex-direction:column;gap:8px}\
.lb .lb-check{display:flex;gap:8px}\
.lb .lb-check p{color:#1f2933}\
.lb .lb-check .lb-hint{color:#52606d}\
.lb .lb-repo-state{margin-top:8px}\
.lb .lb-backdrop{position:fixed;inset:0;background:rgba(13,26,45,.55);display:flex;\
align-items:flex-start;justify-content:center;padding:6vh 16px;z-index:2147483000;overflow-y:auto}\
.lb .lb-dialog{background:#fff;color:#1f2933;border-radius:10px;width:100%;max-width:560px;padding:20px 24px;\
box-shadow:0 12px 40px rgba(0,0,0,.3)}\
.lb .lb-dialog:focus{outline:none}\
.lb .lb-dialog-form{display:flex;flex-direction:column;gap:12px}\
.lb .lb-dialog-title{font-size:18px;font-weight:600;margin:0}\
.lb .lb-warning-box{background:#fff8e6;border:1px solid #efd089;color:#4d3300;border-radius:6px;padding:10px 12px}\
.lb .lb-warning-box p + p,.lb .lb-warning-box ul + p{margin-top:6px}\
.lb .lb-phrase{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f0f3f7;padding:0 4px}\
.lb .lb-progress{display:flex;flex-direction:column;gap:10px}\
.lb .lb-progress-head{display:flex;justify-content:space-between;gap:12px;align-items:baseline;flex-wrap:wrap}\
.lb .lb-progress-title{font-weight:600}\
.lb .lb-bar{height:12px;background:#e4e7eb;border-radius:6px;overflow:hidden;border:1px solid #cbd2d9}\
.lb .lb-bar-fill{height:100%;background:#1a56b8;transition:width .4s ease}\
.lb .lb-bar-indeterminate{background:repeating-linear-gradient(45deg,#1a56b8 0 10px,#4a7fd4 10px 20px)}\
.lb .lb-ellipsis{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}\
.lb .lb-steps{list-style:none;display:flex;flex-direction:column;border-top:1px solid #e9edf2}\
.lb .lb-step{display:grid;grid-template-columns:24px 1fr auto;gap:2px 8px;padding:7px 0;border-bottom:1px solid #e9edf2}\
.lb .lb-step-title{color:#1f2933}\
.lb .lb-step[aria-current] .lb-step-title{font-weight:600}\
.lb .lb-step-state{font-weight:600;white-space:nowrap}\
.lb .lb-step-detail{grid-column:2 / 4;color:#52606d;font-size:13px}\
.lb .lb-step-icon{font-weight:700;text-align:center}\
.lb .lb-checks{list-style:none;display:flex;flex-direction:column;gap:8px;margin:12px 0}\
.lb .lb-check-item{display:flex;gap:8px;align-items:baseline}\
.lb .lb-checklist p + p{margin-top:8px}\
.lb .lb-progress-line{display:flex;flex-wrap:wrap;gap:4px 14px;align-items:baseline}\
.lb .lb-last{display:flex;flex-wrap:wrap;align-items:baseline;gap:6px 14px;padding:10px 20px}\
.lb .lb-last h2{margin:0}\
.lb .lb-step .lb-ellipsis{display:block}\
.lb .lb-i{display:inline-block;width:1.4em;margin-right:6px;border-radius:50%;background:#1a56b8;color:#fff;text-align:center;font-weight:700}\
.lb .lb-log{font:12px/1.4 ui-monospace,monospace;white-space:pre-wrap;max-height:360px;overflow:auto;background:#f0f3f7;padding:8px;margin-top:8px}\
.lb .lb-cmd{white-space:pre}\
.lb .lb-cmd code{padding:0}\
@media (max-width: 767px){\
.lb .lb-body{flex-direction:column}\
.lb .lb-sidenav{width:auto;padding:0 8px;border:0;border-bottom:1px solid #dde3ea}\
.lb .lb-sidenav-title{display:none}\
.lb .lb-sidenav ul{display:flex;overflow-x:auto}\
.lb .lb-navitem{white-space:nowrap;padding:10px 12px}\
.lb .lb-navitem-active{border-left:0;border-bottom:3px solid #1a56b8}\
.lb .lb-main{padding:16px 12px}\
.lb .lb-card{padding:14px}\
}\
@container (max-width: 720px){\
.lb .lb-stack thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}\
.lb .lb-stack tr{display:block;border-bottom:1px solid #dde3ea;padding:6px 0}\
.lb .lb-stack td{display:flex;gap:10px;border:0;padding:3px 4px}\
.lb .lb-stack td::before{content:attr(data-label);flex:0 0 7.5em;color:#52606d;font-weight:600}\
.lb .lb-stack td:empty{display:none}\
}\
@media (prefers-reduced-motion: reduce){.lb .lb-bar-fill{transition:none}}\
.lb .lb-health-ok::before{content:\"● \";color:#1b7f3b}\
.lb .lb-health-warn::before{content:\"▲ \";color:#8a5a00}\
.lb .lb-health-down::before{content:\"✕ \";color:#b42318}";
