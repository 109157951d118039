"""Prompts: the flows' texts rendered to audio Asterisk can play (8 kHz mono WAV)."""
