"""One exception root, classified by what the run should do next."""

from __future__ import annotations


class PeeropsError(Exception):
    """Root of every error peerops raises on purpose."""


class ConfigError(PeeropsError):
    """The agent's own configuration file is missing or wrong (exit 1)."""


class ParseError(PeeropsError, ValueError):
    """Command output that does not follow the documented format. Names the line."""

    def __init__(self, source: str, line_no: int, line: str, message: str) -> None:
        super().__init__(f"{source}: line {line_no}: {message}: {line!r}")
        self.source = source
        self.line_no = line_no
        self.line = line
        self.message = message


class CommandFailed(PeeropsError):
    """A command of the plan failed; the run stops, verifies and reports."""

    def __init__(
        self, argv: tuple[str, ...], rc: int, stderr: str, timed_out: bool = False
    ) -> None:
        what = "timed out" if timed_out else f"exited {rc}"
        detail = stderr.strip().splitlines()[-1] if stderr.strip() else ""
        super().__init__(f"{' '.join(argv)} {what}" + (f": {detail}" if detail else ""))
        self.argv = argv
        self.rc = rc
        self.stderr = stderr
        self.timed_out = timed_out
