# Enable the lif-crosscheck fixture `lif_equivalent` in this test suite.
pytest_plugins = ["comparisons.pytest_plugin"]
