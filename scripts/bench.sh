#!/usr/bin/env bash
# A first benchmark: requests/s and p50/p99 latency of our provider (idp, SQLite) and
# of a peer, node-oidc-provider, for discovery, JWKS, the token endpoint
# (client_credentials, and authorization_code with PKCE) and UserInfo, with wrk as
# the load generator ON THIS SAME MACHINE.
#
#   scripts/bench.sh
#
# Both providers run side by side on loopback; every scenario is measured on ours,
# then at once on the peer, so that both see the same machine. Only the one under
# load does any work. Each row also says how much CPU the provider, wrk and every
# other process on the machine used during the measured run: a row whose "other
# CPU" is high was disturbed.
#
# Tunables (environment): BENCH_DURATION=10 (seconds per measured run),
# BENCH_WARMUP=2, BENCH_THREADS=2, BENCH_CONNECTIONS=32.
# Needs cargo, node + npm, python3, curl and wrk (installed with apt-get when
# missing and run as root). Takes about 4.5 minutes. See docs/benchmarks.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
THREADS=${BENCH_THREADS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
REDIRECT_URI=http://127.0.0.1:9/cb # never contacted: the code is read from Location
USERNAME=bench
PASSWORD=quartz-lantern-harbor-4182 # the policy refuses parts of the username or e-mail
TRIAL_CODES=3000     # codes for the warm-up of the code exchange, which sizes the run
MINT_MAX_SECONDS=40  # codes live 60 s; minting must end well before the first expires
LUA=$ROOT/bench/wrk.lua
CODES=$ROOT/bench/codes.py
PEER=oidc-provider

say() { printf '== %s\n' "$*" >&2; }
die() {
  printf 'bench.sh: %s\n' "$*" >&2
  exit 1
}

# --- prerequisites and builds -------------------------------------------------------
if ! command -v wrk >/dev/null; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    say "installing wrk (apt-get)"
    apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null
  else
    die "wrk is missing: apt-get install wrk"
  fi
fi
for tool in cargo node npm python3 curl awk; do
  command -v "$tool" >/dev/null || die "$tool is missing"
done

say "building: cargo build --release -p idp"
cargo build --release -p idp
IDP=${CARGO_TARGET_DIR:-$ROOT/target}/release/idp
[[ -x $IDP ]] || die "no binary at $IDP"

say "installing the peer: npm ci in bench/peer"
(cd bench/peer && npm ci --no-audit --no-fund --loglevel=error >&2)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/idp-bench.XXXXXX")
RESULTS=$TMP/results.tsv
MEMORY=$TMP/memory.tsv
NOTES=$TMP/notes.txt
: >"$RESULTS"
: >"$MEMORY"
: >"$NOTES"
IDP_PID=
PEER_PID=

stop() { # PID
  if [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; then
    kill "$1"
    wait "$1" 2>/dev/null || true
  fi
}
cleanup() {
  stop "$IDP_PID"
  stop "$PEER_PID"
  rm -rf "$TMP"
}
trap cleanup EXIT

# --- helpers ------------------------------------------------------------------------
CLK_TCK=$(getconf CLK_TCK)
VERIFIER=$(python3 "$CODES" verifier)

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
urlencode() {
  python3 -c 'import sys; from urllib.parse import quote; print(quote(sys.argv[1], safe=""))' "$1"
}
json_field() {
  python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}
# RFC 6749 §2.3.1: id and secret are form-urlencoded before the Basic encoding.
basic_credentials() {
  python3 -c 'import base64, sys; from urllib.parse import quote
print(base64.b64encode(("%s:%s" % (quote(sys.argv[1], safe=""), quote(sys.argv[2], safe=""))).encode()).decode())' "$1" "$2"
}
wait_ready() { # URL PID LOG
  for _ in $(seq 200); do
    curl -sf -o /dev/null "$1" && return 0
    if ! kill -0 "$2" 2>/dev/null; then
      cat "$3" >&2
      die "the server exited before $1 answered"
    fi
    sleep 0.05
  done
  cat "$3" >&2
  die "$1 did not answer within 10 s"
}
# status_kb PID FIELD: VmRSS or VmHWM (peak resident set) in kB.
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
# cpu_ticks PID: user + system clock ticks of every thread of PID so far.
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
# busy_ticks: clock ticks all CPUs spent so far in processes (user, nice, system) or
# stolen by the hypervisor; interrupt time, where the kernel counts part of the
# loopback traffic, is left out.
busy_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $9 }' /proc/stat; }
pid_of() { if [[ $1 == idp ]]; then echo "$IDP_PID"; else echo "$PEER_PID"; fi; }

# wrk_run SECONDS WRK-ARGS...: one wrk run (in a subshell, so that `times` sees only
# it); prints its RESULT line (see bench/wrk.lua) plus wrk's CPU time as wrk_ticks=.
wrk_run() (
  seconds=$1
  shift
  if ! wrk -t"$THREADS" -c"$CONNECTIONS" -d"${seconds}s" --timeout 10s -s "$LUA" "$@" >"$TMP/wrk.out" 2>&1; then
    cat "$TMP/wrk.out" >&2
    die "wrk failed"
  fi
  result=$(grep '^RESULT ' "$TMP/wrk.out") || {
    cat "$TMP/wrk.out" >&2
    die "wrk printed no result"
  }
  # `times`, second line: user and system time of this subshell's children. (Not
  # in a pipe, which would run it in a fresh subshell without children.)
  times >"$TMP/times"
  awk -v r="$result" -v hz="$CLK_TCK" 'NR == 2 {
    t = 0
    for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); t += p[1] * 60 + p[2] }
    printf "%s wrk_ticks=%d\n", r, t * hz + 0.5 }' "$TMP/times"
)

