"""Robustness suite helpers: signing for generated requests, an in-process Lambda adapter,
the schemathesis runner, the load driver, invariant checkers and the bench report.

Everything here talks to loopback only (the local cloud) or runs in-process against moto.
"""
