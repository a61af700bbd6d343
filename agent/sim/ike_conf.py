"""ike.c: the isakmpd FIFO configuration ipsecctl makes of each parsed `ike` rule.

Source: sbin/ipsecctl/ike.c v1.85 (2025): `ike_setup_ids`, `ike_section_general`,
`ike_section_peer`, `ike_section_ids`, `ike_section_ipsec`, `ike_section_p1`,
`ike_section_p2`, `ike_section_p2ids`, `ike_connect`, `ike_gen_config`, `ike_delete_config`,
`ike_print_config` (what `ipsecctl -nv` prints and `ipsecctl -f` writes to
/var/run/isakmpd.fifo: `C set [section]:tag=value force`, `C add`, `C rms`, `C rmv`, `t`),
and its refusals at load time (e.g. `illegal transform` in phase 1). The rules come from
agent.sim.parse_y; agent.sim.isakmpd reads the commands.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.sim.parse_y import IkeRule, Transforms, ntop

P1_ENC = {
    "3des-cbc": ("3DES", None),
    "aes": ("AES", "128,128:256"),
    "aes-128": ("AES", "128,128:128"),
    "aes-192": ("AES", "192,192:192"),
    "aes-256": ("AES", "256,256:256"),
    "blowfish": ("BLOWFISH", "128,96:192"),
    "cast128": ("CAST", None),
}
P1_AUTH = {
    "hmac-md5": "MD5",
    "hmac-sha1": "SHA",
    "hmac-sha2-256": "SHA2_256",
    "hmac-sha2-384": "SHA2_384",
    "hmac-sha2-512": "SHA2_512",
}
P2_AUTH = {**P1_AUTH, "hmac-ripemd160": "RIPEMD"}
# enc name -> (isakmpd TRANSFORM_ID, KEY_LENGTH, needs an auth algorithm)
P2_ENC: dict[str, tuple[str, str | None, bool]] = {
    "3des-cbc": ("3DES", None, True),
    "aes": ("AES", "128,128:256", True),
    "aes-128": ("AES", "128,128:128", True),
    "aes-192": ("AES", "192,192:192", True),
    "aes-256": ("AES", "256,256:256", True),
    "aesctr": ("AES_CTR", "128,128:128", True),
    "aes-128-ctr": ("AES_CTR", "128,128:128", True),
    "aes-192-ctr": ("AES_CTR", "192,192:192", True),
    "aes-256-ctr": ("AES_CTR", "256,256:256", True),
    "aes-128-gcm": ("AES_GCM_16", "128,128:128", False),
    "aes-192-gcm": ("AES_GCM_16", "192,192:192", False),
    "aes-256-gcm": ("AES_GCM_16", "256,256:256", False),
    "aes-128-gmac": ("AES_GMAC", "128,128:128", False),
    "aes-192-gmac": ("AES_GMAC", "192,192:192", False),
    "aes-256-gmac": ("AES_GMAC", "256,256:256", False),
    "blowfish": ("BLOWFISH", "128,96:192", True),
    "cast128": ("CAST", None, True),
    "null": ("NULL", None, False),
}
_SATYPE_NUM = {"esp": 1, "ah": 2, "ipcomp": 3, "ipip": 5}  # ipsecctl.h enum (for warnx)
SET, ADD, DELETE, RMV = "C set ", "C add ", "C rms ", "C rmv "


@dataclass
class GenResult:
    """Text written to the FIFO (or stdout with -v), warnx lines, and ike_gen_config's result."""

    text: str
    warnings: list[str]
    ok: bool


