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
  5. replaces the running api containers without a gap (compose 2.15 or newer; older: a warning
     and the plain up below): removes stopped api containers, starts as many new ones next to the
     running ones (docker compose up -d --no-deps --no-recreate --scale api=2N api), waits until
     each new one answers /health/ready with the expected version (HEALTH_RETRIES tries each, or
     none more once it reports an invalid configuration; else they are removed and the old ones
     keep serving, as they do when the script is interrupted until here), gives the proxy
     ROLLOUT_SETTLE_SECONDS (6) to see them, stops and removes the old ones (within the stop grace
     period), brings the api to API_REPLICAS (docker compose up -d --no-deps --no-recreate api),
     then docker compose up -d --no-deps --remove-orphans proxy; with no api running,
     IMAGE_TAG=<version> docker compose up -d --remove-orphans
  6. waits until /health/ready answers 200 through the proxy and reports the image's version:
     its /app/VERSION (the build's VERSION arg), which need not be the tag (latest, a retagged
     CI build); the tag itself if /app/VERSION cannot be read
Environment: ENV_FILE, COMPOSE_FILE, BACKUP_DIR, HEALTH_URL, HEALTH_RETRIES (30), HEALTH_INTERVAL (2 s),
ROLLOUT_SETTLE_SECONDS (6: the proxy re-resolves the api replicas every 5 s).
Exit status 0 when the new version is healthy; 1 on any failure (the message says what to do); 2 on a usage error;
130, 143 or 129 when interrupted (SIGINT, SIGTERM, SIGHUP) while the new api containers were checked."

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

replace_api

base="$(api_base_url)"
if ! "$SCRIPTS_DIR/health-check.sh" --url "$base/health/ready" --retries "$HEALTH_RETRIES" --version "$EXPECTED_VERSION"; then
  hint="rollback.sh ${previous:-<previous version>}"
  die "$version is not healthy (docker compose logs --tail 100 api). To go back: $hint (add --to NNNN to also undo migrations; backup: $BACKUP_FILE)"
fi
say "deployed $version"
