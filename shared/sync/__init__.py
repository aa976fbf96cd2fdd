"""Sync sessions between offline terminals and the gateway (docs/terminal-protocol.md): the
protocol's messages, the modem-style line framing and the terminal's client."""
