import numpy as np
import pytest
import torch

from arranger.lightning import ArrangerData, ArrangerModule, LengthBuckets

DATASET = {"name": "bach", "labels": list("SATB"), "programs": [0] * 4}
MODEL = {"kind": "lstm", "name": "lstm", "hidden": 8, "layers": 1}


def test_length_buckets_cover_every_item_once_with_similar_lengths():
    rng = np.random.default_rng(0)
    lengths = rng.integers(10, 500, 100).tolist()
    sampler = LengthBuckets(lengths, batch_size=8, pool=4, seed=0)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 13
    assert sorted(i for b in batches for i in b) == list(range(100))
    spread = np.mean([np.ptp([lengths[i] for i in b]) for b in batches if len(b) == 8])
    assert spread < 0.5 * np.ptp(lengths)


def test_datamodule_crops_and_batches(cache_dir):
    data = ArrangerData("bach", cache_dir=str(cache_dir), limit=12, batch_size=3, crop=20, transpose=(0, 0))
    data.setup()
    batch = next(iter(data.train_dataloader()))
    assert batch["pitch"].shape == (3, 20)
    assert len(data.val_dataloader().dataset) == len(data.splits["valid"])
    test = next(iter(data.test_dataloader()))
    assert test["pitch"].shape[1] == len(data.splits["test"][0])  # whole pieces, not crops


def test_schedule_config_drives_the_learning_rate():
    module = ArrangerModule(
        MODEL, DATASET, lr=1.0, schedule={"shape": "cosine", "total_steps": 10, "warmup_steps": 2, "floor": 0.1}
    )
    conf = module.configure_optimizers()
    opt, sched = conf["optimizer"], conf["lr_scheduler"]["scheduler"]
    lrs = []
    for _ in range(12):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(0.5) and lrs[1] == pytest.approx(1.0)
    assert lrs[-1] == pytest.approx(0.1) and all(a >= b for a, b in zip(lrs[2:], lrs[3:]))


def test_weight_decay_picks_adamw_and_ema_is_used_in_eval():
    module = ArrangerModule(MODEL, DATASET, weight_decay=0.01, ema=0.5)
    assert isinstance(module.configure_optimizers(), torch.optim.AdamW)
    assert module.ema_net is not None and not any(p.requires_grad for p in module.ema_net.parameters())
    assert ArrangerModule(MODEL, DATASET).configure_optimizers().__class__ is torch.optim.Adam


def test_ema_warmup_forgets_the_first_weights_faster():
    plain, warm = (ArrangerModule(MODEL, DATASET, ema=0.999, ema_warmup=w) for w in (False, True))
    warm.net.load_state_dict(plain.net.state_dict())
    warm.ema_net.module.load_state_dict(plain.ema_net.module.state_dict())
    for module in (plain, warm):
        for _ in range(50):
            with torch.no_grad():
                for p in module.net.parameters():
                    p.add_(1.0)  # every step moves the weights by one
            module.ema_net.update_parameters(module.net)

    def lag(module):  # how far the average trails the current weights (0 = caught up)
        pairs = zip(module.net.parameters(), module.ema_net.module.parameters())
        return max((p - a).abs().max().item() for p, a in pairs)

    assert lag(warm) < 10 < 45 < lag(plain) <= 50
