"""Therapy-room appliance: the sound of a music therapy room, on a Raspberry Pi."""
__version__ = "0.1.0"
