"""The demo terminals' secrets (issue 11, finding 7): random, never derived from the admin
token (public in development), kept in .comptoir/demo.json (mode 0600) and reused by a new
seed so the demo's credentials survive a restart."""

from __future__ import annotations

import stat
from pathlib import Path

from deploy import seed


def test_a_demo_terminal_secret_is_random_and_not_derived_from_the_admin_token() -> None:
    tid = seed.MERCHANTS[0].terminal_id
    drawn = {seed.terminal_secret({}, tid) for _ in range(20)}
    assert len(drawn) == 20
    assert all(len(s) == 64 and int(s, 16) >= 0 for s in drawn)
    assert "dev-admin-token" not in str(drawn)


def test_the_demo_file_is_private_and_its_secrets_are_reused(tmp_path: Path) -> None:
    path = tmp_path / ".comptoir" / "demo.json"
    terminals = {
        m.key: {"id": m.terminal_id, "secret": seed.terminal_secret({}, m.terminal_id)}
        for m in seed.MERCHANTS
    }
    seed.write({"terminals": terminals}, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    known = seed.known_secrets(path)
    for t in terminals.values():
        assert seed.terminal_secret(known, t["id"]) == t["secret"]


def test_without_a_readable_demo_file_the_seed_draws_new_secrets(tmp_path: Path) -> None:
    broken = tmp_path / "demo.json"
    broken.write_text("{not json")
    assert seed.known_secrets(broken) == {}
    assert seed.known_secrets(tmp_path / "absent.json") == {}
