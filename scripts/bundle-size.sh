#!/usr/bin/env bash
# Prints the size of the release bundle in dist/ (wasm and JS), raw and gzip -9.
set -euo pipefail
cd "$(dirname "$0")/../dist"
total_raw=0; total_gz=0
for f in *.wasm *.js; do
  raw=$(stat -c %s "$f"); gz=$(gzip -9 -c "$f" | wc -c)
  printf '%-32s %9d B raw %9d B gzip\n' "$f" "$raw" "$gz"
  total_raw=$((total_raw + raw)); total_gz=$((total_gz + gz))
done
printf '%-32s %9d B raw %9d B gzip (%d KiB)\n' "total" "$total_raw" "$total_gz" $((total_gz / 1024))
