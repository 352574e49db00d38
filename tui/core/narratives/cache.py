"""The parsed narratives, kept in the user's cache dir between runs.

Loading the fifteen shipped files (about 180 claims, each rule parsed and checked) is most of what a dashboard
does before its first frame. What it yields depends only on the files and on the code that reads them, so it
is kept in one file in the user cache dir (platformdirs), under a key made of each file's path, size and
mtime (the shipped files, names.toml, themes.toml and the user's own), the same of the modules that parse
them, the cap on the user's claims and the day (a rule's dates are checked against it). A cache that does
not match is read again from the files and written anew, atomically (a temporary file, then a rename); one
that cannot be read (cut short, written by something else) is the same as none. Never an error: at worst,
the files are parsed as they would have been without it.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from tui.core.narratives.claims import MAX_CLAIMS, NARRATIVES_DIR, Narratives, load_narratives

CACHE_FILE = "narratives.pickle"
FORMAT = "tapecheck-narratives-1"  # what the file starts with; another layout is read as no cache
_CODE = (Path(__file__).parent, Path(__file__).parent.parent / "model.py", Path(__file__).parent.parent / "dates.py")

Key = tuple[object, ...]


def default_cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("tapecheck"))


def _stats(paths: list[Path]) -> tuple[tuple[str, int, int], ...]:
    found = []
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            continue
        found.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(found)


def _files(directory: Path) -> list[Path]:
    try:
        return sorted(p for p in directory.glob("*.toml") if not p.is_dir())
    except OSError:
        return []


def cache_key(directory: Path, user_dirs: tuple[Path, ...], max_claims: int) -> Key:
    """What the parsed narratives depend on: every file read, the code reading them, the cap and the day."""
    code = [p for root in _CODE for p in (sorted(root.rglob("*.py")) if root.is_dir() else [root])]
    files = _files(directory) + [p for d in user_dirs for p in _files(d)]
    return (FORMAT, str(directory), tuple(map(str, user_dirs)), max_claims, datetime.now(UTC).date().isoformat(),
            _stats(files), _stats(code))


def read_cache(path: Path, key: Key) -> Narratives | None:
    """The narratives kept at `path` under `key`; None when there are none, or others, or the file is unreadable."""
    try:
        with path.open("rb") as file:
            if file.read(len(FORMAT)) != FORMAT.encode():
                return None
            kept_key, narratives = pickle.load(file)  # the user's own cache dir, written by us
    except Exception:  # cut short, another program's, an older layout: as if there were none
        return None
    return narratives if kept_key == key and isinstance(narratives, Narratives) else None


def write_cache(path: Path, key: Key, narratives: Narratives) -> None:
    """Keep `narratives` at `path` under `key`, atomically; a cache that cannot be written is left unwritten."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".narratives-", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(FORMAT.encode())
                pickle.dump((key, narratives), file, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except (OSError, pickle.PicklingError, TypeError, AttributeError, RecursionError):
        pass  # a full disk, a read-only home: the next run parses the files again


def cached_narratives(directory: Path = NARRATIVES_DIR, user_dirs: tuple[Path, ...] = (),
                      max_claims: int = MAX_CLAIMS, cache_dir: Path | None = None) -> Narratives:
    """load_narratives(directory, user_dirs, max_claims), from the cache when the files are as they were."""
    path = (cache_dir or default_cache_dir()) / CACHE_FILE
    key = cache_key(directory, user_dirs, max_claims)
    narratives = read_cache(path, key)
    if narratives is None:
        narratives = load_narratives(directory, user_dirs, max_claims)  # NarrativeError: not kept, raised
        write_cache(path, key, narratives)
    return narratives
