"""`appliance analyse [PLAYLIST] [--json]`: each track's length, tempo, loudness and energy,
measured once and cached in the state folder (a running daemon uses the same cache)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

EXIT_SOME_FAILED = 1


def register(sub, common):
    s = sub.add_parser("analyse", parents=[common],
                       help="measure each track's tempo, loudness and energy (cached)")
    s.add_argument("playlist", nargs="?", default=None,
                   help="ambient, welcome, receptive, iso or an .m3u file (a client's own; "
                        "default: every playlist of the config)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_analyse)


def _playlists(cfg, wanted):
    """[(name, tracks)] to analyse; a playlist file is read like the config's."""
    from ..errors import ConfigError
    from ..playlist import load_playlist
    from . import KINDS as kinds
    if wanted is None:
        return [(kind, getattr(cfg.library, kind)) for kind in kinds
                if kind != "iso" or cfg.library.iso]  # the iso list is optional
    if wanted in kinds:
        return [(wanted, getattr(cfg.library, wanted))]
    path = Path(wanted)
    if path.suffix.lower() not in (".m3u", ".m3u8") or not path.is_file():
        raise ConfigError([f"analyse: {wanted!r} is not ambient, welcome, receptive, iso or an "
                           ".m3u playlist file"])
    loaded = load_playlist(path)
    for problem in loaded.problems:
        print(f"warning: playlist: {problem}", file=sys.stderr)
    return [(path.name, loaded.tracks)]


def cmd_analyse(args) -> int:
    from ..config import load_config
    from . import REFERENCE_LUFS
    from .cache import AnalysisCache
    from .measure import tools_missing
    from .run import analyse_all
    cfg = load_config(args.config)
    lists = _playlists(cfg, args.playlist)
    cache = AnalysisCache(cfg.state_dir)
    if cache.notice:
        print(f"note: {cache.notice}", file=sys.stderr)
    tracks = [(name, t) for name, ts in lists for t in ts]
    paths = list(dict.fromkeys(t.path for _, t in tracks))
    missing = tools_missing() if any(cache.get(p) is None for p in paths) else []
    if missing:
        print(f"analyse: {', '.join(missing)} not installed (./setup.sh installs it)",
              file=sys.stderr)
        return EXIT_SOME_FAILED
    bar = _Progress(len(paths)) if sys.stderr.isatty() and not args.json else None
    try:
        results = analyse_all(paths, cache, progress=bar.step if bar else None)
    except OSError as exc:
        print(f"analyse: {cache.path}: cannot write the cache ({exc.strerror or exc})",
              file=sys.stderr)
        return EXIT_SOME_FAILED
    finally:
        if bar:
            bar.close()
    rows = [(name, t, results[t.path]) for name, t in tracks]
    for _, t, a in rows:
        if a.error:
            print(f"error: {a.error}", file=sys.stderr)
    if args.json:
        print(json.dumps({"reference_lufs": REFERENCE_LUFS, "tracks": [
            dict(playlist=name, title=t.title, path=t.path, **a.as_dict())
            for name, t, a in rows]}, indent=2))
    else:
        print(format_table(rows))
    return EXIT_SOME_FAILED if any(a.error for _, _, a in rows) else 0


def format_table(rows) -> str:
    lines = [f"{'playlist':<10} {'title':<28} {'length':>6} {'tempo (BPM)':<16} "
             f"{'loudness':>10} {'gain':>7} {'energy':>6}"]
    for name, t, a in rows:
        if a.error:
            lines.append(f"{name:<10} {t.title[:28]:<28} not analysed: see the error above")
            continue
        length = f"{int(a.seconds) // 60}:{int(a.seconds) % 60:02d}" if a.seconds else "-"
        tempo = f"{a.bpm:g} ({a.bpm_source})" if a.bpm is not None else "-"
        loud = f"{a.lufs:.1f} LUFS" if a.lufs is not None else "silent"
        energy = f"{a.energy:.2f}" if a.energy is not None else "-"
        lines.append(f"{name:<10} {t.title[:28]:<28} {length:>6} {tempo:<16} {loud:>10} "
                     f"{a.gain_db:+6.1f}dB {energy:>6}")
        lines.extend(f"{'':<10} note: {note}" for note in a.notes)
    return "\n".join(lines)


class _Progress:
    """A one-line bar on the terminal's stderr: [#####.....] 3/10 title."""
    WIDTH = 24

    def __init__(self, total: int):
        self.total, self.done = max(total, 1), 0
        self._draw("")

    def step(self, path, analysis, measured):
        self.done += 1
        self._draw(Path(path).name)

    def _draw(self, name: str):
        filled = self.WIDTH * self.done // self.total
        sys.stderr.write(f"\r\033[K[{'#' * filled}{'.' * (self.WIDTH - filled)}] "
                         f"{self.done}/{self.total} {name[:40]}")
        sys.stderr.flush()

    def close(self):
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()
