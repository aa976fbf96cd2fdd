"""Write shared/topology.json, the queues and bindings of the whole network, from each
service's subscriptions (``SPEC.subscriptions`` of its app factory): a handler's event is
declared once, beside the handler, and every service still declares every queue at start
(shared/broker.py) without importing another service.

    python -m deploy.topology           write it
    python -m deploy.topology --check   exit 1 if it is not what the services declare (make lint)
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Any

from shared.broker import TOPOLOGY
from shared.service import ServiceSpec

SERVICES = ("cards", "terminals", "clearing", "crm", "notifications")


def _spec(service: str) -> ServiceSpec:
    try:
        module = importlib.import_module(f"services.{service}.app")
    except ModuleNotFoundError:
        module = importlib.import_module(f"services.{service}.__main__")
    spec: ServiceSpec = module.SPEC
    return spec


def generate() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for service in SERVICES:
        spec = _spec(service)
        if spec.subscriptions is not None:
            subs = spec.subscriptions
            out[service] = {"queue": subs.queue, "routing_keys": list(subs.routing_keys())}
        # A service's other queues, under their own names (crm's "crm.statistics").
        for more in spec.more_subscriptions:
            out[more.queue] = {"queue": more.queue, "routing_keys": list(more.routing_keys())}
    return out


def render() -> str:
    return json.dumps(generate(), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if TOPOLOGY.read_text() != text:
            print(
                f"{TOPOLOGY} differs from the services' subscriptions: "
                "run python -m deploy.topology",
                file=sys.stderr,
            )
            return 1
        return 0
    TOPOLOGY.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
