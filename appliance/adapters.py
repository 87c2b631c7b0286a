"""The adapters, by package name: started in this order after the engine and the control
socket, stopped in reverse. The panel comes after the buttons and the schedule, whose verbs
it shows.

Each is a package appliance/<name>/ with config.py (SECTIONS, parse()), adapter.py
(create(context) -> Adapter, see appliance.daemon) and optionally cli.py (register()). A new
adapter is its own package and one entry here.
"""
ADAPTERS = ("gpio", "schedule", "web", "mqtt")
