#!/usr/bin/env bash
# Trunk's post_build hook (Trunk.toml), on the staging folder of a release build:
#  1. scripts/shrink_glue.py gives the wasm's imports of wasm-bindgen's JS functions short
#     names, in the module and in the glue alike (about 180 hash-suffixed names, twice);
#  2. esbuild (npm, pinned in scripts/install.sh) minifies the glue (Trunk's own minifier
#     fails on it: `RequiredTokenNotFound(Identifier)`);
#  3. both files' SHA-384 go into index.html's `integrity` attributes, so Subresource
#     Integrity still holds.
# A debug build keeps the glue readable.
set -euo pipefail
[ "${TRUNK_PROFILE:-}" = release ] || exit 0
here=$(cd "$(dirname "$0")" && pwd)
cd "${TRUNK_STAGING_DIR:?Trunk sets TRUNK_STAGING_DIR}"
glue=lifeboat-frontend.js
wasm=lifeboat-frontend_bg.wasm
python3 "$here/shrink_glue.py" "$wasm" "$glue"
esbuild "$glue" --minify --format=esm --log-level=warning --outfile="$glue.min"
mv "$glue.min" "$glue"
# The integrity attribute of the one element whose href is each file.
python3 - "$glue" "$wasm" <<'PY'
import base64, hashlib, re, sys
html = open("index.html", encoding="utf-8").read()
for name in sys.argv[1:]:
    sri = "sha384-" + base64.b64encode(hashlib.sha384(open(name, "rb").read()).digest()).decode()
    tag = re.compile(r"<link\b[^>]*href=[\"']?/" + re.escape(name) + r"[\"' >][^>]*>")
    def fix(m):
        return re.sub(r"integrity=[\"']?sha384-[A-Za-z0-9+/=]+[\"']?", f'integrity="{sri}"', m.group(0))
    html, n = tag.subn(fix, html)
    if n != 1 or sri not in html:
        sys.exit(f"minify-glue: expected one <link> to {name} with an integrity attribute, found {n}")
open("index.html", "w", encoding="utf-8").write(html)
PY
