"""The Vizmo SCIM gateway (Tornado)."""
