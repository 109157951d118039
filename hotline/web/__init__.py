"""The HTTP side: dependencies (``deps``), domain-error mapping (``errors``), routes (``routes``).

Only this package knows about HTTP statuses; the domains raise ``HotlineError`` subclasses.
"""
