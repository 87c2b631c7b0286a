"""The therapist's phone panel (Flask app served by waitress). See issue 4."""
