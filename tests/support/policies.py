"""Policy documents as AWS rewrites them."""

from __future__ import annotations

import copy
from typing import Any


def replace_principal(doc: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """Copy of ``doc`` (its Statement a list) with the AWS principal ``old`` replaced by
    ``new`` in Principal and NotPrincipal, keeping shape (a string stays a string, a list a
    list): what AWS does to a deleted role's ARN, which becomes its unique ID."""
    out = copy.deepcopy(doc)
    for statement in out["Statement"]:
        for element in ("Principal", "NotPrincipal"):
            block = statement.get(element)
            if not isinstance(block, dict) or "AWS" not in block:
                continue
            value = block["AWS"]
            if isinstance(value, list):
                block["AWS"] = [new if v == old else v for v in value]
            elif value == old:
                block["AWS"] = new
    return out
