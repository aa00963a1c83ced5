"""`deploy build`: the zip holds exactly the described files, no caches, and is reproducible byte for byte."""
from __future__ import annotations

import json
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from deploy.build import BuildError, build
from deploy.descriptor import load
from deploy.files import sha256_of
from deploy.safezip import extract

REPO = Path(__file__).resolve().parents[1]
NEVER = ("tests/", "bench/", "fixtures/", "Testing/", ".git/", ".venv/", "__pycache__/", ".gradio/", "logs/", "dist/", ".cache/",
         "run/", ".pytest_cache/")


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    """The repository's package, built by the command line as a deployer's maintainer would."""
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run([sys.executable, "-m", "deploy", "build", "--out", str(out)], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    path = out / f"ocr-studio-{load(REPO)['version']}.zip"
    assert str(path) in result.stdout and sha256_of(path) in result.stdout
    return path


def test_zip_holds_exactly_the_described_files(package: Path):
    desc = load(REPO)
    with zipfile.ZipFile(package) as archive:
        infos = archive.infolist()
        names = [i.filename for i in infos]
        assert names == sorted([f["path"] for f in desc["files"]] + ["descriptor.json", "INSTALL.md"])
        for entry in desc["files"]:
            assert archive.getinfo(entry["path"]).file_size == entry["size"]
        assert archive.read("descriptor.json") == (REPO / "descriptor.json").read_bytes()
        assert archive.read("INSTALL.md") == (REPO / "deploy" / "INSTALL.md").read_bytes()
    assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)
    assert all(stat.S_IMODE(i.external_attr >> 16) == 0o644 for i in infos)
    for required in ("app.py", "requirements.txt", "README.md", "samples/expected.json", "digits/mnist_cnn.onnx",
                     "ocr/models/manifest.json", "deploy/__main__.py"):
        assert required in names


def test_zip_never_carries_caches_tests_or_logs(package: Path):
    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()
    assert not [n for n in names if n.endswith((".pyc", ".log")) or any(f"/{d}" in f"/{n}" for d in NEVER)]


def test_build_is_reproducible_and_ignores_caches(package: Path, tmp_path: Path):
    """Rebuilding from an extracted copy littered with caches, logs and tests gives the same bytes."""
    copy = tmp_path / "copy"
    extract(package, copy)
    (copy / "INSTALL.md").unlink()  # generated at the top of the package, not part of the project
    for junk in ("ocr/__pycache__/engine.cpython-311.pyc", "digits/__pycache__/model.cpython-311.pyc",
                 "ocr/.gradio/cache.bin", "samples/documents/.cache/x", "logs/requests.log", "tests/test_x.py",
                 "docs/notes.log", "run/7860.json", "dist/old.zip"):
        (copy / junk).parent.mkdir(parents=True, exist_ok=True)
        (copy / junk).write_bytes(b"junk")
    rebuilt = build(copy, tmp_path / "out")
    assert rebuilt.sha256 == sha256_of(package)
    assert rebuilt.path.read_bytes() == package.read_bytes()


def test_build_refuses_when_a_file_no_longer_matches(package: Path, tmp_path: Path):
    copy = tmp_path / "copy"
    extract(package, copy)
    (copy / "samples" / "expected.json").write_text(json.dumps({"ocr": []}))
    with pytest.raises(BuildError) as refused:
        build(copy, tmp_path / "out")
    assert [p.where for p in refused.value.problems] == ["samples/expected.json"]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