class _Gen:
    """ike.c `ike_gen_config` for one rule; fprintf output collected in order."""

    def __init__(self, rule: IkeRule, hostname: str) -> None:
        self.r = rule
        self.hostname = hostname
        self.parts: list[str] = []
        self.warnings: list[str] = []

    def w(self, text: str) -> None:
        self.parts.append(text)

    def warnx(self, text: str) -> bool:
        self.warnings.append(f"ipsecctl: {text}")
        return False

    def run(self) -> bool:
        r = self.r
        if r.ikemode == "dynamic":
            self.w(f"{SET}[General]:Check-interval=30 force\n")
            self.w(f"{SET}[General]:DPD-check-interval=5 force\n")
        self.section_peer()
        if not self.section_p1():
            return False
        self.section_ids()
        self.section_ipsec()
        if not self.section_p2():
            return False
        self.section_p2ids()
        kind = "Passive-Connections" if r.ikemode == "passive" else "Connections"
        self.w(f"{ADD}[Phase 2]:{kind}={r.p2name}\n")
        return True

    def section_peer(self) -> None:
        r, p1 = self.r, self.r.p1name
        if r.peer is not None:
            self.w(f"{SET}[Phase 1]:{r.peer.name}={p1} force\n")
        else:
            self.w(f"{SET}[Phase 1]:Default={p1} force\n")
        self.w(f"{SET}[{p1}]:Phase=1 force\n")
        if r.peer is not None:
            self.w(f"{SET}[{p1}]:Address={r.peer.name} force\n")
        if r.local is not None:
            self.w(f"{SET}[{p1}]:Local-address={r.local.name} force\n")
        if r.auth == "psk":
            self.w(f"{SET}[{p1}]:Authentication={r.psk} force\n")

    def section_p1(self) -> bool:
        r, p1 = self.r, self.r.p1name
        exchange = "ID_PROT" if r.p1ie == "main" else "AGGRESSIVE"
        self.w(f"{SET}[{p1}]:Configuration=phase1-{p1} force\n")
        self.w(f"{SET}[phase1-{p1}]:EXCHANGE_TYPE={exchange} force\n")
        xfs = r.p1xfs or Transforms()
        enc, keylen = ("AES", "128,128:256")
        if xfs.enc is not None:
            if xfs.enc.name not in P1_ENC:
                return self.warnx(f"illegal transform {xfs.enc.name}")
            enc, keylen = P1_ENC[xfs.enc.name]
        auth = "SHA"
        if xfs.auth is not None:
            if xfs.auth.name not in P1_AUTH:
                return self.warnx(f"illegal transform {xfs.auth.name}")
            auth = P1_AUTH[xfs.auth.name]
        group = "MODP_3072"
        if xfs.group is not None:
            if not xfs.group.ident:
                return self.warnx(f"illegal group {xfs.group.name}")
            group = xfs.group.ident
        method = "PRE_SHARED" if r.auth == "psk" else "RSA_SIG"
        transform = f"phase1-transform-{p1}-{method}-{auth}-{enc}{_head(keylen)}-{group}"
        self.w(f"{ADD}[phase1-{p1}]:Transforms={transform} force\n")
        self.w(f"{SET}[{transform}]:AUTHENTICATION_METHOD={method} force\n")
        self.w(f"{SET}[{transform}]:HASH_ALGORITHM={auth} force\n")
        self.w(f"{SET}[{transform}]:ENCRYPTION_ALGORITHM={enc}_CBC force\n")
        if keylen:
            self.w(f"{SET}[{transform}]:KEY_LENGTH={keylen} force\n")
        self.w(f"{SET}[{transform}]:GROUP_DESCRIPTION={group} force\n")
        self._life(transform, r.p1life, "LIFE_MAIN_MODE")
        return True

    def _life(self, transform: str, seconds: int, default: str) -> None:
        if seconds != -1:
            self.w(f"{SET}[{transform}]:Life={transform}-life force\n")
            self.w(f"{SET}[{transform}-life]:LIFE_TYPE=SECONDS force\n")
            self.w(f"{SET}[{transform}-life]:LIFE_DURATION={seconds} force\n")
        else:
            self.w(f"{SET}[{transform}]:Life={default} force\n")

    def section_ids(self) -> None:
        r, p1 = self.r, self.r.p1name
        if r.ikemode == "dynamic" and r.srcid is None:
            r.srcid, r.srcid_type = self.hostname, "FQDN"  # gethostname(3)
        for tag, ident, kind in (
            ("ID", r.srcid, r.srcid_type),
            ("Remote-ID", r.dstid, r.dstid_type),
        ):
            if ident is None:
                continue
            self.w(f"{SET}[{p1}]:{tag}=id-{ident} force\n")
            self.w(f"{SET}[id-{ident}]:ID-type={kind} force\n")
            field_name = "Address" if kind in ("IPV4_ADDR", "IPV6_ADDR") else "Name"
            self.w(f"{SET}[id-{ident}]:{field_name}={ident} force\n")

    def section_ipsec(self) -> None:
        r, p2 = self.r, self.r.p2name
        self.w(f"{SET}[{p2}]:Phase=2 force\n")
        self.w(f"{SET}[{p2}]:ISAKMP-peer={r.p1name} force\n")
        self.w(f"{SET}[{p2}]:Configuration=phase2-{p2} force\n")
        self.w(f"{SET}[{p2}]:Local-ID={r.p2lid} force\n")
        self.w(f"{SET}[{p2}]:Remote-ID={r.p2rid} force\n")
        if r.tag:
            self.w(f"{SET}[{p2}]:PF-Tag={r.tag} force\n")

    def section_p2(self) -> bool:
        r, p2 = self.r, self.r.p2name
        self.w(f"{SET}[phase2-{p2}]:EXCHANGE_TYPE=QUICK_MODE force\n")
        self.w(f"{SET}[phase2-{p2}]:Suites=phase2-suite-{p2} force\n")
        self.w(f"{SET}[phase2-suite-{p2}]:Protocols=phase2-protocol-{p2} force\n")
        self.w(f"{SET}[phase2-protocol-{p2}]:PROTOCOL_ID=")
        if r.satype not in ("esp", "ah"):
            return self.warnx(f"illegal satype {_SATYPE_NUM[r.satype]}")
        self.w(f"IPSEC_{r.satype.upper()} force\n")
        chosen = self._p2_algorithms()
        if chosen is None:
            return False
        enc, keylen, auth, group = chosen
        encap = r.tmode.upper()
        transform = (
            f"phase2-transform-{p2}-{enc or 'NONE'}{_head(keylen)}-{auth or 'NONE'}"
            f"-{group or 'NONE'}-{encap}"
        )
        self.w(f"{SET}[phase2-protocol-{p2}]:Transforms={transform} force\n")
        self.w(f"{SET}[{transform}]:TRANSFORM_ID={auth if r.satype == 'ah' else enc} force\n")
        if keylen:
            self.w(f"{SET}[{transform}]:KEY_LENGTH={keylen} force\n")
        self.w(f"{SET}[{transform}]:ENCAPSULATION_MODE={encap} force\n")
        if auth:
            self.w(f"{SET}[{transform}]:AUTHENTICATION_ALGORITHM=HMAC_{auth} force\n")
        if group:
            self.w(f"{SET}[{transform}]:GROUP_DESCRIPTION={group} force\n")
        self._life(transform, r.p2life, "LIFE_QUICK_MODE")
        return True

    def _p2_algorithms(self) -> tuple[str | None, str | None, str | None, str | None] | None:
        """(enc, key length, auth, group) of ike_section_p2, or None after a warnx."""
        r = self.r
        xfs = r.p2xfs or Transforms()
        enc: str | None = None
        keylen: str | None = None
        needauth = True
        if xfs.enc is not None:
            if r.satype != "esp" or xfs.enc.name not in P2_ENC:
                self.warnx(f"illegal transform {xfs.enc.name}")
                return None
            enc, keylen, needauth = P2_ENC[xfs.enc.name]
        elif r.satype == "esp":
            enc, keylen = "AES", "128,128:256"
        auth: str | None = "SHA2_256" if needauth else None
        if xfs.auth is not None:
            if xfs.auth.name not in P2_AUTH:
                self.warnx(f"illegal transform {xfs.auth.name}")
                return None
            auth = P2_AUTH[xfs.auth.name]
        group: str | None = "MODP_3072"
        if xfs.group is not None:
            if xfs.group.ident is None:
                self.warnx(f"illegal group {xfs.group.name}")
                return None
            group = xfs.group.ident or None
        return enc, keylen, auth, group

    def section_p2ids(self) -> None:
        r = self.r
        for ident, host in ((r.p2lid, r.src), (r.p2rid, r.dst)):
            version = 4 if host.af == 4 else 6
            if host.netaddress:
                network = host.name.split("/", 1)[0]
                mask = ntop(host.network.netmask)
                self.w(f"{SET}[{ident}]:ID-type=IPV{version}_ADDR_SUBNET force\n")
                self.w(f"{SET}[{ident}]:Network={network} force\n")
                self.w(f"{SET}[{ident}]:Netmask={mask} force\n")
            else:
                self.w(f"{SET}[{ident}]:ID-type=IPV{version}_ADDR force\n")
                self.w(f"{SET}[{ident}]:Address={host.name.split('/', 1)[0]} force\n")
        if r.proto:
            self.w(f"{SET}[{r.p2lid}]:Protocol={r.proto} force\n")
            self.w(f"{SET}[{r.p2rid}]:Protocol={r.proto} force\n")
        if r.sport:
            self.w(f"{SET}[{r.p2lid}]:Port={r.sport} force\n")
        if r.dport:
            self.w(f"{SET}[{r.p2rid}]:Port={r.dport} force\n")


