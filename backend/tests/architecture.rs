//! The house rules ARCHITECTURE.md states, checked on the source text (tidy tests, as
//! rust-analyzer runs them):
//!
//! - the top-level modules of `backend/src` and of `frontend/src` import each other without
//!   a cycle (counting every `crate::<module>` in code that is not a test or a comment);
//! - so do their files: every `crate::`, `super::`, `self::` and child-module path, groups
//!   included, resolved to the file it names (a parent's `mod.rs` is a file like any other:
//!   a child that imports what its parent defines while the parent uses the child is a
//!   circle);
//! - only the runtime (`backend/src/runtime/`) starts a process;
//! - only `cli.rs` (the composition root) and each runtime's own folder name a runtime: the
//!   host layer and the kubernetes runtime never reach into `runtime/local`;
//! - nothing in `backend/src/jobs/` touches a file system itself;
//! - only the supervisor (`jobs/supervisor.rs`) sets an operation's status (a grep here; by
//!   construction too: a step holds a `JobCtx`, which does not hand out the operations
//!   store; the `compile_fail` example on `JobCtx` is that rule's plant);
//! - no function in `backend/src` or `frontend/src` is longer than 120 lines, whatever its
//!   visibility and qualifiers, in a module, an impl or a trait.
//!
//! Each rule reads the files as text; the unit tests at the bottom feed each checker one
//! offending snippet, so a checker that stopped finding anything would fail too.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The longest a function may be, in lines from its `fn` to its closing brace.
const MAX_FN_LINES: usize = 120;

fn src(crate_dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(crate_dir)
        .join("src")
}

/// Every `.rs` file below `dir`, with its path relative to `dir`.
fn rust_files(dir: &Path) -> Vec<(String, String)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(root, &p, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out
}

