"""Choosing and opening gpiozero's pin factory: lgpio on a Raspberry Pi, mock pins elsewhere.

lgpio creates its notification pipe ('.lgd-nfy0') the moment its Python module is imported:
the C library puts it in $LG_WD (or the working directory), while the Python side opens it
relative to the working directory (gpiozero issue 1106). Under systemd the working directory
is often '/' and not writable, so the import failed. We point LG_WD at a writable folder and
import lgpio with that folder as the working directory, then return to where we were.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

MODEL_FILES = (Path("/proc/device-tree/model"), Path("/sys/firmware/devicetree/base/model"))
_import_lock = threading.Lock()  # the working directory is process-wide


def is_raspberry_pi(model_files=MODEL_FILES) -> bool:
    for path in model_files:
        try:
            if "Raspberry Pi" in path.read_text(errors="replace"):
                return True
        except OSError:
            continue
    return False


def choose(kind: str, model_files=MODEL_FILES) -> str:
    """'auto' -> 'lgpio' on a Raspberry Pi, 'mock' elsewhere (so the demo runs anywhere)."""
    if kind != "auto":
        return kind
    return "lgpio" if is_raspberry_pi(model_files) else "mock"


def open_factory(kind: str, lgpio_dir: Path):
    """A new pin factory of `kind` ('mock' or 'lgpio'); raises when GPIO cannot be opened."""
    if kind == "mock":
        from gpiozero.pins.mock import MockFactory, MockPWMPin
        return MockFactory(pin_class=MockPWMPin)  # PWM-capable, so PWMLEDs work too
    if kind == "lgpio":
        try:
            with _lgpio_working_dir(lgpio_dir):
                from gpiozero.pins.lgpio import LGPIOFactory
        except ModuleNotFoundError as exc:
            if exc.name != "lgpio":
                raise
            raise ModuleNotFoundError("the lgpio library is not installed (./setup.sh installs "
                                      "it on 64-bit Raspberry Pi OS)", name="lgpio") from None
        return LGPIOFactory()
    raise ValueError(f"unknown pin factory {kind!r}")


@contextmanager
def _lgpio_working_dir(folder: Path):
    if "lgpio" in sys.modules:  # the pipe exists already: nothing to do
        yield
        return
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"{folder}: lgpio needs a writable folder for its pipe")
    with _import_lock:
        os.environ["LG_WD"] = str(folder)
        previous = os.getcwd()
        os.chdir(folder)
        try:
            yield
        finally:
            os.chdir(previous)
