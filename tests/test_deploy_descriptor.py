"""descriptor.json: schema, file integrity, versions, models, env documentation; `deploy check` reports."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.descriptor import Problem, load, offline_problems, schema_problems

REPO = Path(__file__).resolve().parents[1]


def copy_project(dest: Path) -> Path:
    """descriptor.json and every file it lists, copied (never linked) into dest."""
    for rel in ["descriptor.json"] + [entry["path"] for entry in load(REPO)["files"]]:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / rel, dest / rel)
    return dest


def deploy_check(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deploy", "check", "--no-server", "--root", str(root)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)


def edit_descriptor(root: Path, change) -> None:
    desc = json.loads((root / "descriptor.json").read_text())
    change(desc)
    (root / "descriptor.json").write_text(json.dumps(desc, indent=2))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


def test_repository_descriptor_matches_the_files():
    assert offline_problems(REPO) == []


def test_descriptor_agrees_with_code_and_manifests():
    desc = load(REPO)
    import app  # the version lives in the entry point
    from digits.weights import read_manifest
    import ocr

    assert desc["version"] == app.__version__
    digit = next(m for m in desc["models"] if m["name"] == "DigitNet-mnist")
    assert digit["framework"] == "onnxruntime"
    assert digit["metrics"]["mnist_test_accuracy"] == read_manifest()["mnist_test_accuracy"]
    assert digit["files"][0]["sha256"] == read_manifest()["sha256"]
    assert {m["framework"] for m in desc["models"]} == {"onnxruntime"}
    onnx = {m["name"]: m for m in desc["models"]}
    for info in ocr.model_info()["models"]:
        listed = {f["path"].rsplit("/", 1)[1]: f["sha256"] for f in onnx[info["name"]]["files"]}
        assert listed["inference.onnx"] == info["sha256"]
    listed = {f["path"] for f in desc["files"]}
    assert listed >= {"app.py", "requirements.txt", "README.md", "digits/mnist_cnn.onnx", "digits/mnist_cnn.json"}
    assert not [path for path in listed if path.endswith(".pth")]  # PyTorch weights are not shipped


def test_schema_rejects_unknown_key_and_names_its_path():
    desc = load(REPO)
    desc["deployment"]["health_check"]["retries"] = 3
    problems, _ = schema_problems(desc)
    assert problems == [Problem("descriptor.json:deployment.health_check.retries",
                                "unknown key (the schema does not allow it)")]


def test_schema_reports_every_error_at_once_sorted_by_path():
    desc = load(REPO)
    desc["colour"] = "blue"
    del desc["licence"]
    desc["files"][2]["sha256"] = "not-a-hash"
    desc["deployment"]["port"] = 70000
    desc["models"][0]["framework"] = "tensorflow"
    problems, broken = schema_problems(desc)
    wheres = [p.where for p in problems]
    assert wheres == sorted(wheres)
    assert wheres == ["descriptor.json:colour", "descriptor.json:deployment.port", "descriptor.json:files[2].sha256",
                      "descriptor.json:licence", "descriptor.json:models[0].framework"]
    assert broken == {"deployment", "files", "licence", "models"}


def test_check_accepts_an_intact_copy(project: Path):
    result = deploy_check(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "deploy check: OK" in result.stdout


def test_check_names_a_tampered_weight_file(project: Path):
    weights = project / "digits" / "mnist_cnn.onnx"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    result = deploy_check(project)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [line for line in result.stdout.splitlines() if line.startswith("digits/")]
    assert "digits/mnist_cnn.onnx: SHA-256" in result.stdout


def test_check_names_a_deleted_file_and_an_unlisted_one(project: Path):
    (project / "ocr/models/PP-OCRv6_small_rec/inference.yml").unlink()
    (project / "ocr/notes.py").write_text("x = 1\n")
    lines = deploy_check(project).stdout.splitlines()
    assert "ocr/models/PP-OCRv6_small_rec/inference.yml: listed in descriptor.json but missing" in lines
    assert any(line.startswith("ocr/notes.py: in the package (package.include) but not listed") for line in lines)


def test_check_names_an_unknown_key_and_still_checks_the_files(project: Path):
    edit_descriptor(project, lambda d: d["models"][1].update(url="https://example.org/model.onnx"))
    (project / "app.py").write_text((project / "app.py").read_text() + "\n# edited\n")
    result = deploy_check(project)
    assert result.returncode == 1
    assert "descriptor.json:models[1].url: unknown key (the schema does not allow it)" in result.stdout
    assert "app.py: size" in result.stdout   # the file checks do not depend on the broken models section


def test_check_reports_version_and_manifest_drift(project: Path):
    edit_descriptor(project, lambda d: d.update(version="9.9.9"))
    manifest = project / "digits" / "mnist_cnn.json"
    info = json.loads(manifest.read_text())
    info["mnist_test_accuracy"] = 0.5
    manifest.write_text(json.dumps(info))
    problems = {p.where: p.message for p in offline_problems(project)}
    assert "but app.py has __version__" in problems["descriptor.json:version"]
    digit_index = next(i for i, m in enumerate(load(project)["models"]) if m["name"] == "DigitNet-mnist")
    assert "0.5" in problems[f"descriptor.json:models[{digit_index}].metrics"]
    assert "digits/mnist_cnn.json" in problems


def test_check_reports_undocumented_environment_variables(project: Path):
    config = project / "digits" / "config.py"
    config.write_text(config.read_text() + '\nBATCH = os.environ.get("DIGITS_BATCH", "1")\n')
    edit_descriptor(project, lambda d: d["deployment"]["env"].append(
        {"name": "OCR_UNUSED", "default": None, "description": "read by nothing"}))
    messages = [str(p) for p in offline_problems(project)]
    assert "digits/config.py: reads DIGITS_BATCH, which descriptor.json deployment.env does not document" in messages
    assert any(m.endswith("OCR_UNUSED: no shipped code reads it") for m in messages)


def test_update_rewrites_hashes_from_disk_but_check_never_fixes(project: Path):
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\nlocal note\n")
    before = (project / "descriptor.json").read_bytes()
    assert deploy_check(project).returncode == 1
    assert (project / "descriptor.json").read_bytes() == before
    update = subprocess.run([sys.executable, "-m", "deploy", "update", "--root", str(project)], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert update.returncode == 0, update.stdout + update.stderr
    entry = next(f for f in load(project)["files"] if f["path"] == "README.md")
    assert entry["size"] == readme.stat().st_size
    assert deploy_check(project).returncode == 0
