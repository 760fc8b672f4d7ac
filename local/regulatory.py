"""The regulatory documents `make run` makes at its Twilio emulator for the seeded orgs: an approved bundle per
French number type the API sells and a French address, under fixed SIDs (a restarted server, the README and
openapi.json's examples name the same ones)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from local.twilio_emulator import TwilioEmulator

# The API's numberType -> Twilio's bundle NumberType; French mobiles are not sold (Twilio's France terms).
FRENCH_NUMBER_TYPES = {"local": "local", "national": "national", "tollFree": "toll-free"}


def _sid(prefix: str, name: str) -> str:
    return prefix + hashlib.sha256(f"robotappel-local-{name}".encode()).hexdigest()[:32]


LOCAL_BUNDLES = {ours: _sid("BU", f"bundle-FR-{twilios}") for ours, twilios in FRENCH_NUMBER_TYPES.items()}
LOCAL_ADDRESS = _sid("AD", "address-FR")


def make(emulator: TwilioEmulator) -> None:
    for ours, twilios in FRENCH_NUMBER_TYPES.items():
        emulator.add_bundle("FR", twilios, friendly_name=f"RobotAppel FR {twilios}", sid=LOCAL_BUNDLES[ours])
    emulator.add_address("FR", sid=LOCAL_ADDRESS)


def banner_lines() -> list[str]:
    return [
        "  French regulatory documents at the Twilio emulator (PUT /phoneNumber/regulatory/FR)",
        *(f"    bundle {sid} approved for FR {number_type} numbers" for number_type, sid in LOCAL_BUNDLES.items()),
        f"    address {LOCAL_ADDRESS} in Paris, FR",
    ]
