"""`python -m cnnlab` runs the command line."""

from cnnlab.cli.main import main

raise SystemExit(main())
