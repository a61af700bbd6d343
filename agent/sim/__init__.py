"""A simulated OpenBSD router: product code behind `peerops demo`, `peerops sim` and the tests.

The router lives under a root directory: real files under ROOT (ROOT/etc/ipsec.conf, ...) and
kernel/daemon state in ROOT/.peerops-sim/state.db (SQLite, one row per object, see state.py),
so separate processes see one router.
Commands print, fail and exit exactly as OpenBSD's do; each module cites the source it
follows (shared/docs/openbsd-reference.md names the files and revisions).
"""
