"""python -m ocr on a folder: every format per file, a progress bar, a summary, bad files named, batch goes on."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_cli_converts_a_folder_and_names_the_bad_files(samples_dir, tmp_path):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(samples_dir / "documents" / "receipt_052.jpg", folder)
    shutil.copy(samples_dir / "documents" / "two_column.pdf", folder / "sub")
    (folder / "broken.pdf").write_bytes((samples_dir / "documents" / "two_column.pdf").read_bytes()[:300])
    (folder / "notes.txt").write_text("not a document, skipped")
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "ocr", str(folder), "--format", "pdf,alto,md,txt", "--out", str(out),
                          "--workers", "2"], capture_output=True, text=True, cwd=REPO, timeout=1200)
    assert run.returncode == 1, run.stderr[-2000:]
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == sorted(["receipt_052.pdf", "receipt_052.alto.xml", "receipt_052.md", "receipt_052.txt",
                              "sub/two_column.pdf", "sub/two_column.alto.xml", "sub/two_column.md", "sub/two_column.txt"])
    assert f"FAILED {folder / 'broken.pdf'}: The PDF is damaged" in run.stderr
    assert "3/3" in run.stderr and "file" in run.stderr  # the tqdm bar reached the end
    assert "2 of 3 files converted (2 pages, 8 files written" in run.stdout
    assert "1 failed" in run.stdout
    assert "TOTAL" in (out / "receipt_052.txt").read_text()


def test_cli_usage_errors(tmp_path):
    run = subprocess.run([sys.executable, "-m", "ocr", "x.png", "--format", "docx", "--out", str(tmp_path / "x")],
                         capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 2 and "docx" in run.stderr
