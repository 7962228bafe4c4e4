"""``python -m skill`` is the ``jiggle`` command."""

from skill.cli import main

raise SystemExit(main())
