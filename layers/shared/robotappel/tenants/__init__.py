"""Operating the service: organisations (created, topped up, proven to exist), their API keys, their usage plans,
and what a calling key may do as it is now (access.py)."""
