"""`python -m sim` is the `batsim` command."""
from .cli.main import main

raise SystemExit(main())
