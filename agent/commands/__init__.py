"""One module per `peerops` subcommand: HELP, add_arguments(parser) and run(args) -> int.

cli.py imports a command's module only when that command runs, so start-up stays cheap.
"""

# subcommand -> module; the order is the order of `peerops --help`
COMMANDS: dict[str, str] = {
    "validate": "agent.commands.validate",
    "plan": "agent.commands.plan",
    "apply": "agent.commands.apply",
    "run": "agent.commands.run",
    "daemon": "agent.commands.daemon",
    "init": "agent.commands.init",
    "config": "agent.commands.config",
    "status": "agent.commands.status",
    "fleet": "agent.commands.fleet",
    "history": "agent.commands.history",
    "key": "agent.commands.key",
    "facts": "agent.commands.facts",
    "doctor": "agent.commands.doctor",
    "simulate": "agent.commands.simulate",
    "peer": "agent.commands.peer",
    "check-pr": "agent.commands.check_pr",
    "demo": "agent.commands.demo",
}
