"""Static checks of Dockerfile, .dockerignore and docker-compose.yml, for machines without a
Docker engine (`make check-deploy` runs this after the compose-spec schema and hadolint).

Checks that every path the files refer to exists and reaches the build context (and that the
in-store terminal program, terminal/, does not), that each service runs an existing module on
its own port with a /ready healthcheck, and that every COMPTOIR_* variable set is one the
code reads. And production by default (issue 11, finding
7): no secret written in the file or given a fallback value (each is ``${VAR:?...}``), every
such variable listed in .env.example without a value, only the gateway's HTTP and line ports
published on every interface (the rest on 127.0.0.1 or not at all), nothing in development
mode, and each service on its own database role, created by the database's init script.
Needs PyYAML only (no project dependency).
"""

from __future__ import annotations

import ast
import fnmatch
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
APP_SERVICES = ("terminals", "cards", "clearing", "crm", "notifications", "portal")


def _settings() -> tuple[dict[str, int], set[str]]:
    """DEFAULT_PORTS and the Settings field names, read from shared/settings.py's source."""
    tree = ast.parse((ROOT / "shared" / "settings.py").read_text())
    ports: dict[str, int] = {}
    fields: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "DEFAULT_PORTS" for t in node.targets
        ):
            ports = ast.literal_eval(node.value)
        if isinstance(node, ast.ClassDef) and node.name == "Settings":
            fields = {
                s.target.id
                for s in node.body
                if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
            }
            # The gateway's second listener: the terminals' line (sync_line_port).
            for s in node.body:
                if (
                    isinstance(s, ast.AnnAssign)
                    and isinstance(s.target, ast.Name)
                    and s.target.id == "sync_line_port"
                    and s.value is not None
                ):
                    ports["terminals line"] = ast.literal_eval(s.value)
    return ports, fields


def _module_exists(module: str) -> bool:
    path = ROOT.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__main__.py").is_file()


def _ignored(path: str, patterns: list[str]) -> bool:
    """A simplified .dockerignore match (enough for the patterns used here, no negations)."""
    parts = Path(path).parts
    for p in patterns:
        p = p.lstrip("/").removeprefix("**/")
        for i in range(len(parts)):
            if fnmatch.fnmatch("/".join(parts[: i + 1]), p) or fnmatch.fnmatch(parts[i], p):
                return True
    return False


def check_dockerfile(errors: list[str], ports: dict[str, int]) -> None:
    text = (ROOT / "Dockerfile").read_text()
    ignore = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    instructions = re.sub(r"\\\n", " ", text).splitlines()
    for line in instructions:
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        op = words[0].upper()
        if op == "COPY" and not any(w.startswith("--from") for w in words[1:]):
            sources = [w for w in words[1:-1] if not w.startswith("--")]
            for src in sources:
                if not (ROOT / src).exists():
                    errors.append(f"Dockerfile: COPY source {src} does not exist")
                elif _ignored(src, ignore):
                    errors.append(f"Dockerfile: COPY source {src} is excluded by .dockerignore")
        if op == "CMD":
            cmd = json.loads(line[3:].strip())
            if cmd[:2] == ["python", "-m"] and not _module_exists(cmd[2]):
                errors.append(f"Dockerfile: CMD runs module {cmd[2]}, which does not exist")
        if op == "EXPOSE":
            exposed = {int(w.split("/")[0]) for w in words[1:]}
            if exposed != set(ports.values()):
                errors.append(f"Dockerfile: EXPOSE {sorted(exposed)} != {sorted(ports.values())}")
    for needed in ("pyproject.toml", "uv.lock", "shared", "services", "deploy"):
        if _ignored(needed, ignore):
            errors.append(f".dockerignore excludes {needed}, which the image needs")
    # The in-store terminal program (pyscard, a PC/SC reader) never runs in the image.
    copied = [
        w
        for line in instructions
        if line.split()[:1] == ["COPY"] and "--from" not in line
        for w in line.split()[1:-1]
        if not w.startswith("--")
    ]
    if not _ignored("terminal", ignore) or any(
        src.rstrip("/") in (".", "terminal") for src in copied
    ):
        errors.append("the image must leave terminal/ (the in-store terminal program) out")


