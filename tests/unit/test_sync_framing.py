"""The sync line's framing: STX payload ETX LRC, ACK/NAK, and a decoder that survives any
byte stream (noise, truncated, oversize and corrupted frames) without raising."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.sync import framing
from shared.sync.framing import ACK, EOT, ETX, NAK, STX, Bad, Control, Decoder, Frame

payloads = st.binary(min_size=0, max_size=300).map(
    lambda b: bytes(x for x in b if x not in (STX, ETX))
)


def test_a_frame_is_stx_payload_etx_and_the_xor_of_payload_and_etx() -> None:
    frame = framing.encode(b"AB")
    assert frame == bytes([STX, 0x41, 0x42, ETX, 0x41 ^ 0x42 ^ ETX])
    assert Decoder().feed(frame) == [Frame(b"AB")]


def test_an_empty_payload_is_a_frame_whose_lrc_is_etx() -> None:
    assert framing.encode(b"") == bytes([STX, ETX, ETX])


def test_payloads_holding_stx_or_etx_cannot_be_framed() -> None:
    for bad in (b"a\x02b", b"\x03"):
        try:
            framing.encode(bad)
        except ValueError:
            continue
        raise AssertionError("encoded a payload with a framing byte")


def test_control_bytes_between_frames_are_events() -> None:
    got = Decoder().feed(bytes([ACK]) + framing.encode(b"x") + bytes([NAK, EOT]))
    assert got == [Control(ACK), Frame(b"x"), Control(NAK), Control(EOT)]


def test_a_wrong_lrc_is_a_bad_frame_and_the_next_frame_still_decodes() -> None:
    frame = bytearray(framing.encode(b"hello"))
    frame[-1] ^= 0xFF
    assert Decoder().feed(bytes(frame) + framing.encode(b"next")) == [
        Bad("bad_lrc"),
        Frame(b"next"),
    ]


def test_a_frame_cut_by_a_new_stx_is_truncated() -> None:
    got = Decoder().feed(bytes([STX]) + b"half" + framing.encode(b"whole"))
    assert got == [Bad("truncated"), Frame(b"whole")]


def test_a_frame_left_half_way_is_truncated_at_the_interbyte_timeout() -> None:
    d = Decoder()
    assert d.feed(bytes([STX]) + b"half") == []
    assert d.in_frame
    assert d.reset() == Bad("truncated")
    assert d.feed(framing.encode(b"ok")) == [Frame(b"ok")]


def test_an_oversize_frame_is_refused_once_and_skipped_to_its_end() -> None:
    d = Decoder(max_payload=10)
    big = bytes([STX]) + b"x" * 50 + bytes([ETX, 0x00])
    assert d.feed(big + framing.encode(b"small")) == [Bad("oversize"), Frame(b"small")]


def test_an_oversize_frame_split_across_reads_is_skipped_with_its_lrc() -> None:
    d = Decoder(max_payload=10)
    events = []
    stream = bytes([STX]) + b"y" * 40 + bytes([ETX, ACK]) + framing.encode(b"after")
    for i in range(len(stream)):  # one byte at a time: the LRC (here 0x06) is not an ACK
        events += d.feed(stream[i : i + 1])
    assert events == [Bad("oversize"), Frame(b"after")]


def test_noise_outside_frames_is_reported_once_per_run() -> None:
    assert Decoder().feed(b"garbage" + framing.encode(b"p") + b"zz") == [
        Bad("noise"),
        Frame(b"p"),
        Bad("noise"),
    ]


@given(st.lists(payloads, min_size=1, max_size=6), st.data())
@settings(max_examples=200)
def test_frames_decode_whatever_the_read_boundaries(
    payload_list: list[bytes], data: st.DataObject
) -> None:
    stream = b"".join(framing.encode(p) for p in payload_list)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    d = Decoder()
    events = []
    prev = 0
    for c in [*cuts, len(stream)]:
        events += d.feed(stream[prev:c])
        prev = c
    assert events == [Frame(p) for p in payload_list]


@given(st.binary(max_size=2000), st.integers(1, 64))
@settings(max_examples=300)
def test_random_bytes_never_raise_and_never_yield_a_frame_with_a_wrong_lrc(
    noise: bytes, max_payload: int
) -> None:
    d = Decoder(max_payload=max_payload)
    for ev in d.feed(noise):
        if isinstance(ev, Frame):
            assert len(ev.payload) <= max_payload
            assert STX not in ev.payload and ETX not in ev.payload
            assert framing.encode(ev.payload) in noise
    d.reset()
    assert d.feed(framing.encode(b"z")) == [Frame(b"z")]


def test_a_corrupted_byte_in_a_frame_is_never_taken_for_the_payload() -> None:
    rng = random.Random(4)
    payload = b'{"counter": 3, "type": "chunk"}'
    good = framing.encode(payload)
    for _ in range(2000):
        frame = bytearray(good)
        i = rng.randrange(1, len(frame))
        frame[i] ^= 1 << rng.randrange(8)
        events = Decoder().feed(bytes(frame) + framing.encode(b"next"))
        frames = [e for e in events if isinstance(e, Frame)]
        # A single flipped bit always breaks the LRC: the damaged frame is never delivered.
        assert Frame(payload) not in frames
        assert frames[-1] == Frame(b"next")
        assert any(isinstance(e, Bad) for e in events)


def test_a_sealed_payload_carries_a_mac_over_the_challenge_and_the_json() -> None:
    payload = framing.seal("s3cret", "c0ffee", {"counter": 1, "type": "hello"})
    parts = framing.split(payload)
    assert parts is not None
    mac, body = parts
    assert framing.check("s3cret", "c0ffee", mac, body)
    assert not framing.check("s3cret", "another", mac, body)
    assert not framing.check("other", "c0ffee", mac, body)
    assert framing.split(b"short") is None
    assert framing.split(b"z" * 64 + b"{}") is None
