"""The Comptoir chip card: its keys, its certificates and its commands (docs/terminal-protocol.md)."""
