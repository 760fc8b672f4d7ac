"""Webhook routes Twilio calls back (their full URL is the public base URL + the path, and is what it signs)."""

VALIDATION_STATUS_PATH = "/phoneNumber/twilio/validationStatus"
CALL_STATUS_PATH = "/phoneNumber/twilio/callStatus"
