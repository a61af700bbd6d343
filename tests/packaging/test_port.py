"""The OpenBSD port: rc.d script syntax and behaviour, PLIST, dependencies (ports conventions)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]
PORT = TOP / "packaging" / "openbsd"
RC = PORT / "pkg" / "peerops.rc"

# What the port's SUBST_CMD puts into pkg/peerops.rc on a 7.x system.
SUBST = {
    "TRUEPREFIX": "/usr/local",
    "SYSCONFDIR": "/etc",
    "MODPY_BIN": "/usr/local/bin/python3.12",
}

# A stand-in for /etc/rc.d/rc.subr with its defaults (openbsd/src etc/rc.d/rc.subr): pexp
# from daemon and daemon_flags, rcexec running the command; rc_cmd prints what rc.subr
# would use, so the script's own settings can be checked.
RC_SUBR = r"""
pexp="${daemon}${daemon_flags:+ ${daemon_flags}}"
rcexec="print -r --"
rc_cmd() {
	case "$1" in
	pexp) print -r -- "$pexp" ;;
	bg) print -r -- "${rc_bg}" ;;
	reload) print -r -- "${rc_reload:-default}" ;;
	configtest) rc_configtest ;;
	esac
}
"""


def _mksh() -> str:
    found = shutil.which("mksh")
    assert found, "mksh is needed (Debian's package mksh; .ci/run installs it)"
    return found


def _substituted(tmp_path: Path) -> Path:
    """pkg/peerops.rc as installed: ${VAR}s substituted, rc.subr replaced by the stand-in."""
    text = RC.read_text()
    for name, value in SUBST.items():
        text = text.replace("${" + name + "}", value)
    (tmp_path / "rc.subr").write_text(RC_SUBR)
    text = text.replace("/etc/rc.d/rc.subr", str(tmp_path / "rc.subr"))
    script = tmp_path / "peerops"
    script.write_text(text)
    return script


def _rc(tmp_path: Path, action: str) -> str:
    out = subprocess.run(
        [_mksh(), str(_substituted(tmp_path)), action], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_rc_script_passes_ksh_syntax_check() -> None:
    out = subprocess.run([_mksh(), "-n", str(RC)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_rc_script_fails_the_syntax_check_when_broken(tmp_path: Path) -> None:
    broken = tmp_path / "peerops.rc"
    broken.write_text(RC.read_text().replace("rc_configtest() {", "rc_configtest() {{ (", 1))
    assert subprocess.run([_mksh(), "-n", str(broken)], capture_output=True).returncode != 0


def test_pexp_matches_the_python_process(tmp_path: Path) -> None:
    # The console script runs as "python3.x /usr/local/bin/peerops daemon -c ..." (its
    # shebang is ${MODPY_BIN}); rc.subr's pgrep -xf "^${pexp}" must match that command line.
    cmdline = "/usr/local/bin/python3.12 /usr/local/bin/peerops daemon -c /etc/peerops.yaml"
    pexp = _rc(tmp_path, "pexp")
    assert re.fullmatch(pexp, cmdline), pexp


def test_daemon_runs_in_the_background_and_reload_keeps_sighup(tmp_path: Path) -> None:
    assert _rc(tmp_path, "bg") == "YES"  # the daemon never forks itself
    assert _rc(tmp_path, "reload") == "default"  # rc.subr's pkill -HUP: a cycle now


def test_configtest_runs_config_check_on_the_same_file(tmp_path: Path) -> None:
    assert _rc(tmp_path, "configtest") == (
        "/usr/local/bin/peerops config check -c /etc/peerops.yaml"
    )


def test_makefile_follows_python_port_conventions() -> None:
    make = (PORT / "Makefile").read_text()
    assert re.search(r"^MODULES =\s+lang/python$", make, re.M)
    assert re.search(r"^MODPY_PYBUILD =\s+setuptools$", make, re.M)
    version = re.search(r'^version = "(.+)"$', (TOP / "pyproject.toml").read_text(), re.M)[1]
    assert re.search(rf"^MODPY_DISTV =\s+{re.escape(version)}$", make, re.M), "version"
    assert make.rstrip().endswith(".include <bsd.port.mk>")


# pyproject dependency -> the port that provides it (openbsd/ports; dn42-context.md 4.1)
PORTS = {
    "gitpython": "devel/py-gitpython",
    "pyyaml": "textproc/py-yaml",
    "jinja2": "www/py-jinja2",
    "cryptography": "security/py-cryptography",
    "schedule": "sysutils/py-schedule",
    "jsonschema": "devel/py-jsonschema",
}


def test_every_dependency_and_git_is_a_run_dependency() -> None:
    make = (PORT / "Makefile").read_text()
    block = re.search(r"^RUN_DEPENDS =(.*?)(?:\n\n|\Z)", make, re.M | re.S)
    assert block
    declared = set(block[1].replace("\\", " ").split())
    project = (TOP / "pyproject.toml").read_text()
    deps = re.search(r"^dependencies = \[(.*?)^\]", project, re.M | re.S)
    assert deps
    for name in re.findall(r'^\s*"([A-Za-z0-9_.-]+)', deps[1], re.M):
        name = name.lower()
        assert name in PORTS, f"pyproject dependency {name}: which OpenBSD port provides it?"
        assert PORTS[name] in declared, f"{PORTS[name]} missing from RUN_DEPENDS"
    assert "devel/git" in declared  # GitPython runs git(1) but does not depend on it


def test_plist_installs_rc_script_samples_and_man_pages() -> None:
    plist = (PORT / "pkg" / "PLIST").read_text().splitlines()
    assert "@rcscript ${RCDIR}/peerops" in plist and "bin/peerops" in plist
    # @sample copies the example listed just before it (pkg_create(1))
    sample = plist.index("@sample ${SYSCONFDIR}/peerops.yaml")
    assert "share/examples/peerops/peerops.yaml" in plist[sample - 2 : sample]
    assert plist[sample - 1] == "@mode 0600"  # it may hold a credential path; root only
    assert "@sample /var/db/peerops/" in plist
    for page in sorted((TOP / "packaging" / "man").glob("*.[58]")):
        assert f"@man man/man{page.suffix[1:]}/{page.name}" in plist, page.name


@pytest.mark.parametrize("name", ["DESCR", "README"])
def test_pkg_texts_exist(name: str) -> None:
    text = (PORT / "pkg" / name).read_text()
    assert "peerops" in text and all(len(line) <= 80 for line in text.splitlines())


def test_man_pages_are_installed_with_the_wheel() -> None:
    project = (TOP / "pyproject.toml").read_text()
    for page in sorted((TOP / "packaging" / "man").glob("*.[58]")):
        entry = rf'"share/man/man{page.suffix[1:]}" = \[.*"packaging/man/{re.escape(page.name)}"'
        assert re.search(entry, project), f"{page.name} is not in pyproject's data-files"


def test_plist_lists_every_module_and_data_file_the_wheel_installs() -> None:
    """A module missing from the PLIST is missing from the package: the agent would fail
    to import it on the router (five modules were, before this test)."""
    plist = set((PORT / "pkg" / "PLIST").read_text().splitlines())
    site = "lib/python${MODPY_VERSION}/site-packages/"
    missing = []
    for module in sorted((TOP / "agent").rglob("*.py")):
        rel = module.relative_to(TOP).as_posix()
        pyc = f"{module.parent.relative_to(TOP).as_posix()}/${{MODPY_PYCACHE}}" \
              f"{module.stem}.${{MODPY_PYC_MAGIC_TAG}}pyc"
        missing += [line for line in (site + rel, site + pyc) if line not in plist]
    data = [("agent/templates", TOP / "templates", "*.j2"),
            ("agent/example_state/schema", TOP / "state" / "schema", "*.json")]
    for installed, source, pattern in data:
        missing += [f"{site}{installed}/{f.name}" for f in sorted(source.glob(pattern))
                    if f"{site}{installed}/{f.name}" not in plist]
    assert not missing, "\n".join(missing)
