"""ciorch: CI orchestration for Jenkins on Mesos/Marathon or one Docker host."""

__version__ = "0.1.0"

__all__ = ["__version__"]
