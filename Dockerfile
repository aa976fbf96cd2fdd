# One image for every Comptoir service: choose the service with the command, e.g.
#   docker run --rm comptoir:latest python -m services.cards
# docker-compose.yml runs the five services, the portal, PostgreSQL, RabbitMQ and the demo seed from it.

ARG PYTHON_IMAGE=python:3.11-slim
ARG UV_VERSION=0.13.9

# --- build: resolve the locked dependencies into /app/.venv ----------------------------------
FROM ${PYTHON_IMAGE} AS build
ARG UV_VERSION
ENV UV_PYTHON_DOWNLOADS=never \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN pip install "uv==${UV_VERSION}"
WORKDIR /app
# Only the lock first, so that the dependency layer is rebuilt only when the lock changes.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-default-groups --no-install-project

# --- runtime: the venv and the code, run as an unprivileged user -----------------------------
FROM ${PYTHON_IMAGE}
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    COMPTOIR_HOST=0.0.0.0
RUN groupadd --system --gid 10001 comptoir \
    && useradd --system --uid 10001 --gid comptoir --home-dir /app --no-create-home comptoir
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
COPY pyproject.toml uv.lock ./
COPY shared ./shared
COPY services ./services
COPY deploy ./deploy
# The code's bytecode compiled once here (the venv's is, by UV_COMPILE_BYTECODE): with
# PYTHONDONTWRITEBYTECODE, each start would otherwise compile every module again.
RUN python -m compileall -q shared services deploy
# The seed writes the demo credentials here (.comptoir/demo.json).
RUN mkdir -p /app/.comptoir && chown comptoir:comptoir /app/.comptoir
USER 10001:10001
# 8070: the gateway's line for terminals' sync sessions (modem framing, docs/terminal-protocol.md).
EXPOSE 8070 8080 8081 8082 8083 8084 8085
STOPSIGNAL SIGTERM
CMD ["python", "-m", "deploy"]
