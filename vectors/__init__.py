"""Known-answer vectors with provenance (one folder per kind), shipped as package data."""
