# Shared by deploy.sh and rollback.sh (sourced, not run): paths, messages, docker compose calls,
# the pre-change backup and the health check. Every path can be overridden from the environment.
SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PRODUCTION_DIR="${PRODUCTION_DIR:-$(cd "$SCRIPTS_DIR/../production" && pwd)}"
COMPOSE_FILE="${COMPOSE_FILE:-$PRODUCTION_DIR/docker-compose.yml}"
ENV_FILE="${ENV_FILE:-$PRODUCTION_DIR/.env}"
BACKUP_DIR="${BACKUP_DIR:-$PRODUCTION_DIR/backups}"
HEALTH_RETRIES="${HEALTH_RETRIES:-30}"
export HEALTH_INTERVAL="${HEALTH_INTERVAL:-2}"

say() { printf '[%s] %s\n' "$SCRIPT_NAME" "$*"; }
die() {
  printf '[%s] error: %s\n' "$SCRIPT_NAME" "$*" >&2
  exit 1
}
usage_error() {
  printf '[%s] error: %s\n%s\n' "$SCRIPT_NAME" "$1" "$USAGE" >&2
  exit 2
}

compose() { docker compose -f "$COMPOSE_FILE" --env-file "$ENV_FILE" "$@"; }

check_version() {
  # Image tag rules, as in the guide: v1.0.0, v1.0.0-rc1, main-abc123f, latest.
  [[ "$1" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$ ]] || usage_error "\"$1\" is not a valid image tag"
}

check_prerequisites() {
  # The health settings are used last, after the backup and the change: check them first.
  [[ "$HEALTH_RETRIES" =~ ^[1-9][0-9]*$ ]] || die "HEALTH_RETRIES=$HEALTH_RETRIES is invalid: a whole number of tries, 1 or more"
  [[ "$HEALTH_INTERVAL" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "HEALTH_INTERVAL=$HEALTH_INTERVAL is invalid: seconds between tries, e.g. 2"
  command -v docker > /dev/null 2>&1 || die "docker is not installed (or not on PATH)"
  docker compose version > /dev/null 2>&1 || die "docker compose v2 is not available: install the docker compose plugin"
  [[ -f "$COMPOSE_FILE" ]] || die "compose file not found: $COMPOSE_FILE"
  [[ -f "$ENV_FILE" ]] || die "environment file not found: $ENV_FILE (copy $PRODUCTION_DIR/.env.example and fill it in)"
}

# The tag of the image the api runs now (for rollback hints and down migrations); empty if none.
deployed_tag() {
  local id image
  id="$(compose ps -a -q api 2> /dev/null | head -n 1)" || true
  [[ -n "$id" ]] || return 0
  image="$(docker inspect --format '{{.Config.Image}}' "$id" 2> /dev/null)" || return 0
  if [[ "$image" == *:* ]]; then printf '%s\n' "${image##*:}"; fi
}

# The version an image's API reports (GET /health): its /app/VERSION, i.e. the build's VERSION arg
# or the repository's VERSION file. A tag such as latest, or a retagged CI build, differs from it.
# Sets EXPECTED_VERSION to that, or to the tag ($2) when the file cannot be read, and says which.
expected_version() {
  local baked=""
  if [[ -n "$1" ]]; then
    baked="$(docker run --rm --entrypoint cat "$1" /app/VERSION 2> /dev/null | head -n 1 | tr -d '[:space:]')" || true
  fi
  if [[ -n "$baked" ]]; then
    EXPECTED_VERSION="$baked"
    say "expecting version $baked (/app/VERSION in $1)"
  else
    EXPECTED_VERSION="$2"
    say "expecting version $2 (the tag: could not read /app/VERSION in ${1:-the image})"
  fi
}

start_postgres() {
  say "starting postgres"
  compose up -d postgres > /dev/null || die "postgres did not start (docker compose up -d postgres)"
  local i
  for ((i = 1; i <= 30; i++)); do
    if compose exec -T postgres sh -c 'pg_isready -q -U "$POSTGRES_USER" -d "$POSTGRES_DB"' > /dev/null 2>&1; then return 0; fi
    sleep 2
  done
  die "postgres is not accepting connections after 60 s (docker compose logs postgres)"
}

# pg_dump inside the postgres container, with its own user and database, into BACKUP_DIR.
# Runs before any migration; a failed or empty dump stops the script before anything changes.
backup_database() {
  local file
  mkdir -p "$BACKUP_DIR"
  file="$BACKUP_DIR/$1_$(date -u +%Y%m%dT%H%M%SZ).sql"
  say "backing up the database to $file"
  if ! (umask 077 && compose exec -T postgres sh -c 'pg_dump --no-owner -U "$POSTGRES_USER" -d "$POSTGRES_DB"' > "$file.partial"); then
    rm -f "$file.partial"
    die "backup failed (pg_dump); nothing was changed"
  fi
  if [[ ! -s "$file.partial" ]]; then
    rm -f "$file.partial"
    die "backup failed: pg_dump wrote nothing; nothing was changed"
  fi
  mv "$file.partial" "$file"
  BACKUP_FILE="$file"
  say "backup written ($(wc -c < "$file" | tr -d ' ') bytes)"
}

# Base URL of the proxy in front of the api replicas, as published on this host (HEALTH_URL wins).
api_base_url() {
  if [[ -n "${HEALTH_URL:-}" ]]; then
    printf '%s\n' "${HEALTH_URL%/health*}"
    return 0
  fi
  local published host port
  published="$(compose port proxy 8080 2> /dev/null | head -n 1)" || true
  [[ -n "$published" ]] || die "the proxy publishes no port (docker compose port proxy 8080); set HEALTH_URL"
  port="${published##*:}"
  host="${published%:*}"
  [[ "$host" == "0.0.0.0" || "$host" == "::" || "$host" == "[::]" || -z "$host" ]] && host="127.0.0.1"
  printf 'http://%s:%s\n' "$host" "$port"
}
