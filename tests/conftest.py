import os

# Lambda sets a function's environment before importing it; Powertools reads these at import time.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "phone-numbers")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "RobotAppel")

pytest_plugins = [
    "tests.fixtures.aws",
    "tests.fixtures.twilio",
    "tests.fixtures.dynamodb_faults",
    "tests.fixtures.server",
    "tests.iam.plugin",
]
