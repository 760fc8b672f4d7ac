"""Twilio's API hosts, which the settings may point elsewhere (the local emulator). Nothing else here: the
webhooks' light modules (account_tokens) import it without loading the REST client (client)."""

TWILIO_API_URL = "https://api.twilio.com"
NUMBERS_API_URL = "https://numbers.twilio.com"
