#!/bin/sh
# Starts the API the same way in the image (/app) and in build/runtime (tests, bench, npm start).
set -eu
cd "$(dirname "$0")"
PORT="${SERVER_PORT:-8080}"
HOST="${SERVER_HOST:-0.0.0.0}"
exec ./bin/workerd serve config.capnp --socket-addr "http=${HOST}:${PORT}" "$@"
