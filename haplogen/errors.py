"""Exceptions raised by haplogen.

Every error that a user can cause derives from :class:`HaplogenError`. Its message is one line
that says what was expected, what was found and how to fix it; the command line prints it as
``haplogen: error: <message>`` and exits non-zero, without a traceback.
"""

from __future__ import annotations

__all__ = ["HaplogenError", "InputError", "ModelError", "PrivacyError", "ToolError", "OutputError", "HaplogenWarning"]


class HaplogenError(Exception):
    """Base class of the errors that haplogen reports to its users."""

    #: exit status used by the command line for this kind of error
    exit_code = 1


class InputError(HaplogenError, ValueError):
    """An input file, table or argument is malformed or does not fit the request."""

    exit_code = 2


class ModelError(HaplogenError):
    """A model directory or checkpoint is missing, corrupt or incompatible."""

    exit_code = 3


class PrivacyError(HaplogenError):
    """An artificial data set failed the privacy audit and was not written."""

    exit_code = 4


class ToolError(HaplogenError):
    """An external program that a statistic runs (Beagle) is missing, too old, or failed."""

    exit_code = 6


class OutputError(HaplogenError):
    """An output could not be written (a full disk, no permission); nothing was left half-written.

    The message names the file, for example ``cannot write out/train.vcf.gz: No space left on
    device``. The exit status is 74, ``EX_IOERR`` of ``sysexits.h``.
    """

    exit_code = 74


class HaplogenWarning(UserWarning):
    """Suspicious but well-formed input, or inputs that do not fit together as expected.

    The work goes on; the message says what was seen. The command line prints it as one line,
    ``haplogen: warning: <message>``.
    """
