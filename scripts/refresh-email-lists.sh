#!/usr/bin/env bash
# Refreshes the vendored e-mail policy lists in idp/data/email/ from their npm
# packages (see idp/data/email/SOURCES.md). Needs node and npm; pass versions to pin,
# e.g. FREE=1.12.6 DISPOSABLE=1.0.62 ROLE=3.1.0 scripts/refresh-email-lists.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=idp/data/email
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fetch() { # package version -> unpacked dir
  (cd "$tmp" && npm pack --silent "$1@$2" >/dev/null && mkdir "$1" && tar xzf "$1"-*.tgz -C "$1")
  echo "$tmp/$1/package"
}
free=$(fetch free-email-domains "${FREE:-latest}")
disposable=$(fetch disposable-email-domains "${DISPOSABLE:-latest}")
role=$(fetch role-based-email-addresses "${ROLE:-latest}")

node - "$free" "$disposable" "$role" "$out" <<'JS'
const [free, disposable, role, out] = process.argv.slice(2);
const fs = require('fs');
const write = (name, list) => {
  const lines = [...new Set(list.map((s) => String(s).trim().toLowerCase()).filter(Boolean))].sort();
  fs.writeFileSync(`${out}/${name}`, lines.join('\n') + '\n');
  console.log(`${name}: ${lines.length}`);
};
write('free-email-domains.txt', require(`${free}/domains.json`));
write('disposable-email-domains.txt', require(`${disposable}/index.json`));
write('disposable-email-wildcards.txt', require(`${disposable}/wildcard.json`));
write('role-local-parts.txt', require(`${role}/src/index.js`));
const v = (dir) => require(`${dir}/package.json`).version;
console.log(`versions: free-email-domains ${v(free)}, disposable-email-domains ${v(disposable)}, role-based-email-addresses ${v(role)}`);
JS
echo "Update the versions in $out/SOURCES.md."
