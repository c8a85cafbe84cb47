# Lifeboat's command index. `make` lists the targets.
#
#   make run    installs what is missing, builds the page, starts `lifeboat serve`
#   make test   installs what is missing, then runs every test tier (what CI runs)

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
ROOT := $(CURDIR)
export PATH := $(ROOT)/.tools/npm/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
export TRUNK_OFFLINE := true
export CHROMEDRIVER ?= /usr/bin/chromedriver
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER := wasm-bindgen-test-runner
# The wasm bundle is built for size; the server's release build is not affected.
WASM_PROFILE := CARGO_PROFILE_RELEASE_OPT_LEVEL=z CARGO_PROFILE_RELEASE_LTO=true \
	CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 CARGO_PROFILE_RELEASE_PANIC=abort
DATA_DIR ?= $(ROOT)/.data
LISTEN ?= 127.0.0.1:8080

.PHONY: help install install-run run ui serve cluster test tiers lint unit node-test wasm-test e2e k8s-test size bench-smoke bench faults soak
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: ## install every pinned tool the tests need (idempotent)
	scripts/install.sh all

install-run: ## install only what running Lifeboat and building the page need
	scripts/install.sh run

# The server's build needs none of the installed tools, so it starts at once and runs beside
# the installs and the page's build (its output in target/server-build.log).
run: ## install what is missing, build the page and the server, start Lifeboat on $(LISTEN)
	@mkdir -p target
	@echo "[run] building the server beside the installs (log: target/server-build.log)"
	cargo build --locked -p lifeboat >target/server-build.log 2>&1 & server=$$!; \
	  trap 'kill $$server 2>/dev/null || true' EXIT; \
	  $(MAKE) --no-print-directory install-run ui; \
	  wait $$server || { tail -40 target/server-build.log; echo "[run] the server's build failed"; exit 1; }
	cargo run --locked -p lifeboat -- serve --listen $(LISTEN) --data-dir $(DATA_DIR) --static-dir $(ROOT)/dist

ui: install-run ## build the page into dist/ (offline trunk, wasm-opt from npm binaryen)
	$(WASM_PROFILE) trunk build --release

serve: install-run ## start Lifeboat from the existing build
	cargo run --locked -p lifeboat -- serve --listen $(LISTEN) --data-dir $(DATA_DIR) --static-dir $(ROOT)/dist

# The binary the end-to-end tests run, built with the harness beside it: Cargo then
# resolves the dependencies' features as `cargo test` does, so no dependency is built twice
# (`cargo build -p lifeboat` alone resolves them without the test crates' and rebuilds
# about sixty crates, three minutes on two cores).
BIN_PACKAGES := -p lifeboat -p lifeboat-e2e

# `tiers` runs what `unit`, `e2e` and `bench-smoke` run, with their binaries side by side.
# The control plane's Go build (minutes, cold) runs in the background from `install` on;
# `tiers` and `node-test` wait for it (`scripts/install.sh cluster`) when they need it.
test: export LIFEBOAT_CLUSTER_BUILD = background
test: install lint ui wasm-test tiers node-test size ## every test tier (what CI runs)
	@echo "make test: all tiers passed"

# The unit, end-to-end and benchmark-smoke binaries, built once and run a few at a time
# (LIFEBOAT_TEST_JOBS, default 3): most of them wait on servers, not on the CPU.
tiers: install ui ## unit, e2e and bench-smoke side by side (what `make test` runs); logs in target/test-logs
	scripts/test-tiers.sh

lint: install-run ## rustfmt and clippy (host and wasm32) with -D warnings
	cargo fmt --all --check
	cargo clippy --locked --workspace --all-targets -- -D warnings
	cargo clippy --locked -p lifeboat-frontend --target wasm32-unknown-unknown --all-targets -- -D warnings

unit: install ## unit, router and integration tests of the server and the wire types (native)
	cargo test --locked -p lifeboat-shared -p lifeboat

# The node stand-in's own tests (pod status, /etc/hosts, env resolution). install.sh keeps
# the node's Go caches (in $LIFEBOAT_CACHE/k8s-<version>/node-go), so only the first run
# downloads and compiles its dependencies; scripts/node-test.sh uses the same ones.
node-test: ## the node stand-in's own Go tests (go vet, go test in cluster/node)
	scripts/install.sh cluster
	scripts/node-test.sh

# The frontend's own module tests run here too, in the browser like the page (not natively:
# that was a second build of yew and its dependencies for the host, two minutes of CI).
wasm-test: install ## the frontend's module and component tests in headless Chromium (wasm-bindgen-test)
	cargo test --locked -p lifeboat-frontend --target wasm32-unknown-unknown

e2e: install ## end-to-end: the real binary, real tools, headless Chromium
	cargo build --locked $(BIN_PACKAGES)
	cargo test --locked -p lifeboat-e2e -- --test-threads=2

