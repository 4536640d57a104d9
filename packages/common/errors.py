"""Exception types shared by every toolkit: one clear type per kind of failure."""

from __future__ import annotations

from pathlib import Path


class ToolkitError(Exception):
    """Base class of every error the toolkits raise on purpose (bad input, missing files, ...)."""


class InputFileError(ToolkitError):
    """A user-supplied file cannot be used: missing, empty, corrupt, unsupported or without usable notes."""

    def __init__(self, path: str | Path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class CheckpointError(ToolkitError):
    """A checkpoint is missing, unreadable or does not match the model/config it is loaded into."""


class ConfigError(ToolkitError):
    """A configuration value is invalid (unknown name, inconsistent sizes, ...)."""


class MissingDependencyError(ToolkitError):
    """A system program or file the toolkit needs (FluidSynth, a soundfont) is not installed."""
