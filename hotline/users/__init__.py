"""Users, roles and authentication: accounts, password hashes, API tokens, signed sessions.

``models`` holds the tables, ``security`` the pure crypto helpers (argon2 hashes, tokens, signed
session cookies), ``service`` the use cases (keyword-only, session passed in), ``cli`` the
``hotline users`` command. The HTTP side lives in ``hotline.web``.
"""