def check_compose(errors: list[str], ports: dict[str, int], fields: set[str]) -> None:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services: dict[str, Any] = compose["services"]
    volumes = set(compose.get("volumes") or {})
    url_overrides = {f"{s.upper()}_URL" for s in ports} | {"DEMO_FILE"}
    for name, svc in services.items():
        where = f"docker-compose.yml: {name}"
        build = svc.get("build")
        if build is not None:
            context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
            dockerfile = (
                "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            )
            if not (context / dockerfile).is_file():
                errors.append(f"{where}: build file {context / dockerfile} does not exist")
        for dep, cond in (svc.get("depends_on") or {}).items():
            if dep not in services:
                errors.append(f"{where}: depends on unknown service {dep}")
            if cond.get("condition") != "service_healthy":
                errors.append(f"{where}: depends on {dep} without condition service_healthy")
            elif "healthcheck" not in services.get(dep, {}):
                errors.append(f"{where}: waits for {dep} to be healthy, but it has no healthcheck")
        for v in svc.get("volumes") or []:
            source = str(v).split(":")[0]
            if not source.startswith((".", "/")) and source not in volumes:
                errors.append(f"{where}: named volume {source} is not declared")
        env = svc.get("environment") or {}
        for key in env:
            # The database's init script reads COMPTOIR_DB_PASSWORD_*: only the image's
            # processes read settings.
            if key.startswith("COMPTOIR_") and svc.get("image") == "comptoir:latest":
                rest = key.removeprefix("COMPTOIR_")
                if rest.lower() not in fields and rest not in url_overrides:
                    errors.append(f"{where}: {key} is not a setting the code reads")
        command = svc.get("command")
        runs_module = isinstance(command, list) and command[:2] == ["python", "-m"]
        if runs_module and not _module_exists(command[2]):
            errors.append(f"{where}: command runs module {command[2]}, which does not exist")
    for name in APP_SERVICES:
        svc = services.get(name)
        where = f"docker-compose.yml: {name}"
        if svc is None:
            errors.append(f"{where}: missing")
            continue
        port = ports[name]
        if svc.get("image") != "comptoir:latest":
            errors.append(f"{where}: image is not comptoir:latest")
        if svc.get("command") != ["python", "-m", f"services.{name}"]:
            errors.append(f"{where}: command is not python -m services.{name}")
        published = [str(p) for p in svc.get("ports", [])]
        if name == "terminals":
            if f"{port}:{port}" not in published:
                errors.append(f"{where}: port {port} is not published")
        elif f"127.0.0.1:{port}:{port}" not in published:
            errors.append(f"{where}: port {port} is not published on 127.0.0.1")
        db_url = str((svc.get("environment") or {}).get("COMPTOIR_DATABASE_URL", ""))
        if not db_url.startswith(f"postgresql://comptoir_{name}:"):
            errors.append(f"{where}: does not connect to PostgreSQL with its role comptoir_{name}")
        test = " ".join(svc.get("healthcheck", {}).get("test", []))
        if f"127.0.0.1:{port}/ready" not in test:
            errors.append(f"{where}: healthcheck does not probe /ready on port {port}")
        if set(svc.get("depends_on") or {}) != {"postgres", "rabbitmq"}:
            errors.append(f"{where}: should depend on postgres and rabbitmq")
        for key in ("stop_grace_period", "restart"):
            if key not in svc:
                errors.append(f"{where}: no {key}")
        env = svc.get("environment") or {}
        for key in ("COMPTOIR_DATABASE_URL", "COMPTOIR_AMQP_URL", "COMPTOIR_HOST"):
            if key not in env:
                errors.append(f"{where}: {key} is not set")
    seed = services.get("seed", {})
    if set(seed.get("depends_on") or {}) != set(APP_SERVICES):
        errors.append("docker-compose.yml: seed should wait for the five services and the portal")


# What a variable's name says it holds; its value must come from ${VAR:?...}.
SECRET_NAME = re.compile(r"(TOKEN|PASSWORD|PASS|SECRET|KEY|KEK)$")
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?+]?)([^}]*)\}")
URL_PASSWORD = re.compile(r"^[a-z]+://[^:/@]+:([^@]+)@")
# Public development values (shared/settings.py, shared/card/crypto.py) that no file may hold.
DEV_VALUES = ("dev-admin-token", "ce27ce27ce27ce27", "7e4a7e4a7e4a7e4a", "5c09e55c09e55c09")


