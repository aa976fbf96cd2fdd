"""The gateway's use cases: submit a terminal's request and wait for its verdict, the sync
session; with the terminal registry and the waiters they need. No SQL text, no aiohttp."""
