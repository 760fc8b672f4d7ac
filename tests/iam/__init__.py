"""IAM checked as AWS evaluates it: what each function calls (calls.py) against its policies as deployed
(deployed.py), both ways (check.py), at the end of every pytest run (plugin.py)."""