# field NAME RESULT-LINE
field() { tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k { print $2 }'; }
percent() { awk -v t="$1" -v hz="$CLK_TCK" -v s="$2" 'BEGIN { v = 100 * t / hz / s; printf "%.0f", v < 0 ? 0 : v }'; }

# measured SCENARIO IMPL WRK-ARGS...: one measured run, recorded with the CPU use of
# the provider, of wrk and of everything else on the machine.
measured() {
  local scenario=$1 impl=$2
  shift 2
  local pid s0 s1 b0 b1 line
  pid=$(pid_of "$impl")
  s0=$(cpu_ticks "$pid")
  b0=$(busy_ticks)
  line=$(wrk_run "$DURATION" "$@")
  s1=$(cpu_ticks "$pid")
  b1=$(busy_ticks)
  local rps p50 p99 bad errors seconds server wrk_cpu other
  rps=$(field rps "$line")
  p50=$(field p50_us "$line")
  p99=$(field p99_us "$line")
  bad=$(field non2xx "$line")
  errors=$(field socket_errors "$line")
  seconds=$(awk -v us="$(field duration_us "$line")" 'BEGIN { print us / 1e6 }')
  server=$(percent $((s1 - s0)) "$seconds")
  wrk_cpu=$(percent "$(field wrk_ticks "$line")" "$seconds")
  other=$(percent $((b1 - b0 - (s1 - s0) - $(field wrk_ticks "$line"))) "$seconds")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" "$impl" "$rps" "$p50" "$p99" \
    "$bad" "$errors" "$server" "$wrk_cpu" "$other" >>"$RESULTS"
  say "  $impl: $rps req/s, p50 $((p50 / 1000)) ms, p99 $((p99 / 1000)) ms, non-2xx $bad," \
    "socket errors $errors; CPU: provider $server%, wrk $wrk_cpu%, other $other%"
}

# measure SCENARIO IMPL WRK-ARGS...: a warm-up run, then the measured run.
measure() {
  say "$1 ($2)"
  wrk_run "$WARMUP" "${@:3}" >/dev/null
  measured "$@"
}

# sign_in IMPL AUTHZ_URL TOKEN_URL CLIENT_ID BASIC: logs in through the login form
# (saving the cookies to $TMP/IMPL.jar), exchanges that first code and sets
# ACCESS_TOKEN for the UserInfo run.
sign_in() {
  local impl=$1 authz=$2 token_url=$3 client_id=$4 basic=$5 code tokens
  code=$(python3 "$CODES" login "$authz" "$client_id" "$REDIRECT_URI" "$USERNAME" "$PASSWORD" "$TMP/$impl.jar")
  tokens=$(curl -sf -H "Authorization: Basic $basic" \
    --data-urlencode grant_type=authorization_code --data-urlencode "code=$code" \
    --data-urlencode "redirect_uri=$REDIRECT_URI" --data-urlencode "code_verifier=$VERIFIER" "$token_url") ||
    die "$impl: the first code exchange failed"
  ACCESS_TOKEN=$(json_field access_token <<<"$tokens")
  local format="opaque (${#ACCESS_TOKEN} characters)"
  if [[ $ACCESS_TOKEN == *.*.* ]]; then
    local header
    header=$(python3 -c 'import base64, sys; h = sys.argv[1].split(".")[0]; print(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)).decode())' "$ACCESS_TOKEN")
    format="JWT, header $header"
  fi
  printf '%s: access token from the code exchange: %s\n' "$impl" "$format" >>"$NOTES"
}

# code_exchange IMPL AUTHZ_URL TOKEN_URL CLIENT_ID BASIC: the authorization_code
# grant, every request with its own fresh code minted with the session of sign_in.
# A trial of WARMUP seconds (also the warm-up) estimates the rate, which sizes the
# batch of codes for the measured run.
code_exchange() {
  local impl=$1 authz=$2 token_url=$3 client_id=$4 basic=$5
  local scenario="token: authorization_code + PKCE"
  local auth=(-H "Authorization: Basic $basic")
  local prefix out minted secs line rate need
  prefix="grant_type=authorization_code&redirect_uri=$(urlencode "$REDIRECT_URI")&code_verifier=$VERIFIER&code="
  say "$scenario ($impl)"
  out=$(python3 "$CODES" mint "$authz" "$client_id" "$REDIRECT_URI" "$TMP/$impl.jar" "$TRIAL_CODES" "$TMP/codes" 10)
  read -r minted secs <<<"$out"
  line=$(wrk_run "$WARMUP" "${auth[@]}" "$token_url" -- codes "$TMP/codes" "$THREADS" "$prefix")
  # Every request of the trial, failed ones included (an overestimate, on purpose),
  # with a wide margin: the measured run, warmed up, is often faster than the trial,
  # and a trial slowed down by another process must not starve the run of codes.
  rate=$(awk -v n="$(field requests "$line")" -v us="$(field duration_us "$line")" 'BEGIN { printf "%.0f", n / (us / 1e6) }')
  need=$(awk -v r="$rate" -v d="$DURATION" 'BEGIN { printf "%d", r * d * 2.5 + 2000 }')
  say "  trial: $rate req/s ($(field non2xx "$line") non-2xx of $(field requests "$line")); minting $need codes"
  out=$(python3 "$CODES" mint "$authz" "$client_id" "$REDIRECT_URI" "$TMP/$impl.jar" "$need" "$TMP/codes" "$MINT_MAX_SECONDS")
  read -r minted secs <<<"$out"
  say "  minted $minted codes in $secs s"
  printf '%s: %s codes minted for the code-exchange run in %s s (trial rate %s req/s)\n' \
    "$impl" "$minted" "$secs" "$rate" >>"$NOTES"
  measured "$scenario" "$impl" "${auth[@]}" "$token_url" -- codes "$TMP/codes" "$THREADS" "$prefix"
}

remember_memory() { # LABEL PID START_KB: RSS at start and peak RSS (VmHWM)
  printf '%s\t%s\t%s\n' "$1" "$3" "$(status_kb "$2" VmHWM)" >>"$MEMORY"
}

# --- the machine ---------------------------------------------------------------------
LOAD=$(cut -d' ' -f1 /proc/loadavg)
{
  echo "# scripts/bench.sh, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine:  $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)," \
    "$(awk '/^MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo), $(uname -sr)"
  echo "versions: idp $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- idp Cargo.lock 2>/dev/null || echo ' (idp/ modified)')," \
    "$(rustc --version | cut -d' ' -f1-2), node $(node --version)," \
    "oidc-provider $(node -p 'require("./bench/peer/node_modules/oidc-provider/package.json").version')," \
    "$({ wrk -v 2>&1 || true; } | head -n1 | cut -d' ' -f1-2)"
  echo "load:     wrk -t$THREADS -c$CONNECTIONS, ${WARMUP} s warm-up + ${DURATION} s measured per row;" \
    "wrk runs on this same machine (loopback), sharing its $(nproc) cores with the provider under test"
  echo "          1-minute load average before the run: $LOAD"
} >"$TMP/header.txt"
if awk -v l="$LOAD" 'BEGIN { exit !(l > 0.5) }'; then
  say "warning: the machine is not idle (load average $LOAD); figures will be noisy"
fi

# --- our provider: set-up ----------------------------------------------------------------
IDP_DIR=$TMP/idp
mkdir -p "$IDP_DIR"
export IDP_DATABASE_URL="sqlite://$IDP_DIR/idp.sqlite3" IDP_KEYS__KEK_FILE="$IDP_DIR/kek" IDP_LOG__FILTER=warn
unset RUST_LOG IDP_CONFIG

# start_idp [ACCESS_TOKEN_ALG]: sets IDP_PID, IDP_URL, IDP_START_KB.
start_idp() {
  local port
  port=$(free_port)
  IDP_URL=http://127.0.0.1:$port
  env IDP_ISSUER="$IDP_URL" IDP_LISTEN="127.0.0.1:$port" ${1:+"IDP_TOKENS__ACCESS_TOKEN_ALG=$1"} \
    "$IDP" serve >>"$IDP_DIR/log" 2>&1 &
  IDP_PID=$!
  wait_ready "$IDP_URL/readyz" "$IDP_PID" "$IDP_DIR/log"
  IDP_START_KB=$(status_kb "$IDP_PID" VmRSS)
}

say "idp: registering the client and the user"
CLIENT=$("$IDP" clients create --name bench --redirect-uri "$REDIRECT_URI" \
  --grant-type authorization_code --grant-type refresh_token --grant-type client_credentials --json)
IDP_CLIENT_ID=$(json_field client_id <<<"$CLIENT")
IDP_BASIC=$(basic_credentials "$IDP_CLIENT_ID" "$(json_field client_secret <<<"$CLIENT")")
IDP_NEW_PASSWORD=$PASSWORD "$IDP" users create --username "$USERNAME" --email bench@example.com --json >/dev/null
start_idp
sign_in idp "$IDP_URL/authorize" "$IDP_URL/token" "$IDP_CLIENT_ID" "$IDP_BASIC"
IDP_ACCESS_TOKEN=$ACCESS_TOKEN

# --- the peer: node-oidc-provider, set-up -------------------------------------------------
PEER_DIR=$TMP/peer
mkdir -p "$PEER_DIR"
PEER_PORT=$(free_port)
PEER_URL=http://127.0.0.1:$PEER_PORT
PEER_SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
PEER_BASIC=$(basic_credentials bench "$PEER_SECRET")
NODE_ENV=production PORT=$PEER_PORT ISSUER=$PEER_URL CLIENT_ID=bench CLIENT_SECRET=$PEER_SECRET \
  REDIRECT_URI=$REDIRECT_URI node bench/peer/server.js >"$PEER_DIR/log" 2>&1 &
PEER_PID=$!
wait_ready "$PEER_URL/.well-known/openid-configuration" "$PEER_PID" "$PEER_DIR/log"
PEER_START_KB=$(status_kb "$PEER_PID" VmRSS)
sign_in "$PEER" "$PEER_URL/auth" "$PEER_URL/token" bench "$PEER_BASIC"
PEER_ACCESS_TOKEN=$ACCESS_TOKEN

# --- the runs: ours, then the peer, scenario by scenario ------------------------------------
# client_credentials on the peer: without a resource indicator its access token is
# opaque; with resource=urn:bench:<alg> it is a JWT signed with <alg> (bench/peer).
cc_peer() { # ALG or opaque
  local body=grant_type=client_credentials
  [[ $1 == opaque ]] || body+="&resource=$(urlencode "urn:bench:$(tr '[:upper:]' '[:lower:]' <<<"$1")")"
  local label="token: client_credentials, JWT AT $1"
  [[ $1 == opaque ]] && label="token: client_credentials, opaque AT"
  measure "$label" "$PEER" -H "Authorization: Basic $PEER_BASIC" "$PEER_URL/token" -- post "$body"
}
cc_idp() { # ALG (that the running idp was started with)
  measure "token: client_credentials, JWT AT $1" idp \
    -H "Authorization: Basic $IDP_BASIC" "$IDP_URL/token" -- post "grant_type=client_credentials"
}

measure "discovery" idp "$IDP_URL/.well-known/openid-configuration" -- get
measure "discovery" "$PEER" "$PEER_URL/.well-known/openid-configuration" -- get
measure "jwks" idp "$IDP_URL/jwks.json" -- get
measure "jwks" "$PEER" "$PEER_URL/jwks" -- get
cc_idp RS256
cc_peer RS256
cc_peer opaque
code_exchange idp "$IDP_URL/authorize" "$IDP_URL/token" "$IDP_CLIENT_ID" "$IDP_BASIC"
code_exchange "$PEER" "$PEER_URL/auth" "$PEER_URL/token" bench "$PEER_BASIC"
measure "userinfo" idp -H "Authorization: Bearer $IDP_ACCESS_TOKEN" "$IDP_URL/userinfo" -- get
measure "userinfo" "$PEER" -H "Authorization: Bearer $PEER_ACCESS_TOKEN" "$PEER_URL/me" -- get
remember_memory "idp (access tokens RS256)" "$IDP_PID" "$IDP_START_KB"
stop "$IDP_PID"

# The access-token algorithm: ours restarted with IDP_TOKENS__ACCESS_TOKEN_ALG.
for alg in ES256 EdDSA; do
  start_idp "$alg"
  cc_idp "$alg"
  cc_peer "$alg"
  remember_memory "idp (IDP_TOKENS__ACCESS_TOKEN_ALG=$alg)" "$IDP_PID" "$IDP_START_KB"
  stop "$IDP_PID"
done
remember_memory "oidc-provider (one Node process)" "$PEER_PID" "$PEER_START_KB"
stop "$PEER_PID"

# --- the report --------------------------------------------------------------------------
ORDER=(
  "discovery"
  "jwks"
  "token: client_credentials, JWT AT RS256"
  "token: client_credentials, JWT AT ES256"
  "token: client_credentials, JWT AT EdDSA"
  "token: client_credentials, opaque AT"
  "token: authorization_code + PKCE"
  "userinfo"
)
row() { printf '%-40s  %-14s  %10s  %8s  %8s  %7s  %8s  %9s  %8s  %9s\n' "$@"; }
echo
cat "$TMP/header.txt"
echo "          1-minute load average after the run: $(cut -d' ' -f1 /proc/loadavg)"
echo
row scenario implementation "requests/s" "p50 ms" "p99 ms" non-2xx "sock err" "prov. CPU" "wrk CPU" "other CPU"
printf '%s\n' "$(printf '%.0s-' {1..136})"
for scenario in "${ORDER[@]}"; do
  for impl in idp "$PEER"; do
    line=$(awk -F'\t' -v s="$scenario" -v i="$impl" '$1 == s && $2 == i' "$RESULTS")
    if [[ -z $line ]]; then
      row "$scenario" "$impl" n/a n/a n/a - - - - -
      continue
    fi
    IFS=$'\t' read -r _ _ rps p50 p99 bad errors server wrk_cpu other <<<"$line"
    row "$scenario" "$impl" "$(printf '%.0f' "$rps")" \
      "$(awk -v v="$p50" 'BEGIN { printf "%.2f", v / 1000 }')" \
      "$(awk -v v="$p99" 'BEGIN { printf "%.2f", v / 1000 }')" \
      "$bad" "$errors" "$server%" "$wrk_cpu%" "$other%"
  done
done
echo
echo "CPU: user+system time during the measured run in % of one core ($(nproc) cores = $(($(nproc) * 100))%), of the"
echo "provider (all its threads), of wrk, and of every other process on the machine (high = a disturbed row)."
echo "n/a: idp issues only JWT access tokens (no opaque format)."
echo
printf '%-45s  %14s  %14s\n' "memory of the provider process" "RSS at start" "peak RSS"
while IFS=$'\t' read -r label start peak; do
  printf '%-45s  %10.1f MiB  %10.1f MiB\n' "$label" \
    "$(awk -v v="$start" 'BEGIN { print v / 1024 }')" "$(awk -v v="$peak" 'BEGIN { print v / 1024 }')"
done <"$MEMORY"
echo
cat "$NOTES"
