"""The evaluation report: figures (matplotlib, Agg), the self-contained HTML page, and the outputs.

:func:`write_outputs` writes ``metrics.json`` and ``report.html`` of an
:class:`~haplogen.results.Evaluation`; :func:`summary_table` is the same numbers for a terminal.
"""

from .html import build_figures, render_report
from .outputs import metrics_document, summary_table, write_outputs

__all__ = ["render_report", "build_figures", "write_outputs", "metrics_document", "summary_table"]
