"""What a customer may make the platform's Twilio account do, which the platform pays for: where its numbers fetch
their call instructions (voiceUrl), and which phones Twilio calls to verify them."""

from pydantic import HttpUrl

from robotappel.config import get_settings
from robotappel.errors import InvalidInput

HTTPS_PORT = 443


def require_platform_voice_url(voice_url: HttpUrl | None) -> None:
    """A number's voiceUrl runs its calls on the platform's account (TwiML can <Dial> anywhere, present any caller
    ID, post signed callbacks): only a host of the platform's allow-list, on the default https port, no userinfo."""
    if voice_url is None:
        return
    allowed = get_settings().allowed_voice_url_hosts
    if voice_url.username is not None or voice_url.password is not None:
        raise InvalidInput("voiceUrl", "A voiceUrl may not carry a user name or password.")
    if voice_url.port != HTTPS_PORT:
        raise InvalidInput("voiceUrl", "A voiceUrl uses https's default port.")
    if voice_url.host not in allowed:
        raise InvalidInput("voiceUrl", f"A voiceUrl must be on a host of the platform: {', '.join(sorted(allowed))}.")
