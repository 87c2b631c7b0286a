"""Client profiles, keyed by a code (never a name): each client's own welcome song, a lower
cap, levels, fades, receptive playlist, reflection length and course (issue 13).

rules.py checks a profile against the room (the one place that validates it), store.py keeps
them in the state directory, cli.py is `appliance client ...`. The code never leaves the box:
nothing here logs or publishes it.
"""
