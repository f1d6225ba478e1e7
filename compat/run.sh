#!/usr/bin/env bash
# The compatibility gate: runs the reference scenarios against gatehouse on a
# fresh SQLite database loaded with the reference fixture, and compares the
# recording with Django's. Differences must be listed in deviations.txt
# (deliberate, with a reason) or pending.txt (not built yet, naming the issue).
# Also fails when any response of gatehouse is a 5xx.
#
#   bash compat/run.sh            # from the repository root
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ref=${GATEHOUSE_REFERENCE:-$root/../shared/reference}
py=/usr/bin/python3
out=$root/compat/out
mkdir -p "$out"
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
pid=

(cd "$root" && go build -o "$work/gatehouse" ./cmd/gatehouse)

port=${GATEHOUSE_COMPAT_PORT:-18765}
export GATEHOUSE_DATABASE_URL="$work/compat.db"
export GATEHOUSE_SECRET_KEY="compat-gate-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
# The scenarios forge JWTs with the reference's HS256 key.
export GATEHOUSE_JWT_SIGNING_KEY="django-ref-insecure-fixed-secret-key-for-black-box-tests-0123456789"
# The reference applies no password validators through the API and the
# scenarios create users with one-letter passwords; gatehouse validates by
# default (see compat/deviations.txt), so the gate turns validation off to
# compare everything else. server tests cover validation on.
export GATEHOUSE_PASSWORD_VALIDATION=false
export GATEHOUSE_ADDR="127.0.0.1:$port"
export GATEHOUSE_LOG_LEVEL=warn

"$work/gatehouse" loaddata "$ref/django-dumpdata.json" >"$out/loaddata.log" 2>&1 || {
  cat "$out/loaddata.log"; echo "compat: loaddata failed"; exit 1; }
"$work/gatehouse" serve >"$out/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || { cat "$out/server.log"; echo "compat: server not ready"; exit 1; }

$py "$ref/scenarios.py" --base "http://127.0.0.1:$port" --out "$out/gatehouse-recording.json" >"$out/scenarios.log" 2>&1

cat "$root/compat/deviations.txt" "$root/compat/pending.txt" >"$work/allow.txt"
set +e
$py "$ref/diff_recordings.py" "$ref/django-recording.json" "$out/gatehouse-recording.json" \
  --allow "$work/allow.txt" >"$out/diff.txt" 2>&1
status=$?
set -e
grep -E '^(DIFF|STALE)' "$out/diff.txt" || true
errors=$($py - "$out/gatehouse-recording.json" <<'PY'
import json, sys
steps = json.load(open(sys.argv[1]))["steps"]
bad = [s["name"] for s in steps if s["status"] >= 500]
for n in bad:
    print("5xx:", n)
sys.exit(1 if bad else 0)
PY
) || { echo "$errors"; echo "compat: gatehouse answered 5xx"; status=1; }
# client_check LABEL PACKAGE LOG PROBE -- COMMAND...: runs one real client
# against the same server when PROBE (a command) succeeds, printing its last
# line; a failed run fails the gate, and so does a missing PACKAGE in CI.
client_check() {
  local label=$1 pkg=$2 log="$out/$3.log" probe=$4
  shift 5
  if ! bash -c "$probe" >/dev/null 2>&1; then
    if [ "${CI:-}" = "true" ]; then
      echo "compat: $pkg is missing in CI"; status=1
    else
      echo "compat: $label skipped (apt-get install $pkg)"
    fi
  elif "$@" >"$log" 2>&1; then
    echo "$label: $(tail -n 1 "$log")"
  else
    cat "$log"; echo "compat: $label failed"; status=1
  fi
}
base="http://127.0.0.1:$port"
# Python's requests-oauthlib and Ruby's oauth2 gem, and a Django service
# checking tokens with DOT's own resource-server mode
# (RESOURCE_SERVER_INTROSPECTION_URL).
client_check requests-oauthlib python3-requests-oauthlib oauthlib "$py -c 'import requests_oauthlib'" -- \
  $py "$root/compat/oauthlib_client.py" --base "$base"
client_check "ruby oauth2" ruby-oauth2 ruby-oauth2 "ruby -e 'require \"oauth2\"'" -- \
  ruby "$root/compat/ruby_oauth2_client.rb" "$base"
client_check "DOT resource server" python3-django-oauth-toolkit dot-resource-server "$py -c 'import oauth2_provider, rest_framework'" -- \
  $py "$root/compat/dot_resource_server.py" --base "$base"
echo "compat: $(grep -c . "$root/compat/deviations.txt" | tr -d ' ') deviation lines, $(grep -vc '^\s*\(#\|$\)' "$root/compat/pending.txt" || true) pending lines"
tail -n 1 "$out/diff.txt"
exit $status
