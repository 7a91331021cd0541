"""What processes are told of rp's CA: RP_CA_FILE always; NODE_EXTRA_CA_CERTS, SSL_CERT_FILE and
REQUESTS_CA_BUNDLE (RP_HOME/ca/bundle.pem: the system's CAs, then rp's) unless the user set them;
the same for `rp run`; and so an app calls another over https://NAME.test with no set-up."""

import json
import pathlib
import sys

from conftest import APPS, DUMP_ENV, env_of, run_env
CA_VARIABLES = ("RP_CA_FILE", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
SYSTEM_BUNDLE = pathlib.Path("/etc/ssl/certs/ca-certificates.crt")


def clean(rp_env, **extra):
    """rp_env without the variables under test (a machine may set SSL_CERT_FILE for everyone)."""
    env = {k: v for k, v in rp_env.items() if k not in CA_VARIABLES}
    env.update(extra)
    return env


def check_rps_ca(got, home):
    ca = home / "ca" / "rp-ca.pem"
    bundle = home / "ca" / "bundle.pem"
    assert got["RP_CA_FILE"] == str(ca)
    assert got["NODE_EXTRA_CA_CERTS"] == str(ca)
    assert got["SSL_CERT_FILE"] == str(bundle)
    assert got["REQUESTS_CA_BUNDLE"] == str(bundle)
    text = bundle.read_text()
    assert text.endswith(ca.read_text())
    assert oct(bundle.stat().st_mode & 0o777) == "0o644"
    if SYSTEM_BUNDLE.exists():
        assert text.startswith(SYSTEM_BUNDLE.read_text())
        assert text.count("BEGIN CERTIFICATE") > 1


def test_a_process_is_told_of_rps_ca_and_the_bundle(project, rp, rp_env):
    project.write("Procfile", f"web: {DUMP_ENV}\n")
    got = env_of(rp("up", env=clean(rp_env)), "web.1")
    check_rps_ca(got, pathlib.Path(rp_env["RP_HOME"]))


def test_the_users_own_ca_files_win_and_rp_ca_file_is_always_rps(project, rp, rp_env):
    project.write("Procfile", f"web: {DUMP_ENV}\n")
    project.write(".env", "SSL_CERT_FILE=/from/dotenv.pem\nRP_CA_FILE=/not/rps.pem\n")
    project.write("rp.yaml", "env:\n  REQUESTS_CA_BUNDLE: /from/yaml.pem\n")
    got = env_of(rp("up", env=clean(rp_env, NODE_EXTRA_CA_CERTS="/from/shell.pem")), "web.1")
    assert got["SSL_CERT_FILE"] == "/from/dotenv.pem"
    assert got["REQUESTS_CA_BUNDLE"] == "/from/yaml.pem"
    assert got["NODE_EXTRA_CA_CERTS"] == "/from/shell.pem"
    assert got["RP_CA_FILE"] == str(pathlib.Path(rp_env["RP_HOME"]) / "ca" / "rp-ca.pem")


def test_rp_run_sets_them_by_the_same_rule_and_makes_the_ca_if_need_be(project, rp_env):
    project.write("Procfile", "web: exec sleep 600\n")
    home = pathlib.Path(rp_env["RP_HOME"])
    assert not (home / "ca").exists()  # no daemon ever ran here
    check_rps_ca(run_env(project, clean(rp_env)), home)

    project.write(".env", "SSL_CERT_FILE=/from/dotenv.pem\n")
    got = run_env(project, clean(rp_env))
    assert got["SSL_CERT_FILE"] == "/from/dotenv.pem"
    assert got["REQUESTS_CA_BUNDLE"] == str(home / "ca" / "bundle.pem")


def test_without_https_no_ca_is_made_or_named(project, rp_env, tmp_path):
    project.write("Procfile", "web: exec sleep 600\n")
    home = tmp_path / "no-https-home"
    got = run_env(project, clean(rp_env, RP_HOME=str(home), RP_HTTPS_PORT="0"))
    assert not set(CA_VARIABLES) & set(got)
    assert not (home / "ca").exists()


def test_an_app_calls_another_over_https_with_pythons_defaults(project, rp, rp_env, rpc,
                                                               tmp_path):
    env = clean(rp_env)
    other = tmp_path / f"callee-{project.app[-12:]}"
    other.mkdir()
    (other / "Procfile").write_text(f"web: exec {sys.executable} {APPS}/origin.py\n")
    code, out, err = rpc("up", "-d", cwd=other, env=env, timeout=90)
    assert code == 0, (out, err)

    project.write("Procfile",
                  f"caller: exec {sys.executable} {APPS}/https_get.py {other.name}.test /hello\n")
    run = rp("up", env=env)
    m = run.wait_for(r"caller\.1\s+\| FETCH(ED (\d+) (.*)| FAILED .*)$", timeout=30)
    assert m.group(2) == "200", m.group(0)
    assert json.loads(m.group(3))["path"] == "/hello"
