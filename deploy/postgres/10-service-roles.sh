#!/bin/sh
# The PostgreSQL container's first start (docker-entrypoint-initdb.d): one role per service,
# owning its own schema only (deploy/postgres/service-roles.sql). Passwords from the
# environment docker-compose.yml passes in (required there: no default).
set -eu
: "${COMPTOIR_DB_PASSWORD_TERMINALS:?}" "${COMPTOIR_DB_PASSWORD_CARDS:?}"
: "${COMPTOIR_DB_PASSWORD_CLEARING:?}" "${COMPTOIR_DB_PASSWORD_CRM:?}"
: "${COMPTOIR_DB_PASSWORD_NOTIFICATIONS:?}" "${COMPTOIR_DB_PASSWORD_PORTAL:?}"
psql -X -q -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v owner="$POSTGRES_USER" \
    -v pw_terminals="$COMPTOIR_DB_PASSWORD_TERMINALS" \
    -v pw_cards="$COMPTOIR_DB_PASSWORD_CARDS" \
    -v pw_clearing="$COMPTOIR_DB_PASSWORD_CLEARING" \
    -v pw_crm="$COMPTOIR_DB_PASSWORD_CRM" \
    -v pw_notifications="$COMPTOIR_DB_PASSWORD_NOTIFICATIONS" \
    -v pw_portal="$COMPTOIR_DB_PASSWORD_PORTAL" \
    -f /comptoir/service-roles.sql
