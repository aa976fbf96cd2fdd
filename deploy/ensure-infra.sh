#!/usr/bin/env bash
# Make a Debian/Ubuntu machine ready to run, test and benchmark Comptoir. Idempotent: each
# step checks first and does nothing when its work is already done, so that `make run` and
# `make test` can call it every time. Quiet on success; on failure it says what failed.
#
#   deploy/ensure-infra.sh             system packages, PostgreSQL, RabbitMQ, then .venv
#   deploy/ensure-infra.sh --venv-only only the Python environment (.tools and .venv)
#   VERBOSE=1 deploy/ensure-infra.sh   say what each step does
#
# Works as root, or as a user with sudo. Uses systemd to start the servers where it runs,
# and starts them directly elsewhere (containers, sandboxes).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

UV_VERSION=0.13.9
DB_ROLE=comptoir
DB_PASSWORD=comptoir
DATABASES=(comptoir comptoir_test comptoir_bench)
VHOSTS=(comptoir_test comptoir_bench)
# A benchmark's own database and vhost besides (bench/env.sh), made as the suite's are.
if [[ -n ${COMPTOIR_BENCH_ENV:-} ]]; then
    [[ $COMPTOIR_BENCH_ENV =~ ^[a-z_][a-z0-9_]*$ ]] ||
        { echo "ensure-infra: COMPTOIR_BENCH_ENV must be a plain lower-case name" >&2; exit 2; }
    DATABASES+=("$COMPTOIR_BENCH_ENV")
    VHOSTS+=("$COMPTOIR_BENCH_ENV")
fi
PG_HOST=127.0.0.1
PG_PORT=5432
AMQP_PORT=5672

VENV_ONLY=0
[[ ${1:-} == --venv-only ]] && VENV_ONLY=1
# --browser (`make test`, the CI): also Debian's chromium and the browser tests' npm
# packages (axe-core, tests/axe), which Playwright drives and injects; `make run` needs neither.
BROWSER=0
[[ ${1:-} == --browser ]] && BROWSER=1

say() { if [[ -n ${VERBOSE:-} ]]; then echo "ensure-infra: $*" >&2; fi; }
die() {
    echo "ensure-infra: ERROR: $*" >&2
    exit 1
}

# Run a command, showing its output only if it fails.
quietly() {
    local out
    if ! out=$("$@" 2>&1); then
        echo "$out" >&2
        die "command failed: $*"
    fi
    if [[ -n ${VERBOSE:-} && -n $out ]]; then echo "$out" >&2; fi
}

if [[ $(id -u) -eq 0 ]]; then
    SUDO=()
else
    command -v sudo >/dev/null || die "not root and sudo is not installed: run this script as root"
    SUDO=(sudo)
fi

# Run a command as another OS user (postgres, rabbitmq): peer authentication on sockets.
as_user() {
    local user=$1
    shift
    if [[ $(id -u) -eq 0 ]] && command -v runuser >/dev/null; then
        (cd / && runuser -u "$user" -- "$@")
    else
        (cd / && sudo -u "$user" -- "$@")
    fi
}

