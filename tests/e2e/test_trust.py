"""`rp trust` against a scratch root that looks like a Debian machine with a user's browsers: real
NSS databases (made by certutil, as Chromium and Firefox make them) that the real certutil reads
and changes, and the system's anchors directory. Nothing here touches this machine's stores or
the real home: every command runs with --root, and the user's home is <root>$HOME."""

import hashlib
import os
import pathlib
import pwd
import shutil
import ssl
import stat
import subprocess
import tempfile

import pytest

from conftest import RP_BIN, run_rp, snapshot

HOME = "/home/tester"
ANCHORS = "usr/local/share/ca-certificates"
MANIFEST = "var/lib/rp/trust-manifest"
DB_FILES = {"cert9.db", "key4.db", "pkcs11.txt"}

pytestmark = pytest.mark.skipif(not shutil.which("certutil"),
                                reason="needs certutil (libnss3-tools; scripts/install-deps)")


def certutil(*args, user=None):
    """certutil's (exit code, stdout+stderr)."""
    cmd = ["certutil", *args]
    if user:
        cmd = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups",
               *cmd]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


def make_db(path):
    path.mkdir(parents=True)
    code, out = certutil("-N", "--empty-password", "-d", f"sql:{path}")
    assert code == 0, out


def add_corp_ca(db, noise_dir):
    """Someone else's CA in the database, which rp must leave alone."""
    noise = noise_dir / "noise"
    noise.write_bytes(os.urandom(64))
    code, out = certutil("-S", "-x", "-n", "corp CA", "-s", "CN=corp CA", "-t", "C,,", "-k", "ec",
                         "-q", "nistp256", "-d", f"sql:{db}", "-z", str(noise))
    noise.unlink()
    assert code == 0, out
    code, pem = certutil("-L", "-d", f"sql:{db}", "-n", "corp CA", "-a")
    assert code == 0, pem
    return pem


def nicknames(db):
    code, out = certutil("-L", "-d", f"sql:{db}")
    assert code == 0, out
    return [line[:60].strip() for line in out.splitlines()[4:] if line.strip()]


def debian_root(base, chromium=True):
    """<base>/root: Debian's anchors directory (with another CA in it) and a home with
    Chromium's database and Firefox profiles, native and XDG."""
    root = base / "root"
    home = root / HOME.lstrip("/")
    (root / ANCHORS).mkdir(parents=True)
    if chromium:
        make_db(home / ".pki/nssdb")
        corp = add_corp_ca(home / ".pki/nssdb", base)
        (root / ANCHORS / "corp.crt").write_text(corp)
    else:
        (root / ANCHORS / "corp.crt").write_text("someone else's CA\n")
    make_db(home / ".mozilla/firefox/xyz.default-release")
    (home / ".mozilla/firefox/profiles.ini").write_text("[Profile0]\nPath=xyz.default-release\n")
    make_db(home / ".config/mozilla/firefox/abc.default")
    return root


def dbs(root):
    home = root / HOME.lstrip("/")
    return [home / ".pki/nssdb", home / ".mozilla/firefox/xyz.default-release",
            home / ".config/mozilla/firefox/abc.default"]


def tree(root):
    """The tree under root, the NSS databases' files by name only: certutil rewrites them."""
    return snapshot(root, DB_FILES)


def trust_env(rp_env, **extra):
    env = {k: v for k, v in rp_env.items() if not k.startswith("SUDO_")}
    env.update(HOME=HOME, **extra)
    return env


def ca_of(rp_env):
    """rp's CA: (PEM bytes, its id, its nickname)."""
    pem = (pathlib.Path(rp_env["RP_HOME"]) / "ca/rp-ca.pem").read_bytes()
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem.decode())).hexdigest()
    return pem, digest[:16], f"rp local CA {digest[:16]}"


def trust(root, env, *args, cwd="/"):
    return run_rp(["trust", *args, "--root", str(root)], cwd, env)


