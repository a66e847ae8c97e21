"""``python -m session_roam`` runs the same CLI as the ``roam`` script."""

from __future__ import annotations

from session_roam.cli.fast import main

if __name__ == "__main__":
    main()
