-- Issue 14 (F22, F16): several partial returns adding up to a qualifying sale take its
-- sponsorship rewards back as one whole return would. crm keeps each return of goods it hears
-- of (``reward.reversed.v1`` with reason ``returned``), once by its id, so that a redelivered
-- return is not counted twice. Forward only; the returns before it are not known (a sale
-- returned in parts before this migration keeps its rewards, as before).
CREATE TABLE sponsorship_sale_returns (
    return_id    uuid PRIMARY KEY,
    sale_id      uuid NOT NULL,
    amount_cents bigint NOT NULL CHECK (amount_cents > 0),
    occurred_at  timestamptz NOT NULL
);
CREATE INDEX sponsorship_sale_returns_sale ON sponsorship_sale_returns (sale_id);
