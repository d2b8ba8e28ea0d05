"""`python -m ircheck`."""

from ircheck.cli import entry

entry()
