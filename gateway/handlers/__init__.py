"""HTTP handlers of the SCIM endpoints (one module per endpoint family)."""
