"""The gateway's pure part: terminals, the requests they send and the answers they get, the
rules of a sync session. No database, no aiohttp: unit-tested in milliseconds."""
