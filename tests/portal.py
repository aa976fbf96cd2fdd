"""A browser for the portal's tests: it keeps the cookies itself (the portal's are Secure and
the suite speaks plain HTTP to 127.0.0.1), reads the forms' CSRF tokens, follows nothing."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

import aiohttp

from tests import harness

PORTAL = harness.url("portal")
ADMIN = {"Authorization": f"Bearer {harness.ADMIN_TOKEN}"}
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Page:
    status: int
    text: str
    headers: Any
    cookies: dict[str, dict[str, Any]]

    @property
    def csrf(self) -> str:
        found = _CSRF.search(self.text)
        assert found, self.text
        return found.group(1)


@dataclass
class Browser:
    http: aiohttp.ClientSession
    jar: dict[str, str] = field(default_factory=dict)
    csrf: str = ""

    async def request(
        self, method: str, path: str, data: dict[str, str] | None = None, **kw: Any
    ) -> Page:
        headers = {**kw.pop("headers", {})}
        if self.jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        async with self.http.request(
            method, PORTAL + path, data=data, headers=headers, allow_redirects=False, **kw
        ) as r:
            text = await r.text()
            cookies: dict[str, dict[str, Any]] = {}
            for raw in r.headers.getall("Set-Cookie", []):
                parsed: SimpleCookie = SimpleCookie()
                parsed.load(raw)
                for name, morsel in parsed.items():
                    cookies[name] = {"value": morsel.value, **dict(morsel.items())}
                    cookies[name]["raw"] = raw
                    if morsel["max-age"] == "0":
                        self.jar.pop(name, None)
                    else:
                        self.jar[name] = morsel.value
            page = Page(r.status, text, r.headers, cookies)
        if page.status == 200 and _CSRF.search(text):
            self.csrf = page.csrf
        return page

    async def get(self, path: str) -> Page:
        return await self.request("GET", path)

    async def post(self, path: str, data: dict[str, str], csrf: bool = True) -> Page:
        return await self.request("POST", path, {**data, "csrf": self.csrf} if csrf else data)

    async def sign_in(self, email: str, password: str) -> Page:
        await self.get("/sign-in")
        return await self.post("/sign-in", {"email": email, "password": password})


async def person(
    http: aiohttp.ClientSession,
    role: str,
    association_id: uuid.UUID | None = None,
    merchant_id: uuid.UUID | None = None,
    password: str | None = None,
) -> tuple[str, str]:
    """A new person (by the admin token) and their password; their e-mail and password."""
    pid = uuid.uuid4()
    email = f"{role}-{pid.hex[:10]}@example.org"
    body: dict[str, Any] = {"email": email, "name": f"{role} {pid.hex[:4]}", "role": role}
    if association_id:
        body["association_id"] = str(association_id)
    if merchant_id:
        body["merchant_id"] = str(merchant_id)
    async with http.put(f"{PORTAL}/v1/people/{pid}", json=body, headers=ADMIN) as r:
        assert r.status == 201, await r.text()
    password = password or f"pw-{uuid.uuid4().hex}"
    async with http.put(
        f"{PORTAL}/v1/people/{pid}/password", json={"password": password}, headers=ADMIN
    ) as r:
        assert r.status == 204, await r.text()
    return email, password
