"""The repository stands on its own: a fresh clone with nothing beside it installs, tests and runs."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.spec_validation import DEFAULT_SPEC_PATH

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE_PATHS = ("../shared", "/work/", "/root/", "/home/")
"""Path fragments that would tie the repository to one machine's layout."""


def tracked_text_files() -> list[Path]:
    names = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.splitlines()
    this_file = Path(__file__).resolve().relative_to(ROOT).as_posix()
    return [ROOT / name for name in names if not name.startswith("vendor/") and name != this_file]


def test_no_tracked_file_names_a_path_outside_the_repository() -> None:
    offenders = []
    for path in tracked_text_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        offenders += [f"{path.relative_to(ROOT)}: {frag}" for frag in OUTSIDE_PATHS if frag in text]
    assert offenders == []


def test_the_spec_is_vendored_with_its_licence_and_provenance() -> None:
    vendored = DEFAULT_SPEC_PATH.parent
    assert DEFAULT_SPEC_PATH.is_relative_to(ROOT)
    assert "\nopenapi: 3.0.1\n" in DEFAULT_SPEC_PATH.read_text(encoding="utf-8")[:100]
    assert "MIT License" in (vendored / "LICENSE.md").read_text(encoding="utf-8")
    provenance = (vendored / "PROVENANCE.md").read_text(encoding="utf-8")
    assert "8889625a7b931d8649e18726e7f872ff073520fc" in provenance
    assert "descriptions/2.11/api.intercom.io.yaml" in provenance
