"""Writing a small file in the state directory so a power cut leaves the old file or the new
one, never half of one: a temp file beside it (mode 0600 from birth), fsync, os.replace,
fsync the folder. A write that fails removes its temp file and leaves the old file whole."""
from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: Path, data: bytes):
    """Raises OSError when the disk refuses (full, read-only); the old file is untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)  # an old temp file of the same name keeps its mode otherwise
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a power cut
    finally:
        os.close(dir_fd)
