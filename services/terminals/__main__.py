"""The terminals gateway: where shop terminals and tills send sales, redemptions and enrolments."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from services.terminals import api, outcomes
from shared.contracts import (
    AccountOpened,
    BlacklistChanged,
    CagnotteCredited,
    CagnotteRedeemed,
    EnrolmentRefused,
    RedemptionRefused,
    ReturnRefused,
    RewardReversed,
    SaleRefused,
)
from shared.events import Event
from shared.service import Runtime, ServiceSpec, main


async def on_ready(rt: Runtime) -> None:
    gateway = api.Gateway(rt)
    rt.state["gateway"] = gateway
    rt.state["prune"] = asyncio.create_task(
        api.prune_nonces(rt.pool, rt.settings.signature_window_s)
    )


def after_commit(rt: Runtime) -> Any:
    def wake(events: list[Event[Any]]) -> None:
        gateway: api.Gateway | None = rt.state.get("gateway")
        if gateway is not None:
            decisions = (
                outcomes.decide(e) for e in events if not isinstance(e.data, BlacklistChanged)
            )
            gateway.resolve([(d[0], d[3], d[4]) for d in decisions if d is not None])

    return wake


SPEC = ServiceSpec(
    name="terminals",
    migrations=Path(__file__).parent / "migrations",
    routes=api.routes,
    handlers=lambda rt: (
        dict.fromkeys(
            (
                CagnotteCredited,
                SaleRefused,
                CagnotteRedeemed,
                RedemptionRefused,
                AccountOpened,
                EnrolmentRefused,
                RewardReversed,
                ReturnRefused,
            ),
            outcomes.handler(),
        )
        | {BlacklistChanged: outcomes.on_blacklist}
    ),
    after_commit=after_commit,
    on_ready=on_ready,
)

if __name__ == "__main__":
    main(SPEC)
