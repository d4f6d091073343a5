"""Command families of the ``fathom`` CLI; each module exposes ``register(app)``."""
