"""The JSON Schemas of the terminal sync protocol (docs/terminal-protocol.md), generated from
the pydantic models the gateway and the reference terminal parse with, into docs/schemas/.

    python -m deploy.protocol_schemas           write docs/schemas/*.schema.json
    python -m deploy.protocol_schemas --check   exit 1 if a committed file is not what the
                                                models generate now (what a test also checks)

Each file stands alone (its own ``$defs``), so a vendor can feed any one of them to a
validator. Requests (what a terminal sends) are described as the gateway validates them;
answers and the parameters document as the gateway serialises them, so a field that has a
default in the model is still always present in what the gateway sends.

The frames of the line and the bodies of errors have no model of their own in the gateway
(it builds them as dicts); the models below say what it builds, and
tests/integration/test_protocol_schemas.py holds them to what a real session carries.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Annotated, Any, Literal, Union
from uuid import UUID

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, create_model
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import core_schema

from services.terminals.domain.answers import EnrolmentAccepted
from services.terminals.domain.requests import EnrolmentIn, RedemptionIn, SaleIn
from shared.contracts import CardTransaction
from shared.rules.params import TerminalParameters
from shared.sync import messages
from shared.sync.framing import MAX_PAYLOAD
from shared.sync.messages import (
    ERRORS,
    MAX_SEQ,
    Chunk,
    ChunkReply,
    Close,
    CloseReply,
    Hello,
    HelloReply,
    Updates,
)

OUT = Path(__file__).resolve().parent.parent / "docs" / "schemas"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
BASE = "https://comptoir.example/schemas/terminal-protocol/"
MAX_COUNTER = 2**31


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _absent(value: object) -> bool:
    return value is None


class _AsSent(GenerateJsonSchema):
    """What the gateway serialises carries every field, those with a default included (a
    terminal may rely on them), except the fields it leaves out when they do not apply."""

    def field_is_required(
        self,
        field: core_schema.ModelField | core_schema.DataclassField | core_schema.TypedDictField,
        total: bool,
    ) -> bool:
        if self.mode == "serialization":
            return field.get("serialization_exclude_if") is None
        return super().field_is_required(field, total)


# --- What the gateway sends that it builds as dicts (services/terminals/entrypoints/line.py, http/sync.py) ---


class ErrorBody(_Frame):
    """A refused message: the line's ``error`` frame body, and the extra fields of an HTTP
    problem. ``code`` is one of the protocol's codes (the table of the document)."""

    code: str = Field(description="the protocol's error code; see the document's table")
    detail: str = Field(description="a sentence for the log; do not parse it")
    # The extras: present only with the codes that carry them.
    last_committed_seq: int | None = Field(
        default=None,
        ge=0,
        le=MAX_SEQ,
        exclude_if=_absent,
        description="out_of_order: resume after this sequence",
    )
    seqs: list[int] | None = Field(
        default=None,
        max_length=20,
        exclude_if=_absent,
        description="seq_conflict: the clashing sequences (20 at most)",
    )
    max_chunk: int | None = Field(
        default=None,
        ge=1,
        exclude_if=_absent,
        description="chunk_too_large: the most lines a chunk may carry here",
    )


class FieldError(_Frame):
    field: str
    message: str


class HttpProblem(ErrorBody):
    """An HTTP error (RFC 9457 problem+json): the RFC's members, then the protocol's."""

    type: str = Field(description="a URI naming the problem; the code says the same")
    title: str
    status: int = Field(ge=400, le=599, description="the HTTP status, as in the response line")
    instance: str = Field(description="the request's path")
    errors: list[FieldError] | None = Field(
        default=None, exclude_if=_absent, description="malformed: the fields that did not validate"
    )
    reason: str | None = Field(
        default=None,
        exclude_if=_absent,
        description="the code again, on errors the HTTP server answers before the protocol "
        "(body_too_large, body_timeout, busy when the connections are full: too_many_connections)",
    )


class Greeting(_Frame):
    """The gateway's first frame on a new connection (MAC: 64 zeros)."""

    type: Literal["challenge"]
    challenge: str = Field(pattern=r"^[0-9a-f]{32}$", description="MAC every frame with it")
    protocol: Literal[1]
    max_payload: int = Field(ge=1, le=MAX_PAYLOAD, description="the largest payload, in bytes")


def _terminal_frame(kind: str, body: type[BaseModel]) -> type[_Frame]:
    fields: dict[str, Any] = {
        "terminal_id": (UUID, Field(description="the terminal whose secret MACs the frame")),
        "counter": (int, Field(ge=1, le=MAX_COUNTER, description="1, 2, 3… on the connection")),
        "type": (Literal[kind], ...),
        "body": (body, ...),
    }
    return create_model(f"{kind.capitalize()}Frame", __base__=_Frame, **fields)


def _gateway_frame(kind: str, body: type[BaseModel]) -> type[_Frame]:
    fields: dict[str, Any] = {
        "counter": (int, Field(ge=0, le=MAX_COUNTER, description="the request's counter")),
        "type": (Literal[kind], ...),
        "body": (body, ...),
    }
    return create_model(f"{kind.capitalize()}Answer", __base__=_Frame, **fields)


class UpdatesReply(messages.UpdatesReply):
    """UpdatesReply with its ``params`` described: the gateway passes the cards service's
    document through as it is (a dict in the model), and that document is a
    ``TerminalParameters``."""

    params: TerminalParameters | None = Field(  # type: ignore[assignment]
        description="the merchant's parameters when params_status is 'new', else null"
    )


