"""What resume tests share: a training process killed with SIGKILL part-way (gm_common's one test of it), and a
callback that records the state a (resumed) run starts from (each toolkit's in-process resume test)."""

from __future__ import annotations

import copy
import signal
import subprocess
import time
from pathlib import Path

from lightning.pytorch.callbacks import Callback

from gm_common.checkpoint import load_checkpoint


def kill_after_checkpoint(cmd: list[str], last: Path, min_step: int, timeout: float = 240, **popen) -> dict:
    """Start ``cmd``, SIGKILL it once ``last`` (its last.ckpt) holds ``min_step`` steps or more; returns that
    checkpoint."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **popen)
    try:
        deadline = time.monotonic() + timeout
        while not (last.is_file() and load_checkpoint(last)["global_step"] >= min_step):
            assert proc.poll() is None and time.monotonic() < deadline, "the run ended or saved nothing in time"
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return load_checkpoint(last)


class CaptureStart(Callback):
    """Records the state a run starts training from (after a resume has been restored) and the steps it runs."""

    def __init__(self):
        self.steps_run = 0

    def on_train_start(self, trainer, pl_module):
        self.state = {
            "global_step": trainer.global_step,
            "optimizer": copy.deepcopy(trainer.optimizers[0].state_dict()),
            "scheduler_epoch": trainer.lr_scheduler_configs[0].scheduler.last_epoch,
            "weights": {k: v.clone() for k, v in pl_module.state_dict().items()},
        }

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.steps_run += 1
