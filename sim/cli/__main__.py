"""``python -m sim.cli`` is the ``commsim`` command."""

from sim.cli import main

raise SystemExit(main())
