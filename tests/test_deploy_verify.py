"""`deploy verify`: unsafe archives are refused before anything is written, every step is logged, releases are
tagged without ever moving a tag; the full deployment (fresh venv + pip) is the slow test at the end."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from deploy.deploylog import read
from deploy.descriptor import load
from deploy.gittag import tag_release
from deploy.safezip import UnsafeArchive, extract
from deploy import verify as verify_module
from deploy.verify import VerifyError, verify

REPO = Path(__file__).resolve().parents[1]


def make_zip(path: Path, entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in entries:
            archive.writestr(info, data)
    return path


def unix_entry(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = mode << 16
    return info


GOOD = [("app.py", b"print('hi')\n"), ("ocr/__init__.py", b"")]
UNSAFE = {
    "parent": ("../evil", "'..' component"),
    "nested-parent": ("ocr/../../evil", "'..' component"),
    "absolute": ("/evil", "absolute path"),
    "windows-absolute": ("C:/evil", "absolute path"),
    "symlink": (unix_entry("evil", stat.S_IFLNK | 0o777), "symbolic link"),
    "fifo": (unix_entry("evil", stat.S_IFIFO | 0o644), "special file"),
}


@pytest.mark.parametrize("case", sorted(UNSAFE))
def test_verify_refuses_unsafe_entries_before_writing_anything(tmp_path: Path, case: str):
    entry, reason = UNSAFE[case]
    # the unsafe entry comes last: a one-pass extractor would already have written the good ones
    package = make_zip(tmp_path / "ocr-studio-6.6.6.zip", [*GOOD, (entry, b"../../../../etc/passwd")])
    work, log = tmp_path / "work", tmp_path / "logs" / "deployments.jsonl"
    assert verify(package, project=tmp_path, log_path=log, workdir=work, tag=False, say=lambda _: None) is False
    assert not work.exists()
    assert not (tmp_path / "evil").exists() and not (tmp_path.parent / "evil").exists()
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "logs", "logs/deployments.jsonl", "ocr-studio-6.6.6.zip"]
    lines = read(log)
    assert [(line["step"], line["ok"]) for line in lines] == [("package", True), ("extract", False), ("outcome", False)]
    assert reason in lines[1]["error"] and lines[2]["failed_step"] == "extract" and lines[2]["deployed"] is None
    assert all(line["run"] == lines[0]["run"] and line["duration_s"] >= 0 for line in lines)


def test_extract_refuses_zip_bombs_by_total_size(tmp_path: Path):
    bomb = make_zip(tmp_path / "bomb.zip", [("a.bin", bytes(3_000_000)), ("b.bin", bytes(3_000_000))])
    assert bomb.stat().st_size < 30_000
    with pytest.raises(UnsafeArchive, match="unpacks to 6000000 bytes, more than the limit of 5000000"):
        extract(bomb, tmp_path / "out", max_bytes=5_000_000)
    assert not (tmp_path / "out").exists()


def test_extract_refuses_duplicates_and_clashes_and_names_every_entry(tmp_path: Path):
    archive = make_zip(tmp_path / "bad.zip", [("App.py", b"1"), ("app.py", b"2"), ("ocr", b"file"),
                                              ("ocr/x.py", b""), ("../evil", b"")])
    with pytest.raises(UnsafeArchive) as refused:
        extract(archive, tmp_path / "out")
    message = str(refused.value)
    assert "'app.py': duplicate of 'App.py'" in message
    assert "'ocr/x.py': inside 'ocr', which is a file" in message
    assert "'../evil'" in message
    assert not (tmp_path / "out").exists()


def test_extract_writes_regular_files_into_an_empty_target_only(tmp_path: Path):
    archive = make_zip(tmp_path / "ok.zip", [*GOOD, (unix_entry("run.sh", stat.S_IFREG | 0o4755), b"#!/bin/sh\n")])
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "keep.txt").write_text("mine")
    with pytest.raises(UnsafeArchive, match="not an empty folder"):
        extract(archive, occupied)
    assert sorted(p.name for p in occupied.iterdir()) == ["keep.txt"]
    out = tmp_path / "out"
    assert extract(archive, out) == ["app.py", "ocr/__init__.py", "run.sh"]
    assert (out / "app.py").read_bytes() == b"print('hi')\n"
    assert stat.S_IMODE((out / "run.sh").stat().st_mode) == 0o644  # no setuid or exec bits from the archive


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


def test_tag_marks_head_once_and_never_moves(tmp_path: Path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    descriptor = b'{"version": "1.2.3"}\n'
    (repo / "descriptor.json").write_bytes(descriptor)
    assert tag_release(repo, "1.2.3", descriptor) == (False, "the repository has no commit yet: no tag created")
    git(repo, "add", "descriptor.json")
    git(repo, "commit", "-q", "-m", "release")
    first = git(repo, "rev-parse", "HEAD")
    assert tag_release(repo, "1.2.3", b'{"other": 1}\n')[0] is False   # HEAD is not what was verified
    assert git(repo, "tag", "--list") == ""
    assert tag_release(repo, "1.2.3", descriptor) == (True, f"tagged HEAD {first[:12]} as v1.2.3")
    assert tag_release(repo, "1.2.3", descriptor) == (True, f"v1.2.3 already marks HEAD {first[:12]}")
    (repo / "notes.txt").write_text("later work")
    git(repo, "add", "notes.txt")
    git(repo, "commit", "-q", "-m", "later")
    tagged, message = tag_release(repo, "1.2.3", descriptor)
    assert not tagged and message.startswith(f"v1.2.3 already exists on {first[:12]}, not on HEAD")
    assert git(repo, "rev-parse", "v1.2.3^{commit}") == first


def test_tag_outside_a_checkout(tmp_path: Path):
    assert tag_release(tmp_path, "1.0.0", b"{}") == (False, f"{tmp_path} is not a git checkout: no tag created")


def test_pip_step_is_the_deployers_with_no_pip_configuration_and_names_a_missing_requirement(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """pip install --upgrade pip, then pip install -r, both without PIP_* and config files; pip's real answer to
    torch==2.13.0+cpu (see test_deploy_platforms) becomes an error naming it."""
    from tests.test_deploy_platforms import TORCH_CPU
    calls = []

    def fake_run(command: list[str], cwd: Path, log: Path, timeout: float, env=None) -> None:
        calls.append((command[1:], env))
        if "-r" in command:
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text(TORCH_CPU)
            raise VerifyError(f"{' '.join(command)} exited with 1")

    monkeypatch.setenv("PIP_FIND_LINKS", "/opt/wheels")
    monkeypatch.setattr(verify_module, "_run", fake_run)
    log = tmp_path / "logs" / "pip.log"
    with pytest.raises(VerifyError) as failed:
        verify_module._pip_install(Path("venv/bin/python"), "requirements.txt", tmp_path, log)
    assert [command for command, _ in calls] == [["-m", "pip", "install", "--upgrade", "pip"],
                                                 ["-m", "pip", "install", "-r", "requirements.txt"]]
    for _, env in calls:
        assert env["PIP_CONFIG_FILE"] == os.devnull and "PIP_FIND_LINKS" not in env
    assert str(failed.value).startswith("torch==2.13.0+cpu is not on the public package registry (pip: No matching "
                                        "distribution found for torch==2.13.0+cpu) (pip ran without this machine's")
    assert str(log) in str(failed.value)


@pytest.mark.slow
def test_full_deployment_of_the_built_package(tmp_path: Path):
    """build, then verify: extract, fresh venv, pip install, start, health, endpoints, samples, stop (minutes)."""
    built = subprocess.run([sys.executable, "-m", "deploy", "build", "--out", str(tmp_path / "dist")], cwd=REPO,
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    package = tmp_path / "dist" / f"ocr-studio-{load(REPO)['version']}.zip"
    log = tmp_path / "deployments.jsonl"
    result = subprocess.run([sys.executable, "-m", "deploy", "verify", str(package), "--no-tag", "--log", str(log),
                             "--workdir", str(tmp_path / "work")], cwd=REPO, capture_output=True, text=True,
                            timeout=3600)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = read(log)
    assert [line["step"] for line in lines] == ["package", "extract", "integrity", "venv", "pip_install",
                                                "venv_contents", "start", "health", "endpoints", "samples", "stop",
                                                "outcome"]
    assert all(line["ok"] for line in lines)
    contents = next(line for line in lines if line["step"] == "venv_contents")
    assert contents["torch"] is False and contents["venv_bytes"] <= 1.0e9
    assert lines[-1]["deployed"] == load(REPO)["version"]
    assert all(r["ok"] for r in lines[-3]["results"])
    assert list((tmp_path / "work").iterdir()) == []   # the extracted package and its venv are removed
