#!/usr/bin/env bash
# The node stand-in's own Go tests (cluster/node): `go vet` and `go test`, with the Go build
# and module caches scripts/install.sh keeps for the node (`$LIFEBOAT_CACHE/k8s-<version>/
# node-go`), so only the first run downloads and compiles its dependencies. Run
# `scripts/install.sh cluster` first (`make node-test` does); arguments go to `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."
# The version install.sh pins, read from it so the two cannot name different folders.
K8S_VERSION=$(sed -n 's/^K8S_VERSION=\([^[:space:]]*\).*/\1/p' scripts/install.sh)
[ -n "$K8S_VERSION" ] || { echo "node-test: no K8S_VERSION= line in scripts/install.sh" >&2; exit 1; }
dir="${LIFEBOAT_CACHE:-$HOME/.cache/lifeboat}/k8s-$K8S_VERSION/node-go"
# The flags install.sh builds the node with (-trimpath included), so the compiled
# dependencies in the cache serve both.
export GOTOOLCHAIN=local GOFLAGS="-mod=readonly -modcacherw"
export GOCACHE="$dir/cache" GOMODCACHE="$dir/mod"
cd cluster/node
go vet -trimpath ./...
go test -trimpath "$@" ./...
