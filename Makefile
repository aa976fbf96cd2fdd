# Comptoir: `make run` to try it, `make test` to test it, `make help` for the rest.
# Every target first makes the machine ready (deploy/ensure-infra.sh: idempotent, quiet).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON := .venv/bin/python
export PYTHONPATH := $(CURDIR)

PG := postgresql://comptoir:comptoir@127.0.0.1:5432
AMQP := amqp://guest:guest@127.0.0.1:5672
TEST_ENV := COMPTOIR_DATABASE_URL=$(PG)/comptoir_test COMPTOIR_AMQP_URL=$(AMQP)/comptoir_test
LINT_PATHS := $(wildcard shared services deploy tests)

# Extra arguments: make test PYTEST_ARGS="-k sale -x"; make run RUN_ARGS="--follow".
PYTEST_ARGS ?=
RUN_ARGS ?=

.PHONY: help infra venv run seed test bench lint check-deploy clean

help:
	@echo "make run           start the five services, seed a demo network, print how to use it (Ctrl-C stops)"
	@echo "make test          the test suite, on database comptoir_test and vhost comptoir_test"
	@echo "make bench         the benchmarks of bench/, on database comptoir_bench and vhost comptoir_bench"
	@echo "make lint          ruff and mypy over $(LINT_PATHS)"
	@echo "make seed          (re)seed the demo network into running services"
	@echo "make check-deploy  check Dockerfile and docker-compose.yml without a Docker engine"
	@echo "make infra         only prepare the machine: packages, PostgreSQL, RabbitMQ, .venv"

infra:
	@bash deploy/ensure-infra.sh

venv:
	@bash deploy/ensure-infra.sh --venv-only

run: infra
	@bash deploy/pcscd.sh start
	@$(PYTHON) -m deploy.run $(RUN_ARGS)

seed: venv
	@$(PYTHON) -m deploy.seed

# pytest's own exit code is the target's: 5 (no test collected) fails it too.
test: infra
	@bash deploy/pcscd.sh start
	$(TEST_ENV) $(PYTHON) -m pytest $(PYTEST_ARGS)

# Each benchmark prints a JSON line last; they are gathered in run/bench/results.jsonl.
# make bench BENCHES=ingest BENCH_ARGS="--sales 2000" runs one with arguments.
bench: infra
	@bash deploy/bench.sh

lint: venv
	$(PYTHON) -m ruff check $(LINT_PATHS)
	$(PYTHON) -m mypy $(LINT_PATHS)

check-deploy:
	@bash deploy/check-deploy.sh

clean:
	rm -rf run .comptoir .pytest_cache .mypy_cache .ruff_cache
