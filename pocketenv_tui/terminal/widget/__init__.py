"""The Textual widget of a shell: ``view`` (:class:`TerminalView`, output pump, keys and
painting), ``render`` (rows to Strips, with a style cache) and ``pointer`` (wheel, mouse
reports and local selection)."""

from .view import LEAVE_HINT, LEAVE_KEY, TerminalView

__all__ = ["LEAVE_HINT", "LEAVE_KEY", "TerminalView"]