cluster: install ## a control plane, the node and a Dash Enterprise-shaped namespace; writes .cluster/env; Ctrl-C stops it
	cargo build --locked $(BIN_PACKAGES)
	cargo run --locked -p lifeboat-e2e --bin cluster

k8s-test: install ## the real Kubernetes control plane and node (part of e2e): tests that it is real
	cargo test --locked -p lifeboat-e2e --test k8s_cluster -- --nocapture

size: install-run ## print the release bundle's size (raw and gzipped); fail over 250 KiB gzipped
	scripts/bundle-size.sh

# The benchmarks are `#[ignore]`d tests that print figures (they assert behaviour, never
# speed). CI runs them on a small data set so the commands stay working; `make bench` gives
# the figures quoted in docs/figures.md (about 1 GB of data, minutes, ~6 GB of disk).
BENCH_SCALE ?= 60
bench-smoke: install ui ## run every benchmark on a tiny data set (they must work; figures are not goals here)
	LIFEBOAT_BENCH_SCALE=2 LIFEBOAT_BENCH_ROUNDS=1 cargo test --locked -p lifeboat --test backup_bench --test restore_bench -- --ignored --nocapture --test-threads=1
	LIFEBOAT_APPS_BENCH_SIZE=0.005 cargo test --locked -p lifeboat --test apps_bench -- --ignored --nocapture
	LIFEBOAT_KC_BENCH_USERS=200 cargo test --locked -p lifeboat --test keycloak_bench -- --ignored --nocapture
	cargo build --locked $(BIN_PACKAGES)
	cargo test --locked -p lifeboat-e2e --test render_bench -- --ignored --nocapture
	LIFEBOAT_K8S_BENCH_SCALE=2 LIFEBOAT_K8S_BENCH_ROUNDS=1 cargo test --locked -p lifeboat-e2e --test k8s_bench -- --ignored --nocapture
	LIFEBOAT_LOAD_SECONDS=20 LIFEBOAT_LOAD_CLIENTS=20 LIFEBOAT_LOAD_RPS=10 LIFEBOAT_LOAD_ROWS=20000 \
		cargo test --locked -p lifeboat-e2e --test api_load -- --ignored --nocapture

# Issue 15's fault matrix: every bucket fault (a server that stops answering included) on a
# backup and on a restore, and the kill tests. CI runs each bucket fault once (faults_bucket
# in e2e); this runs them all, with harsher settings.
faults: install ## the whole fault matrix (bucket faults through the fault proxy, kills); minutes
	cargo build --locked $(BIN_PACKAGES)
	LIFEBOAT_FAULTS=all cargo test --locked -p lifeboat-e2e --test faults_bucket -- --nocapture
	LIFEBOAT_FAULTS=all cargo test --locked -p lifeboat --test bucket_damage --test killed_at_every_step \
		--test backup_killed --test restore_killed --test startup_lock --test disk_full \
		--test postgres_killed -- --nocapture

# Issue 15's soak: an hour (SOAK_MINUTES) of scheduled backups every minute, restores every
# ten minutes checked row for row, a write load, bucket faults a fifth of the time and
# stream clients coming and going; prints its summary at the end. Not in CI.
SOAK_MINUTES ?= 60
soak: install ## the soak: $(SOAK_MINUTES) minutes of everything at once, then its summary
	cargo build --locked $(BIN_PACKAGES)
	LIFEBOAT_SOAK_MINUTES=$(SOAK_MINUTES) cargo test --locked -p lifeboat-e2e --test soak -- --ignored --nocapture

K8S_BENCH_SCALE ?= 20
APPS_BENCH_SIZE ?= 1
APPS_BENCH_ROUNDS ?= 3
K8S_BENCH_ROUNDS ?= 5
bench: install ui ## the benchmarks on about 1 GB (pgbench scale $(BENCH_SCALE)), release build
	LIFEBOAT_BENCH_SCALE=$(BENCH_SCALE) cargo test --locked --release -p lifeboat --test backup_bench --test restore_bench -- --ignored --nocapture --test-threads=1
	LIFEBOAT_APPS_BENCH_SIZE=$(APPS_BENCH_SIZE) LIFEBOAT_APPS_BENCH_ROUNDS=$(APPS_BENCH_ROUNDS) cargo test --locked --release -p lifeboat --test apps_bench -- --ignored --nocapture
	cargo test --locked --release -p lifeboat --test keycloak_bench -- --ignored --nocapture
	cargo build --locked $(BIN_PACKAGES)
	cargo test --locked -p lifeboat-e2e --test render_bench -- --ignored --nocapture
	cargo build --locked --release -p lifeboat
	LIFEBOAT_BIN=$(CURDIR)/target/release/lifeboat LIFEBOAT_K8S_BENCH_SCALE=$(K8S_BENCH_SCALE) LIFEBOAT_K8S_BENCH_ROUNDS=$(K8S_BENCH_ROUNDS) cargo test --locked -p lifeboat-e2e --test k8s_bench -- --ignored --nocapture
	cargo test --locked -p lifeboat-e2e --test api_load -- --ignored --nocapture
