"""Write pkg/PLIST from a built wheel: `python3 plist.py dist/peerops-*.whl > pkg/PLIST`.

On OpenBSD `make update-plist` does this job; this script lets the PLIST be kept current
from any machine. The head (rc script, samples) is fixed; the rest mirrors what
MODPY_PYBUILD's `python -m installer` puts under ${PREFIX} (openbsd/ports
lang/python/python.port.mk), with byte-code lines in the ${MODPY_PYCACHE} form of
net/exabgp/pkg/PLIST, and the man pages moved to man/manN by the port's post-install.
"""

from __future__ import annotations

import re
import sys
import zipfile

HEAD = """\
@rcscript ${RCDIR}/peerops
bin/peerops
@mode 0700
@sample /var/db/peerops/
@mode
share/examples/peerops/
share/examples/peerops/peerops.yaml
@mode 0600
@sample ${SYSCONFDIR}/peerops.yaml
@mode
"""
SITE = "lib/python${MODPY_VERSION}/site-packages/"


def plist(names: list[str]) -> str:
    """The PLIST for the wheel's file names (directories before their files)."""
    lines: set[str] = set()
    for name in names:
        data = re.fullmatch(r"[^/]+\.data/data/share/man/(man[58])/(.+)", name)
        if data:
            lines.add(f"@man man/{data[1]}/{data[2]}")
            continue
        name = re.sub(r"-[0-9][^/]*\.dist-info/", "-${MODPY_DISTV}.dist-info/", name)
        parts = name.split("/")
        for depth in range(1, len(parts)):
            lines.add(SITE + "/".join(parts[:depth]) + "/")
        lines.add(SITE + name)
        if name.endswith(".py"):
            folder, _, module = name.rpartition("/")
            cache = f"{SITE}{folder}/" + "${MODPY_PYCACHE}"
            lines.add("${MODPY_COMMENT}" + cache + "/")
            lines.add(cache + module[:-3] + ".${MODPY_PYC_MAGIC_TAG}pyc")
    def key(line: str) -> str:
        return line.removeprefix("${MODPY_COMMENT}").removeprefix("@man ")
    return HEAD + "".join(f"{line}\n" for line in sorted(lines, key=key))


if __name__ == "__main__":
    with zipfile.ZipFile(sys.argv[1]) as wheel:
        sys.stdout.write(plist(wheel.namelist()))