/// The product code of a file: everything before its first `#[cfg(test)]`, without
/// comment lines and trailing `//` comments.
fn product_code(text: &str) -> String {
    let end = text.find("#[cfg(test)]").unwrap_or(text.len());
    text[..end]
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .map(|l| match l.find(" // ") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level module a file belongs to (`jobs/restore/mod.rs` → `jobs`).
fn top_module(rel: &str) -> String {
    rel.split('/')
        .next()
        .unwrap()
        .trim_end_matches(".rs")
        .to_owned()
}

/// Which top-level module uses which (by `crate::<module>` references).
fn import_graph(files: &[(String, String)]) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<String> = files
        .iter()
        .map(|(rel, _)| top_module(rel))
        .filter(|m| m != "lib" && m != "main")
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, text) in files {
        let from = top_module(rel);
        if !modules.contains(&from) {
            continue;
        }
        let code = product_code(text);
        for (i, _) in code.match_indices("crate::") {
            let to: String = code[i + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if to != from && modules.contains(&to) {
                graph.entry(from.clone()).or_default().insert(to);
            }
        }
        // `use crate::{a, b::c}` groups.
        for (i, _) in code.match_indices("crate::{") {
            let group = &code[i + "crate::{".len()..];
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for part in group.split(',') {
                let to: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if to != from && modules.contains(&to) {
                    graph.entry(from.clone()).or_default().insert(to);
                }
            }
        }
    }
    graph
}

/// The module path of a file: `runtime/host/process.rs` → `runtime::host::process`;
/// `mod.rs` (and `lib.rs`, `main.rs`) are their folder's module.
fn module_of(rel: &str) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_owned)
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Code without visibility words (`pub(crate)`, `pub(super)`, `pub(in …)`), which name a
/// module without importing anything.
fn without_visibility(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(i) = rest.find("pub(") {
        let end = rest[i..].find(')').map_or(rest.len(), |e| i + e + 1);
        out.push_str(&rest[..i]);
        out.push_str("pub ");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// One path at the start of `s` (`a::b::{c, d::e}` or `a::b`), expanded into every path it
/// names, and how many bytes it took. A group's members are expanded recursively.
fn read_path(s: &str) -> (Vec<Vec<String>>, usize) {
    let s_trim = s.trim_start();
    let skipped = s.len() - s_trim.len();
    if let Some(group) = s_trim.strip_prefix('{') {
        let mut paths = Vec::new();
        let mut used = 1;
        let mut rest = group;
        loop {
            let r = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
            used += rest.len() - r.len();
            rest = r;
            if rest.is_empty() {
                break;
            }
            if rest.starts_with('}') {
                used += 1;
                break;
            }
            let (mut inner, n) = read_path(rest);
            if n == 0 {
                // Not a path (`*`, `self as x`): skip one character.
                let c = rest.chars().next().map_or(1, char::len_utf8);
                used += c;
                rest = &rest[c..];
                continue;
            }
            paths.append(&mut inner);
            used += n;
            rest = &rest[n..];
        }
        return (paths, skipped + used);
    }
    let ident: String = s_trim.chars().take_while(|c| is_ident(*c)).collect();
    if ident.is_empty() {
        return (Vec::new(), 0);
    }
    let after = &s_trim[ident.len()..];
    if let Some(next) = after.strip_prefix("::") {
        let (tails, n) = read_path(next);
        if n > 0 && !tails.is_empty() {
            let paths = tails
                .into_iter()
                .map(|mut t| {
                    t.insert(0, ident.clone());
                    t
                })
                .collect();
            return (paths, skipped + ident.len() + 2 + n);
        }
    }
    (vec![vec![ident.clone()]], skipped + ident.len())
}

/// Which file imports which: every `crate::`, `super::`, `self::` path and every path that
/// starts with a child module, in product code, resolved to the longest module prefix that
/// is a file (`crate::runtime::host::paths::Paths` → `runtime/host/paths.rs`).
fn file_graph(files: &[(String, String)]) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeMap<Vec<String>, String> = files
        .iter()
        .map(|(rel, _)| (module_of(rel), rel.clone()))
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, text) in files {
        let me = module_of(rel);
        let code = without_visibility(&product_code(text));
        let edges = graph.entry(rel.clone()).or_default();
        let mut i = 0;
        while i < code.len() {
            let prev = code[..i].chars().next_back();
            let starts = code[i..].chars().next().is_some_and(is_ident)
                && !prev.is_some_and(|c| is_ident(c) || c == ':');
            if !starts {
                i += code[i..].chars().next().map_or(1, char::len_utf8);
                continue;
            }
            let (paths, n) = read_path(&code[i..]);
            i += n.max(1);
            for path in paths.into_iter().filter(|p| p.len() > 1) {
                let mut segs = path.into_iter().peekable();
                let mut abs: Vec<String> = match segs.peek().map(String::as_str) {
                    Some("crate") => Vec::new(),
                    Some("self" | "super") => me.clone(),
                    Some(first) => {
                        let mut child = me.clone();
                        child.push(first.to_owned());
                        if !modules.contains_key(&child) {
                            continue;
                        }
                        me.clone()
                    }
                    None => continue,
                };
                if segs.peek().is_some_and(|s| s == "crate" || s == "self") {
                    segs.next();
                }
                while segs.peek().is_some_and(|s| s == "super") {
                    segs.next();
                    abs.pop();
                }
                abs.extend(segs);
                while !abs.is_empty() && !modules.contains_key(&abs) {
                    abs.pop();
                }
                if let Some(to) = modules.get(&abs).filter(|to| *to != rel) {
                    edges.insert(to.clone());
                }
            }
        }
    }
    graph
}

