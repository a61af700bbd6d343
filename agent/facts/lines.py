"""A line of command output with its number: what every parser error points at."""

from __future__ import annotations

from typing import NoReturn

from agent.errors import ParseError


class Line:
    """One input line with its number, for error reporting."""

    def __init__(self, source: str, number: int, text: str) -> None:
        self.source = source
        self.number = number
        self.text = text

    def fail(self, message: str) -> NoReturn:
        """Raise ParseError for this line."""
        raise ParseError(self.source, self.number, self.text, message)
