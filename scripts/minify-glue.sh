#!/usr/bin/env bash
# Trunk's post_build hook (Trunk.toml): minifies wasm-bindgen's JS glue in the staging
# folder with esbuild (npm, pinned in scripts/install.sh) and writes the new file's
# SHA-384 into index.html's `integrity` for it, so Subresource Integrity still holds.
# Trunk's own minifier fails on the glue (`RequiredTokenNotFound(Identifier)`).
# Release builds only: a debug build keeps the glue readable.
set -euo pipefail
[ "${TRUNK_PROFILE:-}" = release ] || exit 0
cd "${TRUNK_STAGING_DIR:?Trunk sets TRUNK_STAGING_DIR}"
glue=lifeboat-frontend.js
esbuild "$glue" --minify --format=esm --log-level=warning --outfile="$glue.min"
mv "$glue.min" "$glue"
sri="sha384-$(openssl dgst -sha384 -binary "$glue" | base64 -w0)"
# The integrity attribute of the element whose href is the glue, wherever it sits in the tag.
python3 - "$glue" "$sri" <<'PY'
import re, sys
glue, sri = sys.argv[1], sys.argv[2]
html = open("index.html", encoding="utf-8").read()
tag = re.compile(r"<link\b[^>]*href=[\"']?/" + re.escape(glue) + r"[\"' >][^>]*>")
def fix(m):
    return re.sub(r"integrity=[\"']?sha384-[A-Za-z0-9+/=]+[\"']?", f'integrity="{sri}"', m.group(0))
new, n = tag.subn(fix, html)
if n != 1 or sri not in new:
    sys.exit(f"minify-glue: expected one <link> to {glue} with an integrity attribute, found {n}")
open("index.html", "w", encoding="utf-8").write(new)
PY
