"""How gpg's answers are read when a peer key's detached signature is checked: the status
lines (gpg's doc/DETAILS) decide, each refusal says why, and gpg runs in the C locale with a
bound on its time."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.repo.signatures import (
    ToolTimedOut,
    Verdict,
    _gpg_problem,
    _gpg_status,
    _run,
    verify_gpg,
    verify_ssh,
)

NOT_IN_KEYRING = "signed by key {}, which is not in the keyring (keys.gpg_home)"
GOOD = {"GOODSIG": ["ABCD", "signer"], "VALIDSIG": ["F" * 40]}

# status keywords present -> the refusal (None: nothing in them refuses)
PROBLEMS = [
    (GOOD, None),
    ({}, None),
    ({**GOOD, "PLAINTEXT": ["62"]},
     "not a detached signature (the .asc carries data of its own): use gpg -sb -a"),
    ({"BADSIG": ["ABCD", "signer"]},
     "BAD signature: the key file is not what was signed (changed or wrong file)"),
    ({"PLAINTEXT": [], "BADSIG": ["ABCD"]},
     "not a detached signature (the .asc carries data of its own): use gpg -sb -a"),
    ({**GOOD, "EXPSIG": ["ABCD"]}, "the signature has expired"),
    ({**GOOD, "EXPKEYSIG": ["ABCD"]}, "signed by an expired key"),
    ({**GOOD, "REVKEYSIG": ["ABCD"]}, "signed by a revoked key"),
    ({"EXPSIG": [], "REVKEYSIG": []}, "the signature has expired"),
    ({"ERRSIG": ["0123ABCD", "22", "8"]}, NOT_IN_KEYRING.format("0123ABCD")),
    ({"NO_PUBKEY": ["4567EF01"]}, NOT_IN_KEYRING.format("4567EF01")),
    ({"ERRSIG": [], "NO_PUBKEY": []}, NOT_IN_KEYRING.format("?")),
    ({"NODATA": ["1"]}, "not an OpenPGP signature: make it with gpg -sb -a <peer>.pub"),
    ({"BADSIG": [], "NODATA": []},
     "BAD signature: the key file is not what was signed (changed or wrong file)"),
]


@pytest.mark.parametrize(("status", "problem"), PROBLEMS)
def test_gpg_status_verdicts(status: dict[str, list[str]], problem: str | None) -> None:
    assert _gpg_problem(status) == problem


def test_status_lines_are_read_by_keyword_the_last_one_winning() -> None:
    out = (
        "[GNUPG:] NEWSIG\n"
        "gpg: Signature made Mon Nov 30 2026\n"  # not a status line
        "[GNUPG:] GOODSIG 0123ABCD signer <s@example.org>\n"
        "[GNUPG:] VALIDSIG AAAA 2026-11-30 1 0 4 0 22 8 01 BBBB\n"
        "[GNUPG:] TRUST_UNDEFINED 0 pgp\n"
        "[GNUPG:] TRUST_UNDEFINED 1 pgp\n"
        "  [GNUPG:] BADSIG indented: not a status line\n"
    )
    assert _gpg_status(out) == {
        "NEWSIG": [],
        "GOODSIG": ["0123ABCD", "signer", "<s@example.org>"],
        "VALIDSIG": ["AAAA", "2026-11-30", "1", "0", "4", "0", "22", "8", "01", "BBBB"],
        "TRUST_UNDEFINED": ["1", "pgp"],
    }


def test_a_tool_runs_in_the_c_locale_and_its_output_is_decoded() -> None:
    script = 'echo "$LC_ALL $LANG"; printf "\\376"; printf "\\377" >&2; exit 3'
    rc, out, err = _run(["sh", "-c", script], 10)
    assert (rc, out, err) == (3, "C C\n\ufffd", "\ufffd")


def test_stdin_is_given_to_the_tool() -> None:
    assert _run(["cat"], 10, stdin=b"key\n") == (0, "key\n", "")


def test_a_tool_that_hangs_is_stopped_at_the_timeout() -> None:
    expected = r"\Asleep did not finish within command_timeout \(0.2 s\)\Z"
    with pytest.raises(ToolTimedOut, match=expected):
        _run(["sleep", "5"], 0.2)


def test_a_missing_tool_raises() -> None:
    with pytest.raises(OSError):
        _run(["peerops-no-such-tool"], 10)


def test_an_ssh_signature_without_an_allowed_signers_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "alice.pub").write_text("key\n")
    (tmp_path / "alice.pub.sig").write_text("sig\n")
    missing = tmp_path / "allowed_signers"
    assert verify_ssh(tmp_path / "alice.pub", tmp_path / "alice.pub.sig", missing, "alice", 10) == (
        Verdict(False, f"keys.allowed_signers {missing} does not exist")
    )


def test_a_missing_tool_refuses_the_signature_and_says_which(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "alice.pub").write_text("key\n")
    (tmp_path / "sig").write_text("sig\n")
    (tmp_path / "allowed_signers").write_text("alice ssh-ed25519 AAAA\n")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # neither gpg nor ssh-keygen
    assert verify_gpg(tmp_path / "alice.pub", tmp_path / "sig", tmp_path, 10) == Verdict(
        False, "gpg is not installed on the agent's machine (package gnupg)"
    )
    assert verify_ssh(tmp_path / "alice.pub", tmp_path / "sig", tmp_path / "allowed_signers",
                      "alice", 10) == Verdict(
        False, "ssh-keygen is not installed on the agent's machine (openssh)"
    )
