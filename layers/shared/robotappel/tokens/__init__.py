"""Token accounting: what each route costs and how a call is charged exactly once."""