def test_the_plan_lists_each_store_and_changes_nothing(tmp_path, rp_env):
    root = debian_root(tmp_path)
    env = trust_env(rp_env)
    before = tree(root)
    code, out, err = trust(root, env)
    assert code == 0, err
    _, ca_id, nick = ca_of(rp_env)
    assert out.startswith(f"rp's CA: {rp_env['RP_HOME']}/ca/rp-ca.pem, named \"{nick}\" in the "
                          "trust stores.\n")
    home = f"{root}{HOME}"
    add = "add rp's CA (certutil -A, trusted to identify web sites)"
    for line in [
            f"  system store (Debian/Ubuntu): {root}/{ANCHORS}/rp-ca-{ca_id}.crt — write rp's CA, "
            "then run update-ca-certificates",
            f"  Chromium: {home}/.pki/nssdb — {add}",
            f"  Firefox profile xyz.default-release: {home}/.mozilla/firefox/xyz.default-release "
            f"— {add}",
            f"  Firefox profile abc.default: {home}/.config/mozilla/firefox/abc.default — {add}"]:
        assert line + "\n" in out
    assert out.endswith("Nothing was changed. To make these changes: sudo rp trust --apply "
                        "(sudo rp trust --undo takes them back).\n")
    assert tree(root) == before
    for db in dbs(root):
        assert nick not in nicknames(db)


def test_apply_adds_the_ca_everywhere_and_undo_takes_exactly_that_back(tmp_path, rp_env):
    root = debian_root(tmp_path)
    env = trust_env(rp_env)
    before = tree(root)

    code, out, err = trust(root, env, "--apply")
    assert code == 0, err
    pem, ca_id, nick = ca_of(rp_env)
    anchor = root / ANCHORS / f"rp-ca-{ca_id}.crt"
    assert anchor.read_bytes() == pem
    assert stat.S_IMODE(anchor.stat().st_mode) == 0o644
    assert f"wrote {anchor}\n" in out
    for db in dbs(root):
        assert nick in nicknames(db)
        code, listed = certutil("-L", "-d", f"sql:{db}", "-n", nick, "-a")
        assert code == 0 and ssl.PEM_cert_to_DER_cert(listed) == ssl.PEM_cert_to_DER_cert(
            pem.decode())
        assert f": {db}\n" in out
    assert "corp CA" in nicknames(dbs(root)[0])
    assert "not run with --root (they act on the running system): update-ca-certificates\n" in out
    manifest = (root / MANIFEST).read_text()
    assert f"file {ca_id} /{ANCHORS}/rp-ca-{ca_id}.crt\n" in manifest
    assert f"nss {ca_id} {HOME}/.pki/nssdb\n" in manifest
    assert f"nss {ca_id} {HOME}/.config/mozilla/firefox/abc.default\n" in manifest
    after = tree(root)
    added = sorted(k for k in after if k not in before)
    assert added == sorted([f"{ANCHORS}/rp-ca-{ca_id}.crt", "var", "var/lib", "var/lib/rp",
                            MANIFEST])
    assert all(after[k] == v for k, v in before.items())

    # Again: everything is there already, and nothing changes.
    code, out, err = trust(root, env, "--apply")
    assert code == 0, err
    assert out.count("already there: ") == 4 and "added" not in out and "wrote" not in out
    assert tree(root) == after
    for db in dbs(root):
        assert nicknames(db).count(nick) == 1

    code, out, err = trust(root, env, "--undo")
    assert code == 0, err
    assert f"removed {anchor}\n" in out
    assert f"removed \"{nick}\" from {dbs(root)[0]}\n" in out
    assert "not run with --root (they act on the running system): update-ca-certificates\n" in out
    assert tree(root) == before
    for db in dbs(root):
        assert nick not in nicknames(db)
    assert nicknames(dbs(root)[0]) == ["corp CA"]

    code, out, err = trust(root, env, "--undo")
    assert code == 0, err
    assert out == (f"nothing to undo: there is no {root}/{MANIFEST} (rp trust --apply has added "
                   "nothing here)\n")


def test_undo_without_apply_is_a_no_op(tmp_path, rp_env):
    root = debian_root(tmp_path)
    before = tree(root)
    code, out, err = trust(root, trust_env(rp_env), "--undo")
    assert code == 0, err
    assert out.startswith(f"nothing to undo: there is no {root}/{MANIFEST}")
    assert tree(root) == before


def test_chromiums_database_is_made_when_missing_and_removed_again(tmp_path, rp_env):
    root = debian_root(tmp_path, chromium=False)
    env = trust_env(rp_env)
    before = tree(root)
    db = root / HOME.lstrip("/") / ".pki/nssdb"

    code, out, err = trust(root, env)
    assert code == 0, err
    assert (f"  Chromium: {db} — make the database (certutil -N --empty-password, as Chromium "
            "does), and add rp's CA to it\n") in out

    code, out, err = trust(root, env, "--apply")
    assert code == 0, err
    _, ca_id, nick = ca_of(rp_env)
    assert f"made {db} (an empty NSS database, as Chromium makes it)\n" in out
    assert nicknames(db) == [nick]
    assert stat.S_IMODE(db.stat().st_mode) == 0o700
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    assert f"nss-made {ca_id} {HOME}/.pki/nssdb\n" in (root / MANIFEST).read_text()

    code, out, err = trust(root, env, "--undo")
    assert code == 0, err
    assert f"removed the NSS database rp made in {db}\n" in out
    assert tree(root) == before
    assert not (root / HOME.lstrip("/") / ".pki").exists()


