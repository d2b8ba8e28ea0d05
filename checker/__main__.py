"""`python -m ircheck`."""

import sys

from ircheck.cli import main

sys.exit(main())
