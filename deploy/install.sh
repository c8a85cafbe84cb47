#!/usr/bin/env bash
# Installs Lifeboat into a Dash Enterprise namespace, from deploy/lifeboat.yaml; with --try,
# then runs one backup and one restore in place through Lifeboat's API.
#
#   deploy/install.sh <namespace> [--image <image>] [--oidc-issuer <url>] [--try]
#
# --oidc-issuer: the Keycloak realm whose `admin` users may sign in (bearer tokens and the
# page's "Sign in with Keycloak"), e.g. http://keycloak.<namespace>.svc:8080/auth/realms/dash.
#
# Before it, in that namespace (see README, "Running it"):
#   - the Secret lifeboat-pgbackrest-client: ca.crt, tls.crt, tls.key, a client certificate
#     (CN lifeboat) signed by the CA of the system Postgres' `pgbackrest server` sidecar,
#     whose server certificate names lifeboat.<namespace>.svc;
#   - for a bucket, the Secret lifeboat-storage (`kubectl create secret generic`, README).
# The Secret lifeboat-admin (the admin bearer token) is created when it is missing.
#
# Environment: KUBECTL (default kubectl; its KUBECONFIG as usual); for --try, LIFEBOAT_URL
# (default: a `kubectl port-forward` of the Service on 127.0.0.1:$LIFEBOAT_PORT, 18080) and
# LIFEBOAT_TOKEN (default: read from the Secret lifeboat-admin). --try needs curl and jq.

set -euo pipefail

die() { echo "install.sh: $*" >&2; exit 1; }
say() { echo "[lifeboat] $*"; }

usage() {
  sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

[ $# -ge 1 ] || usage 2
case $1 in -h|--help) usage 0 ;; esac
NAMESPACE=$1
shift
IMAGE=""
ISSUER=""
TRY=0
while [ $# -gt 0 ]; do
  case $1 in
    --image) [ $# -ge 2 ] || die "--image needs a value"; IMAGE=$2; shift ;;
    --oidc-issuer) [ $# -ge 2 ] || die "--oidc-issuer needs a value"; ISSUER=$2; shift ;;
    --try) TRY=1 ;;
    -h|--help) usage 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
  shift
