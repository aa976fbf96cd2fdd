"""`python -m deploy`: what this image or checkout can run (the Docker image's default command)."""

from __future__ import annotations

from shared.settings import DEFAULT_PORTS

HELP = """Comptoir: an open-source loyalty network for independent shops.

Run one service per process (each migrates its schema at start, listens on COMPTOIR_PORT or
its default port, and answers /health, /ready and /metrics):
{services}
Other commands:
  python -m deploy.seed         seed the demo network through the back-office APIs
  python -m deploy.cli --help   play a demo terminal, read the books
  python -m deploy.run --help   run them all locally and seed them (what `make run` does)
  python -m services.portal create-operator EMAIL   the first operator (docs/access.md)

Configuration: COMPTOIR_DATABASE_URL, COMPTOIR_AMQP_URL, COMPTOIR_ADMIN_TOKEN, COMPTOIR_HOST,
COMPTOIR_PORT, COMPTOIR_LOG_LEVEL, ... (see README.md, "Configuration").
"""


def main() -> None:
    services = "".join(
        f"  python -m services.{name:<14} port {port}\n" for name, port in DEFAULT_PORTS.items()
    )
    print(HELP.format(services=services), end="")


if __name__ == "__main__":
    main()
