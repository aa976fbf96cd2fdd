#!/usr/bin/env bash
# `make bench`: run each benchmark of bench/ as `python -m bench.<name>`, on the database and
# vhost comptoir_bench, and gather the JSON line each one prints last in run/bench/results.jsonl.
#
# A benchmark is a bench/*.py module that no other bench module starts or imports: helper
# processes such as bench/loadgen.py (started as "bench.loadgen" by bench/ingest.py) are
# skipped, and so are _*.py files. BENCHES="ingest other" picks benchmarks by name;
# BENCH_ARGS is passed to each of them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export PYTHONPATH=$PWD
# The benchmarks run the services with the development secrets (shared/production.py).
export COMPTOIR_ENV=${COMPTOIR_ENV:-development}
export COMPTOIR_DATABASE_URL=${BENCH_DATABASE_URL:-postgresql://comptoir:comptoir@127.0.0.1:5432/comptoir_bench}
export COMPTOIR_AMQP_URL=${BENCH_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/comptoir_bench}
PYTHON=.venv/bin/python

is_helper() { # name: started or imported by another bench module
    local name=$1 other
    for other in bench/*.py; do
        [[ $(basename "$other" .py) == "$name" ]] && continue
        if grep -qE "[\"']bench\.$name[\"']|from bench import ([a-z_, ]*, )?$name\b|import bench\.$name\b" "$other"; then
            return 0
        fi
    done
    return 1
}

if [[ -n ${BENCHES:-} ]]; then
    read -r -a names <<<"$BENCHES"
else
    names=()
    for script in bench/*.py; do
        [[ -f $script ]] || continue
        name=$(basename "$script" .py)
        [[ $name == _* ]] && continue
        is_helper "$name" && continue
        names+=("$name")
    done
fi
if [[ ${#names[@]} -eq 0 ]]; then
    echo "bench: no benchmark found in bench/" >&2
    exit 1
fi

mkdir -p run/bench
results=run/bench/results.jsonl
: >"$results"
status=0
for name in "${names[@]}"; do
    echo "== python -m bench.$name ${BENCH_ARGS:-}"
    # shellcheck disable=SC2086  # BENCH_ARGS is a list of words on purpose
    if "$PYTHON" -m "bench.$name" ${BENCH_ARGS:-} | tee "run/bench/$name.out"; then
        last=$(tail -n 1 "run/bench/$name.out")
        if [[ $last == "{"* ]]; then
            echo "$last" >>"$results"
        else
            echo "!! bench.$name did not end with a JSON line" >&2
            status=1
        fi
    else
        echo "!! bench.$name failed (its stdout is in run/bench/$name.out)" >&2
        status=1
    fi
done
echo "== results ($results)"
cat "$results"
exit $status
