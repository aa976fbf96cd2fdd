"""The terminal program's adapters: its SQLite journal (the chip-card reader is terminal/reader.py
and terminal/pcsc.py)."""
