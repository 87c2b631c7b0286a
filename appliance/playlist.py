"""M3U / M3U8 playlists: paths relative to the playlist file, #EXTINF titles kept.

Problems with single tracks (missing, unreadable, empty) are reported at load and the track is
left out; a playlist that cannot be read at all is a PlaylistError naming the file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import PlaylistError
from .session.model import Track


@dataclass(frozen=True)
class LoadedPlaylist:
    path: Path
    tracks: tuple[Track, ...]
    problems: tuple[str, ...]  # one line per track left out


def load_playlist(path: Path) -> LoadedPlaylist:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PlaylistError(f"{path}: cannot read playlist ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # old .m3u files from Windows players
    base = path.parent
    tracks: list[Track] = []
    problems: list[str] = []
    title = None
    for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            if line.upper().startswith("#EXTINF:") and "," in line:
                title = line.split(",", 1)[1].strip() or None
            continue
        entry = line
        if "://" in entry:
            problems.append(f"{path}:{number}: {entry}: only local files are played")
            title = None
            continue
        track_path = Path(entry) if os.path.isabs(entry) else base / entry
        problem = _track_problem(track_path)
        if problem:
            problems.append(f"{path}:{number}: {entry}: {problem}")
        else:
            tracks.append(Track(path=str(track_path.resolve()),
                                title=title or track_path.stem.replace("_", " ")))
        title = None
    return LoadedPlaylist(path, tuple(tracks), tuple(problems))


def _track_problem(track_path: Path) -> str:
    try:
        st = track_path.stat()
    except FileNotFoundError:
        return "file not found"
    except OSError as exc:
        return f"cannot read ({exc.strerror or exc})"
    except ValueError:  # a NUL in the line: no file can have that name
        return "not a file name (it holds a NUL character)"
    if not track_path.is_file():
        return "not a file"
    if st.st_size == 0:
        return "file is empty (0 bytes)"
    if not os.access(track_path, os.R_OK):
        return "permission denied"
    return ""
