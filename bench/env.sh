#!/usr/bin/env bash
# A benchmark's own database and RabbitMQ vhost, both named NAME, made anew (dropped first if
# they exist): the database owned by the project's role, with the services' roles able to
# connect and create their schemas, as deploy/ensure-infra.sh does for the suite's; the vhost
# open to guest. Never a suite's: the benchmarks reset their database.
#
#   bash bench/env.sh comptoir_s10     # then: python -m bench.stats --dsn .../comptoir_s10 ...
#
# Needs PostgreSQL and RabbitMQ running (make infra), and root or sudo (the postgres role and
# rabbitmqctl). The development password of every role, as on a developer's machine.
set -euo pipefail
NAME=${1:?usage: bash bench/env.sh NAME}
[[ $NAME =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "bench/env.sh: NAME must be a plain lower-case name" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OWNER=${COMPTOIR_DB_ROLE:-comptoir}
PASSWORD=${COMPTOIR_DB_PASSWORD:-comptoir}

as_postgres() {
    if [[ $(id -u) -eq 0 ]] && command -v runuser >/dev/null; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && sudo -u postgres -- "$@")
    fi
}
rabbitmqctl_q() {
    if [[ $(id -u) -eq 0 ]]; then rabbitmqctl -q "$@"; else sudo rabbitmqctl -q "$@"; fi
}

# Quiet unless it fails: then what the command said, and this script's failure.
quietly() {
    local out
    out=$("$@" 2>&1) || { echo "$out" >&2; echo "bench/env.sh: failed: $*" >&2; exit 1; }
}
export PGOPTIONS=--client-min-messages=warning
quietly as_postgres psql -X -q -v ON_ERROR_STOP=1 -d postgres \
    -c "DROP DATABASE IF EXISTS $NAME WITH (FORCE)" -c "CREATE DATABASE $NAME OWNER $OWNER"
quietly as_postgres psql -X -q -v ON_ERROR_STOP=1 -d postgres -v owner="$OWNER" \
    -v pw_terminals="$PASSWORD" -v pw_cards="$PASSWORD" -v pw_clearing="$PASSWORD" \
    -v pw_crm="$PASSWORD" -v pw_notifications="$PASSWORD" -v pw_portal="$PASSWORD" \
    -f "$ROOT/deploy/postgres/service-roles.sql"
quietly as_postgres psql -X -q -v ON_ERROR_STOP=1 -d "$NAME" \
    -f "$ROOT/deploy/postgres/hand-over-schemas.sql"
rabbitmqctl_q delete_vhost "$NAME" >/dev/null 2>&1 || true
quietly rabbitmqctl_q add_vhost "$NAME"
quietly rabbitmqctl_q set_permissions -p "$NAME" guest '.*' '.*' '.*'
echo "bench/env.sh: database and vhost $NAME ready"
