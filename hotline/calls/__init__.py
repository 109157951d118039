"""Call records: every call, its IVR path, its queue wait and its recordings."""
