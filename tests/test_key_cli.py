"""`peerops key …` and our own key pair: convert and fingerprint like the real tools, show and
generate through the simulated host, and the report the status branch publishes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml

from agent.cli import main
from agent.host import FileStat
from agent.keys import (
    FORMATS,
    LOCAL_KEY,
    LOCAL_PUB,
    PRIVATE,
    local_key_report,
    parse_public_key,
    published_key,
)
from agent.lab.provision import provision_router
from agent.sim import state as simstate
from agent.sim.host import SimHost
from agent.sim.isakmpd import secrecy_problem
from tests.keytools import Material, material, openssl_fingerprint, rfc3110_from_openssl, run


@pytest.fixture(scope="session")
def m() -> Material:
    return material()


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(["key", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


# -- convert and fingerprint ------------------------------------------------------------------


def test_convert_chain_through_every_format_ends_where_openssl_started(
    tmp_path: Path, m: Material, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "in.pem"
    src.write_text(m.pkcs1)
    outputs = {}
    for fmt in (*FORMATS[1:], FORMATS[0]):  # pkcs1 -> rfc3110 -> der-hex -> openssh -> pem
        rc, out, err = cli(capsys, "convert", "--to", fmt, str(src))
        assert (rc, err) == (0, "")
        outputs[fmt] = out
        src = tmp_path / f"out.{fmt}"
        src.write_text(out)
    assert outputs["pem"] == m.spki
    assert outputs["pkcs1"] == m.pkcs1
    assert outputs["rfc3110"] == rfc3110_from_openssl(m) + "\n"
    assert bytes.fromhex("".join(outputs["der-hex"].split())) == m.der
    line = tmp_path / "line.pub"
    line.write_text(outputs["openssh"])
    assert run(["ssh-keygen", "-e", "-m", "PKCS8", "-f", str(line)]).decode() == m.spki
    monkeypatch.setattr("sys.stdin", io.StringIO(m.ssh_rsa_pub))
    assert cli(capsys, "convert", "--to", "pem", "-") == (0, m.ssh_rsa_spki, "")


def test_fingerprint_from_file_and_stdin(
    tmp_path: Path, m: Material, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "k.hex"
    src.write_text(m.der.hex())
    assert cli(capsys, "fingerprint", str(src)) == (0, openssl_fingerprint(m.spki) + "\n", "")
    monkeypatch.setattr("sys.stdin", io.StringIO(m.ssh_rsa_pub))
    assert cli(capsys, "fingerprint") == (0, openssl_fingerprint(m.ssh_rsa_spki) + "\n", "")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (lambda m: m.rsa_private.read_text(), PRIVATE),
        (lambda m: m.ssh_ed25519_pub, "not an RSA key"),
        (lambda m: m.rsa1024_spki, "1024 bits; at least 2048"),
        (lambda m: m.spki[:200], "damaged or truncated"),
    ],
    ids=["private", "non-rsa", "weak", "truncated"],
)
def test_convert_refusals_name_the_file_and_write_nothing(
    tmp_path: Path, m: Material, capsys: pytest.CaptureFixture[str], content, expected: str
) -> None:
    src = tmp_path / "peer.key"
    text = content(m)
    src.write_text(text)
    for argv in (("convert", "--to", "rfc3110", str(src)), ("fingerprint", str(src))):
        rc, out, err = cli(capsys, *argv)
        assert (rc, out) == (1, "")
        assert err.startswith(f"peerops key: {src}: ") and expected in err
        body = "".join(ln for ln in text.splitlines() if not ln.startswith("-----"))
        assert not any(body[i : i + 16] in err for i in range(0, len(body) - 16, 16))
    assert [p.name for p in tmp_path.iterdir()] == ["peer.key"]


def test_unreadable_file_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = cli(capsys, "fingerprint", str(tmp_path / "absent.pub"))
    assert (rc, out) == (1, "") and "No such file or directory" in err


# -- our own key: show, generate, report, publish ---------------------------------------------


def router(tmp_path: Path, *, keys: bool = True) -> tuple[Path, SimHost]:
    """A simulated router (with make_keys' pair unless keys=False) and its peerops.yaml."""
    root = tmp_path / "root"
    if keys:
        provision_router(root, "rtr1", ["192.0.2.1"])
    else:
        from agent.sim.cli import init_root

        init_root(root, "rtr1", ["192.0.2.1"])
        simstate.write_host_info(root, "rtr1", None)
    config = tmp_path / "peerops.yaml"
    settings = {"router": "rtr1", "repo": "repo", "root": "root", "host": "simulated"}
    config.write_text(yaml.safe_dump({**settings, "state_dir": "state"}))
    return config, SimHost(root)


def test_show_prints_fingerprint_and_every_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, host = router(tmp_path)
    pub = (host.read_file(LOCAL_PUB) or b"").decode()
    rc, out, err = cli(capsys, "show", "-c", str(config))
    assert (rc, err) == (0, "")
    assert out.splitlines()[0] == f"{LOCAL_PUB}: RSA 2048 bits, {openssl_fingerprint(pub)}"
    key = parse_public_key(pub)
    for fmt in FORMATS:
        assert f"# {fmt}\n{key.convert(fmt)}" in out


def test_generate_makes_the_pair_like_make_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, host = router(tmp_path, keys=False)
    rc, out, err = cli(capsys, "generate", "-c", str(config))
    assert (rc, err) == (0, "")
    private, public = host.stat(LOCAL_KEY), host.stat(LOCAL_PUB)
    assert private is not None and (private.mode, private.uid, private.gid) == (0o600, 0, 0)
    assert public is not None and (public.mode, public.uid, public.gid) == (0o644, 0, 0)
    key_path = host.real_path(LOCAL_KEY)
    assert key_path.read_text().startswith("-----BEGIN RSA " + "PRIVATE KEY-----")  # as genrsa
    derived = run(["openssl", "rsa", "-in", str(key_path), "-pubout"]).decode()
    assert (host.read_file(LOCAL_PUB) or b"").decode() == derived
    run(["openssl", "rsa", "-in", str(key_path), "-check", "-noout"])
    assert openssl_fingerprint(derived) in out
    report = local_key_report(host)
    assert report["ok"] and report["problems"] == []


def test_generate_never_replaces_a_key_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, host = router(tmp_path)
    before = {p: host.read_file(p) for p in (LOCAL_KEY, LOCAL_PUB)}
    old = published_key(host)
    rc, out, err = cli(capsys, "generate", "-c", str(config))
    assert (rc, out) == (1, "")
    assert "already exist(s): keeping them" in err and "--force" in err
    assert {p: host.read_file(p) for p in before} == before
    rc, out, err = cli(capsys, "generate", "-c", str(config), "--force")
    assert rc == 0 and old is not None
    new = published_key(host)
    assert new is not None and new[1] != old[1]
    assert f"rotated: the old key was {old[1]}" in out and "routers/rtr1.yaml" in out


class Spy(SimHost):
    """A SimHost that records which files were read."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.reads: list[str] = []

    def read_file(self, path: str) -> bytes | None:
        self.reads.append(path)
        return super().read_file(path)


def test_published_key_reads_only_local_pub(tmp_path: Path) -> None:
    _config, host = router(tmp_path)
    spy = Spy(host.root)
    found = published_key(spy)
    pub = (host.read_file(LOCAL_PUB) or b"").decode()
    assert found == (pub, openssl_fingerprint(pub))
    assert spy.reads == [LOCAL_PUB]
    host.remove_file(LOCAL_PUB)
    assert published_key(host) is None


def _chmod(host: SimHost, mode: int) -> None:
    host.write_file(LOCAL_KEY, host.read_file(LOCAL_KEY) or b"", mode=mode)


def _chown(host: SimHost, uid: int) -> None:
    host.write_file(LOCAL_KEY, host.read_file(LOCAL_KEY) or b"", mode=0o600, uid=uid)


@pytest.mark.parametrize(
    ("breakage", "problem", "fix"),
    [
        (lambda h: _chmod(h, 0o640), "mode 0640: isakmpd refuses it", f"chmod 600 {LOCAL_KEY}"),
        (lambda h: _chmod(h, 0o604), "too open permissions", f"chmod 600 {LOCAL_KEY}"),
        (lambda h: _chown(h, 1000), "owned by uid 1000", f"chown root:wheel {LOCAL_KEY}"),
        (lambda h: h.remove_file(LOCAL_KEY), "missing", "peerops key generate"),
        (lambda h: h.write_file(LOCAL_KEY, b"junk", mode=0o600), "not an unencrypted RSA", ""),
        (lambda h: h.remove_file(LOCAL_PUB), "missing", "-pubout -out /etc/isakmpd/local.pub"),
    ],
    ids=["group-read", "other-read", "owner", "no-key", "junk-key", "no-pub"],
)
def test_key_report_names_each_problem_and_its_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], breakage, problem: str, fix: str
) -> None:
    config, host = router(tmp_path)
    good = local_key_report(host)
    assert good["ok"] and good["fingerprint"] == (published_key(host) or ("", ""))[1]
    breakage(host)
    report = local_key_report(host)
    assert report["ok"] is False
    assert any(problem in p["problem"] and fix in p["fix"] for p in report["problems"]), report
    st: FileStat | None = host.stat(LOCAL_KEY)
    if st is not None and (st.uid or st.mode & 0o077):  # the simulator's isakmpd agrees
        assert secrecy_problem(LOCAL_KEY, st.uid, st.mode) is not None
    rc, _out, err = cli(capsys, "show", "-c", str(config))
    assert rc == 1 and problem in err and fix in err


def test_mismatched_local_pub_is_reported(tmp_path: Path, m: Material) -> None:
    _config, host = router(tmp_path)
    host.write_file(LOCAL_PUB, m.spki.encode(), mode=0o644)
    report = local_key_report(host)
    assert [p["problem"] for p in report["problems"]] == [
        "is not the public half of local.key: peers that installed it cannot authenticate "
        "this router"
    ]
    assert report["fingerprint"] == openssl_fingerprint(m.spki)


def test_weak_local_pub_is_reported_with_the_policy(tmp_path: Path, m: Material) -> None:
    _config, host = router(tmp_path)
    assert local_key_report(host, min_bits=3072)["problems"][0]["problem"] == (
        "RSA key has 2048 bits; the policy wants at least 3072"
    )


def test_the_runs_remembered_parse_of_local_pub_follows_its_text(
    tmp_path: Path, m: Material, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's report remembers the parse of local.pub by the digest of its text: the same
    text is not parsed again (no key library in the process), a changed or broken one is, and
    a damaged cache file is only a parse more."""
    import agent.keys as keys
    from agent.keys import remembered_parse

    _config, host = router(tmp_path)
    cache = tmp_path / "state" / "local-pub.json"
    parses: list[str] = []
    real = keys._parse_any_bits
    monkeypatch.setattr(keys, "_parse_any_bits", lambda text: parses.append(text) or real(text))

    def report(min_bits: int = 2048) -> dict[str, object]:
        return local_key_report(host, min_bits=min_bits, read_private=False,
                                parse=remembered_parse(cache))

    first = report()
    assert first["ok"] and len(parses) == 1 and cache.exists()
    assert report() == first and len(parses) == 1
    assert report(min_bits=3072)["problems"][0]["problem"] == (  # the floor is not remembered
        "RSA key has 2048 bits; the policy wants at least 3072")
    host.write_file(LOCAL_PUB, m.spki.encode(), mode=0o644)
    moved = report()
    assert len(parses) == 2 and moved["fingerprint"] == openssl_fingerprint(m.spki)
    cache.write_text("{not json")
    assert report() == moved and len(parses) == 3
    host.write_file(LOCAL_PUB, b"not a key\n", mode=0o644)
    broken = report()
    assert broken["ok"] is False and broken["fingerprint"] is None
    assert "local.pub" in str(broken["problems"])
