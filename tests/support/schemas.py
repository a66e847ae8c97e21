"""Checks a document against its versioned JSON Schema in docs/schemas/ (the CLI's contract)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from jsonschema import Draft202012Validator

__all__ = ["SCHEMAS", "check_schema"]

SCHEMAS: Final = Path(__file__).resolve().parents[2] / "docs" / "schemas"


def check_schema(document: Any, name: str) -> None:
    """Raise unless ``document`` is valid under ``docs/schemas/<name>.json`` (itself valid)."""
    schema = json.loads((SCHEMAS / f"{name}.json").read_text())
    Draft202012Validator.check_schema(schema)
    Draft202012Validator(schema).validate(document)
