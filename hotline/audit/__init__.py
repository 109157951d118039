"""The audit log: who played or downloaded which recording, and when (supervisors read it)."""
