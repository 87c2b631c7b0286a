"""The session record (issue 13): one row per session with its timeline, in SQLite (WAL) in
the state directory, written as it happens by a thin adapter on its own thread.

db.py opens, checks and changes the file (schema, corrupt files moved aside, retention,
erasure), writer.py turns the engine's events (appliance.events) into rows, adapter.py runs
it in the daemon, reading.py is what `appliance log`, `GET /api/sessions` and the panel's
page read, course.py counts a client's sessions against their profile's course.
Client codes never reach a log line from here: messages name the file, never a code.
"""
