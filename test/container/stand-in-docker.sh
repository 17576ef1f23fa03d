#!/usr/bin/env bash
# Stand-in for `docker` in the deploy-script tests: appends each call (with the IMAGE_TAG it saw)
# to $DOCKER_LOG and answers like docker and docker compose would. FAKE_* variables steer it.
printf 'IMAGE_TAG=%s %s\n' "${IMAGE_TAG:-}" "$*" >> "$DOCKER_LOG"
case " $* " in
  *" compose version --short "*) echo "${FAKE_COMPOSE_VERSION:-2.29.7}" ;;
  *" compose version "*) echo "Docker Compose version v${FAKE_COMPOSE_VERSION:-2.29.7}" ;;
  *" config --images api "*) echo "ignition-api:${IMAGE_TAG:-latest}" ;;
  *" image inspect "*) exit "${FAKE_IMAGE_MISSING:-0}" ;;
  *" run --rm --entrypoint cat "*" /app/VERSION "*)
    [[ -n "${FAKE_IMAGE_VERSION:-}" ]] || { echo "cat: /app/VERSION: No such file or directory" >&2; exit 1; }
    echo "$FAKE_IMAGE_VERSION" ;;
  *" pull "*) [[ -z "${FAKE_IMAGE_MISSING:-}" ]] || { echo "pull access denied for ignition-api" >&2; exit 1; } ;;
  # Running api containers: FAKE_RUNNING's ids, joined by as many new ones once an `up --scale`
  # (the deploy's rolling replacement) was called; with -a also FAKE_STOPPED's, until removed.
  # Without either, FAKE_CURRENT_TAG alone means one api container.
  *" ps -a -q api "* | *" ps -q api "*)
    if [[ -z "${FAKE_RUNNING:-}${FAKE_STOPPED:-}" ]]; then
      [[ " $* " == *" -a "* && -n "${FAKE_CURRENT_TAG:-}" ]] && echo "0123456789ab"
      exit 0
    fi
    for id in ${FAKE_RUNNING:-}; do echo "$id"; done
    if grep -q -- "--scale api=" "$DOCKER_LOG"; then
      # FAKE_SCALE_SHORT: compose made one container fewer than asked.
      skip="${FAKE_SCALE_SHORT:+1}"
      for id in ${FAKE_RUNNING:-}; do
        if [[ -n "$skip" ]]; then skip=""; continue; fi
        echo "new-$id"
      done
    fi
    if [[ " $* " == *" -a "* ]]; then
      for id in ${FAKE_STOPPED:-}; do grep -q -- "rm -f.* $id" "$DOCKER_LOG" || echo "$id"; done
    fi ;;
  *" exec "*" node -e "*)
    # FAKE_INTERRUPT: the script gets that signal (Ctrl-C, a closed terminal) during the check.
    if [[ -n "${FAKE_INTERRUPT:-}" ]]; then kill -s "${FAKE_INTERRUPT#SIG}" "$PPID"; exit 1; fi
    exit "${FAKE_NEW_NOT_READY:-0}" ;;
  *" logs --tail "*) echo '{"level":"error","msg":"configuration problems"}' ;;
  *" up -d --no-deps --no-recreate --scale "*) [[ -z "${FAKE_SCALE_FAIL:-}" ]] || { echo "Error response from daemon: boom" >&2; exit 1; } ;;
  *" inspect --format "*) echo "ignition-api:${FAKE_CURRENT_TAG}" ;;
  *" exec -T postgres sh -c pg_isready"*) ;;
  *" exec -T postgres sh -c pg_dump"*)
    if [[ -n "${FAKE_PG_DUMP_FAIL:-}" ]]; then echo 'pg_dump: error: connection to server failed' >&2; exit 1; fi
    printf -- '-- PostgreSQL database dump\nCREATE TABLE public.users (id uuid NOT NULL);\n-- PostgreSQL database dump complete\n' ;;
  *"migrate.mjs check "*)
    if [[ -n "${FAKE_PENDING:-}" ]]; then echo "pending: $FAKE_PENDING"; exit 3; fi
    echo "the schema is up to date" ;;
  *"migrate.mjs up "*)
    if [[ -n "${FAKE_MIGRATE_FAIL:-}" ]]; then echo "migrate: 0002_x.sql line 3: boom" >&2; exit 1; fi
    echo "applied 0002_x.sql" ;;
  *"migrate.mjs down "*) echo "rolled back 0002_x.sql" ;;
  *" port proxy 8080 "*) echo "0.0.0.0:${FAKE_PROXY_PORT}" ;;
esac
exit 0
