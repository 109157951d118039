"""Seats (坐席): which queue member an operator is, its state kept in step with Asterisk, and
the call pop (a ringing or answered queue call shown on the operator's page at once)."""
