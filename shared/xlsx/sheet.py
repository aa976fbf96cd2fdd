"""The worksheet being written (its cell formatters, its open zip entry, the rows pending)
and the sink the zip is written to."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from typing import IO

from shared.xlsx.cells import CELL_FACTORIES, Column, column_letter
from shared.xlsx.parts import STYLE


class Sink:
    """Where the zip goes: it can be written and flushed, but has no tell() nor seek(), so
    zipfile writes each entry's sizes and CRC after its data (a data descriptor) instead of
    seeking back to its header, and every byte can leave as soon as it is written."""

    __slots__ = ("_chunks",)

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def write(self, data: bytes, /) -> int:
        self._chunks.append(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


class ZipFile(zipfile.ZipFile):
    def __del__(self) -> None:
        # zipfile's finaliser closes the archive, and complains if an entry is still open: so
        # it would for each download left halfway (the client went away), when the garbage
        # collector finds the writer in a cycle (with a traceback). The sink holds no
        # resource, and an unfinished file has nothing worth finishing.
        pass


class Sheet:
    """The worksheet being written: its cell formatters and its open zip entry."""

    __slots__ = (
        "bold_cells",
        "cells",
        "entry",
        "header_row",
        "last_data_row",
        "last_letter",
        "name",
        "next_row",
        "pending",
        "pending_chars",
        "width",
        "written",
    )

    def __init__(
        self,
        name: str,
        entry: IO[bytes],
        columns: Sequence[Column],
    ) -> None:
        self.name = name
        self.entry = entry
        self.width = len(columns)
        letters = [column_letter(i) for i in range(len(columns))]
        self.last_letter = letters[-1]
        self.cells = [
            CELL_FACTORIES[c.kind](c, letter, STYLE[c.kind][0])
            for c, letter in zip(columns, letters, strict=True)
        ]
        self.bold_cells = [
            CELL_FACTORIES[c.kind](c, letter, STYLE[c.kind][1])
            for c, letter in zip(columns, letters, strict=True)
        ]
        self.next_row = 1
        self.header_row = 0
        self.last_data_row = 0
        self.pending: list[str] = []
        self.pending_chars = 0
        self.written = 0

    def flush(self) -> None:
        if self.pending:
            data = "".join(self.pending).encode()
            self.pending.clear()
            self.pending_chars = 0
            self.entry.write(data)
            self.written += len(data)
