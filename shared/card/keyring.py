"""Master keys by key version: how they are written down and which one is current.

A card holds keys diversified from the masters of its key version (shared/card/crypto.py), so
rotating the masters means: make the masters of a new version, make it current (new cards are
personalised under it, the SAMs MAC for it), and keep the old versions for as long as cards
of theirs are in circulation. Two keyrings, written as text (an environment variable or a
file, never the repository):

- the cards service's **certificate keyring**, ``VERSION:HEX`` entries: ``1:0f…,2:3a…``
  (``COMPTOIR_CARD_CERT_KEYS``, or ``COMPTOIR_CARD_CERT_KEYS_FILE``);
- the card tools' and the SAM's **master sets**, ``VERSION=credit:HEX,debit:HEX,cert:HEX``
  entries (``COMPTOIR_CARD_MASTERS``, or ``COMPTOIR_CARD_MASTERS_FILE``).

Entries are separated by commas (certificate keyring only), semicolons or new lines; a line
starting with ``#`` is a comment. The current version is the one named
(``COMPTOIR_CARD_KEY_VERSION``), else the highest held. A version not in a keyring is
refused, never replaced by another one's key: a card of a version the server no longer
holds, or a line claiming a version that never existed, is told apart from a forgery.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.card.crypto import KEY_BYTES, PURPOSE_CODES, Purpose

PURPOSES: tuple[Purpose, ...] = tuple(PURPOSE_CODES)


class KeyringError(ValueError):
    """A keyring that cannot be read; said in one sentence, without the keys."""


@dataclass(frozen=True, slots=True)
class Keyring:
    """The certificate masters by key version, and the current version (the one new cards
    are personalised under)."""

    masters: Mapping[int, bytes] = field(repr=False)  # secrets: never in a log line
    current: int

    def __post_init__(self) -> None:
        if not self.masters:
            raise KeyringError("a keyring holds at least one key version")
        if self.current not in self.masters:
            raise KeyringError(
                f"the current key version {self.current} is not in the keyring "
                f"(it holds {versions_text(self.masters)})"
            )

    def master(self, key_version: int) -> bytes | None:
        """The master of this version; None for a version not held (refuse the line)."""
        return self.masters.get(key_version)

    @property
    def versions(self) -> tuple[int, ...]:
        return tuple(sorted(self.masters))


def versions_text(masters: Mapping[int, object]) -> str:
    return ", ".join(map(str, sorted(masters))) or "none"


def current_version(held: Mapping[int, object], named: int | None = None) -> int:
    """The version named (0 or None: the highest held); KeyringError if it is not held."""
    if not held:
        raise KeyringError("a keyring holds at least one key version")
    version = named or max(held)
    if version not in held:
        raise KeyringError(
            f"the current key version {version} is not in the keyring "
            f"(it holds {versions_text(held)})"
        )
    return version


def _entries(text: str, commas: bool) -> list[str]:
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    pattern = r"[;,\n]" if commas else r"[;\n]"
    return [e.strip() for e in re.split(pattern, "\n".join(lines)) if e.strip()]


def _masked(entry: str) -> str:
    """An entry as an error may show it: hexadecimal runs hidden, they may be keys."""
    return re.sub(r"[0-9a-fA-F]{8,}", "…", entry)[:40]


def _versioned(entry: str, sep: str, form: str, out: Mapping[int, object]) -> tuple[int, str]:
    version_text, found, rest = entry.partition(sep)
    if not found or not version_text.strip().isdigit():
        raise KeyringError(f"an entry is {form}, not {_masked(entry)!r}")
    version = int(version_text)
    if not 0 <= version <= 255:
        raise KeyringError(f"key version {version} is not 0..255")
    if version in out:
        raise KeyringError(f"key version {version} is given twice")
    return version, rest


def master_key(text: str, what: str) -> bytes:
    """16 bytes from 32 hexadecimal digits; KeyringError naming ``what`` otherwise."""
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise KeyringError(f"{what} is not hexadecimal") from None
    if len(key) != KEY_BYTES:
        raise KeyringError(f"{what} has 16 bytes (32 hex digits), not {len(key)}")
    return key


def parse_cert_keyring(text: str) -> dict[int, bytes]:
    """``1:HEX,2:HEX`` (commas, semicolons or new lines between entries) → masters by
    version; KeyringError for a malformed entry, a key that is not 16 bytes or a version
    given twice."""
    out: dict[int, bytes] = {}
    for entry in _entries(text, commas=True):
        version, key = _versioned(entry, ":", "VERSION:KEY", out)
        out[version] = master_key(key, f"the key of version {version}")
    if not out:
        raise KeyringError("the keyring is empty")
    return out


def parse_master_set(text: str) -> dict[Purpose, bytes]:
    """``credit:HEX,debit:HEX,cert:HEX`` → the three masters of one key version."""
    masters: dict[Purpose, bytes] = {}
    for part in text.split(","):
        name, sep, value = part.strip().partition(":")
        if not sep or name not in PURPOSES:
            raise KeyringError(f"expected credit:HEX,debit:HEX,cert:HEX, got {_masked(part)!r}")
        masters[name] = master_key(value, f"the {name} master")
    missing = set(PURPOSES) - masters.keys()
    if missing:
        raise KeyringError(f"missing master(s): {', '.join(sorted(missing))}")
    return masters


def is_versioned(text: str) -> bool:
    """Master sets by version (``1=credit:…``), rather than the one set of the first form
    (``credit:…,debit:…,cert:…``, which serves every key version)."""
    return "=" in text


def parse_master_sets(text: str) -> dict[int, dict[Purpose, bytes]]:
    """``1=credit:HEX,debit:HEX,cert:HEX`` entries (semicolons or new lines between them) →
    the master sets by version."""
    out: dict[int, dict[Purpose, bytes]] = {}
    for entry in _entries(text, commas=False):
        version, rest = _versioned(entry, "=", "VERSION=credit:…,debit:…,cert:…", out)
        try:
            out[version] = parse_master_set(rest)
        except KeyringError as exc:
            raise KeyringError(f"key version {version}: {exc}") from None
    if not out:
        raise KeyringError("the keyring is empty")
    return out


def new_master_set() -> dict[Purpose, bytes]:
    """Three fresh random masters (the operating system's random source)."""
    return {p: secrets.token_bytes(KEY_BYTES) for p in PURPOSES}


def master_set_entry(version: int, masters: Mapping[Purpose, bytes]) -> str:
    """The line of a master-sets keyring for this version."""
    return f"{version}=" + ",".join(f"{p}:{masters[p].hex()}" for p in PURPOSES)
