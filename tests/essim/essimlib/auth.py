"""Optional security: Basic users and API keys, with ES 8's 401 answers."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Optional

from essimlib.errors import EsError

CHALLENGES_8 = ['Basic realm="security" charset="UTF-8"', 'Bearer realm="security"', "ApiKey"]


class Auth:
    def __init__(self, users_file: Optional[Path], flavor: str):
        self.users: dict = {}
        self.api_keys: dict = {}
        self.enabled = users_file is not None
        self.flavor = flavor
        if users_file:
            data = json.loads(Path(users_file).read_text())
            self.users = data.get("users", {})
            self.api_keys = data.get("api_keys", {})

    def check(self, headers: dict, path: str) -> None:
        if not self.enabled:
            return
        value = headers.get("authorization", "")
        scheme, _, cred = value.partition(" ")
        scheme = scheme.lower()
        if not value:
            raise self._fail(f"missing authentication credentials for REST request [{path}]")
        try:
            decoded = base64.b64decode(cred, validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            decoded = ""
        if scheme == "basic":
            user, _, password = decoded.partition(":")
            if self.users.get(user) == password and user:
                return
            raise self._fail(f"unable to authenticate user [{user}] for REST request [{path}]")
        if scheme == "apikey":
            key_id, _, key = decoded.partition(":")
            if key_id and self.api_keys.get(key_id) == key:
                return
            raise self._fail("unable to authenticate with provided credentials and anonymous access is not allowed for this request")
        raise self._fail(f"missing authentication credentials for REST request [{path}]")

    def _fail(self, reason: str) -> EsError:
        if self.flavor == "es7":
            header = {"WWW-Authenticate": 'Basic realm="security" charset="UTF-8"'}
        else:
            header = {"WWW-Authenticate": CHALLENGES_8}
        return EsError(401, "security_exception", reason, {"header": header}, headers=header)
