"""Shared test worlds: small hand-made companies and the oracles that judge them, used by tests in every folder
(their fixtures live in the conftest.py files)."""
