"""`rp export systemd [DIR]`: the project's processes as systemd units, written without a daemon.
The files are checked as text, a second export replaces the first (removing what it no longer
has, touching nothing else), a broken project writes nothing, and systemd's own
`systemd-analyze verify` reads the units where it can run."""

import os
import pathlib
import re
import shutil
import subprocess

import pytest

from conftest import run_rp, snapshot

PROCFILE = ("web: python3 -m http.server $PORT\n"
            "worker: sh -c 'echo \"$GREETING\"; exec sleep 600'\n")
RP_YAML = ("processes:\n"
           "  web: {stop_signal: SIGINT, stop_timeout: 10s}\n"
           "  migrate: {command: 'echo migrated', kind: task}\n")


def export(project, env, *args):
    """rp export systemd ARGS... in the project: (code, stdout, stderr)."""
    return run_rp(["export", "systemd", *args], project.path, env)


def lines(path):
    return path.read_text().splitlines()


def write_project(project):
    project.write("Procfile", PROCFILE)
    project.write(".env", 'GREETING="100% \\"sure\\" \\$5 and a\\\\b"\nSECRET=s3\n')
    project.write("rp.yaml", RP_YAML)


def test_writes_a_target_and_a_unit_per_instance(project, rp_env, tmp_path):
    write_project(project)
    app = project.app
    out_dir = tmp_path / "made" / "here"
    code, out, err = export(project, rp_env, "-m", "web=2", str(out_dir))
    assert code == 0, err

    assert sorted(os.listdir(out_dir)) == sorted([
        f"{app}.target", f"{app}-migrate-1.service", f"{app}-web-1.service",
        f"{app}-web-2.service", f"{app}-worker-1.service"])
    # The environment is in them: only their owner reads them.
    for name in os.listdir(out_dir):
        assert (out_dir / name).stat().st_mode & 0o777 == 0o600

    target = lines(out_dir / f"{app}.target")
    assert (f"Wants={app}-migrate-1.service {app}-web-1.service {app}-web-2.service "
            f"{app}-worker-1.service") in target
    assert "WantedBy=default.target" in target

    web1 = lines(out_dir / f"{app}-web-1.service")
    web2 = lines(out_dir / f"{app}-web-2.service")
    for unit in (web1, web2):
        assert f"PartOf={app}.target" in unit
        assert f"WorkingDirectory={project.path}" in unit
        assert 'ExecStart=/bin/sh -c "exec python3 -m http.server $$PORT"' in unit
        assert "Restart=on-failure" in unit
        assert "KillMode=control-group" in unit
        assert "KillSignal=SIGINT" in unit
        assert "TimeoutStopSec=10s" in unit
        assert f"Requires={app}-migrate-1.service" in unit
        assert f"After={app}-migrate-1.service" in unit
        # .env's value, resolved when exporting, in systemd's quoting.
        assert 'Environment="GREETING=100%% \\"sure\\" $5 and a\\\\b"' in unit
        assert 'Environment="SECRET=s3"' in unit
        assert f'Environment="RP_APP={app}"' in unit
    ports = [int(re.search(r'^Environment="PORT=(\d+)"$', "\n".join(u), re.M).group(1))
             for u in (web1, web2)]
    assert ports[0] != ports[1]
    assert all(20000 <= p <= 29999 for p in ports)
    assert 'Environment="RP_PROCESS=web.2"' in web2

    worker = lines(out_dir / f"{app}-worker-1.service")
    assert ("ExecStart=/bin/sh -c \"exec sh -c 'echo \\\"$$GREETING\\\"; exec sleep 600'\""
            in worker)
    assert "KillSignal=SIGTERM" in worker and "TimeoutStopSec=5s" in worker

    migrate = lines(out_dir / f"{app}-migrate-1.service")
    assert "Type=oneshot" in migrate and "RemainAfterExit=yes" in migrate
    assert not any(line.startswith('Environment="PORT=') for line in migrate)

    # What was written, with the ports, and how to start it.
    assert f"{app}-web-1.service  (PORT={ports[0]})" in out
    assert "systemctl --user daemon-reload" in out
    assert f"systemctl --user start {app}.target" in out
    assert f"systemctl --user enable {app}.target" in out
    # DIR is not systemd's: the units are to be linked first.
    assert f"systemctl --user link {out_dir / (app + '.target')}" in out


def test_default_directory_is_the_users_unit_directory(project, rp_env, tmp_path):
    write_project(project)
    home = tmp_path / "home"
    env = {k: v for k, v in rp_env.items() if k != "XDG_CONFIG_HOME"}
    env["HOME"] = str(home)
    code, out, err = export(project, env)
    assert code == 0, err
    user_dir = home / ".config" / "systemd" / "user"
    assert (user_dir / f"{project.app}.target").is_file()
    assert "systemctl --user link" not in out  # systemd reads this directory itself

    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    code, out, err = export(project, env)
    assert code == 0, err
    assert (tmp_path / "xdg" / "systemd" / "user" / f"{project.app}.target").is_file()


