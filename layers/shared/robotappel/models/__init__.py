"""Pydantic models of the API contract (field names are the JSON keys of ../shared/SPEC.md)."""
