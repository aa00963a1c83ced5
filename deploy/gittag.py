"""Tagging a verified release v<version> in the git checkout it was built from, never moving a tag."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from deploy.config import DESCRIPTOR_NAME


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True)


def tag_release(repo: Path, version: str, descriptor: bytes) -> tuple[bool, str]:
    """Create tag v<version> on HEAD when HEAD's descriptor.json is the verified package's (same files, same
    hashes). An existing tag is never moved. Returns (tag now on HEAD, what happened)."""
    tag = f"v{version}"
    if shutil.which("git") is None:
        return False, "git is not installed: no tag created"
    if _git(repo, "rev-parse", "--is-inside-work-tree").returncode != 0:
        return False, f"{repo} is not a git checkout: no tag created"
    head = _git(repo, "rev-parse", "--verify", "-q", "HEAD^{commit}")
    if head.returncode != 0:
        return False, "the repository has no commit yet: no tag created"
    head_sha = head.stdout.decode().strip()
    existing = _git(repo, "rev-parse", "--verify", "-q", f"refs/tags/{tag}^{{commit}}")
    if existing.returncode == 0:
        tagged = existing.stdout.decode().strip()
        if tagged == head_sha:
            return True, f"{tag} already marks HEAD {head_sha[:12]}"
        return False, f"{tag} already exists on {tagged[:12]}, not on HEAD {head_sha[:12]}: left untouched"
    committed = _git(repo, "show", f"HEAD:./{DESCRIPTOR_NAME}")
    if committed.returncode != 0 or committed.stdout != descriptor:
        return False, (f"HEAD's {DESCRIPTOR_NAME} is not the verified package's (commit the release first): "
                       f"no tag created")
    created = _git(repo, "tag", tag, head_sha)
    if created.returncode != 0:
        return False, f"git tag {tag} failed: {created.stderr.decode().strip()}"
    return True, f"tagged HEAD {head_sha[:12]} as {tag}"
