"""Listening in on live calls (监听 / 耳语 / 强插): ChanSpy through AMI Originate to the
supervisor's phone, each mode a permission of its own, every session in the audit log."""
