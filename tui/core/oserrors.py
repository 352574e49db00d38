"""Why a file could not be read or written, in plain words and naming the culprit: `/data is a file, not a
folder` rather than `Not a directory` or `File exists`."""

from __future__ import annotations

from pathlib import Path


def file_in_the_way(path: Path) -> Path | None:
    """The first of `path`'s parents that exists and is a file, where a folder should be; else None."""
    for parent in reversed(path.parents):
        if parent.exists() and not parent.is_dir():
            return parent
    return None


def why(path: Path, error: OSError) -> str:
    """What went wrong with `path`, for a person."""
    blocker = file_in_the_way(path)
    if blocker is not None:
        return f"{blocker} is a file, not a folder"
    if isinstance(error, IsADirectoryError) or path.is_dir():
        return "it is a folder, not a file"
    if isinstance(error, FileNotFoundError):
        return "no such file" if path.parent.is_dir() else f"no folder {path.parent}"
    if isinstance(error, PermissionError):
        return "permission denied"
    text = error.strerror or str(error)
    return text[:1].lower() + text[1:]
