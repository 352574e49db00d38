"""Loading drafted narrative files the way the app loads narratives: beside the shipped themes, one folder."""

from __future__ import annotations

import shutil
from pathlib import Path

from tui.core.narratives.claims import NARRATIVES_DIR, THEMES_FILE, Narratives, load_narratives

ARTICLES = Path(__file__).parent / "data" / "draft"


def narratives_folder(tmp_path: Path, *texts: str) -> Path:
    """A folder holding the shipped themes.toml and each text as a narrative file."""
    folder = tmp_path / "narratives"
    folder.mkdir(exist_ok=True)
    shutil.copy(NARRATIVES_DIR / THEMES_FILE, folder / THEMES_FILE)
    for number, text in enumerate(texts):
        (folder / f"draft_{number}.toml").write_text(text, encoding="utf-8")
    return folder


def load_drafts(tmp_path: Path, *texts: str) -> Narratives:
    """The drafts loaded through the shipped loader (which type-checks every rule and refuses duplicate ids)."""
    return load_narratives(narratives_folder(tmp_path, *texts))
