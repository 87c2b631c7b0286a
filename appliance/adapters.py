"""The adapters, by package name: started in this order after the engine and the control
socket, stopped in reverse. The session record comes first (it hears everything the others
start, and closes its session last); the panel after the buttons, the schedule and the
record, whose verbs it shows.

Each is a package appliance/<name>/ with config.py (SECTIONS, parse()), adapter.py
(create(context) -> Adapter, see appliance.daemon) and optionally cli.py (register()). A new
adapter is its own package and one entry here.
"""
ADAPTERS = ("record", "gpio", "schedule", "web", "mqtt")
