"""deploy/keys.py: the .env lines of a deployment's keys fit together: each service's key is
named for it, and the public keys printed verify the portal's and every service's tokens."""

from __future__ import annotations

from deploy.keys import env_lines
from shared import production
from shared.access import SERVICES, Signer, Verifier, service_principal
from shared.settings import Settings


def test_the_printed_keys_sign_and_verify_and_pass_the_production_checks() -> None:
    env = dict(line.split("=", 1) for line in env_lines())
    trusted = Verifier(env["COMPTOIR_SCOPE_PUBLIC_KEYS"])
    for name in SERVICES:
        spec = env[f"COMPTOIR_SERVICE_KEY_{name.upper()}"]
        settings = Settings(
            env="production",
            service=name,
            service_signing_key=spec,
            scope_public_keys=env["COMPTOIR_SCOPE_PUBLIC_KEYS"],
        )
        assert trusted.verify(Signer(settings.service_key()).issue(service_principal(name)))
        fields = {d.field for d in production.development_secrets(name, settings)}
        assert not fields & {"service_signing_key", "scope_public_keys"}, (name, fields)
    assert len(set(env.values())) == len(env)  # no key given twice
    assert env_lines() != env_lines()  # new keys each time