/// A cycle in the graph, as the modules along it, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(pos) = path.iter().position(|n| n == node) {
            let mut cycle = path[pos..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(c) = visit(node, graph, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

/// `file:line: text` of every product-code line matching `bad`, in files `applies` to.
fn offending_lines(
    files: &[(String, String)],
    applies: impl Fn(&str) -> bool,
    bad: impl Fn(&str) -> bool,
) -> Vec<String> {
    files
        .iter()
        .filter(|(rel, _)| applies(rel))
        .flat_map(|(rel, text)| {
            product_code(text)
                .lines()
                .enumerate()
                .filter(|(_, l)| bad(l))
                .map(|(n, l)| format!("{rel}:{}: {}", n + 1, l.trim()))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn starts_process(line: &str) -> bool {
    // `Command::new(` on its own, not the end of another name such as `ToolCommand::new(`.
    let bare_new = line.match_indices("Command::new(").any(|(i, _)| {
        !line[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    });
    line.contains("process::Command") || bare_new
}

fn touches_files(line: &str) -> bool {
    [
        "std::fs",
        "tokio::fs",
        "File::open",
        "File::create",
        "read_dir(",
    ]
    .iter()
    .any(|p| line.contains(p))
}

fn sets_status(line: &str) -> bool {
    line.contains("status = OperationStatus::") || line.contains("status: OperationStatus::")
}

/// What follows `fn ` when `line` (trimmed) starts a function in any form: any
/// visibility (`pub`, `pub(crate)`, `pub(super)`, `pub(in path)`) and qualifiers (`async`,
/// `const`, `unsafe`, `default`, `extern "C"`), in a module, an impl or a trait.
fn after_fn_keyword(line: &str) -> Option<&str> {
    let mut rest = line;
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("fn ") {
            return Some(r);
        }
        if let Some(r) = rest.strip_prefix("pub(") {
            rest = &r[r.find(')')? + 1..];
            continue;
        }
        if let Some(r) = rest.strip_prefix("extern ") {
            let r = r.trim_start();
            rest = match r.strip_prefix('"') {
                Some(abi) => &abi[abi.find('"')? + 1..],
                None => r,
            };
            continue;
        }
        rest = ["pub ", "async ", "const ", "unsafe ", "default "]
            .iter()
            .find_map(|w| rest.strip_prefix(w))?;
    }
}

/// Functions longer than `max` lines, as `file:line fn name (N lines)`. Relies on rustfmt's
/// layout: a function's closing brace sits alone at the indentation of its `fn` line.
fn long_functions(files: &[(String, String)], max: usize) -> Vec<String> {
    let mut found = Vec::new();
    for (rel, text) in files {
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            let Some(after) = after_fn_keyword(trimmed) else {
                continue;
            };
            let indent = &line[..line.len() - trimmed.len()];
            if trimmed.trim_end().ends_with('}') {
                continue; // A one-line function.
            }
            // A declaration without a body (in a trait) ends with `;` before any `{`.
            let opens = lines[i..]
                .iter()
                .position(|l| l.trim_end().ends_with('{') || l.trim_end().ends_with(';'));
            let Some(open) = opens else { continue };
            if lines[i + open].trim_end().ends_with(';') {
                continue;
            }
            let close = format!("{indent}}}");
            if let Some(len) = lines[i..].iter().position(|l| *l == close)
                && len + 1 > max
            {
                let name: String = after
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                found.push(format!("{rel}:{} fn {name} ({} lines)", i + 1, len + 1));
            }
        }
    }
    found
}

#[test]
fn backend_modules_import_each_other_without_a_cycle() {
    let graph = import_graph(&rust_files(&src("backend")));
    assert!(graph.contains_key("jobs"), "the graph is empty: {graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "backend/src has an import cycle: {}\n(graph: {graph:#?})",
            cycle.join(" → ")
        );
    }
}

#[test]
fn frontend_modules_import_each_other_without_a_cycle() {
    let graph = import_graph(&rust_files(&src("frontend")));
    assert!(!graph.is_empty(), "the graph is empty");
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "frontend/src has an import cycle: {}\n(graph: {graph:#?})",
            cycle.join(" → ")
        );
    }
}

#[test]
fn backend_files_import_each_other_without_a_circle() {
    let graph = file_graph(&rust_files(&src("backend")));
    assert!(
        graph
            .get("runtime/local/mod.rs")
            .is_some_and(|to| to.contains("runtime/host/process.rs")),
        "the file graph misses a known import: {graph:#?}"
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "backend/src has a file-level import circle: {}",
            cycle.join(" → ")
        );
    }
}

#[test]
fn frontend_files_import_each_other_without_a_circle() {
    let graph = file_graph(&rust_files(&src("frontend")));
    assert!(
        graph.values().any(|to| !to.is_empty()),
        "the file graph is empty"
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "frontend/src has a file-level import circle: {}",
            cycle.join(" → ")
        );
    }
}

#[test]
fn only_the_runtime_starts_processes() {
    let bad = offending_lines(
        &rust_files(&src("backend")),
        |rel| !rel.starts_with("runtime/"),
        starts_process,
    );
    assert!(
        bad.is_empty(),
        "processes started outside runtime/:\n{}",
        bad.join("\n")
    );
}

/// Whether a line names the local runtime (`runtime::local`, or `super::local` from inside
/// `runtime/`).
fn names_local(line: &str) -> bool {
    line.contains("runtime::local") || line.contains("super::local")
}

/// Whether a line names the kubernetes runtime.
fn names_kubernetes(line: &str) -> bool {
    line.contains("runtime::kubernetes") || line.contains("super::kubernetes")
}

#[test]
fn only_the_composition_root_names_a_runtime() {
    // `cli.rs` picks the runtime; each runtime names itself; nothing else names either, and
    // the host layer and the kubernetes runtime never reach into the local one.
    let files = rust_files(&src("backend"));
    let mut bad = offending_lines(
        &files,
        |rel| rel != "cli.rs" && !rel.starts_with("runtime/local/"),
        names_local,
    );
    bad.extend(offending_lines(
        &files,
        |rel| rel != "cli.rs" && !rel.starts_with("runtime/kubernetes/"),
        names_kubernetes,
    ));
    assert!(
        bad.is_empty(),
        "a runtime named outside cli.rs and its own folder:\n{}",
        bad.join("\n")
    );
}

#[test]
fn jobs_never_touch_files_themselves() {
    let bad = offending_lines(
        &rust_files(&src("backend")),
        |rel| rel.starts_with("jobs/"),
        touches_files,
    );
    assert!(
        bad.is_empty(),
        "file system calls in jobs/:\n{}",
        bad.join("\n")
    );
}

#[test]
fn only_the_supervisor_sets_an_operations_status() {
    let bad = offending_lines(
        &rust_files(&src("backend")),
        |rel| rel != "jobs/supervisor.rs",
        sets_status,
    );
    assert!(
        bad.is_empty(),
        "statuses set outside the supervisor:\n{}",
        bad.join("\n")
    );
}

#[test]
fn no_function_is_longer_than_120_lines() {
    let mut long = long_functions(&rust_files(&src("backend")), MAX_FN_LINES);
    long.extend(
        long_functions(&rust_files(&src("frontend")), MAX_FN_LINES)
            .into_iter()
            .map(|l| format!("frontend: {l}")),
    );
    assert!(
        long.is_empty(),
        "functions over {MAX_FN_LINES} lines:\n{}",
        long.join("\n")
    );
}

// The checkers themselves, each fed one offending snippet.

fn file(rel: &str, text: &str) -> (String, String) {
    (rel.to_owned(), text.to_owned())
}

#[test]
fn the_cycle_checker_finds_a_cycle_one_use_line_makes() {
    let mut files = vec![
        file("a.rs", "use crate::b::X;\n"),
        file(
            "b/mod.rs",
            "pub struct X;\n// crate::a in a comment is no import\n",
        ),
        file(
            "c.rs",
            "fn f() { crate::a::g(); }\n#[cfg(test)]\nuse crate::c::Y;\n",
        ),
    ];
    assert_eq!(find_cycle(&import_graph(&files)), None);
    files.push(file("b/inner.rs", "use crate::{c, a::Z};\n"));
    let cycle = find_cycle(&import_graph(&files)).unwrap();
    assert_eq!(cycle.first(), cycle.last());
    assert!(cycle.contains(&"a".to_owned()) && cycle.contains(&"b".to_owned()));
}

#[test]
fn the_file_checker_finds_a_circle_through_a_parent_and_its_child() {
    let mut files = vec![
        file(
            "a/mod.rs",
            "pub(crate) mod b;\nmod c;\npub use b::X;\npub(super) fn f() {}\n",
        ),
        file("a/b.rs", "use super::c::Y;\npub struct X;\n"),
        file(
            "a/c.rs",
            "pub struct Y;\n// use super::b::X; is a comment\n#[cfg(test)]\nuse super::*;\n",
        ),
        file("d.rs", "use crate::{a::b::X, e};\n"),
        file("e.rs", "pub(crate) fn g() { crate::a::c::h(); }\n"),
    ];
    let graph = file_graph(&files);
    assert_eq!(find_cycle(&graph), None, "{graph:#?}");
    assert!(graph["d.rs"].contains("a/b.rs") && graph["d.rs"].contains("e.rs"));
    assert!(graph["e.rs"].contains("a/c.rs"));
    // A child that imports what its parent defines, while the parent re-exports it.
    files.push(file("a/c.rs", "use super::f;\npub struct Y;\n"));
    files.swap_remove(2);
    let cycle = find_cycle(&file_graph(&files)).expect("a circle");
    assert_eq!(cycle.first(), cycle.last());
    assert!(cycle.contains(&"a/mod.rs".to_owned()), "{cycle:?}");
    // Nested groups and `super::super`.
    let files = vec![
        file("x/y/z.rs", "use super::super::{w::{self, V}};\n"),
        file("x/w.rs", "use crate::x::y::{z::Q};\n"),
        file("x/mod.rs", "mod w;\nmod y;\n"),
        file("x/y/mod.rs", "mod z;\n"),
    ];
    let cycle = find_cycle(&file_graph(&files)).expect("a circle through a nested group");
    assert!(cycle.contains(&"x/w.rs".to_owned()) && cycle.contains(&"x/y/z.rs".to_owned()));
}

#[test]
fn the_line_checkers_find_what_they_forbid() {
    let files = vec![
        file("jobs/x.rs", "let d = std::fs::read_dir(p);\n"),
        file("api/y.rs", "let c = std::process::Command::new(\"ls\");\n"),
        file(
            "api/w.rs",
            "let t = ToolCommand::new(Tool::Restic, a);\nCommand::new(\"x\")\n",
        ),
        file(
            "jobs/z.rs",
            "op.status = OperationStatus::Failed;\n#[cfg(test)]\nstd::fs::x\n",
        ),
    ];
    assert_eq!(
        offending_lines(&files, |r| r.starts_with("jobs/"), touches_files).len(),
        1
    );
    assert_eq!(offending_lines(&files, |_| true, starts_process).len(), 2);
    let named = vec![
        file(
            "runtime/kubernetes/a.rs",
            "use crate::runtime::local::Runner;\n",
        ),
        file("runtime/host/b.rs", "use super::super::local::x;\n"),
        file("cli.rs", "use crate::runtime::local::LocalRuntime;\n"),
        file(
            "jobs/c.rs",
            "fn f() {}\n#[cfg(test)]\nuse crate::runtime::local::LocalRuntime;\n",
        ),
    ];
    assert_eq!(
        offending_lines(&named, |r| r != "cli.rs", names_local).len(),
        2
    );
    assert_eq!(
        offending_lines(&files, |r| r != "jobs/supervisor.rs", sets_status).len(),
        1
    );
}

#[test]
fn the_length_checker_counts_from_fn_to_its_brace() {
    let body = "    x();\n".repeat(5);
    let files = vec![file(
        "a.rs",
        &format!(
            "pub fn long() {{\n{body}}}\n\ntrait T {{\n    fn decl(&self);\n}}\nfn short() {{}}\n"
        ),
    )];
    assert_eq!(long_functions(&files, 6), vec!["a.rs:1 fn long (7 lines)"]);
    assert!(long_functions(&files, 7).is_empty());
}

#[test]
fn the_length_checker_finds_every_form_of_function() {
    let body = "        x();\n".repeat(121);
    for head in [
        "pub(super) async fn f()",
        "pub(crate) fn f()",
        "pub(in crate::jobs) fn f()",
        "async fn f()",
        "const fn f()",
        "unsafe fn f()",
        "pub async unsafe fn f()",
        "pub const unsafe fn f()",
        "extern \"C\" fn f()",
        "pub unsafe extern \"C\" fn f()",
    ] {
        // In an impl, and as a trait's provided method.
        for (open, close) in [("impl S {", "}"), ("trait T {", "}")] {
            let text = format!("{open}\n    {head} {{\n{body}    }}\n{close}\n");
            let found = long_functions(&[file("a.rs", &text)], MAX_FN_LINES);
            assert_eq!(found, vec!["a.rs:2 fn f (123 lines)"], "{head} in {open}");
        }
    }
    for not_fn in [
        "const F: fn() = g;",
        "pub struct fn_like;",
        "let f = |x| x;",
    ] {
        assert_eq!(after_fn_keyword(not_fn), None, "{not_fn}");
    }
}
