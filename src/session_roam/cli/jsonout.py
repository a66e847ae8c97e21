"""One JSON document on stdout: the only way roam prints ``--json`` output.

Free of rich and typer, so the fast start-up path prints byte for byte what the full app does.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["JsonValue", "emit_json"]

JsonValue = Mapping[str, Any] | Sequence[Any]


def emit_json(data: JsonValue) -> None:
    """One JSON document, keys in a stable order, on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()
