"""Thin FastAPI routers, one module per area; each calls a domain service."""
