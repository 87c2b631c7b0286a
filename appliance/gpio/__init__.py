"""Physical buttons and status lights (gpiozero). See issue 3."""
