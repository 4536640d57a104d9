"""A mido backend of in-memory ports, for testing the live loop without a MIDI system (``backend=`` this module).

An input port plays the messages listed in ``INPUTS[name]``, each when its ``time`` (seconds from the port's
opening) comes, then closes: the end of the input. An output port (virtual or not) keeps what it is sent in
``SENT[name]``; ``OUTPUTS`` lists the non-virtual ones.
"""

from __future__ import annotations

import time

import mido
from mido.ports import BaseInput, BaseOutput

INPUTS: dict[str, list[mido.Message]] = {}
OUTPUTS: list[str] = []
SENT: dict[str, list[mido.Message]] = {}


def get_devices(**kwargs) -> list[dict]:
    """The ports, as mido's backends list them."""
    return [{"name": n, "is_input": True, "is_output": False} for n in INPUTS] + [
        {"name": n, "is_input": False, "is_output": True} for n in OUTPUTS
    ]


class Input(BaseInput):
    """Gives the listed messages on time, then closes."""

    def _open(self, virtual: bool = False, callback=None, **kwargs) -> None:
        self.pending = list(INPUTS[self.name])
        self.opened = time.perf_counter()

    def _receive(self, block: bool = True) -> mido.Message | None:
        if self.pending:
            time.sleep(max(0.0, self.opened + self.pending[0].time - time.perf_counter()))
            return self.pending.pop(0).copy(time=0)
        self.close()
        return None


class Output(BaseOutput):
    """Keeps what it is sent."""

    def _open(self, virtual: bool = False, **kwargs) -> None:
        if not virtual and self.name not in OUTPUTS:
            raise OSError(f"unknown port {self.name}")
        SENT[self.name] = []

    def _send(self, msg: mido.Message) -> None:
        SENT[self.name].append(msg)
