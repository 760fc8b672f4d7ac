"""What marks a Twilio resource as ours and names its record: the tag in its FriendlyName.

Twilio stores no metadata on a number or a caller ID but its FriendlyName, so that is where the stage and the id
of the record (or the write-ahead intent) it belongs to are kept: "ra:<stage>:<id> <the client's friendly name>",
at most 64 characters (Twilio's limit). The client's friendly name is served from our record, never read back
from Twilio. The reconciler reads the tag to find the record of a resource whose creation's answer was lost, and
only deletes a resource without record when it carries our tag.

The stage is in the tag because a Twilio account may be shared by mistake between deployments (each stage should
have its own credentials, README: Deploy): a resource another stage made then names a record this stage's table
cannot know, and must not look like our orphan. A tag of another stage, or one without a stage, is not ours.
"""

import re

from robotappel.config import get_settings

PREFIX = "ra:"
MAX_FRIENDLY_NAME = 64
# What a number bought without a friendly name is tagged with (its record shows its phone number as its name).
UNNAMED = "bought"
_TAG = re.compile(rf"^{PREFIX}(?P<stage>[a-z][a-z0-9-]*):(?P<id>[A-Za-z0-9_]+)(?: |$)")


def tagged(record_id: str, friendly_name: str) -> str:
    """The FriendlyName to give Twilio for the resource of `record_id`."""
    return f"{PREFIX}{get_settings().stage}:{record_id} {friendly_name}"[:MAX_FRIENDLY_NAME].rstrip()


def record_id_of(friendly_name: str | None) -> str | None:
    """The record id a FriendlyName is tagged with by this stage; None for a resource that is not ours."""
    match = _TAG.match(friendly_name or "")
    return match["id"] if match and match["stage"] == get_settings().stage else None