def test_a_second_export_replaces_the_first_and_touches_nothing_else(project, rp_env, tmp_path):
    write_project(project)
    app = project.app
    out_dir = tmp_path / "units"
    out_dir.mkdir()
    # Files that are not this export's: the user's own, one named like this app's units but
    # hand-written, and another app's export whose name starts with this app's.
    (out_dir / "mine.service").write_text("[Service]\nExecStart=/bin/true\n")
    (out_dir / f"{app}-old.service.bak").write_text("backup\n")
    other = tmp_path / "other" / f"{app}-x"
    other.mkdir(parents=True)
    (other / "Procfile").write_text("web: sleep 600\n")
    code, _, err = run_rp(["export", "systemd", str(out_dir)], other, rp_env)
    assert code == 0, err
    others = {n for n in os.listdir(out_dir) if n.startswith(f"{app}-x")}
    assert others == {f"{app}-x.target", f"{app}-x-web-1.service"}

    code, _, err = export(project, rp_env, "-m", "web=2", str(out_dir))
    assert code == 0, err
    assert (out_dir / f"{app}-web-2.service").exists()
    (out_dir / f"{app}-web-1.service").write_text("stale text\n" + (
        out_dir / f"{app}-web-1.service").read_text())  # no longer carries the mark

    # A hand-edited unit of this app in the way: refused, nothing changes.
    before = snapshot(out_dir)
    code, out, err = export(project, rp_env, "-m", "web=1", str(out_dir))
    assert code == 1
    assert f"{out_dir / (app + '-web-1.service')} exists and was not written by" in err
    assert "nothing was written" in err
    assert snapshot(out_dir) == before

    (out_dir / f"{app}-web-1.service").unlink()
    code, out, err = export(project, rp_env, "-m", "web=1", str(out_dir))
    assert code == 0, err
    assert f"removed {app}-web-2.service" in out
    assert sorted(os.listdir(out_dir)) == sorted([
        "mine.service", f"{app}-old.service.bak", f"{app}-x.target", f"{app}-x-web-1.service",
        f"{app}.target", f"{app}-migrate-1.service", f"{app}-web-1.service",
        f"{app}-worker-1.service"])
    assert (f"Wants={app}-migrate-1.service {app}-web-1.service {app}-worker-1.service"
            in lines(out_dir / f"{app}.target"))
    assert (out_dir / "mine.service").read_text() == "[Service]\nExecStart=/bin/true\n"


def test_a_broken_procfile_is_refused_with_file_and_line_and_writes_nothing(project, rp_env,
                                                                             tmp_path):
    write_project(project)
    out_dir = tmp_path / "units"
    code, _, err = export(project, rp_env, str(out_dir))
    assert code == 0, err
    before = snapshot(out_dir)

    project.write("Procfile", "web: sleep 600\nworker sleep 600\n")
    code, out, err = export(project, rp_env, str(out_dir))
    assert code == 1
    assert "Procfile:2: this line has no process name" in err
    assert "rp export: nothing was written" in err
    assert snapshot(out_dir) == before
    # The same text rp up gives.
    _, _, up_err = run_rp(["check"], project.path, rp_env)
    assert "Procfile:2: this line has no process name" in up_err

    fresh = tmp_path / "fresh"
    code, _, err = export(project, rp_env, str(fresh))
    assert code == 1
    assert not fresh.exists()


def test_a_variable_systemd_cannot_pass_is_refused(project, rp_env, tmp_path):
    project.write("Procfile", "web: sleep 600\n")
    project.write(".env", "app.name=shop\n")
    code, _, err = export(project, rp_env, str(tmp_path / "units"))
    assert code == 1
    assert "systemd cannot pass the variable 'app.name'" in err
    assert not (tmp_path / "units").exists()


def test_systemd_analyze_verify_accepts_the_units(rp_env, tmp_path):
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        pytest.skip("systemd-analyze is not installed (Debian's systemd package has it; "
                    "scripts/install-deps installs it)")
    # A directory with a space and a `%`, quotes, backslashes, `$` and a multi-line value: the
    # escaping systemd must read back without a warning.
    project_dir = tmp_path / "my 100% app"
    project_dir.mkdir()
    (project_dir / "Procfile").write_text(
        "web: python3 -m http.server $PORT\n"
        "worker: echo \"$GREETING\" '50%' \\\\ && sleep 1\n")
    (project_dir / ".env").write_text(
        'GREETING="a \\"quoted\\" 100% \\$HOME \\\\ value"\nKEY="line one\nline two"\n')
    (project_dir / "rp.yaml").write_text(
        "name: verified\nformation: {web: 2}\n"
        "processes:\n  migrate: {command: 'echo \"%n $$\"', kind: task, stop_timeout: 0}\n")
    out_dir = tmp_path / "units"
    code, _, err = run_rp(["export", "systemd", str(out_dir)], project_dir, rp_env)
    assert code == 0, err
    units = sorted(str(p) for p in out_dir.iterdir())
    assert len(units) == 5

    # The user manager wants a runtime directory; a container's session may have none.
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime), SYSTEMD_LOG_COLOR="0")
    r = subprocess.run([analyze, "verify", "--user", *units], env=env, capture_output=True,
                       text=True, timeout=120)
    if r.returncode != 0 and "Failed to initialize manager" in r.stderr:
        pytest.skip(f"systemd-analyze verify --user cannot run here: {r.stderr.strip()}")
    assert r.returncode == 0, r.stderr
    # verify warns, and still exits 0, about a setting it ignores (a bad escape, an invalid
    # assignment): any line about these units is a failure.
    about_units = [line for line in r.stderr.splitlines() if str(out_dir) in line
                   or "verified" in line]
    assert about_units == [], r.stderr
