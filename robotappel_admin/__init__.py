"""The operators' command-line tool: onboard organisations, issue and revoke their API keys, top up their tokens.

`python -m robotappel_admin --stack <stack> --region <region> ...` works on a deployed stage with the operator's
AWS credentials (the tables are found in the stack's outputs); `--local` on the running `make run`. It calls the
layer's use cases (`robotappel.tenants`) directly, as the /admin routes do, so it needs no API key: it is how a new
stage gets its first admin key. `make run` seeds its organisations through `onboard` too.
"""
