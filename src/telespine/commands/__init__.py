"""Command modules of the telespine CLI; each defines register(app)."""
