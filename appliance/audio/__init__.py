"""Room audio: perceptual fades, the volume cap, and the libVLC channels."""
