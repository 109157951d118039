"""hotline: backend for a 12345-style citizen service hotline."""

__version__ = "0.1.0"
