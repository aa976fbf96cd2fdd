#!/usr/bin/env bash
# A benchmark's own database and RabbitMQ vhost, both named NAME, made anew: dropped if they
# exist, then made by deploy/ensure-infra.sh as the suite's are (owned by the project's role,
# the services' roles able to connect and create their schemas; the vhost open to guest).
# Never a suite's: the benchmarks reset their database.
#
#   bash bench/env.sh comptoir_s10     # then: python -m bench.stats --dsn .../comptoir_s10 ...
#
# Needs root or sudo (rabbitmqctl), and the postgres role connecting from 127.0.0.1 without a
# password, as bench/ingest does.
set -euo pipefail
NAME=${1:?usage: bash bench/env.sh NAME}
[[ $NAME =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "bench/env.sh: NAME must be a plain lower-case name" >&2; exit 2; }
case $NAME in comptoir | comptoir_test) echo "bench/env.sh: $NAME is not a benchmark's" >&2; exit 2 ;; esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SUDO=()
[[ $(id -u) -eq 0 ]] || SUDO=(sudo)

PGOPTIONS=--client-min-messages=warning psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres \
    -d postgres -c "DROP DATABASE IF EXISTS $NAME WITH (FORCE)"
"${SUDO[@]}" rabbitmqctl -q delete_vhost "$NAME" >/dev/null 2>&1 || true
cd "$ROOT" && COMPTOIR_BENCH_ENV=$NAME bash deploy/ensure-infra.sh
echo "bench/env.sh: database and vhost $NAME ready"
