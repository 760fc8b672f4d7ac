"""Use cases: the business rules of client phones and Twilio numbers."""
