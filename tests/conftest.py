"""Shared fixtures. Integration fixtures live in tests/integration/conftest.py."""

# The API world (``api_world``, one client per role on SQLite and PostgreSQL) and the database
# fixtures it uses, for every test without importing them; the Asterisk sandbox (``sandbox``,
# ``base_settings``) for the tiers that place real calls.
pytest_plugins = ("tests.api", "tests.asterisk_sandbox")
