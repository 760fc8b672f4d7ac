"""Twilio: the client factory, the error mapping, the retry policy and the gateway the use cases call.

Import `robotappel.twilio.gateway` where Twilio is needed; this package itself stays light so functions
that never call Twilio do not pay for importing the SDK.
"""
