"""e2e: over HTTP against the session's stack, the ``stack`` fixture of tests/conftest.py (shared
with the browser tests when one run takes both; see tests/support/local_stack.py)."""
