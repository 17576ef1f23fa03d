#!/usr/bin/env bash
# Polls the API's health endpoint until it answers 200, with clear reasons when it does not.
set -euo pipefail

SCRIPT_NAME="health-check"
USAGE="usage: health-check.sh [--url U] [--timeout S] [--retries N] [--version V]

Requests U (default: \$HEALTH_URL, or http://localhost:8080/health/ready) until it answers 200.
  --url U       the URL to check (readiness checks configuration, database and schema)
  --timeout S   seconds allowed for each request (default 5)
  --retries N   attempts before giving up (default 3), HEALTH_INTERVAL seconds apart (default 2)
  --version V   also require the answer's \"version\" to be V (what GET /health and /health/ready report)
Exit status 0 when healthy, 1 when not (the reason is printed), 2 on a usage error.
Uses curl, or node when curl is not installed."

url="${HEALTH_URL:-http://localhost:8080/health/ready}"
timeout=5
retries=3
want_version=""
interval="${HEALTH_INTERVAL:-2}"

usage_error() {
  printf '[%s] error: %s\n%s\n' "$SCRIPT_NAME" "$1" "$USAGE" >&2
  exit 2
}
number() { [[ "$2" =~ ^[0-9]+$ && "$2" -ge 1 ]] || usage_error "$1 needs a whole number of at least 1, not \"$2\""; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) echo "$USAGE"; exit 0 ;;
    --url) [[ $# -ge 2 ]] || usage_error "--url needs a value"; url="$2"; shift 2 ;;
    --timeout) [[ $# -ge 2 ]] || usage_error "--timeout needs a value"; number --timeout "$2"; timeout="$2"; shift 2 ;;
    --retries) [[ $# -ge 2 ]] || usage_error "--retries needs a value"; number --retries "$2"; retries="$2"; shift 2 ;;
    --version) [[ $# -ge 2 ]] || usage_error "--version needs a value"; want_version="$2"; shift 2 ;;
    *) usage_error "unknown argument: $1" ;;
  esac
done
[[ "$url" =~ ^https?:// ]] || usage_error "--url must start with http:// or https://, not \"$url\""

body_file="$(mktemp)"
error_file="$(mktemp)"
trap 'rm -f "$body_file" "$error_file"' EXIT

# One GET: sets STATUS (HTTP status, or empty) and ERROR (why there is no status).
probe() {
  STATUS=""
  ERROR=""
  if command -v curl > /dev/null 2>&1; then
    local out
    if out="$(curl -sS -o "$body_file" -w '%{http_code}' --max-time "$timeout" "$url" 2> "$error_file")"; then
      STATUS="$out"
    else
      ERROR="$(sed -e 's/^curl: ([0-9]*) //' "$error_file" | tail -n 1)"
    fi
  elif command -v node > /dev/null 2>&1; then
    local out
    if out="$(node -e '
      const [url, file, seconds] = process.argv.slice(1);
      fetch(url, { signal: AbortSignal.timeout(seconds * 1000) }).then(
        async (r) => { require("fs").writeFileSync(file, await r.text()); console.log(r.status); },
        (e) => { console.log((e.cause && e.cause.message) || e.message); process.exit(1); });
    ' "$url" "$body_file" "$timeout" 2>&1)"; then
      STATUS="$out"
    else
      ERROR="$out"
    fi
  else
    printf '[%s] error: neither curl nor node is installed; install curl\n' "$SCRIPT_NAME" >&2
    exit 1
  fi
}

reason=""
for ((attempt = 1; attempt <= retries; attempt++)); do
  probe
  body="$(head -c 400 "$body_file" 2> /dev/null || true)"
  version="$(printf '%s' "$body" | sed -n 's/.*"version":"\([^"]*\)".*/\1/p')"
  if [[ -n "$ERROR" ]]; then
    reason="cannot connect to $url ($ERROR): is the API running and published on that port?"
  elif [[ "$STATUS" != "200" ]]; then
    reason="$url answered HTTP $STATUS: $body"
  elif [[ -n "$want_version" && "$version" != "$want_version" ]]; then
    reason="$url reports version \"${version:-none}\", expected \"$want_version\""
  else
    echo "[$SCRIPT_NAME] healthy: $url answered 200${version:+ (version $version)}"
    exit 0
  fi
  echo "[$SCRIPT_NAME] attempt $attempt/$retries: $reason"
  if [[ $attempt -lt $retries ]]; then sleep "$interval"; fi
done
printf '[%s] unhealthy after %s attempt(s): %s\n' "$SCRIPT_NAME" "$retries" "$reason" >&2
exit 1
