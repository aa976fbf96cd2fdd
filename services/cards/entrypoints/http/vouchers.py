"""Back-office routes of gift vouchers (F11; the use cases: ``service.vouchers``). Each is
idempotent by an id the client chose: the same request again answers what the first one did
(200 instead of 201) and counts nothing twice; the same id with other terms is a 409."""

from __future__ import annotations

from aiohttp import web

from services.cards.adapters import scopes
from services.cards.domain.money import voucher_reference
from services.cards.service import vouchers
from services.cards.service.money_models import (
    VoucherBatchIn,
    VoucherBatchOut,
    VoucherValidationIn,
    VoucherValidationOut,
)
from shared.access import Need
from shared.access_http import authorise
from shared.http import Problem, json_response, read_model, stream_csv, uuid_param
from shared.openapi import Routes
from shared.rules.codes import InvalidCode, format_voucher_code, parse_voucher_code
from shared.service import back_office

TAG = "vouchers"
routes = Routes()


def _batch_out(state: vouchers.BatchState) -> VoucherBatchOut:
    batch, counts = state.batch, state.counts
    return VoucherBatchOut(
        batch_id=batch["id"],
        association_id=batch["association_id"],
        reason=batch["reason"],
        value_cents=batch["value_cents"],
        expires_at=batch["expires_at"],
        size=batch["size"],
        created_at=batch["created_at"],
        issued=counts.issued,
        validated=counts.validated,
        expired=counts.expired,
        outstanding=counts.outstanding,
        value_validated_cents=counts.value_validated_cents,
        value_outstanding_cents=counts.value_outstanding_cents,
    )


@routes.route(
    "POST",
    "/v1/associations/{association_id}/voucher-batches",
    summary="Issue a batch of gift vouchers",
    body=VoucherBatchIn,
    returns=VoucherBatchOut,
    status=201,
    also=(200,),
    tag=TAG,
)
async def create_voucher_batch(request: web.Request) -> web.Response:
    """Issue `size` vouchers of `value_cents` with random codes (Crockford base 32 and a check
    character). The same `batch_id` again answers 200 with the batch; with other terms, 409."""
    rt = back_office(request)
    association_id = uuid_param(request, "association_id")
    authorise(request, Need.ASSOCIATION, association_id)
    body = await read_model(request, VoucherBatchIn)
    state = await vouchers.issue_batch(rt.pool, association_id, body)
    return json_response(_batch_out(state), 201 if state.fresh else 200)


# Declared before GET /v1/voucher-batches/{batch_id}, whose variable would match "<id>.csv".
@routes.route(
    "GET",
    "/v1/voucher-batches/{batch_id}.csv",
    summary="The codes of a voucher batch, as CSV",
    content_type="text/csv",
    tag=TAG,
)
async def voucher_batch_csv(request: web.Request) -> web.StreamResponse:
    """Streamed: `code` (formatted as printed), `value_cents`, `expires_at` (ISO 8601)."""
    rt = back_office(request)
    batch_id = uuid_param(request, "batch_id")
    authorise(request, Need.ASSOCIATION, await scopes.voucher_batch(rt.pool, batch_id))
    async with vouchers.batch_codes(rt.pool, batch_id) as rows:
        return await stream_csv(
            request, f"vouchers-{batch_id}.csv", ("code", "value_cents", "expires_at"), rows
        )


@routes.route(
    "GET",
    "/v1/voucher-batches/{batch_id}",
    summary="A voucher batch and how many of its vouchers were validated",
    returns=VoucherBatchOut,
    tag=TAG,
)
async def get_voucher_batch(request: web.Request) -> web.Response:
    rt = back_office(request)
    batch_id = uuid_param(request, "batch_id")
    authorise(request, Need.ASSOCIATION, await scopes.voucher_batch(rt.pool, batch_id))
    state = await vouchers.get_batch(rt.pool, batch_id)
    return json_response(_batch_out(state))


def _voucher_code(request: web.Request) -> str:
    try:
        return parse_voucher_code(request.match_info["code"])
    except InvalidCode as exc:
        raise Problem(400, "Invalid voucher code", str(exc), reason="invalid_code") from exc


def _validation_out(v: vouchers.Validation) -> VoucherValidationOut:
    voucher = v.voucher
    return VoucherValidationOut(
        code=format_voucher_code(voucher["code"]),
        batch_id=voucher["batch_id"],
        association_id=voucher["association_id"],
        value_cents=voucher["value_cents"],
        account_id=voucher["account_id"],
        card_number=v.card_number,
        merchant_id=voucher["validated_by_merchant"],
        validated_at=voucher["validated_at"],
        movement_id=voucher_reference(voucher["code"]),
        balance_cents=v.balance_cents,
    )


@routes.route(
    "POST",
    "/v1/vouchers/{code}/validation",
    summary="Validate a gift voucher at a merchant: its value goes to the cagnotte",
    body=VoucherValidationIn,
    returns=VoucherValidationOut,
    status=201,
    also=(200,),
    tag=TAG,
)
async def validate_voucher(request: web.Request) -> web.Response:
    """A voucher is validated once, at a merchant of its association, for an account named
    by `card_number` or `account_id`: its value is credited to the available cagnotte. The
    very same request again (same code, account and merchant) answers 200 with the first
    result; any other validation of a validated voucher is a 409 saying when and where. A
    mistyped code (wrong check character) is a 400, an unknown one a 404, an expired one a
    422."""
    rt = back_office(request)
    code = _voucher_code(request)
    body = await read_model(request, VoucherValidationIn)
    # Handed in at a front desk: that merchant's, in the voucher's association.
    association_id = await scopes.voucher(rt.pool, code)
    authorise(request, Need.STAFF, association_id, body.merchant_id, body.account_id)
    validation = await vouchers.validate(rt.pool, code, body)
    return json_response(_validation_out(validation), 201 if validation.fresh else 200)
