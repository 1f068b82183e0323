"""Pure SCIM protocol code (RFC 7643/7644): no I/O, no tornado."""
