"""Write a corpus case's files under its folder and return its argv with `{d}` filled in."""

from __future__ import annotations

from pathlib import Path

from tests.validate.corpus import Case


def materialise(case: Case, root: Path) -> list[str]:
    """Create `root` with the case's files (a name ending in `.keep` makes only its folder) and return argv."""
    root.mkdir(parents=True, exist_ok=True)
    for name, content in case.files.items():
        path = root / name
        if name.endswith(".keep"):
            (root / name.removesuffix(".keep")).mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.replace("{d}", str(root)) if isinstance(content, str) else content
        path.write_bytes(data.encode() if isinstance(data, str) else data)
    return [a.replace("{d}", str(root)) for a in case.argv]