def test_without_certutil_it_names_the_package_and_still_does_the_rest(tmp_path, rp_env):
    root = debian_root(tmp_path)
    no_certutil = tmp_path / "bin"
    no_certutil.mkdir()
    env = trust_env(rp_env, PATH=str(no_certutil))

    code, out, err = trust(root, env)
    assert code == 0, err
    assert "certutil is not installed" in out and "sudo apt install libnss3-tools" in out

    code, out, err = trust(root, env, "--apply")
    assert code == 1
    assert ("rp trust: certutil is not installed, so rp cannot read or change the NSS databases "
            "of Chromium and Firefox: install it (sudo apt install libnss3-tools") in err
    _, ca_id, nick = ca_of(rp_env)
    assert (root / ANCHORS / f"rp-ca-{ca_id}.crt").exists()
    for db in dbs(root):
        assert nick not in nicknames(db)

    code, out, err = trust(root, env, "--undo")
    assert code == 0, err
    assert not (root / ANCHORS / f"rp-ca-{ca_id}.crt").exists()


def test_setup_includes_the_trust_step(tmp_path, rp_env):
    root = debian_root(tmp_path)
    (root / "etc").mkdir()
    (root / "etc/resolv.conf").write_text("nameserver 192.168.1.1\n")
    env = trust_env(rp_env)
    before = tree(root)

    code, out, err = run_rp(["setup", "--root", str(root)], "/", env)
    assert code == 0, err
    assert "and add rp's CA to the trust stores (rp trust):\n" in out
    assert f"  Chromium: {root}{HOME}/.pki/nssdb — add rp's CA" in out
    assert tree(root) == before

    code, out, err = run_rp(["setup", "--apply", "--root", str(root)], "/", env)
    assert code == 0, err
    _, ca_id, nick = ca_of(rp_env)
    assert (root / ANCHORS / f"rp-ca-{ca_id}.crt").exists()
    assert all(nick in nicknames(db) for db in dbs(root))

    code, out, err = run_rp(["setup", "--undo", "--root", str(root)], "/", env)
    assert code == 0, err
    assert tree(root) == before
    assert all(nick not in nicknames(db) for db in dbs(root))


def test_doctor_has_a_line_per_store(tmp_path, rp_env):
    root = debian_root(tmp_path)
    env = trust_env(rp_env, RP_DNS_PORT="0")
    code, out, err = run_rp(["doctor", "--root", str(root)], "/", env)
    assert code == 1
    home = f"{root}{HOME}"
    lines = [line for line in out.splitlines() if "trust:" in line]
    assert len(lines) == 4  # no CA yet: nothing trusts it
    assert f"FAIL  trust: Chromium {home}/.pki/nssdb: not yet trusted" in lines
    assert ("      fix: sudo rp trust --apply (rp trust alone shows what it changes)\n"
            in out)

    code, out, err = trust(root, env, "--apply")
    assert code == 0, err
    _, ca_id, _ = ca_of(rp_env)
    code, out, err = run_rp(["doctor", "--root", str(root)], "/", env)
    lines = [line for line in out.splitlines() if "trust:" in line]
    assert lines == [
        f"PASS  trust: system store (Debian/Ubuntu) {root}/{ANCHORS}/rp-ca-{ca_id}.crt: trusted",
        f"PASS  trust: Chromium {home}/.pki/nssdb: trusted",
        f"PASS  trust: Firefox profile xyz.default-release {home}/.mozilla/firefox/"
        "xyz.default-release: trusted",
        f"PASS  trust: Firefox profile abc.default {home}/.config/mozilla/firefox/abc.default: "
        "trusted"]


@pytest.mark.skipif(not shutil.which("update-ca-certificates"),
                    reason="needs Debian's update-ca-certificates (package ca-certificates)")
