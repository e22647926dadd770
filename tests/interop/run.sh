#!/usr/bin/env bash
# Interoperability: the release binary against openid-client (Node) and Authlib
# (Python), on each database backend, including a signing-key rotation under each
# running client. See README.md beside this file.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BACKENDS="${IDP_INTEROP_BACKENDS:-sqlite postgres}"
PG=(-h 127.0.0.1 -p 5432 -U postgres)
IDP="$ROOT/target/release/idp"
VENV="$ROOT/target/interop-venv"
START=$SECONDS

# The provider is configured below and nowhere else: drop any IDP_* from the caller.
for var in $(compgen -e | grep '^IDP_' || true); do unset "$var"; done

cd "$ROOT"
cargo build --release -p idp
(cd "$HERE/node" && npm ci --no-audit --no-fund --loglevel=error)
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$HERE/python/requirements.txt"

PID="" DB="" TMP=""
cleanup() {
  if [ -n "$PID" ]; then kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  if [ -n "$TMP" ] && [ -f "$TMP/idp.log" ]; then echo "--- provider log (last 40 lines)"; tail -n 40 "$TMP/idp.log"; fi
  if [ -n "$DB" ]; then dropdb "${PG[@]}" --if-exists "$DB" || true; fi
  if [ -n "$TMP" ]; then rm -rf "$TMP"; fi
  PID="" DB="" TMP=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# SIGTERM, then expect a clean exit (status 0) within 10 seconds.
stop_provider() {
  kill -TERM "$PID"
  for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$PID" 2>/dev/null; then echo "provider ignored SIGTERM" >&2; kill -KILL "$PID"; return 1; fi
  local status=0
  wait "$PID" || status=$?
  PID=""
  if [ "$status" -ne 0 ]; then echo "provider exited with status $status" >&2; return 1; fi
  echo "ok   provider stopped cleanly on SIGTERM"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

passed=0
for backend in $BACKENDS; do
  echo "=== backend: $backend"
  TMP="$(mktemp -d)"
  case "$backend" in
    sqlite) url="sqlite://$TMP/idp.sqlite3" ;;
    postgres)
      DB="idp_interop_$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
      createdb "${PG[@]}" "$DB"
      url="postgres://postgres@127.0.0.1:5432/$DB" ;;
    *) echo "unknown backend $backend" >&2; exit 2 ;;
  esac
  port="$(free_port)"
  export IDP_ISSUER="http://127.0.0.1:$port" IDP_LISTEN="127.0.0.1:$port"
  export IDP_DATABASE_URL="$url" IDP_KEYS__KEK_FILE="$TMP/kek"
  # Fast key rotation (a 1 s JWKS cache, no margin: a rotation's key signs 3 s after
  # `idp keys rotate`), for the provider and every CLI command alike.
  export IDP_KEYS__JWKS_MAX_AGE_SECONDS=1 IDP_KEYS__PUBLISH_MARGIN_SECONDS=0
  # The rotation tests run the CLI on the running provider's database through this.
  {
    echo '#!/usr/bin/env bash'
    for var in IDP_ISSUER IDP_DATABASE_URL IDP_KEYS__KEK_FILE IDP_KEYS__JWKS_MAX_AGE_SECONDS \
      IDP_KEYS__PUBLISH_MARGIN_SECONDS; do
      printf 'export %s=%q\n' "$var" "${!var}"
    done
    printf 'export IDP_LOG__FILTER=warn\nexec %q "$@"\n' "$IDP"
  } >"$TMP/idp-cli"
  chmod +x "$TMP/idp-cli"

  cb="http://127.0.0.1:9/callback"
  clients=(
    "$("$IDP" clients create --json --name interop-basic --redirect-uri "$cb/basic")"
    "$("$IDP" clients create --json --name interop-post --redirect-uri "$cb/post" --auth-method client-secret-post)"
    "$("$IDP" clients create --json --name interop-public --redirect-uri "$cb/public" --public)"
    "$("$IDP" clients create --json --name interop-es256 --redirect-uri "$cb/es256" --id-token-alg ES256)"
    "$("$IDP" clients create --json --name interop-eddsa --redirect-uri "$cb/eddsa" --id-token-alg EdDSA)"
  )
  password="interop-$(od -An -N12 -tu4 /dev/urandom | tr -d ' \n')"  # digits: never contains a name
  user="$(IDP_NEW_PASSWORD="$password" "$IDP" users create --json --username ada \
    --email ada@example.com --given-name Ada --family-name Lovelace)"

  "$IDP" >"$TMP/idp.log" 2>&1 &
  PID=$!
  unset IDP_ISSUER IDP_LISTEN IDP_DATABASE_URL IDP_KEYS__KEK_FILE
  unset IDP_KEYS__JWKS_MAX_AGE_SECONDS IDP_KEYS__PUBLISH_MARGIN_SECONDS
  for _ in $(seq 100); do
    kill -0 "$PID" 2>/dev/null || { echo "provider exited during startup" >&2; exit 1; }
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" = 200 ] && break
    sleep 0.1
  done
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" = 200 ]
  echo "ok   provider ready on port $port"

  (
    IFS=,
    export INTEROP_ISSUER="http://127.0.0.1:$port" INTEROP_CLIENTS="[${clients[*]}]"
    export INTEROP_USERNAME=ada INTEROP_PASSWORD="$password" INTEROP_EMAIL=ada@example.com
    export INTEROP_GIVEN_NAME=Ada
    INTEROP_SUB="$(printf '%s' "$user" | python3 -c 'import json, sys; print(json.load(sys.stdin)["sub"])')"
    export INTEROP_SUB INTEROP_IDP="$TMP/idp-cli"
    (cd "$HERE/node" && node test.mjs)
    "$VENV/bin/python" "$HERE/python/test_authlib.py"
    # A signing-key rotation under each library's client, on this running provider.
    (cd "$HERE/node" && node rotation.mjs)
    "$VENV/bin/python" "$HERE/python/test_authlib_rotation.py"
  )

  stop_provider
  rm -f "$TMP/idp.log"
  cleanup
  passed=$((passed + 1))
done

echo "interop finished in $((SECONDS - START))s"
echo "interop: $passed passed, 0 failed"
