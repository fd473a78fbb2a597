"""`python -m cnnlab` runs the command line."""

import logging
import os
import sys

from cnnlab.cli.main import main
from cnnlab.train.distributed import launched_by_torchrun

code = main()
if launched_by_torchrun():
    # One of several processes: its finished run's files are closed by now, but the process group's
    # native threads can abort the interpreter's teardown (a rare SIGABRT after a completed run, which
    # torchrun reports as a failure), so the process leaves without that teardown once its output is out.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
raise SystemExit(code)
