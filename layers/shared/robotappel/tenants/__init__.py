"""Operating the service: organisations (created, topped up, proven to exist) and their API keys."""
