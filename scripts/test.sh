#!/usr/bin/env bash
# The whole test suite: unit and integration tests on SQLite and on PostgreSQL, the
# interoperability tests (openid-client from npm, Authlib from PyPI) against the
# release binary, and the browser journey (Debian's Chromium, playwright-core) through
# the two demo portals.
#
# Needs PostgreSQL at $IDP_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test);
# every test creates its own database there.
set -euo pipefail
cd "$(dirname "$0")/.."

export IDP_TEST_POSTGRES_URL=${IDP_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}

# Every integration test creates its own database: drop them before and after the run.
drop_test_databases() {
  psql "$IDP_TEST_POSTGRES_URL" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'idp_t_%'" |
    while read -r db; do psql "$IDP_TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS \"$db\""; done
}
drop_test_databases
trap drop_test_databases EXIT

echo "== cargo test (SQLite)"
IDP_TEST_DATABASE=sqlite cargo test --workspace

echo "== cargo test (PostgreSQL)"
IDP_TEST_DATABASE=postgres cargo test --workspace

echo "== interoperability tests"
tests/interop/run.sh

echo "== browser journey"
tests/browser/run.sh

echo "== all tests passed"
