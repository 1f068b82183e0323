"""Booleans sent as text: one rule for PATCH values, POST/PUT bodies and filter literals.

Note: Entra ID without the ``aadOptscim062020`` flag sends ``"active": "False"`` and filters such
as ``roles[primary eq "True"]`` (reference P2). Three copies of this rule disagreed: a PATCH took
``" True "`` and a POST refused it.
"""

from __future__ import annotations

from typing import Any


def boolean_text(value: Any) -> bool | None:
    """The boolean that ``"true"``/``"false"`` names (any case, surrounding white space ignored),
    or None when ``value`` is anything else."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("true", "false"):
            return word == "true"
    return None
