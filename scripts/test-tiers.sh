#!/usr/bin/env bash
# The unit, end-to-end and benchmark-smoke tiers of `make test`, run side by side.
#
# Most of these test binaries wait on servers (PostgreSQL, Keycloak, restic against a bucket
# emulator, a control plane) rather than on the CPU, so running a few at once takes about
# half the time of running them one after the other, as `cargo test` does. The binaries are
# built first with the same cargo commands as `make unit`, `make e2e` and `make bench-smoke`
# (so nothing is built twice), then run here as cargo would run them: from their package's
# folder, with the arguments and environment those targets give them.
#
#   scripts/test-tiers.sh                 build, then run every tier's binaries
#   scripts/test-tiers.sh 'k8s_|restore'  build, then run only those whose names match (grep -E)
#   LIFEBOAT_TEST_JOBS=4 scripts/...      how many binaries run at once (default 3)
#   LIFEBOAT_TEST_LOGS=<dir>              where each binary's output goes (default target/test-logs)
#
# Each binary's whole output is in its log; a failing one's is printed at the end, and the
# script exits non-zero if any failed (the others still run to the end).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${LIFEBOAT_TEST_JOBS:-3}
case "$JOBS" in '' | *[!0-9]* | 0) echo "LIFEBOAT_TEST_JOBS must be a number of 1 or more" >&2; exit 2 ;; esac
LOGS=${LIFEBOAT_TEST_LOGS:-$ROOT/target/test-logs}
rm -rf "$LOGS"
mkdir -p "$LOGS"

# --- build: the same cargo commands as `make unit`, `make e2e` and `make bench-smoke` -------
# `--message-format=json` names every test executable with its package's manifest.
executables() { # cargo arguments...
  cargo test --locked --no-run --message-format=json-render-diagnostics "$@" |
    python3 scripts/test_executables.py
}
list=$LOGS/.executables
executables -p lifeboat-shared -p lifeboat >"$list"
cargo build --locked -p lifeboat -p lifeboat-e2e # the binary the end-to-end tests run
executables -p lifeboat-e2e >>"$list"
if [ -n "${1:-}" ]; then
  grep -E "^[^[:space:]]*($1)" "$list" >"$list.only" || { echo "test-tiers: no test binary matches '$1'" >&2; exit 2; }
  mv "$list.only" "$list"
fi
# The control plane the Kubernetes tests start: waits for a build `make test` started in the
# background, or builds it.
scripts/install.sh cluster

# --- what each binary is given --------------------------------------------------------------
# The benchmarks' binaries hold only `#[ignore]`d tests; here they run on a tiny data set so
# the commands keep working (their figures are not goals here: `make bench` gives those).
args_for() { # name, package dir
  case "$1" in
  backup_bench | restore_bench) echo "--include-ignored --nocapture --test-threads=1" ;;
  apps_bench) echo "--include-ignored --nocapture" ;;
  keycloak_bench | render_bench | k8s_bench | api_load) echo "--include-ignored --nocapture" ;;
  *) case "$2" in */tests) echo "--test-threads=2" ;; *) echo "" ;; esac ;;
  esac
}
env_for() { # name
  case "$1" in
  backup_bench | restore_bench) echo "LIFEBOAT_BENCH_SCALE=2 LIFEBOAT_BENCH_ROUNDS=1" ;;
  keycloak_bench) echo "LIFEBOAT_KC_BENCH_USERS=200" ;;
  apps_bench) echo "LIFEBOAT_APPS_BENCH_SIZE=0.005" ;;
  k8s_bench) echo "LIFEBOAT_K8S_BENCH_SCALE=2 LIFEBOAT_K8S_BENCH_ROUNDS=1" ;;
  api_load) echo "LIFEBOAT_LOAD_SECONDS=20 LIFEBOAT_LOAD_CLIENTS=20 LIFEBOAT_LOAD_RPS=10 LIFEBOAT_LOAD_ROWS=20000" ;;
  esac
}
# The longest first (measured in CI), so that the last few to finish are short ones.
SLOW_FIRST="k8s_backup k8s_keycloak k8s_apps keycloak_demo killed_at_every_step faults_bucket k8s_bench
  keycloak_bench instance_contract api_load disk_full backup_bench restore_bench backup_schedule
  keycloak_real restore_flow page_second_pass bucket_damage progress_display"

