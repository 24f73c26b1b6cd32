"""A backend whose import never ends (a simulator stuck loading a library): the run must time out and
fail it alone (registered by tests/test_hostile.py)."""
import time

time.sleep(3600)
