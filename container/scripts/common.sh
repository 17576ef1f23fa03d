# Shared by deploy.sh and rollback.sh (sourced, not run): paths, messages, docker compose calls,
# the pre-change backup and the health check. Every path can be overridden from the environment.
SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PRODUCTION_DIR="${PRODUCTION_DIR:-$(cd "$SCRIPTS_DIR/../production" && pwd)}"
COMPOSE_FILE="${COMPOSE_FILE:-$PRODUCTION_DIR/docker-compose.yml}"
ENV_FILE="${ENV_FILE:-$PRODUCTION_DIR/.env}"
BACKUP_DIR="${BACKUP_DIR:-$PRODUCTION_DIR/backups}"
HEALTH_RETRIES="${HEALTH_RETRIES:-30}"
export HEALTH_INTERVAL="${HEALTH_INTERVAL:-2}"
ROLLOUT_SETTLE_SECONDS="${ROLLOUT_SETTLE_SECONDS:-6}"

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
  [[ "$ROLLOUT_SETTLE_SECONDS" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "ROLLOUT_SETTLE_SECONDS=$ROLLOUT_SETTLE_SECONDS is invalid: seconds, e.g. 6"
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

# Whether api container $1 answers /health/ready with 200 and the expected version (3 s a try).
# Exit status 2 when it answers that its configuration is invalid, which waiting does not mend.
container_ready() {
  local check='fetch("http://127.0.0.1:8080/health/ready", { signal: AbortSignal.timeout(3000) }).then(async (r) => { const b = await r.json(); process.exit(r.ok && b.version === process.argv[1] ? 0 : b.checks?.config?.status === "fail" ? 2 : 1); }).catch(() => process.exit(1))'
  docker exec "$1" node -e "$check" "$EXPECTED_VERSION" > /dev/null 2>&1
}

# Compose 2.15 or newer: before it, `up --no-deps` failed on dependencies with conditions and
# `ps` also listed stopped containers.
compose_can_roll() {
  local v major minor
  v="$(docker compose version --short 2> /dev/null)" || return 1
  v="${v#v}"
  major="${v%%.*}"
  minor="${v#*.}"
  minor="${minor%%.*}"
  [[ "$major" =~ ^[0-9]+$ && "$minor" =~ ^[0-9]+$ ]] || return 1
  ((major > 2 || (major == 2 && minor >= 15)))
}

# api containers (running or not) other than the ids given.
api_containers_except() {
  local keep=" $* " id ids
  ids="$(compose ps -a -q api)" || return 1
  for id in $ids; do
    [[ "$keep" == *" $id "* ]] || printf '%s\n' "$id"
  done
}

# Stops (letting them finish their requests) and removes the api containers other than the ids given.
# Fails when they cannot be listed: then nothing was removed.
discard_api_except() {
  local listed gone
  if ! listed="$(api_containers_except "$@")"; then
    say "warning: docker compose ps -a api failed: new api containers may still run next to the old ones (docker compose ps -a api)"
    return 1
  fi
  read -r -a gone <<< "$(tr '\n' ' ' <<< "$listed")" || true
  [[ ${#gone[@]} -gt 0 ]] || return 0
  say "stopping and removing ${#gone[@]} new api container(s)"
  docker stop "${gone[@]}" > /dev/null 2>&1 || true
  docker rm -f "${gone[@]}" > /dev/null 2>&1 || true
}

# The running api containers are replaced by as many new ones, started next to them, so requests
# keep being served. `docker compose up -d` alone stops the old containers first, leaving the proxy
# with no replica until the new ones answer. Docker's DNS lists a container as soon as it starts,
# so the proxy sends the new ones requests before they are checked here: a version that never gets
# ready serves part of the traffic until it is removed (at most HEALTH_RETRIES tries per container).
roll_out() {
  local old=("$@") new=() stale=() id i rc
  local n=${#old[@]}
  # Stopped api containers (a crash, an interrupted deploy) would count towards --scale, and be
  # started again with their old image: remove them first.
  local listed
  listed="$(api_containers_except "${old[@]}")" || die "docker compose ps -a api failed; the running version was not touched"
  read -r -a stale <<< "$(tr '\n' ' ' <<< "$listed")" || true
  if [[ ${#stale[@]} -gt 0 ]]; then
    say "removing ${#stale[@]} stopped api container(s)"
    docker rm -f "${stale[@]}" > /dev/null || die "docker rm ${stale[*]} failed; nothing else was changed"
  fi
  # Interrupted from here until the old containers stop (Ctrl-C, a closed SSH session): the new,
  # unchecked containers go, the old ones keep serving, as when a check fails.
  trap 'interrupted_roll_out 130 "${old[@]}"' INT
  trap 'interrupted_roll_out 143 "${old[@]}"' TERM
  trap 'interrupted_roll_out 129 "${old[@]}"' HUP
  say "starting $n new api container(s) with $image next to the $n running"
  compose up -d --no-deps --no-recreate --scale "api=$((2 * n))" api ||
    give_up_roll_out "docker compose up failed (docker compose logs --tail 100 api)" "${old[@]}"
  listed="$(api_containers_except "${old[@]}")" ||
    give_up_roll_out "docker compose ps -a api failed after the new api containers started" "${old[@]}"
  read -r -a new <<< "$(tr '\n' ' ' <<< "$listed")" || true
  [[ ${#new[@]} -eq $n ]] || give_up_roll_out "docker compose started ${#new[@]} new api container(s), not $n" "${old[@]}"
  for id in "${new[@]}"; do
    for ((i = 1; ; i++)); do
      rc=0
      container_ready "$id" || rc=$?
      ((rc != 0)) || break
      if ((rc == 2 || i >= HEALTH_RETRIES)); then
        say "new api container ${id:0:12} is not ready; its last log lines:"
        docker logs --tail 20 "$id" 2>&1 | sed 's/^/    /' || true
        if ((rc == 2)); then
          give_up_roll_out "new api container ${id:0:12} reports an invalid configuration (its log is above; check .env)" "${old[@]}"
        fi
        give_up_roll_out "new api container ${id:0:12} was not ready with version $EXPECTED_VERSION after $HEALTH_RETRIES tries (its log is above)" "${old[@]}"
      fi
      sleep "$HEALTH_INTERVAL"
    done
  done
  say "new api container(s) ready; letting the proxy see them for ${ROLLOUT_SETTLE_SECONDS} s"
  sleep "$ROLLOUT_SETTLE_SECONDS"
  trap - INT TERM HUP # every new container is ready: from here on the old ones go
  say "stopping the $n old api container(s) (each may finish its requests during the stop grace period)"
  docker stop "${old[@]}" > /dev/null || die "docker stop ${old[*]} failed: some old api containers may still run next to the new ones (docker compose ps api)"
  docker rm "${old[@]}" > /dev/null || say "warning: could not remove the stopped old api containers (docker rm ${old[*]})"
}

# roll_out stops for reason $1 before the old api containers ($2...) stopped: the new ones go,
# the old ones keep serving. Exits 1.
give_up_roll_out() {
  local why=$1
  shift
  trap - INT TERM HUP
  discard_api_except "$@" || die "$why; the old api containers still run, and new ones may too (docker compose ps -a api)"
  die "$why; the new api containers were removed and the old ones still run"
}

# roll_out was interrupted (exit status $1) before the old api containers ($2...) stopped.
interrupted_roll_out() {
  local status=$1
  shift
  trap - INT TERM HUP
  say "interrupted: removing the new api containers; the old ones keep running"
  discard_api_except "$@" || true
  exit "$status"
}

# Runs IMAGE_TAG's api in place of the running one ($image names it in messages): a rolling
# replacement when api containers run (roll_out), else docker compose up -d --remove-orphans.
replace_api() {
  local running_ids running
  running_ids="$(compose ps -q api)" || die "docker compose ps api failed; the running version was not touched"
  read -r -a running <<< "$(tr '\n' ' ' <<< "$running_ids")" || true
  if [[ ${#running[@]} -gt 0 ]] && ! compose_can_roll; then
    say "warning: docker compose $(docker compose version --short 2> /dev/null || echo '?') is older than 2.15: the api is replaced with a gap"
    running=()
  fi
  if [[ ${#running[@]} -gt 0 ]]; then
    roll_out "${running[@]}"
    # As many api replicas as the compose file says (API_REPLICAS): the new containers are kept,
    # extra ones removed, missing ones started.
    compose up -d --no-deps --no-recreate api || die "docker compose up -d api (to API_REPLICAS) failed (docker compose ps -a api)"
    # The proxy as the compose file now says, and no containers of services it no longer has. Not
    # migrate (deploy.sh ran or checked it; rollback.sh keeps the schema).
    compose up -d --no-deps --remove-orphans proxy || die "docker compose up -d proxy failed (docker compose logs --tail 100 proxy)"
  else
    say "starting $image"
    compose up -d --remove-orphans || die "docker compose up failed (docker compose logs --tail 100 api migrate)"
  fi
}
