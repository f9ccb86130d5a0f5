"""The ``skill-stack`` command."""