def _required(value: str, where: str, errors: list[str]) -> set[str]:
    """The variables ``value`` requires (``${VAR:?...}``); an error for each secret one with
    a fallback."""
    names = set()
    for m in INTERPOLATION.finditer(value):
        name, op = m.group(1), m.group(2)
        if op in (":?", "?"):
            names.add(name)
        elif SECRET_NAME.search(name):
            errors.append(f"{where}: ${{{name}}} must be ${{{name}:?...}}, with no fallback")
    return names


def check_production(errors: list[str], ports: dict[str, int]) -> None:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    text = (ROOT / "docker-compose.yml").read_text().lower()
    for dev in DEV_VALUES:
        if dev in text:
            errors.append(f"docker-compose.yml: holds the development value {dev}...")
    required: set[str] = set()
    gateway = {str(ports["terminals"]), str(ports["terminals line"])}
    for name, svc in compose["services"].items():
        where = f"docker-compose.yml: {name}"
        env = svc.get("environment") or {}
        if isinstance(env, list):
            env = dict(str(e).partition("=")[::2] for e in env)
        for key, value in env.items():
            value = str(value)
            required |= _required(value, f"{where}: {key}", errors)
            secret_value = URL_PASSWORD.match(value)
            if secret_value and not secret_value.group(1).startswith("${"):
                errors.append(f"{where}: {key} writes a password in the file")
            written = not INTERPOLATION.fullmatch(value.strip())
            if SECRET_NAME.search(key) and not key.endswith("_FILE") and written:
                errors.append(f"{where}: {key} is written in the file, not ${{{key}:?...}}")
            if key == "COMPTOIR_ENV" and value.strip() == "development":
                errors.append(f"{where}: COMPTOIR_ENV=development in a deployment")
        for mapping in svc.get("ports") or []:
            parts = str(mapping).split(":")
            local = len(parts) == 3 and parts[0] == "127.0.0.1"
            if not local and not (name == "terminals" and parts[-1] in gateway):
                errors.append(
                    f"{where}: publishes {mapping} on every interface (only the gateway's "
                    "HTTP and line ports may be; bind the rest to 127.0.0.1)"
                )
    postgres = compose["services"].get("postgres", {})
    if not any(
        "/docker-entrypoint-initdb.d/" in str(v) and "service-roles" in str(v)
        for v in postgres.get("volumes") or []
    ):
        errors.append("docker-compose.yml: postgres does not run deploy/postgres's role script")
    if postgres.get("ports"):
        errors.append("docker-compose.yml: postgres is published; only the services reach it")
    example = ROOT / ".env.example"
    if not example.is_file():
        errors.append(".env.example is missing")
        return
    listed: dict[str, str] = {}
    for line in example.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            listed[key.strip()] = value.strip()
    for name in sorted(required - set(listed)):
        errors.append(f".env.example: does not list {name}, which docker-compose.yml requires")
    for name, value in listed.items():
        if SECRET_NAME.search(name) and value:
            errors.append(f".env.example: {name} has a value; each deployment sets its own")


def main() -> int:
    ports, fields = _settings()
    errors: list[str] = []
    check_dockerfile(errors, ports)
    check_compose(errors, ports, fields)
    check_production(errors, ports)
    for e in errors:
        print(f"check-deploy: {e}", file=sys.stderr)
    if errors:
        return 1
    print("check-deploy: Dockerfile, .dockerignore and docker-compose.yml are consistent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