done
[[ $NAMESPACE =~ ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$ ]] || die "not a namespace name: $NAMESPACE"
[ -z "$ISSUER" ] || [[ $ISSUER =~ ^https?://[-A-Za-z0-9.:_/]+$ ]] ||
  die "--oidc-issuer is not an http(s) URL: $ISSUER"

KUBECTL=${KUBECTL:-kubectl}
here=$(cd "$(dirname "$0")" && pwd)
k() { "$KUBECTL" -n "$NAMESPACE" "$@"; }

command -v "$KUBECTL" >/dev/null || die "$KUBECTL not found (set KUBECTL)"
"$KUBECTL" get namespace "$NAMESPACE" >/dev/null || die "no namespace $NAMESPACE (install Dash Enterprise first)"
k get secret lifeboat-pgbackrest-client >/dev/null 2>&1 ||
  die "no Secret lifeboat-pgbackrest-client in $NAMESPACE: create it with ca.crt, tls.crt and tls.key (a client certificate, CN lifeboat, signed by the CA of the system Postgres' pgbackrest server): kubectl -n $NAMESPACE create secret generic lifeboat-pgbackrest-client --from-file=ca.crt=... --from-file=tls.crt=... --from-file=tls.key=..."
if ! k get secret lifeboat-admin >/dev/null 2>&1; then
  command -v openssl >/dev/null || die "openssl is needed to make the admin token"
  token=$(openssl rand -hex 24) && [ ${#token} -eq 48 ] || die "openssl made no admin token"
  # From standard input, so that the token never shows in a process list.
  printf '%s' "$token" | k create secret generic lifeboat-admin --from-file=token=/dev/stdin >/dev/null
  unset token
  say "created the Secret lifeboat-admin; read the admin token with: $KUBECTL -n $NAMESPACE get secret lifeboat-admin -o jsonpath='{.data.token}' | base64 -d"
fi

manifest=$(sed "s/NAMESPACE/$NAMESPACE/g" "$here/lifeboat.yaml")
if [ -n "$IMAGE" ]; then
  manifest=$(printf '%s\n' "$manifest" | sed "s|^\(  *\)image: lifeboat:.*|\1image: $IMAGE|")
fi
if [ -n "$ISSUER" ]; then
  manifest=$(printf '%s\n' "$manifest" |
    sed "s|^\(  *\)# LIFEBOAT_OIDC_ISSUER.*|\1- {name: LIFEBOAT_OIDC_ISSUER, value: \"$ISSUER\"}|")
fi
printf '%s\n' "$manifest" | "$KUBECTL" apply -f - >/dev/null
say "applied deploy/lifeboat.yaml to $NAMESPACE; waiting for Lifeboat to be ready"
k rollout status deployment/lifeboat --timeout=300s >/dev/null ||
  die "Lifeboat did not become ready within 300 s: $KUBECTL -n $NAMESPACE describe pod -l app=lifeboat"
say "Lifeboat runs in $NAMESPACE. Its page: $KUBECTL -n $NAMESPACE port-forward svc/lifeboat 8080:8080, then http://127.0.0.1:8080/"
[ "$TRY" = 1 ] || exit 0

# --try: one backup and one restore in place, through the API.
for tool in curl jq; do command -v $tool >/dev/null || die "--try needs $tool"; done
URL=${LIFEBOAT_URL:-}
if [ -z "$URL" ]; then
  port=${LIFEBOAT_PORT:-18080}
  forward_log=$(mktemp)
  "$KUBECTL" -n "$NAMESPACE" port-forward svc/lifeboat "$port:8080" >"$forward_log" 2>&1 &
  forward=$!
  trap 'kill "$forward" 2>/dev/null || true; rm -f "$forward_log"' EXIT
  sleep 2
  kill -0 "$forward" 2>/dev/null || die "kubectl port-forward failed: $(cat "$forward_log")"
  URL=http://127.0.0.1:$port
fi
TOKEN=${LIFEBOAT_TOKEN:-$(k get secret lifeboat-admin -o jsonpath='{.data.token}' | base64 -d)}
[ -n "$TOKEN" ] || die "no admin token (the Secret lifeboat-admin, or LIFEBOAT_TOKEN)"
# The token goes to curl on its standard input (a header file), never on its command line.
api() {
  printf 'Authorization: Bearer %s\n' "$TOKEN" |
    curl -sS --max-time 30 -H @- -H 'Content-Type: application/json' "$@"
}

deadline=$((SECONDS + 300))
until [ "$(api -o /dev/null -w '%{http_code}' "$URL/api/v1/instance" 2>/dev/null)" = 200 ]; do
  [ $SECONDS -lt $deadline ] || die "Lifeboat's instance did not come up within 300 s ($URL/api/v1/instance)"
  sleep 2
done

# Runs an operation (POST $1 with body $2) to its end; prints the final operation.
run() {
  local answer id status
  answer=$(api -X POST "$URL$1" -d "$2")
  id=$(jq -r '.id // empty' <<<"$answer")
  [ -n "$id" ] || die "POST $1 was refused: $answer"
  local until=$((SECONDS + 1800))
  while :; do
    # One failed poll (a Lifeboat restarting, a dropped connection) is asked again.
    answer=$(api "$URL/api/v1/operations/$id" 2>/dev/null) || answer='{"status":"running"}'
    status=$(jq -r '.status // "running"' <<<"$answer" 2>/dev/null) || status=running
    case $status in
      pending|running) ;;
      succeeded|succeeded_with_warnings) printf '%s\n' "$answer"; return 0 ;;
      *) die "operation $id ended $status: $(jq -c .error <<<"$answer")" ;;
    esac
    [ $SECONDS -lt $until ] || die "operation $id still runs after 30 minutes"
    sleep 2
  done
}

say "backup now"
backup=$(run /api/v1/backups "$(jq -n '{description: "deploy/install.sh --try"}')")
id=$(jq -r .outcome.backup_id <<<"$backup")
say "backed up: $id"
say "restore $id in place into $NAMESPACE"
restore=$(run "/api/v1/backups/$id/restore" \
  "$(jq -n --arg ns "$NAMESPACE" '{confirmation: "restore backup", target_namespace: $ns}')")
say "restored; what to do next:"
jq -r '.outcome.checklist[] | "  - \(.action): \(.subject)"' <<<"$restore"
