"""Example adapters: small, complete implementations of the adapter contract to learn from."""
