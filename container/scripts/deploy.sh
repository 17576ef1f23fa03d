#!/usr/bin/env bash
# Deploys a version of the API with container/production/docker-compose.yml.
set -euo pipefail

SCRIPT_NAME="deploy"
USAGE="usage: deploy.sh <version> [--migrate]

Deploys ignition-api:<version> (IMAGE_NAME:<version>) with container/production/docker-compose.yml:
  1. checks docker compose, the compose and .env files, and that the image is here or can be pulled
  2. starts postgres; without --migrate, stops here if the image has pending migrations
  3. backs up the database (pg_dump into backups/), before anything changes
  4. with --migrate: applies the image's pending migrations (docker compose run --rm migrate ... up)
  5. replaces the running api containers without a gap: starts as many new ones next to them
     (docker compose up -d --no-deps --no-recreate --scale api=2N api; compose 2.15 or newer),
     waits until each new one answers /health/ready with the expected version (HEALTH_RETRIES
     tries each), gives the proxy ROLLOUT_SETTLE_SECONDS (6) to see them, then stops and removes
     the old ones (within the stop grace period); with no api running,
     IMAGE_TAG=<version> docker compose up -d --remove-orphans
  6. waits until /health/ready answers 200 through the proxy and reports the image's version:
     its /app/VERSION (the build's VERSION arg), which need not be the tag (latest, a retagged
     CI build); the tag itself if /app/VERSION cannot be read
Environment: ENV_FILE, COMPOSE_FILE, BACKUP_DIR, HEALTH_URL, HEALTH_RETRIES (30), HEALTH_INTERVAL (2 s),
ROLLOUT_SETTLE_SECONDS (6: the proxy re-resolves the api replicas every 5 s).
Exit status 0 when the new version is healthy; 1 on any failure (the message says what to do); 2 on a usage error."

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

version=""
migrate=false
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) echo "$USAGE"; exit 0 ;;
    --migrate) migrate=true; shift ;;
    -*) usage_error "unknown option: $1" ;;
    *) [[ -z "$version" ]] || usage_error "only one version, please"; version="$1"; shift ;;
  esac
done
[[ -n "$version" ]] || usage_error "which version? e.g. deploy.sh v1.0.0"
check_version "$version"
check_prerequisites
ROLLOUT_SETTLE_SECONDS="${ROLLOUT_SETTLE_SECONDS:-6}"
[[ "$ROLLOUT_SETTLE_SECONDS" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "ROLLOUT_SETTLE_SECONDS=$ROLLOUT_SETTLE_SECONDS is invalid: seconds, e.g. 6"

previous="$(deployed_tag)"
export IMAGE_TAG="$version"
image="$(compose config --images api 2> /dev/null | head -n 1)" || true
[[ -n "$image" ]] || die "docker compose config failed: check $ENV_FILE (docker compose -f $COMPOSE_FILE --env-file $ENV_FILE config)"
if ! docker image inspect "$image" > /dev/null 2>&1; then
  say "pulling $image"
  compose pull api migrate ||
    die "image $image is neither here nor pullable: build it (docker build -f container/Dockerfile --build-arg VERSION=$version -t $image .) or push it to the registry"
fi
say "deploying $image (now running: ${previous:-nothing})"
expected_version "$image" "$version"

start_postgres
# A deploy that will be refused for pending migrations is refused before the backup (no dump of a
# large database for nothing).
if ! $migrate; then
  if out="$(compose run --rm -T migrate node scripts/migrate.mjs check 2>&1)"; then
    say "no pending migrations"
  else
    rc=$?
    [[ $rc -eq 3 ]] && die "$image has pending migrations (${out#pending: }): run deploy.sh $version --migrate"
    die "could not check the migrations: $out"
  fi
fi
backup_database "pre-deploy_$version"

if $migrate; then
  say "applying migrations"
  compose run --rm -T migrate node scripts/migrate.mjs up ||
    die "migrations failed; the running version was not touched. Backup: $BACKUP_FILE"
fi

# Whether api container $1 answers /health/ready with 200 and the expected version (3 s a try).
container_ready() {
  local check='fetch("http://127.0.0.1:8080/health/ready", { signal: AbortSignal.timeout(3000) }).then(async (r) => process.exit(r.ok && (await r.json()).version === process.argv[1] ? 0 : 1)).catch(() => process.exit(1))'
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
discard_api_except() {
  local gone
  read -r -a gone <<< "$(api_containers_except "$@" | tr '\n' ' ')" || true
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
  local old=("$@") new=() stale=() id i
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
  say "starting $n new api container(s) with $image next to the $n running"
  if ! compose up -d --no-deps --no-recreate --scale "api=$((2 * n))" api; then
    discard_api_except "${old[@]}"
    die "docker compose up failed (docker compose logs --tail 100 api); the old api containers still run"
  fi
  read -r -a new <<< "$(api_containers_except "${old[@]}" | tr '\n' ' ')" || true
  [[ ${#new[@]} -gt 0 ]] || die "docker compose started no new api container; the old api containers still run"
  for id in "${new[@]}"; do
    for ((i = 1; ; i++)); do
      container_ready "$id" && break
      if ((i >= HEALTH_RETRIES)); then
        say "new api container ${id:0:12} is not ready; its last log lines:"
        docker logs --tail 20 "$id" 2>&1 | sed 's/^/    /' || true
        discard_api_except "${old[@]}"
        die "new api container ${id:0:12} was not ready with version $EXPECTED_VERSION after $HEALTH_RETRIES tries (its log is above); the new containers were removed and the old ones still run"
      fi
      sleep "$HEALTH_INTERVAL"
    done
  done
  say "new api container(s) ready; letting the proxy see them for ${ROLLOUT_SETTLE_SECONDS} s"
  sleep "$ROLLOUT_SETTLE_SECONDS"
  say "stopping the $n old api container(s) (each may finish its requests during the stop grace period)"
  docker stop "${old[@]}" > /dev/null || die "docker stop ${old[*]} failed: some old api containers may still run next to the new ones (docker compose ps api)"
  docker rm "${old[@]}" > /dev/null || say "warning: could not remove the stopped old api containers (docker rm ${old[*]})"
}

running_ids="$(compose ps -q api)" || die "docker compose ps api failed; the running version was not touched"
read -r -a running <<< "$(tr '\n' ' ' <<< "$running_ids")" || true
if [[ ${#running[@]} -gt 0 ]] && ! compose_can_roll; then
  say "warning: docker compose $(docker compose version --short 2> /dev/null || echo '?') is older than 2.15: the api is replaced with a gap"
  running=()
fi
if [[ ${#running[@]} -gt 0 ]]; then
  roll_out "${running[@]}"
  # The proxy as the compose file now says, and no containers of services it no longer has. Not
  # migrate (deploy ran it already, or found nothing pending) and not the api (just replaced).
  compose up -d --no-deps --remove-orphans proxy || die "docker compose up -d proxy failed (docker compose logs --tail 100 proxy)"
else
  say "starting $image"
  compose up -d --remove-orphans || die "docker compose up failed (docker compose logs --tail 100 api migrate)"
fi

base="$(api_base_url)"
if ! "$SCRIPTS_DIR/health-check.sh" --url "$base/health/ready" --retries "$HEALTH_RETRIES" --version "$EXPECTED_VERSION"; then
  hint="rollback.sh ${previous:-<previous version>}"
  die "$version is not healthy (docker compose logs --tail 100 api). To go back: $hint (add --to NNNN to also undo migrations; backup: $BACKUP_FILE)"
fi
say "deployed $version"
