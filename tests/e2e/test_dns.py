"""rp's DNS responder against real clients (dig, dnspython, raw sockets), `rp setup` and `--undo`
against a scratch root, and `rp doctor`. Every test runs its own `rp up` on its own DNS port."""

import json
import os
import random
import re
import shutil
import socket
import struct
import subprocess

import dns.exception
import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from conftest import RP_BIN, free_dns_port, free_port, run_rp, snapshot, stop_daemon, wait_until

# A TLD no machine routes anywhere: what getaddrinfo does with it does not depend on the host.
ODD_TLD = "rpe2e"


class Responder:
    def __init__(self, run, port, env):
        self.run = run
        self.port = port
        self.env = env

    def ask(self, name, rdtype="A", **make_query_args):
        return self.exchange(dns.message.make_query(name, rdtype, **make_query_args))

    def exchange(self, query):
        """Over UDP, asking again on a timeout as resolvers do: a datagram may be lost."""
        for attempt in range(3):
            try:
                return dns.query.udp(query, "127.0.0.1", port=self.port, timeout=2)
            except dns.exception.Timeout:
                if attempt == 2:
                    raise

    def raw(self, data, timeout=2.0, tries=3):
        """Sends a datagram (again after each timeout); the reply's bytes, or None."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            for _ in range(tries):
                s.sendto(data, ("127.0.0.1", self.port))
                try:
                    return s.recv(65535)
                except socket.timeout:
                    pass
            return None

    def dig(self, *args):
        r = subprocess.run(["dig", "-p", str(self.port), "+time=2", "+tries=3", *args],
                           capture_output=True, text=True, timeout=30)
        return r.stdout


@pytest.fixture
def responder(project, rp, rp_env):
    port = free_dns_port()
    env = dict(rp_env, RP_DNS_PORT=str(port), RP_HTTP_PORT="0", RP_HTTPS_PORT="0")
    project.write("Procfile", "idle: exec sleep 3600\n")
    run = rp("up", env=env)
    run.wait_for(rf"DNS: answering \*\.test, \*\.localhost on 127\.0\.0\.1:{port}, "
                 rf"\[::1\]:{port}$")
    return Responder(run, port, env)


def rcode_of(reply):
    return reply[3] & 0x0F


def header(qid, flags, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!6H", qid, flags, qd, an, ns, ar)


QUESTION_SHOP_TEST_A = b"\x04shop\x04test\x00\x00\x01\x00\x01"


# --- answers -------------------------------------------------------------------------------------

def test_a_and_aaaa_over_udp_tcp_and_ipv6(responder):
    assert responder.dig("@127.0.0.1", "+short", "shop.test", "A").strip() == "127.0.0.1"
    assert responder.dig("@127.0.0.1", "+short", "web.shop.test", "AAAA").strip() == "::1"
    assert responder.dig("@127.0.0.1", "+short", "+tcp", "shop.test", "A").strip() == "127.0.0.1"
    assert responder.dig("@::1", "+short", "shop.localhost", "A").strip() == "127.0.0.1"
    r = responder.ask("shop.test")
    assert r.rcode() == dns.rcode.NOERROR
    assert r.flags & dns.flags.AA and r.flags & dns.flags.QR
    assert not r.flags & dns.flags.RA
    assert [rr.address for rr in r.answer[0]] == ["127.0.0.1"]


@pytest.mark.parametrize("rdtype", ["MX", "TXT"])
def test_other_types_are_nodata_with_the_soa(responder, rdtype):
    r = responder.ask("shop.test", rdtype)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.answer == []
    assert len(r.authority) == 1
    soa = r.authority[0]
    assert soa.rdtype == dns.rdatatype.SOA
    assert soa.name.to_text() == "test."
    assert soa[0].mname.to_text() == "rp.test."
    out = responder.dig("@127.0.0.1", "shop.test", rdtype)
    assert "status: NOERROR" in out and "ANSWER: 0, AUTHORITY: 1" in out


def test_apex_soa_and_ns_are_synthesised(responder):
    soa = responder.ask("test", "SOA")
    assert soa.rcode() == dns.rcode.NOERROR
    assert soa.answer[0].rdtype == dns.rdatatype.SOA
    assert soa.answer[0][0].rname.to_text() == "hostmaster.test."
    ns = responder.ask("localhost", "NS")
    assert [rr.target.to_text() for rr in ns.answer[0]] == ["rp.localhost."]
    assert responder.dig("@127.0.0.1", "+short", "test", "NS").strip() == "rp.test."


def test_names_outside_the_tlds_are_refused(responder):
    r = responder.ask("example.com")
    assert r.rcode() == dns.rcode.REFUSED
    assert r.answer == [] and not r.flags & dns.flags.AA
    assert "status: REFUSED" in responder.dig("@127.0.0.1", "example.com")


@pytest.mark.parametrize("opcode", [dns.opcode.STATUS, dns.opcode.NOTIFY])
def test_other_opcodes_are_notimp(responder, opcode):
    q = dns.message.make_query("shop.test", "A")
    q.set_opcode(opcode)
    r = responder.exchange(q)
    assert r.rcode() == dns.rcode.NOTIMP
    assert r.opcode() == opcode


def test_formerr_for_two_questions_and_a_truncated_question(responder):
    two = header(0x1111, 0x0100, qd=2) + QUESTION_SHOP_TEST_A * 2
    reply = responder.raw(two)
    assert reply[:2] == b"\x11\x11" and rcode_of(reply) == dns.rcode.FORMERR
    cut = header(0x2222, 0x0100) + QUESTION_SHOP_TEST_A[:-3]
    reply = responder.raw(cut)
    assert reply[:2] == b"\x22\x22" and rcode_of(reply) == dns.rcode.FORMERR
    r = dns.message.from_wire(reply)
    assert r.rcode() == dns.rcode.FORMERR and r.flags & dns.flags.QR


def test_edns_is_echoed_with_rps_payload_size(responder):
    r = responder.ask("shop.test", use_edns=0, payload=4096)
    assert r.edns == 0
    assert r.payload == 1232
    assert r.rcode() == dns.rcode.NOERROR and len(r.answer) == 1
    assert responder.ask("shop.test").edns == -1  # no OPT asked, none given


def test_edns_version_above_zero_is_badvers(responder):
    q = dns.message.make_query("shop.test", "A")
    q.use_edns(1)  # (make_query's use_edns=1 gives version 0 in dnspython 2.3)
    r = responder.exchange(q)
    assert r.rcode() == dns.rcode.BADVERS
    assert r.edns == 0
    out = responder.dig("@127.0.0.1", "+edns=1", "+noednsneg", "shop.test")
    assert "status: BADVERS" in out


def test_the_questions_letter_case_is_kept(responder):
    r = responder.ask("WeB.ShOp.TeSt", "A")
    assert r.question[0].name.to_text() == "WeB.ShOp.TeSt."
    assert r.answer[0].name.to_text() == "WeB.ShOp.TeSt."
    out = responder.dig("@127.0.0.1", "+noall", "+answer", "WeB.ShOp.TeSt")
    assert out.startswith("WeB.ShOp.TeSt.")


def test_tcp_answers_two_queries_on_one_connection(responder):
    q1 = dns.message.make_query("one.test", "A")
    q2 = dns.message.make_query("two.test", "AAAA")
    with socket.create_connection(("127.0.0.1", responder.port), timeout=10) as s:
        # Both sent at once: the second must not be lost behind the first.
        s.sendall(b"".join(struct.pack("!H", len(w)) + w for w in (q1.to_wire(), q2.to_wire())))
        replies = [read_tcp_message(s), read_tcp_message(s)]
    r1, r2 = (dns.message.from_wire(w) for w in replies)
    assert r1.id == q1.id and r1.answer[0][0].address == "127.0.0.1"
    assert r2.id == q2.id and r2.answer[0][0].address == "::1"


def read_tcp_message(s):
    length = struct.unpack("!H", recv_exactly(s, 2))[0]
    return recv_exactly(s, length)


def recv_exactly(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        assert chunk, "connection closed early"
        data += chunk
    return data


def test_idle_tcp_connection_is_closed(responder):
    with socket.create_connection(("127.0.0.1", responder.port), timeout=30) as s:
        assert s.recv(1) == b""  # closed by rp (10 s idle), not by this 30 s timeout


def test_tcp_connections_beyond_the_cap_are_closed_and_others_served(responder):
    held = [socket.create_connection(("127.0.0.1", responder.port), timeout=10)
            for _ in range(64)]
    try:
        # The answer on a held connection shows that all 64 were accepted before the next one.
        q = dns.message.make_query("held.test", "A")
        held[-1].sendall(struct.pack("!H", len(q.to_wire())) + q.to_wire())
        assert dns.message.from_wire(read_tcp_message(held[-1])).id == q.id
        with socket.create_connection(("127.0.0.1", responder.port), timeout=10) as extra:
            assert extra.recv(1) == b""  # closed at once: 64 are open
    finally:
        for s in held:
            s.close()

    def tcp_served():  # once rp has seen the 64 close
        try:
            with socket.create_connection(("127.0.0.1", responder.port), timeout=10) as s:
                s.sendall(struct.pack("!H", len(q.to_wire())) + q.to_wire())
                return dns.message.from_wire(read_tcp_message(s)).id == q.id
        except (AssertionError, OSError):
            return False

    assert wait_until(tcp_served, timeout=10)
    still_answers(responder)


# --- robustness ----------------------------------------------------------------------------------

def still_answers(responder):
    assert responder.ask("after.test").answer[0][0].address == "127.0.0.1"
    with socket.create_connection(("127.0.0.1", responder.port), timeout=10) as s:
        q = dns.message.make_query("after-tcp.test", "A")
        s.sendall(struct.pack("!H", len(q.to_wire())) + q.to_wire())
        assert dns.message.from_wire(read_tcp_message(s)).answer[0][0].address == "127.0.0.1"


def test_malformed_udp_packets_do_not_stop_the_responder(responder):
    rng = random.Random(4)
    packets = [b"", b"\x00", b"\x12\x34\x01\x00\x00", bytes(11)]
    packets += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 600)))
                for _ in range(300)]
    # Pointer loops, forward and out-of-range pointers, reserved label types, huge counts.
    packets += [header(1, 0x0100) + b"\xc0\x0c\x00\x01\x00\x01",
                header(2, 0x0100) + b"\x01a\xc0\x0e\x00\x01\x00\x01",
                header(3, 0x0100) + b"\xc0\x20\x00\x01\x00\x01" + bytes(40),
                header(4, 0x0100) + b"\xff\xff\x00\x01\x00\x01",
                header(5, 0x0100) + b"\x41a\x00\x00\x01\x00\x01",
                header(6, 0x0100, qd=65535, an=65535, ns=65535, ar=65535) + QUESTION_SHOP_TEST_A,
                header(7, 0x0100, ar=2) + QUESTION_SHOP_TEST_A + b"\x00\x00\x29\x10\x00" + bytes(6),
                header(8, 0x8100) + QUESTION_SHOP_TEST_A]  # a response: never answered
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for p in packets:
            s.sendto(p, ("127.0.0.1", responder.port))
    loop = responder.raw(packets[-8])
    assert loop[:2] == b"\x00\x01" and rcode_of(loop) == dns.rcode.FORMERR
    assert responder.raw(b"\x12\x34\x01\x00\x00", timeout=0.5, tries=1) is None
    assert responder.raw(packets[-1], timeout=0.5, tries=1) is None
    still_answers(responder)


def test_malformed_tcp_streams_do_not_stop_the_responder(responder):
    rng = random.Random(7)
    streams = [b"\x00\x00", b"\x00", b"\xff\xff" + bytes(100),
               b"\x00\x05\x12\x34\x01\x00\x00",
               struct.pack("!H", 18) + header(1, 0x0100) + b"\xc0\x0c\x00\x01\x00\x01"]
    streams += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
                for _ in range(30)]
    for data in streams:
        with socket.create_connection(("127.0.0.1", responder.port), timeout=10) as s:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            try:
                while s.recv(65535):
                    pass
            except ConnectionResetError:
                pass
    still_answers(responder)


# --- rp up and its DNS port ----------------------------------------------------------------------

def test_a_taken_port_is_one_clear_line_and_the_processes_still_run(responder, project, rp,
                                                                    tmp_path):
    # A second daemon (another RP_HOME) cannot have the port the first one answers on.
    other_home = tmp_path / "other-home"
    other_home.mkdir()
    try:
        taken_port_check(responder, rp, dict(responder.env, RP_HOME=str(other_home)))
    finally:
        stop_daemon(other_home)


def taken_port_check(responder, rp, env):
    second = rp("up", env=env)
    line = second.wait_for(r"DNS: cannot listen .*")
    assert line.group(0) == (f"DNS: cannot listen on 127.0.0.1:{responder.port} (address in use)"
                             " — another rp or resolver has it; rp doctor tells more")
    second.wait_for(r"1 of 1 processes started")
    assert second.output().count("DNS:") == 1
    still_answers(responder)


def test_dns_port_zero_turns_the_responder_off(project, rp, rp_env):
    project.write("Procfile", "idle: exec sleep 3600\n")
    run = rp("up", env=dict(rp_env, RP_DNS_PORT="0", RP_HTTP_PORT="0"))
    run.wait_for(r"1 of 1 processes started")
    assert "DNS:" not in run.output()


# --- rp setup ------------------------------------------------------------------------------------

def resolved_root(root):
    (root / "run/systemd/resolve").mkdir(parents=True)
    (root / "run/systemd/resolve/stub-resolv.conf").write_text("nameserver 127.0.0.53\n")
    (root / "etc/systemd").mkdir(parents=True)
    (root / "etc/systemd/resolved.conf").write_text("[Resolve]\n")
    os.symlink("../run/systemd/resolve/stub-resolv.conf", root / "etc/resolv.conf")


def networkmanager_root(root):
    (root / "etc/NetworkManager").mkdir(parents=True)
    (root / "etc/NetworkManager/NetworkManager.conf").write_text(
        "[main]\nplugins=ifupdown,keyfile\ndns=dnsmasq\n")
    (root / "etc/resolv.conf").write_text("# Generated by NetworkManager\nnameserver 127.0.0.1\n")


MARKER = "# Written by rp setup; `rp setup --undo` removes this file.\n"
SYSCTL = (MARKER + "# Lets programs bind ports from 80 up without root, so that rp can serve "
          "http://NAME.test\n# on port 80 (and https on 443).\n"
          "net.ipv4.ip_unprivileged_port_start=80\n")


def setup_env(rp_env):
    return dict(rp_env, RP_DNS_PORT="5399", RP_TLDS="test,dev")


@pytest.mark.parametrize("layout,path,text,restart", [
    (resolved_root, "etc/systemd/resolved.conf.d/rp.conf",
     MARKER + "# Sends *.test and *.dev to rp's DNS responder; every other name is resolved as "
     "before.\n[Resolve]\nDNS=127.0.0.1:5399\nDomains=~test ~dev\n",
     "systemctl restart systemd-resolved"),
    (networkmanager_root, "etc/NetworkManager/dnsmasq.d/rp.conf",
     MARKER + "# Sends *.test and *.dev to rp's DNS responder.\n"
     "server=/test/127.0.0.1#5399\nserver=/dev/127.0.0.1#5399\n",
     "nmcli general reload dns-full"),
])
def test_setup_apply_and_undo_under_a_root(tmp_path, project, rp_env, layout, path, text,
                                           restart):
    root = tmp_path / "root"
    layout(root)
    env = setup_env(rp_env)
    before = snapshot(root)

    code, out, err = run_rp(["setup", "--root", str(root)], project.path, env)
    assert code == 0, err
    assert f"rp setup --apply would write {root}/{path}:\n" in out
    assert "".join(f"    {line}\n" for line in text.splitlines()) in out
    assert f"would write {root}/etc/sysctl.d/50-rp-unprivileged-ports.conf:" in out
    assert "Nothing was changed." in out
    assert snapshot(root) == before

    code, out, err = run_rp(["setup", "--apply", "--root", str(root)], project.path, env)
    assert code == 0, err
    assert f"wrote {root}/{path}" in out
    assert f"not run with --root (they act on the running system): {restart}; sysctl -p " in out
    after = snapshot(root)
    added = {k: v for k, v in after.items() if k not in before}
    assert added[path] == ("file", text)
    assert added["etc/sysctl.d/50-rp-unprivileged-ports.conf"] == ("file", SYSCTL)
    manifest = added.pop("var/lib/rp/setup-manifest")[1]
    assert f"file /{path}\n" in manifest
    files = sorted(k for k, v in added.items() if v[0] == "file")
    assert files == sorted([path, "etc/sysctl.d/50-rp-unprivileged-ports.conf"])
    assert all(after[k] == v for k, v in before.items())

    # Applying again changes nothing but rewrites rp's own files.
    code, out, err = run_rp(["setup", "--apply", "--root", str(root)], project.path, env)
    assert code == 0, err
    assert snapshot(root) == after

    code, out, err = run_rp(["setup", "--undo", "--root", str(root)], project.path, env)
    assert code == 0, err
    assert f"removed {root}/{path}" in out
    assert snapshot(root) == before

    code, out, err = run_rp(["setup", "--undo", "--root", str(root)], project.path, env)
    assert code == 0 and "nothing to undo" in out


def test_setup_with_a_plain_resolv_conf_says_what_to_do(tmp_path, project, rp_env):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/resolv.conf").write_text("nameserver 192.168.1.1\n")
    code, out, err = run_rp(["setup", "--root", str(root)], project.path, setup_env(rp_env))
    assert code == 0, err
    assert out.startswith("This system resolves names with a plain /etc/resolv.conf "
                          "(/etc/resolv.conf sends every name to 192.168.1.1).\n")
    assert "rp cannot send only *.test, *.dev to itself on this system" in out
    assert "install systemd-resolved" in out
    assert "*.localhost needs no set-up" in out
    assert "resolved.conf.d" not in out and "dnsmasq.d" not in out
    code, out, err = run_rp(["setup", "--apply", "--root", str(root)], project.path,
                            setup_env(rp_env))
    assert code == 0, err
    assert sorted(snapshot(root)) == ["etc", "etc/resolv.conf", "etc/sysctl.d",
                                      "etc/sysctl.d/50-rp-unprivileged-ports.conf", "var",
                                      "var/lib", "var/lib/rp", "var/lib/rp/setup-manifest"]


def test_setup_leaves_a_file_that_is_not_its_own(tmp_path, project, rp_env):
    root = tmp_path / "root"
    resolved_root(root)
    (root / "etc/systemd/resolved.conf.d").mkdir()
    (root / "etc/systemd/resolved.conf.d/rp.conf").write_text("[Resolve]\nDNS=9.9.9.9\n")
    before = snapshot(root)
    code, out, err = run_rp(["setup", "--apply", "--root", str(root)], project.path,
                            setup_env(rp_env))
    assert code == 1
    assert "rp.conf exists and was not written by rp; rp leaves it alone" in err
    assert snapshot(root) == before


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root to become another user")
def test_setup_apply_on_the_real_system_needs_root(project, rp_env, tmp_path):
    env = dict(rp_env, RP_HOME=str(tmp_path / "nobody-home"))
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", RP_BIN,
                        "setup", "--apply"], cwd="/", env=env, capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 1
    assert "rp setup --apply changes system files and needs root: sudo rp setup --apply" in r.stderr


# --- rp doctor -----------------------------------------------------------------------------------

def plain_root(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/resolv.conf").write_text("nameserver 192.168.1.1\n")
    return root


@pytest.fixture
def odd_responder(project, rp, rp_env):
    """rp up serving only ODD_TLD, which no system resolver sends anywhere."""
    port = free_dns_port()
    env = dict(rp_env, RP_DNS_PORT=str(port), RP_HTTP_PORT="0", RP_TLDS=ODD_TLD,
               RP_URL_TLD=ODD_TLD)
    project.write("Procfile", "idle: exec sleep 3600\n")
    run = rp("up", env=env)
    run.wait_for(rf"DNS: answering \*\.{ODD_TLD} on ")
    return Responder(run, port, env)


def test_doctor_checks_each_step_and_says_the_fix(odd_responder, project, tmp_path):
    http_port = free_port()
    env = dict(odd_responder.env, RP_HTTP_PORT=str(http_port))
    code, out, err = run_rp(["doctor", "--root", str(plain_root(tmp_path))], project.path, env)
    assert code == 1, err
    lines = out.splitlines()
    port = odd_responder.port
    assert lines[0] == (f"PASS  DNS responder: rp answers on 127.0.0.1:{port} "
                        f"(rp-doctor.{ODD_TLD} → 127.0.0.1)")
    assert lines[1].startswith(f'FAIL  system resolver: getaddrinfo("rp-doctor.{ODD_TLD}") '
                               "finds nothing")
    assert lines[2] == ("      fix: this system uses a plain /etc/resolv.conf, which cannot send "
                        "one domain to rp: rp setup says what to do instead")
    # The daemon that runs serves no HTTP (RP_HTTP_PORT=0 when it started): doctor asks it rather
    # than probe the port a daemon started with this environment would take.
    assert lines[3] == ("FAIL  HTTP: the daemon that runs has no HTTP listener: its http_port was "
                        "0 when it started, or the port was taken (RP_HOME/logs/daemon.log says "
                        "which)")
    assert lines[4] == "      fix: rp daemon stop, then rp up with http_port set and the port free"
    https_port = env["RP_HTTPS_PORT"]  # rp up serves HTTPS there, with a CA nobody trusts yet
    assert lines[5].startswith(f"FAIL  HTTPS: 127.0.0.1:{https_port} serves rp.{ODD_TLD} with "
                               "rp's certificate, but this system does not trust rp's CA yet")
    assert lines[6] == "      fix: sudo rp trust --apply (then restart your browsers)"
    assert lines[7].startswith("PASS  local CA: ") and lines[7].endswith("is whole, its key private")
    assert lines[8] == "PASS  configuration: no stale or conflicting rp set-up found"
    assert lines[9] == "3 of 6 checks failed"

    code, out, err = run_rp(["doctor", "--json", "--root", str(plain_root(tmp_path / "j"))],
                            project.path, env)
    report = json.loads(out)
    assert code == 1 and report["ok"] is False
    assert [(c["name"], c["ok"]) for c in report["checks"]] == [
        ("dns_responder", True), ("system_resolver", False), ("http", False),
        ("https", False), ("ca", True), ("configuration", True)]
    assert all(c["fix"] for c in report["checks"] if not c["ok"])


def test_doctor_names_a_drop_in_for_another_port(odd_responder, project, tmp_path):
    root = tmp_path / "root"
    resolved_root(root)
    (root / "etc/systemd/resolved.conf.d").mkdir()
    (root / "etc/systemd/resolved.conf.d/rp.conf").write_text(
        MARKER + f"[Resolve]\nDNS=127.0.0.1:5999\nDomains=~{ODD_TLD}\n")
    code, out, err = run_rp(["doctor", "--root", str(root)], project.path, odd_responder.env)
    assert code == 1
    assert (f"FAIL  configuration: /etc/systemd/resolved.conf.d/rp.conf sends *.{ODD_TLD} to port "
            f"5999, but rp's dns_port is {odd_responder.port}\n"
            "      fix: run sudo rp setup --apply again (it rewrites the file), or set "
            "dns_port: 5999 in config.yaml\n") in out


def test_doctor_when_something_else_holds_the_dns_port(project, rp_env, tmp_path):
    port = free_dns_port()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind(("127.0.0.1", port))  # holds the port, answers nothing
        env = dict(rp_env, RP_DNS_PORT=str(port))
        code, out, err = run_rp(["doctor", "--root", str(plain_root(tmp_path))], project.path,
                                env)
    assert code == 1
    first = out.splitlines()[0]
    assert first.startswith(f"FAIL  DNS responder: 127.0.0.1:{port} does not answer DNS")
    assert re.search(rf", held by \S+ \(pid {os.getpid()}\)$", first)


def test_doctor_with_nothing_on_the_dns_port(project, rp_env, tmp_path):
    env = dict(rp_env, RP_DNS_PORT=str(free_dns_port()))
    code, out, err = run_rp(["doctor", "--root", str(plain_root(tmp_path))], project.path, env)
    assert code == 1
    lines = out.splitlines()
    assert re.match(r"FAIL  DNS responder: nothing answers DNS on 127\.0\.0\.1:\d+ \(", lines[0])
    assert lines[1].startswith("      fix: start rp: rp up in a project directory")
