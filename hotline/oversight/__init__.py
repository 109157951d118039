"""Oversight (督办考核): rates, scores and rankings of units, traceable to their tickets."""
