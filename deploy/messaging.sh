#!/usr/bin/env bash
# Start, stop or check by hand the messaging servers `make run` starts and stops itself
# (deploy/run.py): an SMTP sink that keeps every e-mail in run/messaging/mail/, and Kannel
# (bearerbox, smsbox, and kannel-extras' fake SMSC, which logs every SMS it receives in
# run/messaging/kannel/fakesmsc.log). Idempotent and quiet, like pcscd.sh;
# deploy/ensure-infra.sh installs Kannel.
#
#   deploy/messaging.sh start    start them (a previous run's are stopped first)
#   deploy/messaging.sh stop     stop them (SIGTERM)
#   deploy/messaging.sh status   exit 0 if all four run
#
# What they received: .venv/bin/python -m deploy.messaging list
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

case ${1:-} in
start | stop | status)
    PYTHONPATH=$PWD exec .venv/bin/python -m deploy.messaging "$1" \
        --notifications-url "${COMPTOIR_NOTIFICATIONS_URL:-http://127.0.0.1:8084}"
    ;;
*)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
