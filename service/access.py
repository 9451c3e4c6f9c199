"""Access keys and roles: who may read, who may change the collection, who manages keys.

A key is 256 random bits, shown once when made; the catalog keeps only its SHA-256 (a slow
password hash adds nothing to a secret that cannot be guessed). Roles are ordered: a
librarian may do what a reader may, an admin what a librarian may. Until the first key is
made the collection is open, as on a librarian's own machine (`koshqon serve` refuses a
network address in that state). Then every write needs a librarian's key, key management
an admin's, and reading stays open unless KOSHQON_PRIVATE=true. The web page signs in
with a key and gets a session (its own random token, also kept as a digest), which ends
with its key. docs/security.md.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from index.catalog import Catalog
from ingest.errors import InvalidParameter, KeyNotFound, NotAllowed, NotSignedIn

Role = Literal["reader", "librarian", "admin"]
ROLES: tuple[Role, ...] = ("reader", "librarian", "admin")
KEY_PREFIX, SESSION_PREFIX = "kq_", "kqs_"
KEY_NAME = re.compile(r"^[\w.@-]{1,64}$")
SESSION_HOURS = 12


@dataclass(frozen=True)
class Key:
    name: str
    role: Role
    created_at: str


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Access:
    def __init__(self, catalog: Catalog, private: bool = False):
        self.catalog, self.private = catalog, private

    def add(self, name: str, role: Role) -> str:
        """A new key for ``name``; the caller shows it once, it is never stored."""
        if not KEY_NAME.match(name):
            raise InvalidParameter("name: 1–64 letters, digits, '.', '_', '@' or '-'")
        if role not in ROLES:
            raise InvalidParameter(f"role must be one of: {', '.join(ROLES)}")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        if not self.catalog.add_key(name, role, digest(key)):
            raise InvalidParameter(f"a key named {name} exists; revoke it first")
        return key

    def listed(self) -> list[Key]:
        return [Key(*row) for row in self.catalog.access_keys()]

    def revoke(self, name: str) -> None:
        if not self.catalog.revoke_key(name):
            raise KeyNotFound(f"no key named {name}")

    def holder(self, credential: str | None) -> tuple[str, Role] | None:
        """(key name, role) of a key or of a session token, if it is valid."""
        if not credential:
            return None
        if credential.startswith(SESSION_PREFIX):
            return self.catalog.role_of_session(digest(credential))
        return self.catalog.role_of_key(digest(credential))

    def check(self, needed: Role, credential: str | None) -> None:
        """Raise unless ``credential`` may do what ``needed`` may."""
        if needed == "reader" and not self.private:
            return  # no catalog lookup on the search path
        keys_exist = bool(self.catalog.access_keys())
        if needed == "admin" and not keys_exist:
            raise NotAllowed("the first key is made on the server: koshqon keys add --role admin")
        if not keys_exist and not self.private:
            return  # an open collection: no keys yet
        holder = self.holder(credential)
        if holder is None:
            how = "send Authorization: Bearer KEY" if keys_exist else "add one: koshqon keys add"
            raise NotSignedIn(f"this needs a {needed}'s key; {how}")
        if ROLES.index(holder[1]) < ROLES.index(needed):
            raise NotAllowed(f"the key {holder[0]} is a {holder[1]}'s; this needs a {needed}'s")

    def sign_in(self, key: str) -> str:
        """A session token for a valid key (the web page keeps it in a cookie)."""
        holder = self.catalog.role_of_key(digest(key)) if key.startswith(KEY_PREFIX) else None
        if holder is None:
            raise NotSignedIn("unknown key")
        token = SESSION_PREFIX + secrets.token_urlsafe(32)
        expires = datetime.now(UTC) + timedelta(hours=SESSION_HOURS)
        self.catalog.add_session(digest(token), holder[0], expires.isoformat(timespec="seconds"))
        return token

    def sign_out(self, token: str) -> None:
        self.catalog.end_session(digest(token))
