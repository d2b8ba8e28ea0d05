"""ircheck: a declarative model checker for interrupt semantics.

    >>> import ircheck
    >>> report = ircheck.check_file("models/lang_lost_irq.irq")
    >>> report.verdict, report.check("no_lost_irq").status
    ('violated', 'violated')
"""

from ircheck.api import check_file, check_model, check_source
from ircheck.grammar.diagnostics import Diagnostic, IrcheckError
from ircheck.result import CheckResult, Report, Stats
from ircheck.version import __version__

__all__ = ["check_file", "check_source", "check_model", "Report", "CheckResult", "Stats", "Diagnostic",
           "IrcheckError", "__version__"]
