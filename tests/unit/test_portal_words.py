"""The portal's words (services/portal/entrypoints/*words.py): each page area keeps its own
table, merged into one; a key that two tables translate differently would show one area's
word on the other's pages, whichever table was merged last."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import services.portal.entrypoints.words as words

AREAS = sorted(p.stem for p in Path(words.__file__).parent.glob("*_words.py") if p.stem != "words")


def _base() -> dict[str, str]:
    tree = ast.parse(Path(words.__file__).read_text(encoding="utf-8"))
    for node in tree.body:
        if (
            isinstance(node, ast.AnnAssign)
            and getattr(node.target, "id", "") == "FR"
            and node.value is not None
        ):
            found: dict[str, str] = ast.literal_eval(node.value)
            return found
    raise AssertionError("words.py has no FR table")


def test_no_key_has_two_french_words() -> None:
    seen = {k: ("words", v) for k, v in _base().items()}
    clashes = []
    for area in AREAS:
        for key, french in importlib.import_module(f"{words.__package__}.{area}").FR.items():
            where, before = seen.setdefault(key, (area, french))
            if before != french:
                clashes.append(f"{key!r}: {where} says {before!r}, {area} says {french!r}")
    assert not clashes, clashes


def test_every_area_is_merged() -> None:
    assert len(AREAS) >= 6, AREAS
    for area in AREAS:
        table = importlib.import_module(f"{words.__package__}.{area}").FR
        assert all(words.FR[k] == v for k, v in table.items()), area
