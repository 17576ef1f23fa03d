#!/usr/bin/env bash
# Goes back to an earlier version of the API, optionally rolling the schema back too.
set -euo pipefail

SCRIPT_NAME="rollback"
USAGE="usage: rollback.sh <version> [--to NNNN] [--yes]

Rolls the API back to ignition-api:<version> with container/production/docker-compose.yml:
  1. asks for confirmation (--yes skips it; without a terminal, --yes is required)
  2. backs up the database (pg_dump into backups/)
  3. with --to NNNN: stops the api, rolls migrations back down to NNNN (keeping NNNN) with the
     image now deployed, the one that has the down files (use the newest migration of <version>),
     then IMAGE_TAG=<version> docker compose up -d --remove-orphans
  4. without --to: replaces the running api containers as deploy.sh does, without a gap (new
     ones beside the old, the old stopped once every new one is ready; compose 2.15 or newer,
     else with a gap); with no api running, IMAGE_TAG=<version> docker compose up -d --remove-orphans
  5. waits until /health/ready answers 200 and reports the image's version (its /app/VERSION,
     which need not be the tag; the tag itself if /app/VERSION cannot be read)
Without --to the schema stays as it is, which an older image accepts (migrations are additive).
Environment: ENV_FILE, COMPOSE_FILE, BACKUP_DIR, HEALTH_URL, HEALTH_RETRIES (30), HEALTH_INTERVAL (2 s),
ROLLOUT_SETTLE_SECONDS (6), FROM_TAG (the deployed version, when it cannot be read from the api container).
Exit status 0 when <version> is healthy; 1 on any failure or when not confirmed; 2 on a usage error."

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

version=""
to=""
yes=false
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) echo "$USAGE"; exit 0 ;;
    --yes | -y) yes=true; shift ;;
    --to)
      [[ $# -ge 2 && "$2" =~ ^[0-9]{4}$ ]] || usage_error "--to needs a four-digit migration number, e.g. --to 0004"
      to="$2"; shift 2 ;;
    -*) usage_error "unknown option: $1" ;;
    *) [[ -z "$version" ]] || usage_error "only one version, please"; version="$1"; shift ;;
  esac
done
[[ -n "$version" ]] || usage_error "which version? e.g. rollback.sh v0.9.0"
check_version "$version"
check_prerequisites

current="${FROM_TAG:-$(deployed_tag)}"
if [[ -n "$to" && -z "$current" ]]; then
  die "cannot tell which version is deployed (no api container); the down migrations need that image: set FROM_TAG=<deployed version>"
fi
plan="roll back from ${current:-unknown} to $version${to:+ and the schema down to $to}"

if ! $yes; then
  [[ -t 0 ]] || die "refusing to $plan without confirmation: stdin is not a terminal (pass --yes)"
  read -r -p "[$SCRIPT_NAME] $plan? [y/N] " answer
  [[ "$answer" =~ ^[Yy]([Ee][Ss])?$ ]] || die "not confirmed; nothing was changed"
fi
say "$plan"
image="$(IMAGE_TAG="$version" compose config --images api 2> /dev/null | head -n 1)" || true
[[ -n "$image" ]] || die "docker compose config failed: check $ENV_FILE (docker compose -f $COMPOSE_FILE --env-file $ENV_FILE config)"
expected_version "$image" "$version"

start_postgres
backup_database "pre-rollback_$version"

if [[ -n "$to" ]]; then
  # The running version may need the schema that is about to go: stop it first.
  say "stopping the api"
  compose stop api || die "docker compose stop api failed"
  say "rolling migrations back to $to with ${current}"
  IMAGE_TAG="$current" compose run --rm -T migrate node scripts/migrate.mjs down --to "$to" ||
    die "rolling back the migrations failed; the api is stopped. Fix and retry, or restore $BACKUP_FILE"
fi
# With --to the api is stopped by now, so it simply starts; otherwise its containers are replaced.
export IMAGE_TAG="$version"
replace_api

base="$(api_base_url)"
"$SCRIPTS_DIR/health-check.sh" --url "$base/health/ready" --retries "$HEALTH_RETRIES" --version "$EXPECTED_VERSION" ||
  die "$version is not healthy after the rollback (docker compose logs --tail 100 api); backup: $BACKUP_FILE"
say "rolled back to $version"
