"""Vizmo SCIM adapter SDK and built-in adapters (no tornado, no jwt)."""
