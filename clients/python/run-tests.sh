#!/usr/bin/env bash
# gatehouse_drf's tests: the unit tests against a fake gatehouse, then the
# test project against a real gatehouse built from this checkout, on a
# temporary SQLite database and on PostgreSQL (a fresh schema of
# GATEHOUSE_TEST_POSTGRES_URL; skipped with a message when unset or
# unreachable, a failure when GATEHOUSE_TEST_POSTGRES_REQUIRED=1).
#
# Needs Debian's python3-django, python3-djangorestframework, python3-jwt,
# python3-cryptography and python3-requests (PYTHON, default
# /usr/bin/python3, the interpreter that sees them), Go, and psql for
# PostgreSQL. GATEHOUSE_BIN names a gatehouse binary to test instead of
# building one. Prints "N passed, N failed" per run and in total.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PY="${PYTHON:-/usr/bin/python3}"
export PATH="$PATH:/usr/local/go/bin"
export PYTHONDONTWRITEBYTECODE=1

if ! "$PY" -c 'import django, rest_framework, jwt, cryptography, requests' 2>/dev/null; then
  echo "run-tests.sh: $PY lacks Django, DRF, PyJWT, cryptography or requests;" \
    "install python3-django python3-djangorestframework python3-jwt python3-cryptography python3-requests" >&2
  exit 2
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-drf-tests.XXXXXX")"
SCHEMA=""
cleanup() {
  if [ -n "$SCHEMA" ]; then
    psql "$GATEHOUSE_TEST_POSTGRES_URL" -q -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

if [ -z "${GATEHOUSE_BIN:-}" ]; then # a prebuilt binary may be named instead
  (cd "$ROOT" && go build -o "$WORK/gatehouse" ./cmd/gatehouse)
  export GATEHOUSE_BIN="$WORK/gatehouse"
fi

# The runs are independent (their own databases and ports) and
# spend most of their time waiting, so they run at once.
# start NAME LABEL... starts a run in the background; tally NAME reads its
# log and adds its counts to the totals.
start() {
  local name="$1"
  shift
  # errexit holds in the subshell too: the run's status is caught, not
  # left to end the subshell before it is written.
  (
    rc=0
    (cd "$HERE/tests" && "$PY" runtests.py "$@") >"$WORK/$name.log" 2>&1 || rc=$?
    echo "$rc" >"$WORK/$name.rc"
  ) &
}

passed=0
failed=0
tally() {
  local name="$1" out="$WORK/$1.log" rc ran fail skip
  rc=$(cat "$WORK/$name.rc" 2>/dev/null || echo "no status")
  case "$rc" in '' | *[!0-9]*) rc=1 ;; esac
  ran=$(sed -n 's/^Ran \([0-9]*\) tests\{0,1\} .*/\1/p' "$out" | tail -n1)
  # Failed tests, each counted once however many of its subtests failed.
  fail=$(grep -E '^(FAIL|ERROR): ' "$out" | sed 's/ \[.*//; s/ (.*)$//' | sort -u | wc -l || true)
  skip=$(grep -E '^(OK|FAILED) \(' "$out" | grep -oE 'skipped=[0-9]+' | awk -F= '{s+=$2} END {print s+0}' || true)
  ran=${ran:-0}
  if [ "$rc" -ne 0 ] || [ "$ran" -eq 0 ] || [ "$skip" -gt 0 ]; then
    cat "$out"
    [ "$fail" -gt 0 ] || fail=1
  else
    grep -E '^(Ran|OK)' "$out" || true
  fi
  echo "$name: $((ran - fail - skip)) passed, $fail failed, $skip skipped"
  passed=$((passed + ran - fail - skip))
  failed=$((failed + fail))
}

runs=(unit uuid sqlite)
start unit test_unit
# A project whose user model is keyed by UUIDs: another user model, so
# another process.
TEST_SETTINGS=testproject.settings_uuid start uuid test_uuid_user
GATEHOUSE_TEST_DATABASE_URL="$WORK/gatehouse.db" start sqlite test_gatehouse

pg="${GATEHOUSE_TEST_POSTGRES_URL:-}"
if [ -n "$pg" ] && command -v psql >/dev/null && psql "$pg" -q -c 'SELECT 1' >/dev/null 2>&1; then
  SCHEMA="gatehouse_drf_$$_$RANDOM"
  psql "$pg" -q -c "CREATE SCHEMA $SCHEMA" >/dev/null
  sep='?'
  case "$pg" in *\?*) sep='&' ;; esac
  GATEHOUSE_TEST_DATABASE_URL="$pg${sep}search_path=$SCHEMA" start postgres test_gatehouse
  runs+=(postgres)
elif [ "${GATEHOUSE_TEST_POSTGRES_REQUIRED:-}" = 1 ]; then
  echo "run-tests.sh: PostgreSQL is required and GATEHOUSE_TEST_POSTGRES_URL (${pg:-unset}) is unreachable or psql is missing" >&2
  failed=$((failed + 1))
else
  echo "run-tests.sh: PostgreSQL not tested (GATEHOUSE_TEST_POSTGRES_URL unset or unreachable)"
fi

wait
for name in "${runs[@]}"; do
  tally "$name"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