def test_the_bundle_update_ca_certificates_makes_from_the_file_holds_the_ca(tmp_path, rp_env):
    """What the live system does after --apply, done by hand under the root: Debian's own
    update-ca-certificates, pointed at the root's directories, takes rp's file into the bundle
    that OpenSSL and curl read; rp doctor tells the file from the bundle."""
    root = debian_root(tmp_path)
    bundle = root / "etc/ssl/certs/ca-certificates.crt"
    bundle.parent.mkdir(parents=True)
    bundle.write_text("")
    env = trust_env(rp_env, RP_DNS_PORT="0")
    code, out, err = trust(root, env, "--apply")
    assert code == 0, err
    pem, ca_id, _ = ca_of(rp_env)
    anchor = f"{root}/{ANCHORS}/rp-ca-{ca_id}.crt"

    code, out, err = run_rp(["doctor", "--root", str(root)], "/", env)
    assert (f"FAIL  trust: system store (Debian/Ubuntu) {anchor}: the file is there, but {bundle} "
            "does not include it yet\n      fix: sudo update-ca-certificates\n") in out

    (root / "etc/ca-certificates.conf").write_text("")
    (root / "usr/share/ca-certificates").mkdir(parents=True)
    (root / "etc/ca-certificates/update.d").mkdir(parents=True)
    r = subprocess.run(["update-ca-certificates", "--certsconf", f"{root}/etc/ca-certificates.conf",
                        "--certsdir", f"{root}/usr/share/ca-certificates", "--localcertsdir",
                        f"{root}/{ANCHORS}", "--etccertsdir", f"{root}/etc/ssl/certs",
                        "--hooksdir", f"{root}/etc/ca-certificates/update.d"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert pem.decode() in bundle.read_text()
    context = ssl.create_default_context(cafile=str(bundle))
    assert [dict(x[0] for x in c["subject"]) for c in context.get_ca_certs()].count(
        {"commonName": "rp local CA"}) == 1

    code, out, err = run_rp(["doctor", "--root", str(root)], "/", env)
    assert f"PASS  trust: system store (Debian/Ubuntu) {anchor}: trusted\n" in out


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root to become another user")
def test_live_apply_needs_root(tmp_path, rp_env):
    env = dict(rp_env, RP_HOME=str(tmp_path / "nobody-home"))
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", RP_BIN,
                        "trust", "--apply"], cwd="/", env=env, capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 1
    assert r.stderr == ("rp trust --apply changes system files and needs root: sudo rp trust "
                        "--apply (rp trust without it shows what would change)\n")


@pytest.fixture
def shared_tmp():
    """A scratch directory another user may enter (pytest's own are root's alone)."""
    path = tempfile.mkdtemp(prefix="rp-trust-")
    os.chmod(path, 0o755)
    yield pathlib.Path(path)
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root to act for another user")
def test_under_sudo_the_users_files_stay_theirs(shared_tmp, rp_env):
    """As `sudo rp trust --apply` run by nobody: the CA is made in their RP_HOME as them, and
    certutil changes (and makes) their databases as them."""
    user = pwd.getpwnam("nobody")
    root = shared_tmp / "root"
    home = root / user.pw_dir.lstrip("/")
    profile = home / ".mozilla/firefox/p.default"
    rp_home = shared_tmp / "rp-home"
    rp_home.mkdir()
    profile.mkdir(parents=True, mode=0o755)
    for p in (rp_home, home, home / ".mozilla", home / ".mozilla/firefox", profile):
        os.chown(p, user.pw_uid, user.pw_gid)
    code, out = certutil("-N", "--empty-password", "-d", f"sql:{profile}", user=user)
    assert code == 0, out
    env = dict(rp_env, RP_HOME=str(rp_home), SUDO_USER="nobody", SUDO_UID=str(user.pw_uid),
               SUDO_GID=str(user.pw_gid), HOME="/root")

    code, out, err = run_rp(["trust", "--apply", "--root", str(root)], "/", env)
    assert code == 0, err
    assert (rp_home / "ca/rp-ca.pem").stat().st_uid == user.pw_uid
    assert (rp_home / "ca/rp-ca.key").stat().st_uid == user.pw_uid
    _, _, nick = ca_of(dict(rp_env, RP_HOME=str(rp_home)))
    made = home / ".pki/nssdb"
    for db in (profile, made):
        assert nick in nicknames(db)
        for f in DB_FILES:
            assert (db / f).stat().st_uid == user.pw_uid, db / f
    assert (home / ".pki").stat().st_uid == user.pw_uid

    code, out, err = run_rp(["trust", "--undo", "--root", str(root)], "/", env)
    assert code == 0, err
    assert not (home / ".pki").exists()
    assert nick not in nicknames(profile)
