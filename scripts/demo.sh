#!/usr/bin/env bash
# Try the two portals: builds the provider and the relying-party demo (release),
# starts the provider with its data in target/demo/, registers the Customer Portal
# and the App Portal (once; their secrets are kept in target/demo/), creates a demo
# company with Priority support and a demo user (once), starts both portals, prints
# the URLs and the credentials, and waits. Ctrl-C stops everything.
#
# Overrides (environment): PROVIDER_ADDR (127.0.0.1:8080), CUSTOMER_PORTAL_ADDR
# (127.0.0.1:3000), APP_PORTAL_ADDR (127.0.0.1:3001), DEMO_DIR (target/demo).
# Start over with: rm -rf target/demo
set -euo pipefail
cd "$(dirname "$0")/.."

PROVIDER_ADDR=${PROVIDER_ADDR:-127.0.0.1:8080}
CUSTOMER_PORTAL_ADDR=${CUSTOMER_PORTAL_ADDR:-127.0.0.1:3000}
APP_PORTAL_ADDR=${APP_PORTAL_ADDR:-127.0.0.1:3001}
DEMO_DIR=${DEMO_DIR:-target/demo}

ISSUER="http://$PROVIDER_ADDR"
CUSTOMER_URL="http://$CUSTOMER_PORTAL_ADDR"
APP_URL="http://$APP_PORTAL_ADDR"
SCOPE="openid profile email company roles support offline_access"
DEMO_DOMAIN=acme-demo.example
DEMO_USER=ada
PLAIN_DOMAIN=plain-demo.example
PLAIN_USER=grace

say() { printf '\033[1m== %s\033[0m\n' "$*"; }
die() { printf 'demo.sh: %s\n' "$*" >&2; exit 1; }

command -v curl >/dev/null || die "curl is needed to wait for the servers"

say "Building the provider and the portals (release)"
cargo build --release --quiet -p idp -p relying-party-demo
IDP=target/release/idp
RP=target/release/relying-party-demo
# Operator commands: only warnings on the terminal.
idp_cli() { IDP_LOG__FILTER=warn "$IDP" "$@"; }

mkdir -p "$DEMO_DIR"
chmod 700 "$DEMO_DIR"
# The provider's configuration: its defaults, with every file under $DEMO_DIR.
for var in $(env | grep -o '^IDP_[A-Z0-9_]*' || true); do unset "$var"; done
export IDP_ISSUER="$ISSUER"
export IDP_LISTEN="$PROVIDER_ADDR"
export IDP_DATABASE_URL="sqlite://$DEMO_DIR/idp.sqlite3"
export IDP_KEYS__KEK_FILE="$DEMO_DIR/kek"
export IDP_MAIL__OUTBOX_DIR="$DEMO_DIR/outbox"
export IDP_REGISTRATION__PORTAL_LOGIN_URL="$CUSTOMER_URL/"

# register_client <client_id> <name> <base URL>: registers the client once and keeps
# its secret in $DEMO_DIR/<client_id>.secret; later runs reuse it.
register_client() {
  local id=$1 name=$2 base=$3 secret_file="$DEMO_DIR/$1.secret" clients
  clients=$(idp_cli clients list --json)
  if grep -q "\"client_id\":\"$id\"" <<<"$clients"; then
    [[ -s $secret_file ]] || die "client $id exists but $secret_file is missing; start over with: rm -rf $DEMO_DIR"
    grep -q "\"$base/callback\"" <<<"$clients" ||
      die "client $id is registered for another address than $base; start over with: rm -rf $DEMO_DIR"
    echo "   $name: client $id already registered"
    return
  fi
  local created
  created=$(idp_cli clients create --name "$name" --client-id "$id" \
    --redirect-uri "$base/callback" --post-logout-redirect-uri "$base/" \
    --backchannel-logout-uri "$base/backchannel-logout" --scope "$SCOPE" --json)
  (umask 077 && grep -o '"client_secret":"[^"]*"' <<<"$created" | cut -d'"' -f4 >"$secret_file")
  [[ -s $secret_file ]] || die "no client_secret in: $created"
  echo "   $name: registered client $id"
}

# create_user <username> <domain> <company> <given> <family>: creates the user once
# with a generated password kept in $DEMO_DIR/<username>.password.
create_user() {
  local user=$1 domain=$2 company=$3 given=$4 family=$5 password_file="$DEMO_DIR/$1.password"
  if [[ -s $password_file ]]; then
    echo "   user $user@$domain already exists"
    return
  fi
  local password output attempt raw
  for attempt in 1 2 3 4 5; do
    # Three groups of four random characters (no look-alikes such as 0/O, 1/l).
    raw=$(head -c 512 /dev/urandom | tr -dc 'A-HJ-NP-Za-km-z2-9')
    password="${raw:0:4}-${raw:4:4}-${raw:8:4}"
    if output=$(IDP_NEW_PASSWORD="$password" idp_cli users create --username "$user" \
      --email "$user@$domain" --given-name "$given" --family-name "$family" \
      --company "$company" --role super_admin --role customer-portal:licenses \
      --role customer-portal:support-cases --role app-portal:apps.install \
      --locale en --json 2>&1); then
      break
    fi
    # A random password may by chance contain a name; draw another one.
    grep -q "password is refused" <<<"$output" && [[ $attempt -lt 5 ]] && continue
    die "creating $user failed: $output
(if it exists from an earlier run without $password_file: rm -rf $DEMO_DIR)"
  done
  (umask 077 && printf '%s\n' "$password" >"$password_file")
  echo "   created user $user@$domain ($company)"
}

