"""Data package: bundled JSON documents (RFC 7643 schemas, resource types, request JSON Schemas)."""
