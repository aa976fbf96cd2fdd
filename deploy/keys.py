"""New signing keys for a deployment's .env (docs/access.md): the portal's scope-token key,
each service's own key for its calls to the others, and the public keys every service trusts.

    python -m deploy.keys >> .env      # then fill in the rest of .env.example

Each run prints new random keys: rotating one means adding its new public key to
COMPTOIR_SCOPE_PUBLIC_KEYS beside the old one, restarting, then giving the new seed."""

from __future__ import annotations

import secrets

from shared.access import SERVICE_KID, SERVICES, Signer


def env_lines() -> list[str]:
    portal = f"k1:{secrets.token_hex(32)}"
    lines = [f"COMPTOIR_SCOPE_SIGNING_KEY={portal}"]
    public = [Signer(portal).public_keys]
    for name in SERVICES:
        spec = f"{SERVICE_KID}{name}:{secrets.token_hex(32)}"
        lines.append(f"COMPTOIR_SERVICE_KEY_{name.upper()}={spec}")
        public.append(Signer(spec).public_keys)
    lines.append(f"COMPTOIR_SCOPE_PUBLIC_KEYS={','.join(public)}")
    return lines


if __name__ == "__main__":
    print("\n".join(env_lines()))
