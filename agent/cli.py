"""The `peerops` command: a pull agent with GitOps for DN42 peerings on OpenBSD routers."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from agent import __version__
from agent.commands import COMMANDS

# Exit codes are the verdict's (agent/run/verdict.py): 1 usage or configuration error, 2
# changes, 4 failures. argparse exits 2 on a usage error, which would read as "changes
# applied": the parser below exits 1 instead, with the (sub)command's own usage.
EXIT_USAGE = 1
EXIT_FAILED = 4
EXIT_SIGPIPE = 128 + 13  # what a shell reports for a program killed by SIGPIPE


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


class _Formatter(argparse.HelpFormatter):
    """Help that states an option's default when the option takes a value with one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if isinstance(default, str) and default != argparse.SUPPRESS and "default" not in text:
            text += " (default: %(default)s)"
        return text


def build_parser(command: str | None = None, *, full: bool = False) -> argparse.ArgumentParser:
    """The `peerops` parser. Only the module of the command being run is imported; with
    full, every command's options are built (the man page test reads the whole tree)."""
    parser = _Parser(prog="peerops", description=__doc__, formatter_class=_Formatter)
    parser.add_argument("--version", action="version", version=f"peerops {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        if full or command == name:
            module = importlib.import_module(module_name)
            description = getattr(module, "DESCRIPTION", None) or module.HELP
            child = sub.add_parser(name, help=module.HELP, description=description)
            module.add_arguments(child)
            _finish(child)
        else:
            sub.add_parser(name, help=_help_of(module_name))
    sub.add_parser("sim", help="run a command on a simulated OpenBSD router: "
                               "sim --root DIR [--init] COMMAND [ARGS]")
    return parser


def _finish(parser: argparse.ArgumentParser) -> None:
    """Every command and action gets the formatter and a description (its help line when it
    has none); every leaf gets -v and -q (the log level, agent/logs.py)."""
    parser.formatter_class = _Formatter
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for action in actions:
        helps = {choice.dest: choice.help for choice in action._choices_actions}
        for name, child in action.choices.items():
            child.description = child.description or helps.get(name)
            _finish(child)
    if actions or "-v" in parser._option_string_actions:
        return
    parser.add_argument(
        "-v", "--verbose", action="count", default=0,
        help="log more: each change (-v), git's progress and every command run (-vv)",
    )
    parser.add_argument(
        "-q", "--quiet", action="count", default=0, help="log only warnings and errors"
    )


def _command_parser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            return action.choices[command]  # type: ignore[no-any-return]
    return parser


def _help_of(module_name: str) -> str:
    # Help lines come from the modules; importing them is cheap (they import lazily inside).
    return str(importlib.import_module(module_name).HELP)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its output piped into a reader that stops early (`| head`) ends the
    command quietly, as SIGPIPE ends a C program, never with a traceback."""
    try:
        try:
            code = _main(argv)
        finally:  # argparse's --help leaves by SystemExit: its text is flushed here too
            sys.stdout.flush()
    except BrokenPipeError:
        # Later writes (and the interpreter's final flush) go nowhere instead of failing again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_SIGPIPE
    return code


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["sim"]:  # everything after `sim` belongs to the simulated command
        from agent.sim.cli import main as sim_main

        return sim_main(argv[1:])
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command)
    args, extra = parser.parse_known_args(argv)
    if extra:  # argparse would blame the top-level parser; the subcommand's usage helps
        _command_parser(parser, args.command).error(
            f"unrecognized arguments: {' '.join(extra)}"
        )
    from agent import logs

    logs.setup(
        getattr(args, "verbose", 0), getattr(args, "quiet", 0), daemon=args.command == "daemon"
    )
    from agent.errors import ConfigError

    try:
        return int(importlib.import_module(COMMANDS[args.command]).run(args))
    except ConfigError as exc:
        print(f"peerops: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        raise  # the reader went away: not a bug (main ends quietly)
    except Exception as exc:  # a bug: say where, exit as a failure, never as success
        where = traceback.extract_tb(exc.__traceback__)[-1]
        print(
            f"peerops: internal error: {exc!r} (at {where.filename}:{where.lineno})",
            file=sys.stderr,
        )
        return EXIT_FAILED
