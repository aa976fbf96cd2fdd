"""The card and the SAM as pure state machines, driven by the terminal's DirectReader (the
same APDU bytes as through pcscd) or by hand-made APDUs for what a terminal would not send."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.card import apdu, layouts
from shared.card.__main__ import main as cli
from shared.card.application import CardApplication, SamApplication
from shared.card.crypto import DEV_MASTERS, Certified, mac, verify_certificate
from shared.card.state import CardState, load_state, parse_masters, personalize, save_state
from terminal.reader import (
    CardError,
    CreditOrder,
    DebitOrder,
    DirectReader,
)

NUMBER = "2500010000000018"
OTHER_NUMBER = "2500010000000026"
TYPE = uuid.UUID("6d1f5c1e-8f0a-4c39-9a57-5b1f3f0c2a11")
TERMINAL = uuid.UUID("00000000-0000-4000-8000-000000000001")
NOW = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)
OTHER_MASTERS = {p: bytes(16) for p in ("credit", "debit", "cert")}


def card(number: str = NUMBER, available: int = 1000, **changes: object) -> CardApplication:
    state = personalize(number, TYPE, date(2027, 12, 31), available=available)
    return CardApplication(replace(state, **changes))  # type: ignore[arg-type]


def reader(app: CardApplication | None = None) -> DirectReader:
    return DirectReader(app or card(), SamApplication(DEV_MASTERS))


def sale(seq: int = 1, at: datetime = NOW, **changes: object) -> CreditOrder:
    order = CreditOrder(
        amount_cents=2500,
        available_delta=125,
        pending_delta=40,
        units_delta=1,
        visits_after=1,
        window_started_at=NOW,
        occurred_at=at,
        terminal_id=TERMINAL,
        seq=seq,
    )
    return replace(order, **changes)  # type: ignore[arg-type]


def redemption(amount: int = 300, seq: int = 2, at: datetime = NOW) -> DebitOrder:
    return DebitOrder(amount_cents=amount, occurred_at=at, terminal_id=TERMINAL, seq=seq)


def refused(call: object, code: str, sw: int) -> None:
    with pytest.raises(CardError) as exc:
        call()  # type: ignore[operator]
    assert (exc.value.code, exc.value.sw) == (code, sw), exc.value


def sw(response: bytes) -> int:
    return apdu.split_response(response)[1]


# --- reading ------------------------------------------------------------------------------------


def test_read_shows_what_the_card_was_personalized_with() -> None:
    view = reader().read()
    assert (view.number, view.card_type_id, view.expires_on) == (NUMBER, TYPE, date(2027, 12, 31))
    assert (view.available, view.pending, view.units, view.visits, view.atc) == (1000, 0, 0, 0, 0)
    assert (view.blocked, view.key_version, view.log) == (False, 1, ())
    assert view.window_started_at is None and view.last_used_on is None


# --- credit and debit ---------------------------------------------------------------------------


def test_a_credit_moves_the_balances_and_its_certificate_verifies_with_the_cert_master() -> None:
    app = card()
    r = reader(app)
    receipt = r.credit(sale())
    assert (receipt.kind, receipt.card_number, receipt.atc) == ("sale", NUMBER, 1)
    assert (receipt.available_after, receipt.pending_after, receipt.units_after) == (1125, 40, 1)
    assert receipt.visits_after == 1 and len(receipt.terminal_nonce) == 8
    fields = Certified(
        kind="sale",
        card_number=NUMBER,
        atc=1,
        amount_cents=2500,
        available_delta=125,
        pending_delta=40,
        units_delta=1,
        available_after=1125,
        pending_after=40,
        units_after=1,
        visits_after=1,
        terminal_id=TERMINAL,
        seq=1,
        occurred_at=NOW,
        terminal_nonce=receipt.terminal_nonce,
    )
    assert receipt.certified() == fields
    assert verify_certificate(DEV_MASTERS["cert"], fields, receipt.certificate)
    # Any other master, or any changed field, and it does not.
    assert not verify_certificate(bytes(16), fields, receipt.certificate)
    assert not verify_certificate(
        DEV_MASTERS["cert"], replace(fields, available_after=1126), receipt.certificate
    )
    view = r.read()
    assert (view.available, view.pending, view.units, view.visits, view.atc) == (1125, 40, 1, 1, 1)
    assert view.window_started_at == NOW and view.last_used_on == NOW.date()


def test_a_debit_certifies_minus_the_amount_and_leaves_pending_and_units() -> None:
    r = reader(card(available=1000, pending=70, units=3, visits=4))
    receipt = r.debit(redemption(300))
    assert (receipt.kind, receipt.available_delta, receipt.pending_delta) == ("redemption", -300, 0)
    assert (receipt.available_after, receipt.pending_after, receipt.units_after) == (700, 70, 3)
    assert receipt.visits_after == 4
    assert verify_certificate(DEV_MASTERS["cert"], receipt.certified(), receipt.certificate)


def test_sub_second_dates_are_certified_to_the_second() -> None:
    receipt = reader().debit(redemption(at=NOW + timedelta(microseconds=123456)))
    assert receipt.occurred_at == NOW
    assert verify_certificate(DEV_MASTERS["cert"], receipt.certified(), receipt.certificate)


def test_two_debits_of_the_same_amount_have_different_nonces_and_certificates() -> None:
    r = reader()
    a, b = r.debit(redemption(100, seq=1)), r.debit(redemption(100, seq=1))
    assert a.terminal_nonce != b.terminal_nonce and a.certificate != b.certificate


# --- refusals -----------------------------------------------------------------------------------


def test_a_mac_from_another_sams_masters_is_refused_and_changes_nothing() -> None:
    app = card()
    r = DirectReader(app, SamApplication(OTHER_MASTERS))  # type: ignore[arg-type]
    refused(lambda: r.credit(sale()), "bad_mac", 0x6982)
    refused(lambda: r.debit(redemption()), "bad_mac", 0x6982)
    assert (app.state.atc, app.state.available, app.state.log) == (0, 1000, ())


def test_a_credit_macd_with_the_debit_key_is_refused() -> None:
    app = card()
    app.process(apdu.select(apdu.CARD_AID))
    data = layouts.CreditData(100, 5, 0, 0, 1, None, NOW, TERMINAL, 1, bytes(8)).encode()
    challenge = apdu.split_response(app.process(apdu.get_challenge()))[0]
    wrong = mac(app.state.keys["debit"], challenge + data)
    assert sw(app.process(apdu.credit(data, wrong))) == 0x6982


def test_a_recorded_credit_cannot_be_played_again() -> None:
    app = card()
    sent: list[bytes] = []
    process = app.process

    def spy(command: bytes) -> bytes:
        sent.append(command)
        return process(command)

    app.process = spy  # type: ignore[method-assign]
    reader(app).credit(sale())
    credit_apdu = next(c for c in sent if c[1] == apdu.INS_CREDIT)
    app.process = process  # type: ignore[method-assign]
    # Without a challenge: 6985. With a fresh one: the old MAC does not match it.
    assert sw(app.process(credit_apdu)) == 0x6985
    app.process(apdu.get_challenge())
    assert sw(app.process(credit_apdu)) == 0x6982
    assert (app.state.atc, app.state.available) == (1, 1125)


def test_a_challenge_is_spent_by_a_refused_command_too() -> None:
    app = card()
    app.process(apdu.select(apdu.CARD_AID))
    app.process(apdu.get_challenge())
    data = layouts.DebitData(100, NOW, TERMINAL, 1, bytes(8)).encode()
    assert sw(app.process(apdu.debit(data, bytes(8)))) == 0x6982
    assert sw(app.process(apdu.debit(data, bytes(8)))) == 0x6985


def test_a_power_cycle_forgets_the_challenge_and_the_selection() -> None:
    app = card()
    app.process(apdu.select(apdu.CARD_AID))
    app.process(apdu.get_challenge())
    app.power_off()
    app.power_on()
    assert sw(app.process(apdu.read_record())) == 0x6986
    app.process(apdu.select(apdu.CARD_AID))
    data = layouts.DebitData(100, NOW, TERMINAL, 1, bytes(8)).encode()
    assert sw(app.process(apdu.debit(data, bytes(8)))) == 0x6985


def test_a_debit_above_the_available_balance_is_refused() -> None:
    app = card(available=299, pending=5000)
    refused(lambda: reader(app).debit(redemption(300)), "insufficient_balance", 0x6A84)
    assert (app.state.available, app.state.atc) == (299, 0)


def test_a_credit_that_would_leave_a_balance_below_zero_is_refused() -> None:
    r = reader(card(available=100, pending=10, units=2))
    refused(lambda: r.credit(sale(available_delta=-101)), "insufficient_balance", 0x6A84)
    refused(lambda: r.credit(sale(pending_delta=-11)), "insufficient_balance", 0x6A84)
    refused(lambda: r.credit(sale(units_delta=-3)), "insufficient_balance", 0x6A84)
    # Down to exactly zero is fine: the threshold moves pending to available this way.
    receipt = r.credit(sale(available_delta=10, pending_delta=-10, units_delta=-2))
    assert (receipt.available_after, receipt.pending_after, receipt.units_after) == (110, 0, 0)


def test_zero_or_negative_amounts_are_refused() -> None:
    r = reader()
    refused(lambda: r.debit(redemption(0)), "wrong_data", 0x6A80)
    refused(lambda: r.debit(redemption(-5)), "wrong_data", 0x6A80)
    refused(lambda: r.credit(sale(amount_cents=0)), "wrong_data", 0x6A80)


def test_nothing_is_accepted_after_the_expiry_date_but_the_last_day_is() -> None:
    r = reader(card(expires_on=date(2026, 3, 14)))
    r.debit(redemption(at=datetime(2026, 3, 14, 23, 59, 59, tzinfo=UTC)))
    after = datetime(2026, 3, 15, 0, 0, tzinfo=UTC)
    refused(lambda: r.debit(redemption(at=after)), "expired", 0x6284)
    refused(lambda: r.credit(sale(at=after)), "expired", 0x6284)
    assert r.read().atc == 1


def test_a_blocked_card_is_read_but_refuses_credits_and_debits() -> None:
    r = reader(card(blocked=True))
    assert r.read().blocked
    refused(lambda: r.credit(sale()), "blocked", 0x6283)
    refused(lambda: r.debit(redemption()), "blocked", 0x6283)


def test_a_card_whose_counter_is_exhausted_refuses() -> None:
    r = reader(card(atc=apdu.MAX_U32))
    refused(lambda: r.debit(redemption()), "counter_exhausted", 0x6A8A)


def test_a_state_that_cannot_be_saved_leaves_the_card_unchanged() -> None:
    def broken(_: CardState) -> None:
        raise OSError("EEPROM worn out")

    state = personalize(NUMBER, TYPE, date(2027, 12, 31), available=1000)
    app = CardApplication(state, on_change=broken)
    refused(lambda: reader(app).debit(redemption()), "memory_failure", 0x6581)
    assert app.state == state


def test_the_atc_only_moves_up_by_one_per_accepted_transaction() -> None:
    app = card(available=500)
    r = reader(app)
    seen = [r.read().atc]
    for amount in (100, 9999, 100, 0, 100):
        try:
            seen.append(r.debit(redemption(amount)).atc)
        except CardError:
            seen.append(app.state.atc)
    assert seen == [0, 1, 1, 2, 2, 3]


# --- the reader's own checks --------------------------------------------------------------------


def test_a_card_swapped_after_reading_is_not_written() -> None:
    r = reader()
    r.read()
    other = card(OTHER_NUMBER)
    r.insert(other)
    refused(lambda: r.credit(sale()), "card_changed", 0)
    assert other.state.atc == 0
    r.read()
    assert r.credit(sale()).card_number == OTHER_NUMBER


def test_no_card_in_the_reader_is_no_card() -> None:
    r = reader()
    r.remove()
    assert not r.present()
    refused(r.read, "no_card", 0)
    refused(lambda: r.debit(redemption()), "no_card", 0)


def test_a_card_without_the_application_is_not_a_comptoir_card() -> None:
    class Foreign(CardApplication):
        def process(self, command: bytes) -> bytes:
            return apdu.sw_bytes(apdu.SW_NOT_FOUND)

    refused(reader(Foreign(card().state)).read, "not_a_comptoir_card", 0x6A82)


def test_a_card_answering_nonsense_is_an_io_error() -> None:
    class Babbling(CardApplication):
        def process(self, command: bytes) -> bytes:
            answer = super().process(command)
            return answer if command[1] == apdu.INS_SELECT else b"\x01\x02" + answer[-2:]

    r = reader(Babbling(card().state))
    refused(r.read, "io", 0)
    refused(lambda: r.debit(redemption()), "io", 0)


def test_naive_dates_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        reader().debit(redemption(at=datetime(2026, 3, 14, 12, 0)))


# --- the log ------------------------------------------------------------------------------------


def test_the_log_keeps_the_last_ten_newest_first() -> None:
    r = reader(card(available=10_000))
    for seq in range(1, 13):
        r.debit(redemption(seq, seq=seq, at=NOW + timedelta(minutes=seq)))
    log = r.read().log
    assert [e.atc for e in log] == list(range(12, 2, -1))
    assert [e.amount_cents for e in log] == list(range(12, 2, -1))
    assert log[0].kind == "redemption" and log[0].terminal_id == TERMINAL
    assert log[0].seq == 12 and log[0].occurred_at == NOW + timedelta(minutes=12)


# --- persistence --------------------------------------------------------------------------------


def test_the_state_round_trips_through_json_and_its_file(tmp_path: Path) -> None:
    app = card(available=1000)
    r = reader(app)
    r.credit(sale())
    r.debit(redemption())
    state = app.state
    assert CardState.from_json(json.loads(json.dumps(state.to_json()))) == state
    path = tmp_path / "card.json"
    save_state(path, state)
    assert load_state(path) == state
    assert [p.name for p in tmp_path.iterdir()] == ["card.json"]  # no temp file left


def test_every_change_is_saved_before_the_card_answers(tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    save_state(path, personalize(NUMBER, TYPE, date(2027, 12, 31), available=1000))
    app = CardApplication(load_state(path), on_change=lambda s: save_state(path, s))
    receipt = reader(app).debit(redemption(250))
    saved = load_state(path)
    assert (saved.atc, saved.available) == (receipt.atc, 750)


@pytest.mark.parametrize(
    "doc",
    [
        {},
        {"format": "comptoir-card/1"},
        "not a dict",
        {**personalize(NUMBER, TYPE, date(2027, 1, 1)).to_json(), "available": -1},
        {**personalize(NUMBER, TYPE, date(2027, 1, 1)).to_json(), "atc": "7"},
        {**personalize(NUMBER, TYPE, date(2027, 1, 1)).to_json(), "number": "2500010000000019"},
    ],
)
def test_anything_but_a_card_state_is_refused_with_a_reason(doc: object) -> None:
    with pytest.raises(ValueError, match="card state"):
        CardState.from_json(doc)


def test_masters_are_parsed_from_their_environment_spelling() -> None:
    text = ",".join(f"{p}:{k.hex()}" for p, k in DEV_MASTERS.items())
    assert parse_masters(text) == DEV_MASTERS
    for bad in ("credit:00", "credit:zz", "debit:" + "00" * 16, "other:" + "00" * 16):
        with pytest.raises(ValueError):
            parse_masters(bad)


# --- malformed commands -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (b"", 0x6700),
        (b"\x90", 0x6700),
        (b"\x90\xb2\x00", 0x6700),
        (b"\x90\x0c\x00\x00\x50\x01\x02", 0x6700),  # Lc says 80 bytes, 2 came
        (b"\x90\x0c\x00\x00\x00\x00\x50", 0x6700),  # extended length
        (b"\x90\x0c\x00\x00\x02\x01\x02\x00", 0x6700),  # a credit too short
        (b"\x80\xb2\x00\x00\x00", 0x6E00),
        (b"\x00\xb2\x00\x00\x00", 0x6D00),
        (b"\x90\x42\x00\x00", 0x6D00),
        (b"\x90\xb2\x01\x00\x00", 0x6A86),
        (b"\x90\xb4\x00\x07\x00", 0x6A86),
        (b"\x90\x84\x00\x00\x04", 0x6700),
        (b"\x00\xa4\x04\x00\x03abc\x00", 0x6A82),
        (b"\x00\xa4\x01\x00\x03abc\x00", 0x6A86),
    ],
)
def test_malformed_commands_get_a_status_word(command: bytes, expected: int) -> None:
    app = card()
    app.process(apdu.select(apdu.CARD_AID))
    assert app.process(command) == apdu.sw_bytes(expected)


def test_commands_before_select_are_not_allowed() -> None:
    assert card().process(apdu.read_record()) == apdu.sw_bytes(0x6986)


def test_a_macd_credit_with_a_nonsense_date_is_wrong_data() -> None:
    app = card()
    app.process(apdu.select(apdu.CARD_AID))
    data = layouts.CREDIT.pack(100, 5, 0, 0, 1, 0, 0, TERMINAL.bytes, 1, bytes(8))  # date 0
    challenge = apdu.split_response(app.process(apdu.get_challenge()))[0]
    tag = mac(app.state.keys["credit"], challenge + data)
    assert sw(app.process(apdu.credit(data, tag))) == 0x6A80


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_crash_the_card_or_change_it(command: bytes) -> None:
    app = card()
    before = app.state
    for select_first in (False, True):
        if select_first:
            app.process(apdu.select(apdu.CARD_AID))
        answer = app.process(command)
        assert len(answer) >= 2
    assert app.state == before


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_crash_the_sam(command: bytes) -> None:
    sam = SamApplication(DEV_MASTERS)
    sam.process(apdu.select(apdu.SAM_AID))
    assert len(sam.process(command)) >= 2


def test_the_sam_macs_only_for_credit_and_debit() -> None:
    sam = SamApplication(DEV_MASTERS)
    assert sw(sam.process(apdu.sam_mac("credit", NUMBER, bytes(8), b"x"))) == 0x6986
    sam.process(apdu.select(apdu.SAM_AID))
    good = apdu.sam_mac("credit", NUMBER, bytes(8), b"x")
    assert sw(sam.process(good)) == 0x9000
    as_cert = good[:2] + b"\x03" + good[3:]
    assert sw(sam.process(as_cert)) == 0x6A86
    assert sw(sam.process(apdu.sam_mac("debit", "25000100000000ab", bytes(8), b"x"))) == 0x6A80


# --- the command line ---------------------------------------------------------------------------


def test_the_cli_personalizes_shows_and_clones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "card.json"
    args = ["--number", NUMBER, "--card-type", str(TYPE), "--expires", "2028-12-31"]
    assert cli(["personalize", *args, "--available", "1234", "--out", str(out)]) == 0
    state = load_state(out)
    assert (state.number, state.available, state.expires_on) == (NUMBER, 1234, date(2028, 12, 31))
    assert state == personalize(NUMBER, TYPE, date(2028, 12, 31), available=1234)
    assert cli(["show", str(out)]) == 0
    assert "12.34" in capsys.readouterr().out
    copy = tmp_path / "copy.json"
    assert cli(["clone", str(out), str(copy)]) == 0
    assert copy.read_bytes() == out.read_bytes()


@pytest.mark.parametrize(
    "argv",
    [
        ["personalize", "--number", "2500010000000019", "--card-type", str(TYPE),
         "--expires", "2028-12-31", "--out", "{tmp}/c.json"],
        ["personalize", "--number", NUMBER, "--card-type", "nope",
         "--expires", "2028-12-31", "--out", "{tmp}/c.json"],
        ["personalize", "--number", NUMBER, "--card-type", str(TYPE),
         "--expires", "31/12/2028", "--out", "{tmp}/c.json"],
        ["show", "{tmp}/missing.json"],
        ["clone", "{tmp}/missing.json", "{tmp}/copy.json"],
        ["insert", "{tmp}/missing.json"],
    ],
)  # fmt: skip
def test_the_cli_says_what_is_wrong_and_exits_2(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("python -m shared.card") and "Traceback" not in err


def test_the_cli_uses_the_masters_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPTOIR_CARD_MASTERS", ",".join(f"{p}:{'11' * 16}" for p in OTHER_MASTERS))
    out = tmp_path / "card.json"
    args = ["--number", NUMBER, "--card-type", str(TYPE), "--expires", "2028-12-31"]
    assert cli(["personalize", *args, "--out", str(out)]) == 0
    masters = {p: b"\x11" * 16 for p in ("credit", "debit", "cert")}
    assert load_state(out).keys == personalize(NUMBER, TYPE, date(2028, 1, 1), masters=masters).keys  # type: ignore[arg-type]
