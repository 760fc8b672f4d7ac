"""Who is calling (org, role and key from the authorizer) and which organisation's data they may read."""

from dataclasses import dataclass
from typing import Literal

from robotappel.errors import Forbidden

Role = Literal["member", "admin"]


@dataclass(frozen=True)
class Caller:
    org_id: str
    role: Role
    key_id: str = ""  # the calling API key's id ("" for a key written by hand before keys had ids)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden("This route needs an admin API key.")

    def readable_org(self, requested_org_id: str | None) -> str:
        """The org whose data the caller asks for: its own by default; another one only for admins."""
        if not requested_org_id or requested_org_id == self.org_id:
            return self.org_id
        if self.is_admin:
            return requested_org_id
        raise Forbidden("This API key may only read its own organisation.")
