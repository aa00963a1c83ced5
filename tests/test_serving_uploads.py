"""The sweep of an upload folder that replicas share: old files go, young ones and the folders around them
stay (a folder Gradio has just made is about to receive its upload)."""
from __future__ import annotations

import time
from pathlib import Path

from serving.uploads import sweep

AGE_S = 1.0


def upload(folder: Path, name: str) -> Path:
    """A file stored the way Gradio stores an upload: <folder>/<sha256 of its content>/<name>."""
    path = folder / f"sha-of-{name}" / name
    path.parent.mkdir(parents=True)
    path.write_bytes(b"a person's document")
    return path


def test_sweep_deletes_files_older_than_the_age_then_their_empty_folders(tmp_path):
    old = upload(tmp_path, "old.png")
    time.sleep(AGE_S + 0.5)
    young = upload(tmp_path, "young.png")
    just_made = tmp_path / "sha-of-next-upload"
    just_made.mkdir()

    assert sweep(tmp_path, AGE_S) == 1
    assert not old.exists() and young.exists() and just_made.is_dir()
    assert old.parent.is_dir()  # changed just now (its file went): it goes once it has been empty AGE_S

    time.sleep(AGE_S + 0.5)
    assert sweep(tmp_path, AGE_S) == 1  # young.png is old now
    assert list(tmp_path.iterdir()) == [young.parent]  # emptied just now; the other two were old and empty


def test_a_file_written_again_is_young_again(tmp_path):
    """Two replicas given the same file write the same path: the second writing counts from its own time."""
    path = upload(tmp_path, "same.png")
    time.sleep(AGE_S + 0.5)
    path.with_name("incoming").write_bytes(b"a person's document")
    path.with_name("incoming").replace(path)  # how Gradio puts an upload in place (os.rename)
    assert sweep(tmp_path, AGE_S) == 0 and path.exists()
