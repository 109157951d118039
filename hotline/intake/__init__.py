"""Understanding a request: from what a caller said (or wrote) to a suggested work order.

``understand.Understander`` combines the pure rules of ``rules`` (emergency line, urgency,
request type cues, location, callback number) with the responsibility list (``catalog``) and
a model trained on the center's own operator decisions (``model``, ``training``).
"""
