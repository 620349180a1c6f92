"""Where the shared real-device vectors live, and how tests skip when they are absent.

The vectors are never copied into this repository: a user's clone without them still passes,
with the vector-driven tests skipped and saying why.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VECTORS_ENV = "GB_VECTORS_DIR"


def vectors_root() -> Path:
    return Path(os.environ.get(VECTORS_ENV, PROJECT_ROOT.parent / "shared" / "vectors")).resolve()


def vector_path(relative: str) -> Path:
    """Return the path of one vector file or folder, or skip the calling test saying why."""
    path = vectors_root() / relative
    if not path.exists():
        pytest.skip(f"vector {relative!r} not found under {vectors_root()} (set {VECTORS_ENV} to run it)")
    return path


def vector_files(relative_dir: str, pattern: str = "*") -> list[Path]:
    """List vector files for parametrisation; an empty list when the folder is absent."""
    folder = vectors_root() / relative_dir
    if not folder.is_dir():
        return []
    return sorted(folder.glob(pattern))