def _head(keylen: str | None) -> str:
    """The key length up to its comma, as ike.c prints it into transform names (`%.*s`)."""
    return keylen.split(",", 1)[0] if keylen else ""


def gen_config(rule: IkeRule, hostname: str = "localhost") -> GenResult:
    """ike.c `ike_gen_config`: the commands `ipsecctl -f` writes to isakmpd for a rule."""
    gen = _Gen(rule, hostname)
    ok = gen.run()
    return GenResult("".join(gen.parts), gen.warnings, ok)


def delete_config(rule: IkeRule) -> GenResult:
    """ike.c `ike_delete_config`: the commands `ipsecctl -d -f` writes (the #else branch)."""
    kind = "Passive-Connections" if rule.ikemode == "passive" else "Connections"
    text = (
        f"t {rule.p2name}\n{RMV}[Phase 2]:{kind}={rule.p2name}\n"
        f"{DELETE}[{rule.p2name}]\n{DELETE}[phase2-{rule.p2name}]\n"
    )
    return GenResult(text, [], True)


def ike_print_config(rule: IkeRule, delete: bool, hostname: str) -> tuple[str, list[str]]:
    """ike.c `ike_print_config` (`ipsecctl -v`): the delete or the add commands of a rule;
    (stdout text, warnx lines)."""
    gen = delete_config(rule) if delete else gen_config(rule, hostname)
    return gen.text, gen.warnings
