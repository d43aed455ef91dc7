"""The evaluation report: figures (matplotlib, Agg) and one self-contained HTML page."""

from .html import GRADE_BANDS, build_figures, grade, render_report

__all__ = ["render_report", "build_figures", "grade", "GRADE_BANDS"]
