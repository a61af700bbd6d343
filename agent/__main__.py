"""`python -m agent` is the same as the `peerops` command."""

from agent.cli import main

raise SystemExit(main())