have_systemd() { [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() { # seconds description command...
    local seconds=$1 what=$2
    shift 2
    local i
    for ((i = 0; i < seconds * 2; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.5
    done
    return 1
}

# --- Python interpreter -----------------------------------------------------------------------

# The newest python3.X >= 3.11 on PATH (pyproject.toml: requires-python >= 3.11).
find_python() {
    local candidate
    for candidate in python3 python3.13 python3.12 python3.11; do
        if command -v "$candidate" >/dev/null &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

python_ok() { # interpreter: venv and headers usable
    "$1" -c 'import ensurepip, venv' 2>/dev/null &&
        "$1" -c 'import os, sysconfig; raise SystemExit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' 2>/dev/null
}

# --- system packages --------------------------------------------------------------------------

APT_UPDATED=0
apt_install() {
    command -v apt-get >/dev/null || die "apt-get not found: install by hand: $*"
    if [[ $APT_UPDATED -eq 0 ]]; then
        say "apt-get update"
        quietly "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
        APT_UPDATED=1
    fi
    say "apt-get install $*"
    quietly "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "$@"
}

ensure_packages() {
    local missing=()
    local python
    if python=$(find_python); then
        python_ok "$python" || missing+=(python3-venv python3-dev)
    else
        missing+=(python3 python3-venv python3-dev)
    fi
    command -v gcc >/dev/null || missing+=(gcc)
    command -v curl >/dev/null || missing+=(curl)
    # pyscard (the terminal's PC/SC client) compiles against libpcsclite with swig when no
    # wheel fits this Python.
    command -v swig >/dev/null || missing+=(swig)
    [[ -e /usr/include/PCSC/winscard.h ]] || missing+=(libpcsclite-dev)
    if [[ $VENV_ONLY -eq 0 ]]; then
        # libfaketime: `make test-dates` runs the suite with the machine's clock at other dates.
        command -v faketime >/dev/null || missing+=(faketime)
        command -v pg_ctlcluster >/dev/null && compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null ||
            missing+=(postgresql)
        command -v rabbitmq-server >/dev/null || missing+=(rabbitmq-server)
        # The chip card reader stack: pcscd and vpcd, the driver whose slots are TCP ports
        # a virtual card connects to (deploy/pcscd.sh starts pcscd, not this script).
        [[ -x /usr/sbin/pcscd ]] || command -v pcscd >/dev/null || missing+=(pcscd)
        [[ -e /etc/reader.conf.d/vpcd ]] && compgen -G "/usr/lib/pcsc/drivers/serial/libifdvpcd.so*" >/dev/null ||
            missing+=(vsmartcard-vpcd)
        # The SMS gateway (`make run` starts it, not this script): bearerbox and
        # smsbox from kannel, the fake operator (fakesmsc) from kannel-extras.
        [[ -x /usr/sbin/bearerbox && -x /usr/sbin/smsbox ]] || missing+=(kannel)
        [[ -x /usr/lib/kannel/test/fakesmsc ]] || missing+=(kannel-extras)
    fi
    if [[ $BROWSER -eq 1 ]]; then
        # Playwright's own browser download is never used: it drives this one.
        command -v chromium >/dev/null || missing+=(chromium)
        command -v npm >/dev/null || missing+=(npm)
    fi
    if [[ ${#missing[@]} -gt 0 ]]; then
        apt_install "${missing[@]}"
    fi
    if ! find_python >/dev/null; then
        # An older distribution (Ubuntu 22.04 ships 3.10): try its python3.11 packages.
        if apt-cache show python3.11 >/dev/null 2>&1; then
            apt_install python3.11 python3.11-venv python3.11-dev
        fi
        find_python >/dev/null || die "Python >= 3.11 is needed and none was found or installable"
    fi
    python=$(find_python)
    if ! python_ok "$python"; then
        local minor
        minor=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
        apt_install "python${minor}-venv" "python${minor}-dev"
        python_ok "$python" || die "$python has no venv module or no headers (Python.h)"
    fi
}

# --- PostgreSQL -------------------------------------------------------------------------------

pg_ready() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; }

ensure_postgres() {
    if ! pg_ready; then
        say "starting PostgreSQL"
        if have_systemd; then
            quietly "${SUDO[@]}" systemctl start postgresql
        else
            local version
            for version in $(ls /etc/postgresql 2>/dev/null); do
                if [[ -d /etc/postgresql/$version/main ]]; then
                    quietly "${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$version" main start
                fi
            done
        fi
        wait_for 30 postgres pg_ready ||
            die "PostgreSQL does not answer on $PG_HOST:$PG_PORT (see /var/log/postgresql/)"
    fi

    # Role and databases, as the postgres superuser over the local socket (peer auth).
    local sql
    sql="SELECT 'CREATE ROLE $DB_ROLE LOGIN CREATEDB PASSWORD ''$DB_PASSWORD'''
           WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_ROLE') \\gexec
"
    local db
    for db in "${DATABASES[@]}"; do
        sql+="SELECT 'CREATE DATABASE $db OWNER $DB_ROLE'
                WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db') \\gexec
"
    done
    local out
    if ! out=$(as_user postgres psql -X -q -v ON_ERROR_STOP=1 -d postgres <<<"$sql" 2>&1); then
        echo "$out" >&2
        die "could not create the PostgreSQL role '$DB_ROLE' or its databases"
    fi
    # The role must log in with its password over TCP, as the services do.
    if ! PGPASSWORD=$DB_PASSWORD PGCONNECT_TIMEOUT=5 psql -X -q -h "$PG_HOST" -p "$PG_PORT" \
        -U "$DB_ROLE" -d comptoir -c 'SELECT 1' >/dev/null 2>&1; then
        say "setting the password of role $DB_ROLE"
        as_user postgres psql -X -q -v ON_ERROR_STOP=1 -d postgres \
            -c "ALTER ROLE $DB_ROLE LOGIN PASSWORD '$DB_PASSWORD'" >/dev/null ||
            die "could not set the password of role $DB_ROLE"
        PGPASSWORD=$DB_PASSWORD psql -X -q -h "$PG_HOST" -p "$PG_PORT" -U "$DB_ROLE" -d comptoir \
            -c 'SELECT 1' >/dev/null ||
            die "role $DB_ROLE cannot log in on $PG_HOST:$PG_PORT (check pg_hba.conf)"
    fi
    ensure_service_roles
}

# One role per service, owning its schema only (deploy/postgres/service-roles.sql); on this
# machine their password is the development one, like the owner's. Schemas an earlier version
# created under the owner role are handed over to the services' roles.
ensure_service_roles() {
    local out db
    if ! out=$(as_user postgres psql -X -q -v ON_ERROR_STOP=1 -d postgres -v owner="$DB_ROLE" \
        -v pw_terminals="$DB_PASSWORD" -v pw_cards="$DB_PASSWORD" -v pw_clearing="$DB_PASSWORD" \
        -v pw_crm="$DB_PASSWORD" -v pw_notifications="$DB_PASSWORD" -v pw_portal="$DB_PASSWORD" \
        <"$ROOT/deploy/postgres/service-roles.sql" 2>&1); then
        echo "$out" >&2
        die "could not create the services' PostgreSQL roles"
    fi
    for db in "${DATABASES[@]}"; do
        if ! out=$(as_user postgres psql -X -q -v ON_ERROR_STOP=1 -d "$db" \
            <"$ROOT/deploy/postgres/hand-over-schemas.sql" 2>&1); then
            echo "$out" >&2
            die "could not hand the schemas of database $db over to the services' roles"
        fi
    done
}

# --- RabbitMQ ---------------------------------------------------------------------------------

rabbit_ping() { "${SUDO[@]}" rabbitmq-diagnostics -q ping; }
rabbitmqctl_q() { "${SUDO[@]}" rabbitmqctl -q "$@"; }

ensure_rabbitmq() {
    if ! port_open "$AMQP_PORT"; then
        if rabbit_ping >/dev/null 2>&1; then
            # The node runs but its app is stopped (being restarted?): give it time, then start it.
            say "RabbitMQ node up without its AMQP listener: waiting"
            if ! wait_for 30 "amqp port" port_open "$AMQP_PORT"; then
                quietly rabbitmqctl_q start_app
            fi
        else
            say "starting RabbitMQ"
            if have_systemd; then
                quietly "${SUDO[@]}" systemctl start rabbitmq-server
            else
                quietly "${SUDO[@]}" rabbitmq-server -detached
            fi
            wait_for 60 rabbitmq rabbit_ping ||
                die "RabbitMQ did not start within 60 s (see /var/log/rabbitmq/)"
        fi
        wait_for 60 "amqp port" port_open "$AMQP_PORT" ||
            die "RabbitMQ runs but does not listen on 127.0.0.1:$AMQP_PORT"
    fi
    # One call tells both: a vhost guest has permissions on exists.
    local perms vhost
    perms=$(rabbitmqctl_q list_user_permissions guest 2>&1) || {
        echo "$perms" >&2
        die "rabbitmqctl cannot talk to RabbitMQ (or has no user guest)"
    }
    for vhost in "${VHOSTS[@]}"; do
        if ! grep -q "^$vhost[[:space:]]" <<<"$perms"; then
            say "creating RabbitMQ vhost $vhost for guest"
            quietly rabbitmqctl_q add_vhost "$vhost"
            quietly rabbitmqctl_q set_permissions -p "$vhost" guest '.*' '.*' '.*'
        fi
    done
}

# --- Python environment -----------------------------------------------------------------------

ensure_venv() {
    local python
    python=$(find_python) || die "no Python >= 3.11 on PATH"
    if [[ ! -x .tools/bin/uv ]] || [[ $(.tools/bin/uv --version 2>/dev/null) != "uv $UV_VERSION"* ]]; then
        say "creating .tools with uv $UV_VERSION"
        [[ -x .tools/bin/pip ]] || quietly "$python" -m venv .tools
        printf '*\n' >.tools/.gitignore
        quietly .tools/bin/pip install -q --disable-pip-version-check "uv==$UV_VERSION"
    fi
    # uv sync is cheap when nothing changed, but skip it outright when the lock is the one
    # .venv was built from.
    local stamp=.venv/.comptoir-lock-sha256 want
    want=$(cat uv.lock pyproject.toml | sha256sum | cut -d' ' -f1)
    if [[ -x .venv/bin/python && -f $stamp && $(cat "$stamp") == "$want" ]]; then
        return 0
    fi
    say "uv sync --frozen"
    local out
    if ! out=$(UV_PYTHON_DOWNLOADS=never .tools/bin/uv sync --frozen 2>&1); then
        echo "$out" >&2
        die "uv sync --frozen failed (is uv.lock up to date with pyproject.toml?)"
    fi
    echo "$want" >"$stamp"
}

# --- the browser tests' npm packages ----------------------------------------------------------

ensure_axe() {
    # npm ci from the lockfile into tests/axe/node_modules (not committed); again only when
    # the lockfile changed since.
    local stamp=tests/axe/node_modules/.comptoir-lock-sha256 want
    want=$(sha256sum tests/axe/package-lock.json | cut -d' ' -f1)
    if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
        return 0
    fi
    say "npm ci in tests/axe"
    quietly npm ci --prefix tests/axe --no-audit --no-fund --ignore-scripts
    echo "$want" >"$stamp"
}

ensure_packages
if [[ $BROWSER -eq 1 ]]; then
    ensure_axe
fi
if [[ $VENV_ONLY -eq 0 ]]; then
    ensure_postgres
    ensure_rabbitmq
fi
ensure_venv
say "ready ($ROOT)"
