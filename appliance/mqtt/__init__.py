"""MQTT state, events, light scenes and Home Assistant discovery. See issue 6."""
