"""A stand-in for Kannel's smsbox in the benchmarks: ``GET /cgi-bin/sendsms`` answers
``0: Accepted for delivery`` (202) and keeps nothing, as a provider that takes every SMS.

    python -m bench._sendsms PORT

bench/ingest starts it so that the details links crm asks for when a sale opens an account
are sent once, as they would be to a real provider. Without it every SMS attempt met a closed
port (a new TCP connection refused each time) and was tried again 30 s later, work a
deployment with its Kannel does not do. Delivery reports are not called back."""

from __future__ import annotations

import sys

from aiohttp import web


async def sendsms(_: web.Request) -> web.Response:
    return web.Response(status=202, text="0: Accepted for delivery")


def main() -> None:
    app = web.Application()
    app.router.add_get("/cgi-bin/sendsms", sendsms)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
