"""Retention: how long call records, recordings and exports are kept, and the clean-up."""
