"""Builds the adapters from config, starts them in order and stops them in reverse."""
from __future__ import annotations

import logging

from . import session
from .audio.output import open_audio
from .control import ControlSocket
from .engine import Engine
from .gpio import adapter as gpio_adapter
from .levels import level_to_db
from .mqtt import adapter as mqtt_adapter
from .schedule import adapter as schedule_adapter
from .web import adapter as web_adapter

#: started in this order after the engine and the control socket, stopped in reverse
ADAPTERS = (("gpio", gpio_adapter), ("schedule", schedule_adapter), ("web", web_adapter),
            ("mqtt", mqtt_adapter))

log = logging.getLogger(__name__)


class Daemon:
    def __init__(self, cfg):
        self.cfg = cfg
        self.engine = None
        self.audio = None
        self.control = None
        self.adapters = {}  # name -> what the adapter exposes to later ones (or None)
        self._started = []

    def start(self):
        cfg = self.cfg
        state = session.new_state(cfg.settings, cfg.library)
        # libVLC is created here, at start-up, never on the first command
        self.audio = open_audio(cfg.audio, lambda cmd: self.engine.submit(cmd),
                                cfg.socket_path.parent, level_to_db(cfg.settings.cap),
                                cfg.room_id)
        self._started.append(self.audio.close)
        if cfg.library.welcome:  # the room's song waits pre-rolled: a press only resumes it
            self.audio.preroll.want(cfg.library.welcome[0])
        self.engine = Engine(state, self.audio, room={"id": cfg.room_id, "name": cfg.room_name})
        self.engine.start()
        self._started.append(self.engine.shutdown)
        self.control = ControlSocket(self.engine, cfg.socket_path)
        self.control.start()
        self._started.append(self.control.stop)
        log.info("audio output: %s, cap %g", self.audio.output_name, cfg.settings.cap)
        if self.audio.output_fault:
            log.error("audio output: %s", self.audio.output_fault)
        # the room runs on without its card (panel, buttons, schedule): the fault shows
        # everywhere, and the sound starts when the card is there
        self.audio.start_watch(lambda problem: self.engine.report_fault("audio", problem))
        for _name, adapter in ADAPTERS:
            stop = adapter.start(self)
            if stop is not None:
                self._started.append(stop)

    def stop(self):
        while self._started:
            stop = self._started.pop()
            try:
                stop()
            except Exception:
                log.exception("while stopping %s", stop)
