# Comptoir: `make run` to try it, `make test` to test it, `make help` for the rest.
# Every target first makes the machine ready (deploy/ensure-infra.sh: idempotent, quiet).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON := .venv/bin/python
export PYTHONPATH := $(CURDIR)
# Some machines (this project's CI among them) set PYTHONDONTWRITEBYTECODE: every process
# then compiles every module it imports, ours and the venv's, from source. The suite starts
# the five services some sixty times (each move of a test's calendar restarts them), and that
# compiling was half of each start's CPU (crm: 3.4 s against 1.7 s with the bytecode kept).
unexport PYTHONDONTWRITEBYTECODE

PG := postgresql://comptoir:comptoir@127.0.0.1:5432
AMQP := amqp://guest:guest@127.0.0.1:5672
# run, test and bench use the public development secrets (admin token, card and terminal
# keys): the services refuse them unless COMPTOIR_ENV=development (shared/production.py).
DEV_ENV := COMPTOIR_ENV=development
TEST_ENV := $(DEV_ENV) COMPTOIR_DATABASE_URL=$(PG)/comptoir_test COMPTOIR_AMQP_URL=$(AMQP)/comptoir_test
LINT_PATHS := $(wildcard shared services terminal deploy tests)

# Extra arguments: make test PYTEST_ARGS="-k sale -x"; make run RUN_ARGS="--follow".
PYTEST_ARGS ?=
RUN_ARGS ?=

.PHONY: help infra venv run seed test test-dates bench fuzz lint check-deploy clean

help:
	@echo "make run           start the five services, seed a demo network, print how to use it (Ctrl-C stops)"
	@echo "make test          the test suite, on database comptoir_test and vhost comptoir_test"
	@echo "make test-dates    the test suite with the machine's clock at three other dates (libfaketime)"
	@echo "make bench         the benchmarks of bench/, on database comptoir_bench and vhost comptoir_bench"
	@echo "make fuzz          fuzz the terminal API and the sync line for 10 minutes, then check the books"
	@echo "make lint          ruff and mypy over $(LINT_PATHS)"
	@echo "make seed          (re)seed the demo network into running services"
	@echo "make check-deploy  check Dockerfile and docker-compose.yml without a Docker engine"
	@echo "make infra         only prepare the machine: packages, PostgreSQL, RabbitMQ, .venv"

infra:
	@bash deploy/ensure-infra.sh

venv:
	@bash deploy/ensure-infra.sh --venv-only

# The messaging servers (an SMTP sink, Kannel) are the run's own: deploy/run.py starts them
# before the services and stops them after, on Ctrl-C or a SIGTERM to the whole group alike.
run: infra
	@bash deploy/pcscd.sh start
	@$(DEV_ENV) $(PYTHON) -m deploy.run $(RUN_ARGS)

seed: venv
	@$(DEV_ENV) $(PYTHON) -m deploy.seed

# pytest's own exit code is the target's: 5 (no test collected) fails it too.
# The tests also need chromium and axe-core (the portal's browser tests): --browser.
test:
	@bash deploy/ensure-infra.sh --browser
	@bash deploy/pcscd.sh start
	$(TEST_ENV) $(PYTHON) -m pytest $(PYTEST_ARGS)

# The suite with the machine's clock at other dates, to show that no test and no rule depends on
# today's date: 00:30 on New Year's Day in Paris, a leap day, and the night the clocks go back
# (02:30 Paris summer time, half an hour before). Each is given as its UTC instant, with TZ=UTC,
# so that no local time is ambiguous. PostgreSQL and RabbitMQ keep the real time, as another
# server would: that is why rules never compare the database's now() with the services' clock.
# The clock runs from the instant given; FAKETIME_DONT_RESET makes the services the tests start
# continue the tests' clock instead of starting over at the instant. Monotonic clocks stay
# faked: with FAKETIME_DONT_FAKE_MONOTONIC=1, libfaketime 0.9.10 makes Python's time.sleep fail
# (EINVAL). make test-dates TEST_DATES=2030-06-30T22:00:00 runs one date; every date is run,
# and the target fails if one of them did.
TEST_DATES ?= 2026-12-31T23:30:00 2028-02-29T11:00:00 2027-10-31T00:30:00
test-dates:
	@bash deploy/ensure-infra.sh --browser
	@command -v faketime >/dev/null || { echo "faketime is not installed (make infra)" >&2; exit 1; }
	@bash deploy/pcscd.sh start
	@failed=""; for at in $(TEST_DATES); do \
		echo "== make test with the clock at $$at UTC"; \
		TZ=UTC FAKETIME_DONT_RESET=1 faketime -f "@$${at/T/ }" \
			env $(TEST_ENV) $(PYTHON) -m pytest $(PYTEST_ARGS) || failed="$$failed $$at"; \
	done; \
	if [[ -n $$failed ]]; then echo "test-dates failed at:$$failed" >&2; exit 1; fi

# Each benchmark prints a JSON line last; they are gathered in run/bench/results.jsonl.
# make bench BENCHES=ingest BENCH_ARGS="--sales 2000" runs one with arguments.
bench: infra
	@$(DEV_ENV) bash deploy/bench.sh

# Not in CI: the terminal HTTP API and the sync line fuzzed (hypothesis) for FUZZ_MINUTES
# against running services on database comptoir_fuzz and vhost comptoir_fuzz, then the books
# checked (bench/fuzz/__main__.py); make fuzz FUZZ_ARGS="--seed 2" passes more arguments.
FUZZ_MINUTES ?= 10
FUZZ_ARGS ?=
fuzz: infra
	$(PYTHON) -m bench.fuzz --minutes $(FUZZ_MINUTES) $(FUZZ_ARGS)

lint: venv
	$(PYTHON) -m ruff check $(LINT_PATHS)
	$(PYTHON) -m ruff format --check $(LINT_PATHS) bench
	$(PYTHON) -m deploy.topology --check
	$(PYTHON) -m mypy $(LINT_PATHS)
	$(PYTHON) -m deploy.check_house --baseline deploy/house-baseline.txt services shared terminal

check-deploy:
	@bash deploy/check-deploy.sh

clean:
	rm -rf run .comptoir .pytest_cache .mypy_cache .ruff_cache
