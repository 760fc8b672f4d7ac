pytest_plugins = ["tests.fixtures.aws", "tests.fixtures.twilio", "tests.fixtures.server"]