say "Registering the portals and the demo users in $DEMO_DIR"
register_client customer-portal "Customer Portal" "$CUSTOMER_URL"
register_client app-portal "App Portal" "$APP_URL"
create_user "$DEMO_USER" "$DEMO_DOMAIN" "ACME Demo" Ada Lovelace
idp_cli companies set "$DEMO_DOMAIN" --support-level priority --region EMEA >/dev/null
create_user "$PLAIN_USER" "$PLAIN_DOMAIN" "Plain Demo" Grace Hopper
idp_cli companies set "$PLAIN_DOMAIN" --support-level none >/dev/null

PIDS=()
stop() {
  trap - INT TERM EXIT
  if ((${#PIDS[@]})); then
    echo
    say "Stopping"
    kill "${PIDS[@]}" 2>/dev/null || true
    wait "${PIDS[@]}" 2>/dev/null || true
  fi
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_for <url> <pid> <what> <log>: until the URL answers, or the process died.
wait_for() {
  local url=$1 pid=$2 what=$3 log=$4
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$log" >&2; die "$what did not start (log: $log)"; }
    sleep 0.2
  done
  die "$what did not answer at $url (log: $log)"
}

# Another server on one of the addresses (the README's own provider on 8080, say)
# would answer the health checks in our place: refuse to start instead.
for addr in "$PROVIDER_ADDR" "$CUSTOMER_PORTAL_ADDR" "$APP_PORTAL_ADDR"; do
  if curl -s -o /dev/null --max-time 2 "http://$addr/"; then
    die "$addr is already in use (stop the other server, or set PROVIDER_ADDR, CUSTOMER_PORTAL_ADDR or APP_PORTAL_ADDR)"
  fi
done

say "Starting the provider on $ISSUER"
"$IDP" serve >"$DEMO_DIR/idp.log" 2>&1 &
PIDS+=($!)
wait_for "$ISSUER/readyz" "$!" "the provider" "$DEMO_DIR/idp.log"

say "Starting the Customer Portal on $CUSTOMER_URL and the App Portal on $APP_URL"
RP_ISSUER="$ISSUER" \
  CUSTOMER_PORTAL_LISTEN="$CUSTOMER_PORTAL_ADDR" CUSTOMER_PORTAL_CLIENT_ID=customer-portal \
  CUSTOMER_PORTAL_CLIENT_SECRET="$(cat "$DEMO_DIR/customer-portal.secret")" \
  APP_PORTAL_LISTEN="$APP_PORTAL_ADDR" APP_PORTAL_CLIENT_ID=app-portal \
  APP_PORTAL_CLIENT_SECRET="$(cat "$DEMO_DIR/app-portal.secret")" \
  "$RP" >"$DEMO_DIR/portals.log" 2>&1 &
PIDS+=($!)
wait_for "$CUSTOMER_URL/healthz" "$!" "the Customer Portal" "$DEMO_DIR/portals.log"
wait_for "$APP_URL/healthz" "${PIDS[1]}" "the App Portal" "$DEMO_DIR/portals.log"

cat <<INFO

  Customer Portal   $CUSTOMER_URL/
  App Portal        $APP_URL/
  Provider          $ISSUER/   (profile: $ISSUER/profile)

  Sign in as        $DEMO_USER  (or $DEMO_USER@$DEMO_DOMAIN; ACME Demo, Priority support, EMEA)
  Password          $(cat "$DEMO_DIR/$DEMO_USER.password")   (as first created; a password you changed since stays yours)

  Or as             $PLAIN_USER  (or $PLAIN_USER@$PLAIN_DOMAIN; Plain Demo, no priority support)
  Password          $(cat "$DEMO_DIR/$PLAIN_USER.password")

  1. Open the Customer Portal, click Login, sign in: company, support level,
     phone number and PIN.
  2. Open the App Portal: you are signed in without a form (single sign-on).
  3. Click Logout in either portal: the provider session and both portal
     sessions end (the other portal learns it over the back channel).

  Mail (codes, links): .eml files in $DEMO_DIR/outbox/ (newest: ls -t), links also in the log.
  Logs: $DEMO_DIR/idp.log, $DEMO_DIR/portals.log. Ctrl-C stops everything.
INFO

wait -n "${PIDS[@]}" || true
die "a server stopped unexpectedly; see $DEMO_DIR/idp.log and $DEMO_DIR/portals.log"
