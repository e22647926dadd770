#!/usr/bin/env bash
# The browser journey: register, confirm, approve, one-time password, forced change,
# the Customer Portal with support information, SSO into the App Portal, logout from
# both. Debian's Chromium driven by playwright-core; a real SMTP server (smtp-server
# from npm) receives the mail. Screenshots go to tests/out/screenshots/.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "Debian's chromium is missing; install it (apt-get install chromium) or run as root" >&2
    exit 1
  fi
  echo "== installing Debian's chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

cd "$ROOT"
cargo build --release -p idp -p relying-party-demo
(cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)

# The provider and portals are configured by the test itself; nothing from the caller.
for var in $(compgen -e | grep -E '^(IDP|RP|CUSTOMER_PORTAL|APP_PORTAL)_' || true); do unset "$var"; done
CHROMIUM="$(command -v chromium)" node "$HERE/journey.mjs"
