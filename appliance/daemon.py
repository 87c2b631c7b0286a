"""Builds the engine and the adapters from config, starts them in order, stops them in reverse.

An adapter is a package `appliance/<name>/` with `config.py` (its sections of config.toml)
and `adapter.py`, whose `create(context)` returns an `Adapter` (or None: it stays off). A new
adapter touches nothing but its own package and one line of appliance/adapters.py.

What an adapter gets is an `AdapterContext`: its own config section, what it may know of the
room, `submit` (the engine's one inbox), the status stream, its own fault line, and the verb
registry (to call verbs other adapters offer, as the panel does). What it offers is `start`,
`stop` and `verbs()`: the commands it carries out, registered in one call.
"""
from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Optional, Protocol

from . import session
from .adapters import ADAPTERS
from .engine import Engine, Pending
from .levels import level_to_db
from .profiles.desk import ClientDesk
from .session.model import Settings
from .status import Status
from .verbs import Handler, Registry


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoomInfo:
    """What any adapter may know about the room it serves."""
    id: str
    name: str
    settings: Settings        # cap, receptive lengths ... (immutable)
    socket_dir: Path          # a writable run-time folder (the control socket's)
    state_dir: Path           # what must survive a restart


class EngineView(Protocol):
    """What adapters use of the engine: the one inbox, the newest snapshot, the callbacks
    after each change (they run on the engine thread: only hand the news on), fault lines.
    appliance.engine.Engine is one; tests' stand-ins are others (tests/test_contracts.py)."""

    clock: Callable[[], float]  # the monotonic clock the snapshot's deadline is on

    def submit(self, command, source: str = "") -> Pending: ...
    def status(self) -> Status: ...
    def status_dict(self) -> dict: ...
    def subscribe(self, callback: Callable[[Status], None]) -> None: ...
    def subscribe_events(self, callback: Callable[[dict], None]) -> None: ...
    def unsubscribe(self, callback) -> None: ...
    def report_fault(self, source: str, message: Optional[str]) -> None: ...


@dataclass(frozen=True)
class AdapterContext:
    """What an adapter gets."""
    name: str
    config: object                         # its own section, from <package>/config.py
    room: RoomInfo
    engine: EngineView                     # submit(), the status stream, report_fault()
    verbs: Registry                        # call() what others offer (the panel does)
    clients: Optional[ClientDesk] = None   # the profiles: edited (panel), resolved (schedule)

    def report_fault(self, message: Optional[str]):
        """This adapter's fault line in status (None clears it)."""
        self.engine.report_fault(self.name, message)


class Adapter(Protocol):
    """What an adapter offers."""

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def verbs(self) -> Mapping[str, Handler]: ...  # verb -> handler(args); {} for none


class Daemon:
    def __init__(self, cfg):
        self.cfg = cfg
        self.engine: Optional[Engine] = None
        self.audio = None
        self.control = None
        self.analysis = None  # the background track analysis (tests wait on it)
        self.registry: Optional[Registry] = None
        self.clients: Optional[ClientDesk] = None
        self.adapters: dict[str, Adapter] = {}  # the running ones, by name (tests look in)
        self._started: list = []

    def start(self):
        from .audio.output import open_audio
        from .control import ControlSocket
        from .analysis import annotated
        from .analysis.background import BackgroundAnalysis, cached_library
        from .calibration import load_calibration
        cfg = self.cfg
        library, cache = cached_library(cfg.library, cfg.state_dir)  # what is known already
        state = session.new_state(cfg.settings, library)
        # libVLC is created here, at start-up, never on the first command
        self.audio = open_audio(cfg.audio, lambda cmd: self.engine.submit(cmd),
                                cfg.socket_path.parent, level_to_db(cfg.settings.cap),
                                cfg.room_id)
        self._started.append(self._close_audio)
        calibration, problem = load_calibration(cfg.state_dir)  # the room level in dB SPL
        if problem:
            log.warning("%s", problem)
        self.engine = Engine(state, self.audio, room={"id": cfg.room_id, "name": cfg.room_name,
                                                      "calibration": calibration})
        self.engine.start()
        self._started.append(self.engine.shutdown)
        self.registry = Registry(self.engine)
        # a client's own receptive playlist: its tempos and gains from the same cache
        self.clients = ClientDesk.of(cfg, lambda tracks: tuple(
            annotated(t, cache.get(t.path)) for t in tracks))
        self.registry.offer_commands("clients", self.clients.commands())
        self.control = ControlSocket(self.registry, cfg.socket_path)
        self.control.start()
        self._started.append(self.control.stop)
        if cfg.analysis.background:  # new files: measured at low priority while the room runs
            self.analysis = BackgroundAnalysis(library, cache, self.engine.submit)
            self.analysis.start()
            self._started.append(self.analysis.stop)
        log.info("audio output: %s, cap %g", self.audio.output_name, cfg.settings.cap)
        if self.audio.output_fault:
            log.error("audio output: %s", self.audio.output_fault)
        # the room runs on without its card (panel, buttons, schedule): the fault shows
        # everywhere, and the sound starts when the card is there
        self.audio.start_watch(lambda problem: self.engine.report_fault("audio", problem))
        room = RoomInfo(cfg.room_id, cfg.room_name, cfg.settings, cfg.socket_path.parent,
                        cfg.state_dir)
        for name in ADAPTERS:
            self.start_adapter(name, room)

    def start_adapter(self, name: str, room: RoomInfo, **options) -> Optional[Adapter]:
        """Start one adapter from its config section (None: not configured, or it stays
        off with its reason in status). `options` reach its create() (tests: clocks)."""
        config = self.cfg.adapters.get(name)
        if config is None:
            return None
        module = importlib.import_module(f".{name}.adapter", __package__)
        context = AdapterContext(name, config, room, self.engine, self.registry, self.clients)
        adapter = module.create(context, **options)
        if adapter is None:
            return None
        adapter.start()
        self._started.append(adapter.stop)
        self.adapters[name] = adapter
        self.registry.offer(name, adapter.verbs())
        return adapter

    def _close_audio(self):
        """libVLC is released only once the engine thread has ended: a stuck engine may be
        inside a libVLC call, and the process's exit silences libVLC anyway."""
        if self.engine is not None and not self.engine.stopped.is_set():
            log.error("audio: the engine thread is still running; libVLC is left to the exit")
            return
        self.audio.close()

    def stop(self):
        while self._started:
            stop = self._started.pop()
            try:
                stop()
            except Exception:
                log.exception("while stopping %s", stop)
