"""The regulatory documents `make run` makes at its Twilio emulator for each seeded org: an approved bundle per
French number type the API sells and a French address, in the org's own subaccount (an org's bundles are its own:
README, Tenants at Twilio), under SIDs derived from the org id (a restarted server, the README and openapi.json's
examples, which are EXAMPLE_ORG's, name the same ones)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from local.twilio_emulator import TwilioEmulator

# The API's numberType -> Twilio's bundle NumberType; French mobiles are not sold (Twilio's France terms).
FRENCH_NUMBER_TYPES = {"local": "local", "national": "national", "tollFree": "toll-free"}
EXAMPLE_ORG = "org-demo"  # the seed's org whose key (demo-key) the README's and openapi.json's examples use


@dataclass(frozen=True)
class FrenchDocuments:
    bundles: dict[str, str]  # the API's numberType -> the SID of the bundle approved for it
    address: str  # the SID of an address in Paris


def _sid(prefix: str, name: str) -> str:
    return prefix + hashlib.sha256(f"robotappel-local-{name}".encode()).hexdigest()[:32]


def documents_of(org_id: str) -> FrenchDocuments:
    """The SIDs of the org's documents (made or not)."""
    return FrenchDocuments(
        bundles={ours: _sid("BU", f"{org_id}-bundle-FR-{twilios}") for ours, twilios in FRENCH_NUMBER_TYPES.items()},
        address=_sid("AD", f"{org_id}-address-FR"),
    )


def make(emulator: TwilioEmulator, org_id: str, account_sid: str) -> FrenchDocuments:
    """The org's documents, made in its subaccount `account_sid`."""
    documents = documents_of(org_id)
    for ours, twilios in FRENCH_NUMBER_TYPES.items():
        emulator.add_bundle(
            "FR",
            twilios,
            friendly_name=f"RobotAppel FR {twilios}",
            sid=documents.bundles[ours],
            account_sid=account_sid,
        )
    emulator.add_address("FR", sid=documents.address, account_sid=account_sid)
    return documents


def banner_lines(accounts: dict[str, str]) -> list[str]:
    """`accounts`: each org's subaccount SID, by org id."""
    lines = ["  French regulatory documents at the Twilio emulator (PUT /phoneNumber/regulatory/FR), by org"]
    for org_id, account_sid in accounts.items():
        documents = documents_of(org_id)
        lines += [
            f"    {org_id} (in its subaccount {account_sid})",
            *(f"      bundle {sid} approved for FR {kind} numbers" for kind, sid in documents.bundles.items()),
            f"      address {documents.address} in Paris, FR",
        ]
    return lines