REQUESTS: dict[str, type[BaseModel]] = {
    "hello": Hello,
    "chunk": Chunk,
    "close": Close,
    "updates": Updates,
}
# The online requests a till sends (POST /v1/<kind>s, signed like the sync's), as the gateway
# validates them; the enrolment's answer as it sends it.
ONLINE: dict[str, type[BaseModel]] = {
    "sale": SaleIn,
    "redemption": RedemptionIn,
    "enrolment": EnrolmentIn,
}
ANSWERS: dict[str, type[BaseModel]] = {
    "hello": HelloReply,
    "chunk": ChunkReply,
    "close": CloseReply,
    "updates": UpdatesReply,
}


def _with_codes(schema: dict[str, Any]) -> dict[str, Any]:
    """``code`` is an enum of the gateway's codes as they are now (shared.sync.messages.ERRORS):
    a code added there changes the schema, and the committed file must follow."""

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict) and "code" in props and "detail" in props:
                props["code"]["enum"] = sorted(ERRORS)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(schema)
    return schema


def _doc(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    out = {"$schema": DRAFT, "$id": BASE + name, "description": description}
    out.update({k: v for k, v in schema.items() if k != "description"})
    return _with_codes(out)


def _model(model: type[BaseModel], mode: Literal["validation", "serialization"]) -> dict[str, Any]:
    return model.model_json_schema(mode=mode, schema_generator=_AsSent)


def _union(models: list[type[_Frame]], mode: Literal["validation", "serialization"]) -> Any:
    # One object per message type, told apart by ``type`` (a discriminated union).
    union: Any = Union[tuple(models)]  # noqa: UP007 (built at run time from a list)
    return TypeAdapter(Annotated[union, Field(discriminator="type")]).json_schema(
        mode=mode, schema_generator=_AsSent
    )


def schemas() -> dict[str, dict[str, Any]]:
    """File name → schema, every message both ways."""
    out: dict[str, dict[str, Any]] = {}
    for kind, model in REQUESTS.items():
        out[f"{kind}.schema.json"] = _doc(
            f"{kind}.schema.json",
            _model(model, "validation"),
            f"{kind.upper()} from the terminal: the HTTP body of POST /v1/sync/{kind}, and the "
            f"`body` of a line frame of type `{kind}`.",
        )
    for kind, model in ANSWERS.items():
        out[f"{kind}-reply.schema.json"] = _doc(
            f"{kind}-reply.schema.json",
            _model(model, "serialization"),
            f"The gateway's answer to {kind.upper()}: the HTTP 200 body, and the `body` of "
            f"the line's answer frame of type `{kind}`.",
        )
    for kind, model in ONLINE.items():
        out[f"online-{kind}.schema.json"] = _doc(
            f"online-{kind}.schema.json",
            _model(model, "validation"),
            f"An online {kind} from a till: the HTTP body of POST /v1/{kind}s (the document's "
            'section "Online requests").',
        )
    out["online-enrolment-reply.schema.json"] = _doc(
        "online-enrolment-reply.schema.json",
        _model(EnrolmentAccepted, "serialization"),
        "The gateway's 201 answer to POST /v1/enrolments, and to GET /v1/enrolments/{id} once "
        "decided.",
    )
    out["card-transaction.schema.json"] = _doc(
        "card-transaction.schema.json",
        _model(CardTransaction, "validation"),
        "One journal line (an item of CHUNK's `transactions`).",
    )
    out["terminal-parameters.schema.json"] = _doc(
        "terminal-parameters.schema.json",
        _model(TerminalParameters, "serialization"),
        "The parameters document UPDATES sends (`params`): what a merchant's offline "
        "terminals need to compute rewards and check cards, at one `rules_version`.",
    )
    out["error.schema.json"] = _doc(
        "error.schema.json",
        _model(ErrorBody, "serialization"),
        "The `body` of the line's `error` frame.",
    )
    out["problem.schema.json"] = _doc(
        "problem.schema.json",
        _model(HttpProblem, "serialization"),
        "An HTTP error of /v1/sync/* (Content-Type application/problem+json).",
    )
    out["line-greeting.schema.json"] = _doc(
        "line-greeting.schema.json",
        _model(Greeting, "serialization"),
        "The JSON of the gateway's first frame on a line connection (its MAC is 64 zeros).",
    )
    out["line-terminal-frame.schema.json"] = _doc(
        "line-terminal-frame.schema.json",
        _union([_terminal_frame(k, m) for k, m in REQUESTS.items()], "validation"),
        "The JSON of a terminal's frame on the line (after `MAC SP`).",
    )
    out["line-gateway-frame.schema.json"] = _doc(
        "line-gateway-frame.schema.json",
        _union(
            [_gateway_frame(k, m) for k, m in ANSWERS.items()]
            + [_gateway_frame("error", ErrorBody)],
            "serialization",
        ),
        "The JSON of a gateway's answer frame on the line (after `MAC SP`).",
    )
    return out


def render(schema: dict[str, Any]) -> bytes:
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def stale(out: Path = OUT) -> list[str]:
    """The files that differ from what the models generate now (or are missing, or extra)."""
    want = {name: render(s) for name, s in schemas().items()}
    have = {p.name: p.read_bytes() for p in out.glob("*.schema.json")} if out.exists() else {}
    return sorted(n for n in want.keys() | have.keys() if want.get(n) != have.get(n))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    if args.check:
        diff = stale()
        for name in diff:
            print(f"docs/schemas/{name} is not what the models generate now", file=sys.stderr)
        return 1 if diff else 0
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.schema.json"):
        old.unlink()
    for name, schema in schemas().items():
        (OUT / name).write_bytes(render(schema))
    print(f"wrote {len(schemas())} schemas to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
