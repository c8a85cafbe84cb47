#!/usr/bin/env bash
# Prints the size of the release bundle in dist/ (wasm and JS), raw and gzip -9, and fails
# when the gzipped total (every .wasm and .js, plugin.js included) is over the budget of
# 250 KiB = 250 × 1,024 = 256,000 bytes, so that `make test` (which runs `make size`) fails
# on a regression. LIMIT_GZ=<bytes> overrides the line for an experiment.
set -euo pipefail
LIMIT_GZ=${LIMIT_GZ:-256000}
cd "$(dirname "$0")/../dist"
total_raw=0; total_gz=0
for f in *.wasm *.js; do
  raw=$(stat -c %s "$f"); gz=$(gzip -9 -c "$f" | wc -c)
  printf '%-32s %9d B raw %9d B gzip\n' "$f" "$raw" "$gz"
  total_raw=$((total_raw + raw)); total_gz=$((total_gz + gz))
done
printf '%-32s %9d B raw %9d B gzip (%d KiB)\n' "total" "$total_raw" "$total_gz" $((total_gz / 1024))
if [ "$total_gz" -gt "$LIMIT_GZ" ]; then
  printf 'bundle-size: the gzipped bundle is %d B, over the budget of %d B by %d B\n' \
    "$total_gz" "$LIMIT_GZ" $((total_gz - LIMIT_GZ)) >&2
  exit 1
fi
printf 'bundle-size: within the budget of %d B: %d B to spare\n' "$LIMIT_GZ" $((LIMIT_GZ - total_gz))