order() {
  local n
  for n in $SLOW_FIRST; do grep "^$n"$'\t' "$list" || true; done
  grep -v -E "^($(echo $SLOW_FIRST | tr ' ' '|'))"$'\t' "$list" || true
}

# --- run ---------------------------------------------------------------------------------------
# Each binary runs in a process group of its own (setsid), so that an interrupted run stops
# it and whatever it started (its Postgres, Keycloak, control plane) rather than leaving them.
run_one() { # name, package dir, executable
  local name=$1 dir=$2 exe=$3 log=$LOGS/$1.log start rc
  start=$(date +%s)
  # shellcheck disable=SC2046 # the arguments and variables are words
  (cd "$dir" && exec setsid env CARGO_MANIFEST_DIR="$dir" $(env_for "$name") "$exe" $(args_for "$name" "$dir")) \
    >"$log" 2>&1 &
  echo $! >"$LOGS/$name.session" # setsid made its pid its session's id
  wait $! && rc=0 || rc=$?
  finished "$name" "$rc" "$start"
}

finished() { # name, exit status, start: written whole, then renamed, so never read half-written
  echo "$2 $(($(date +%s) - $3))" >"$LOGS/$1.log.done.tmp"
  mv "$LOGS/$1.log.done.tmp" "$LOGS/$1.log.done"
}

doc_tests() { # the doctests (a `compile_fail` one among them) are not in any executable
  local start rc log=$LOGS/doctests.log
  start=$(date +%s)
  cargo test --locked --doc -p lifeboat-shared -p lifeboat >"$log" 2>&1 && rc=0 || rc=$?
  finished doctests "$rc" "$start"
}

report() { # name: prints one line for a finished binary, and returns its exit status
  local rc secs
  read -r rc secs <"$LOGS/$1.log.done"
  if [ "$rc" = 0 ]; then
    printf '  ok    %-24s %4ss  %s\n' "$1" "$secs" "$(grep -E '^test result' "$LOGS/$1.log" | tail -1 | sed -E 's/.*ok\. ([0-9]+ passed; [0-9]+ failed; [0-9]+ ignored).*/\1/')"
  else
    printf '  FAIL  %-24s %4ss  (exit %s; its output is below)\n' "$1" "$secs" "$rc"
  fi
  return "$rc"
}

total=$(wc -l <"$list")
[ -n "${1:-}" ] || total=$((total + 1))
what=" (the doctests counted as one)"
[ -z "${1:-}" ] || what=" matching '$1'"
echo "test-tiers: $total test binaries$what, $JOBS at a time; logs in $LOGS"
started=$(date +%s)
declare -A pending=()
stop_all() { # stops every binary still running, with what it started
  local name
  for name in "${!pending[@]}"; do
    [ -f "$LOGS/$name.session" ] && pkill -TERM -s "$(cat "$LOGS/$name.session")" 2>/dev/null || true
  done
}
trap 'stop_all; echo "test-tiers: interrupted" >&2; exit 130' INT TERM
if [ -z "${1:-}" ]; then
  doc_tests &
  pending[doctests]=$!
fi
failed=()
reap() { # waits for one binary to finish and reports it
  local name
  wait -n || true
  for name in "${!pending[@]}"; do
    if [ -f "$LOGS/$name.log.done" ]; then
      unset "pending[$name]"
      report "$name" || failed+=("$name")
    fi
  done
}
while IFS=$'\t' read -r name dir exe; do
  while [ "${#pending[@]}" -ge "$JOBS" ]; do reap; done
  run_one "$name" "$dir" "$exe" &
  pending[$name]=$!
done < <(order)
while [ "${#pending[@]}" -gt 0 ]; do reap; done

echo "test-tiers: $total binaries in $(($(date +%s) - started))s"
if [ ${#failed[@]} -gt 0 ]; then
  for name in "${failed[@]}"; do
    echo
    echo "===== $name (the whole output: $LOGS/$name.log) ====="
    cat "$LOGS/$name.log"
  done
  echo
  echo "test-tiers: FAILED: ${failed[*]}"
  exit 1
fi
