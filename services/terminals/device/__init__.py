"""The in-store terminal program."""
