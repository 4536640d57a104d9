"""Retrain every shipped model with its recorded command, then export it (safetensors + card.json).

    .venv/bin/python scripts/pretrained.py                      # train what is missing, export all (hours)
    .venv/bin/python scripts/pretrained.py --only arranger/bach_lstm
    .venv/bin/python scripts/pretrained.py --export-only        # re-export finished runs

``make pretrained`` calls this. Runs go to ``outputs/pretrained/<pkg>/<name>/``; the shipped files to
``packages/<pkg>/pretrained/<name>/``. Each training run uses one CPU thread, two runs at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = Path("outputs/pretrained")


def _arranger(data: str, model: str, minutes: int, extra: list[str]) -> list[list[str]]:
    return [
        [
            "arranger.train",
            f"model={model}",
            f"data={data}",
            "experiment=cpu30",
            f"trainer.max_cpu_minutes={minutes - 1}",
            f"train.schedule.total_minutes={minutes - 3}",
            "train.patience=null",
            "trainer.progress_refresh_rate=200",
            *extra,
        ]
    ]


def _arranger_gpu(data: str, model: str, minutes: int, extra: list[str]) -> list[list[str]]:
    """The 30-CPU-minute recipe run for ``minutes`` wall-clock minutes on one GPU (fp32: these models gain nothing
    from bf16), with ten times the crops per epoch so that validation does not dominate."""
    return [
        [
            "arranger.train",
            f"model={model}",
            f"data={data}",
            "experiment=cpu30",
            "trainer=gpu",
            "trainer.precision=32-true",
            "trainer.max_cpu_minutes=null",
            f"trainer.max_time=00:00:{minutes:02d}:20",
            "train.schedule.clock=wall",
            f"train.schedule.total_minutes={minutes}",
            "train.patience=null",
            "trainer.progress_refresh_rate=2000",
            "data.samples_per_epoch=3200",
            "trainer.check_val_every_n_epoch=4",
            *extra,
        ]
    ]


# The BiLSTM recipe of issue 5 (dropout 0.5, weight average, best by validation accuracy); the LSTM gets the
# same weight average and selection.
AVERAGE = ["train.ema=0.999", "train.monitor=val/acc"]
RECIPES: dict[str, list[list[str]]] = {
    "arranger/bach_bilstm": _arranger("bach", "bilstm", 30, ["model.dropout=0.5", *AVERAGE]),
    "arranger/bach_lstm": _arranger("bach", "lstm", 20, AVERAGE),
    "arranger/quartets_bilstm": _arranger("quartets", "bilstm", 30, ["model.dropout=0.5", *AVERAGE]),
    "arranger/quartets_lstm": _arranger("quartets", "lstm", 20, AVERAGE),
    "arranger/bach_transformer_enc": _arranger_gpu(  # issue 14: recipe picked on validation over 9 runs, seed over 4
        "bach",
        "transformer_enc",
        6,
        [
            "seed=1",
            "train.lr=2e-3",
            "train.ema=0.999",
            "train.ema_warmup=true",
            "train.monitor=val/acc",
            "model.distance_bias=true",
        ],
    ),
    "arranger/bach_transformer_dec": _arranger("bach", "transformer_dec", 30, ["train.lr=1e-3", *AVERAGE]),
    "mmt/corpus_tiny": [
        [
            "mmt.train",
            "experiment=corpus_tiny",
            "torch_threads=1",
            "trainer.progress_refresh_rate=200",
        ]
    ],
    "mmt/corpus_tiny_infill": [  # issue 31: the same model trained to add a part (data.layout=infill)
        [
            "mmt.train",
            "experiment=corpus_tiny_infill",
            "torch_threads=1",
            "trainer.progress_refresh_rate=200",
        ],
        [  # then on to 8,000 steps (the learning rate, resumed at 0.56 of its peak, decays again to step 8,000)
            "mmt.train",
            "experiment=corpus_tiny_infill",
            "torch_threads=1",
            "trainer.progress_refresh_rate=200",
            "ckpt_path=last",
            "trainer.max_steps=8000",
        ],
    ],
    "clipsonic/synthetic": [
        ["clipsonic.data.synthesize"],
        ["clipsonic.train_clip", "trainer.progress_refresh_rate=200"],
        ["clipsonic.train_prior", "trainer.progress_refresh_rate=200"],
        ["clipsonic.train", "trainer.max_steps=600", "trainer.progress_refresh_rate=200"],
        ["clipsonic.train_vocoder", "trainer.progress_refresh_rate=200"],
    ],
    # The everyday sound events ("dog barking", ...); the vocoder corrects the mel spread over the STFT bins.
    "clipsonic/everyday": [
        ["clipsonic.data.everyday"],
        ["clipsonic.train_clip", "data=everyday", "trainer.progress_refresh_rate=200"],
        ["clipsonic.train_prior", "data=everyday", "trainer.progress_refresh_rate=200"],
        ["clipsonic.train", "data=everyday", "trainer.max_steps=4800", "trainer.progress_refresh_rate=50"],  # 10 parts
        [  # then on with a moving average of the weights (what ships)
            "clipsonic.train",
            "data=everyday",
            "ckpt_path=last",
            "trainer.max_steps=6600",
            "trainer.ema_decay=0.999",
            "trainer.progress_refresh_rate=50",
        ],
        [  # then on a lent GPU (it read the set and the fp16 CLIP export: embeddings within 2e-4 of clip.pt's)
            "clipsonic.train",
            "data=everyday",
            "clip.checkpoint=packages/clipsonic/pretrained/everyday/clip.safetensors",
            "ckpt_path=last",
            "trainer=gpu",
            "trainer.precision=32-true",
            "trainer.max_steps=9433",
            "trainer.ema_decay=0.999",
            "trainer.check_val_every_n_epoch=20",
            "trainer.progress_refresh_rate=1000",
        ],
        [
            "clipsonic.train_vocoder",
            "data=everyday",
            "run_dir=${root}/vocoder_prior",
            "model.magnitude_prior=true",
            "trainer.max_steps=3000",
            "trainer.progress_refresh_rate=200",
        ],
        [
            "clipsonic.train_vocoder",
            "data=everyday",
            "run_dir=${root}/vocoder_prior2",
            "model.magnitude_prior=true",
            "init_vocoder=${root}/vocoder_prior/checkpoints/last.ckpt",
            "model.lr=1e-3",
            "trainer.max_steps=3000",
            "trainer.progress_refresh_rate=200",
        ],
        [  # then trained on the log-spectral distance too (the run that ships started from this step's fp16 export)
            "clipsonic.train_vocoder",
            "data=everyday",
            "model.magnitude_prior=true",
            "init_vocoder=${root}/vocoder_prior2/checkpoints/last.ckpt",
            "model.lr=1e-3",
            "model.lsd_weight=0.1",
            "trainer.max_steps=6000",
            "trainer.progress_refresh_rate=200",
        ],
    ],
}


PAPER = {  # the paper's test accuracy (%) of the arranger models (../shared/REFERENCE.md section 2)
    "bach_bilstm": 97.13,
    "bach_lstm": 93.02,
    "quartets_bilstm": 74.38,
    "quartets_lstm": 67.43,
    "bach_transformer_enc": 96.81,
    "bach_transformer_dec": 91.51,
}


def run_dir_args(name: str) -> list[str]:
    """Where a recipe's run writes: ``run_dir=`` (mmt, arranger) or ``root=`` (clipsonic's four models)."""
    pkg = name.split("/")[0]
    return [f"root={RUNS / name}"] if pkg == "clipsonic" else [f"run_dir={RUNS / name}"]


def command_lines(name: str) -> list[str]:
    """The recipe's commands as a user types them."""
    return [" ".join(["python -m", *cmd, *run_dir_args(name)]) for cmd in RECIPES[name]]


def git_commit() -> str:
    """HEAD's commit, with ``-dirty`` when the tree has uncommitted changes to tracked files."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    if not head:
        return "unknown (not a git checkout)"
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=ROOT, capture_output=True).returncode != 0
    return head + ("-dirty" if dirty else "")


def train(name: str, log_dir: Path) -> float:
    """Run a recipe's commands (one CPU thread); returns the wall time in minutes."""
    done = RUNS / name / "done"
    if done.is_file():
        print(f"[skip] {name}: trained already", flush=True)
        return float(done.read_text())
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    t0 = time.time()
    log_dir.mkdir(parents=True, exist_ok=True)
    (RUNS / name).mkdir(parents=True, exist_ok=True)
    (RUNS / name / "commit").write_text(git_commit())
    with open(log_dir / f"{name.replace('/', '_')}.log", "a") as log:
        for cmd in RECIPES[name]:
            subprocess.run(
                [sys.executable, "-m", *cmd, *run_dir_args(name)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=True,
            )
    minutes = (time.time() - t0) / 60
    done.write_text(f"{minutes:.1f}")
    print(f"[done] {name} in {minutes:.1f} min", flush=True)
    return minutes


def piece_accuracy(arranger, example) -> float:
    """Note accuracy of an arranger on one example (hints from its true parts, as in evaluation)."""
    labels = example.notes[:, 3]
    return float((arranger.predict(example.notes[:, :3], labels) == labels).mean())


def export_arranger(name: str, run: Path, dest: Path) -> dict:
    """Ship the best checkpoint's weights (the moving average when kept) and measure them on the test split."""
    from arranger.data import load_examples, split_examples
    from arranger.evaluate import evaluate_arranger
    from arranger.predict import Arranger
    from gm_common.checkpoint import load_checkpoint
    from gm_common.pretrained import export_checkpoint

    ckpt = load_checkpoint(run / "checkpoints" / "best.ckpt")
    prefix = "ema_net.module." if any(k.startswith("ema_net.module.") for k in ckpt["state_dict"]) else "net."
    hp = ckpt["hyper_parameters"]
    export_checkpoint(run / "checkpoints" / "best.ckpt", dest / "model.safetensors", prefix=prefix)
    arranger = Arranger.from_pretrained(dest / "model.safetensors")
    dataset = hp["dataset"]["name"]
    test = split_examples(load_examples(dataset), seed=0)["test"]
    result = evaluate_arranger(arranger, test)
    first5 = {ex.name: piece_accuracy(arranger, ex) for ex in test[:5]}
    trained = json.loads((run / "test_metrics.json").read_text())
    model = hp["model"]
    return {
        "summary": f"{model['kind']} on {dataset} ({', '.join(hp['dataset']['labels'])}); test accuracy "
        f"{100 * result['accuracy']:.2f} % (paper {PAPER[name.split('/')[1]]:.2f} %)",
        "architecture": model,
        "data": {
            "dataset": dataset,
            "source": "music21 corpus (embedded)",
            "split": "8:1:1 by piece, seed 0",
            "test_pieces": result["pieces"],
            "test_notes": result["notes"],
        },
        "weights": {"prefix": prefix, "from": "best checkpoint by validation accuracy (moving average of the weights)"},
        "test": {
            "accuracy": result["accuracy"],
            "balanced_accuracy": result["balanced_accuracy"],
            "soundness": result["soundness"],
            "completeness": result["completeness"],
            "accuracy_fp32_checkpoint": trained["accuracy"],
            "first_5_test_pieces": first5,
        },
        "paper_accuracy_percent": PAPER[name.split("/")[1]],
        "training": training_summary(run) | {"budget": next(a for a in RECIPES[name][0] if _is_budget(a))},
    }


def _is_budget(arg: str) -> bool:
    return arg.startswith(("trainer.max_cpu_minutes=", "trainer.max_time=")) and not arg.endswith("=null")


def training_summary(run: Path) -> dict:
    """Optimizer steps taken and the best validation accuracy (from the run's CSV log) of an arranger run."""
    import csv

    rows = list(csv.DictReader((run / "logs" / "metrics.csv").open()))
    val = [(float(r["val/acc"]), int(r["step"])) for r in rows if r.get("val/acc")]
    best_acc, best_step = max(val)
    return {"steps": max(int(r["step"]) for r in rows), "best_val_acc": best_acc, "best_val_step": best_step}


WORLD_MODULES = {"synthetic": "synthesize", "everyday": "everyday"}  # the module that writes each world's set


def export_clipsonic(name: str, run: Path, dest: Path) -> dict:
    """Ship the models (CLIP, prior, diffusion and the neural vocoder where the run trained one) and evaluate
    them as shipped on the test split of the world they were trained on."""
    from omegaconf import OmegaConf

    from clipsonic.clip import export_clip
    from clipsonic.pipeline import ClipSonicPipeline
    from clipsonic.vocoder import export_vocoder
    from gm_common.pretrained import export_checkpoint

    config = OmegaConf.load(run / "diffusion" / "checkpoints" / "config.yaml")
    world = str(OmegaConf.select(config, "data.world", default="synthetic"))  # runs before data.world: synthetic
    export_clip(run / "clip" / "clip.pt", dest / "clip.safetensors")
    for part in ("prior", "diffusion"):
        export_checkpoint(run / part / "checkpoints" / "last.ckpt", dest / f"{part}.safetensors")
    parts = ["clip", "prior", "diffusion"]
    if (run / "vocoder" / "checkpoints" / "last.ckpt").is_file():
        export_vocoder(run / "vocoder" / "checkpoints" / "last.ckpt", dest / "vocoder.safetensors")  # no discriminators
        parts.append("vocoder")
    out = run / "eval_shipped"
    subprocess.run(  # the table of the shipped weights (8 queries per class and mode, guidance 3, DDIM 25, Griffin-Lim)
        [
            sys.executable,
            "-m",
            "clipsonic.evaluate",
            f"root={run}",
            f"data={world}",
            f"models={dest.name}",
            f"pretrained_root={dest.parent}",
            "per_class=8",
            f"out_dir={out}",
            "overwrite=true",  # a re-export measures the shipped weights again
        ],
        cwd=ROOT,
        check=True,
        env=dict(os.environ, OMP_NUM_THREADS="2"),
    )
    result = json.loads((out / "results.json").read_text())
    table = result["table"]
    reproduce = {"prompt": "dog barking", "mode": "pd", "steps": 10, "seed": 0, "guidance": 3.0}
    pipe = ClipSonicPipeline.from_pretrained(dest.name, root=dest.parent)
    mels = pipe(
        reproduce["prompt"],
        mode=reproduce["mode"],
        n=1,
        steps=reproduce["steps"],
        seed=reproduce["seed"],
        guidance=reproduce["guidance"],
    ).log_mels
    reproduce.update(log_mel_mean=float(mels.mean()), log_mel_std=float(mels.std()))
    acc = {mode: round(table[mode]["accuracy"], 3) for mode in ("IQ", "ZS", "PD")}
    vocoder = "neural vocoder" if "vocoder" in parts else "no neural vocoder (Griffin-Lim)"
    return {
        "summary": f"CLIP + prior + mel diffusion, {vocoder}, of the {world} audio-visual world; judge "
        f"accuracy IQ {acc['IQ']}, ZS {acc['ZS']}, PD {acc['PD']} (chance {table['chance']['accuracy']})",
        "architecture": {part: load_hparams(dest / f"{part}.safetensors") for part in parts},
        "data": {
            "world": f"{world} (python -m clipsonic.data.{WORLD_MODULES[world]} defaults)",
            "classes": result["classes"],
        },
        "reproduce": reproduce,
        "test": {
            "settings": result["settings"],
            "table": table,
            "differences": result["differences"],
            "modality_gap": result["modality_gap"],
        },
    }


def export_mmt(name: str, run: Path, dest: Path) -> dict:
    """Ship the best checkpoint's net and score 50 unconditioned samples of the shipped weights (Table 3)."""
    from gm_common.pretrained import export_checkpoint
    from mmt.data import PART_LAYOUTS
    from mmt.harmony import HARMONY_FILE

    export_checkpoint(run / "checkpoints" / "best.ckpt", dest / "model.safetensors", prefix="net.")
    shutil.copyfile(run / "split.json", dest / "split.json")  # its evaluations read only the pieces they need
    hp = load_hparams(dest / "model.safetensors")
    if hp["data"].get("layout") in PART_LAYOUTS:
        shutil.copyfile(run / HARMONY_FILE, dest / HARMONY_FILE)  # its sampler's harmony model, fit as training ended
        return export_mmt_infill(dest, hp)
    out = run / "eval_shipped.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "mmt.evaluate",
            f"checkpoint={dest / 'model.safetensors'}",
            "n_samples=50",
            f"out={out}",
            "overwrite=true",
        ],
        cwd=ROOT,
        check=True,
        env=dict(os.environ, OMP_NUM_THREADS="2"),
    )
    result = json.loads(out.read_text())
    losses = mmt_piece_losses(dest / "model.safetensors")
    diff, voices = result["differences"], hp["encoding"].get("voices", "merged")
    return {
        "summary": f"tiny MMT ({voices} voices) on {', '.join(hp['data']['collections'])};"
        f" pitch-class entropy {diff['pitch_class_entropy']:+.2f}, scale {diff['scale_consistency']:+.1f},"
        f" groove {diff['groove_consistency']:+.1f} from the test split",
        "architecture": hp["model"],
        "encoding": hp["encoding"],
        "data": {"collections": hp["data"]["collections"], "split": f"8:1:1 by piece, seed {hp['data']['seed']}"
                 " (the pieces of each in split.json)"},
        "test": {key: result[key] for key in ("ground_truth", "samples", "differences", "n_samples", "n_truth")}
        | {"first_5_test_pieces_loss": losses},
    }


def export_mmt_infill(dest: Path, hp: dict) -> dict:
    """The card of a model that adds parts: ``benchmarks/mmt_add_part.py`` on the shipped weights (every test chorale
    and quartet, each part hidden in turn), whose JSON is the published one."""
    out = ROOT / "benchmarks" / "results" / "mmt_add_part.json"
    subprocess.run(
        [sys.executable, "benchmarks/mmt_add_part.py", "--checkpoint", str(dest / "model.safetensors"), "--threads",
         "2", "--out", str(out)],  # fmt: skip
        cwd=ROOT,
        check=True,
    )
    return add_part_card(json.loads(out.read_text()), dest, hp)


def add_part_card(result: dict, dest: Path, hp: dict) -> dict:
    """The card's figures of a model that adds parts, from ``benchmarks/mmt_add_part.py``'s JSON on its weights."""
    from gm_common.pretrained import load_safetensors
    from mmt.harmony import HARMONY_FILE

    s = result["summary"]["all"]
    added, hidden, alone = (s[m] for m in ("added (infill)", "hidden part", "alone (instrument-informed)"))
    layout = hp["data"]["layout"]
    harmony = load_safetensors(dest / HARMONY_FILE)
    return {
        "summary": f"tiny MMT that adds a part (data.layout={layout}) on {', '.join(hp['data']['collections'])},"
        f" with a harmony model (weight {result['sampling']['harmony']}); added parts' consonance"
        f" {added['consonance']:.1f} % (hidden part {hidden['consonance']:.1f} %, alone {alone['consonance']:.1f} %,"
        f" harmony model off {s['added, harmony model off']['consonance']:.1f} %), coverage {added['coverage']:.1f} %"
        f" (hidden {hidden['coverage']:.1f} %)",
        "architecture": hp["model"],
        "encoding": hp["encoding"],
        "data": {"collections": hp["data"]["collections"], "split": f"8:1:1 by piece, seed {hp['data']['seed']}"
                 " (the pieces of each in split.json)", "layout": layout, "drop_parts": hp["data"]["drop_parts"]}
        | ({"ahead": hp["data"]["ahead"]} if layout == "interleave" else {}),
        "harmony_model": {"file": HARMONY_FILE, "module": "mmt.harmony", **harmony["hyper_parameters"],
                          "interval_weights": [round(float(w), 3) for w in harmony["state_dict"]["weights"]]},
        "sampling": result["sampling"],
        "test": {"benchmark": "benchmarks/results/mmt_add_part.json", "cases": s["cases"],
                 "summary": result["summary"], "targets_met": result["targets_met"],
                 "first_5_test_pieces_loss": mmt_piece_losses(dest / "model.safetensors")},
    }  # fmt: skip


def mmt_piece_losses(path: Path, n: int = 5) -> dict[str, float]:
    """The shipped model's loss (``mmt.evaluate.piece_loss``) on the first ``n`` test pieces of its data."""
    from gm_common.corpus import corpus_root
    from mmt.data import recorded_split
    from mmt.evaluate import piece_loss
    from mmt.pipeline import MMT

    mmt = MMT.from_pretrained(path)
    names = list(recorded_split(mmt.hyper_parameters["data"], mmt.encoding, "test", path, n))
    return {name: piece_loss(mmt, corpus_root() / name) for name in names}


def load_hparams(path: Path) -> dict:
    """The hyper-parameters stored in a shipped ``.safetensors`` file."""
    from gm_common.checkpoint import load_checkpoint

    return load_checkpoint(path)["hyper_parameters"]


EXPORTERS = {"arranger": export_arranger, "clipsonic": export_clipsonic, "mmt": export_mmt}


def export(name: str) -> Path:
    """Write ``packages/<pkg>/pretrained/<model>/`` from a finished run: weights (fp16) and card.json."""
    from gm_common.pretrained import write_card

    pkg, model = name.split("/")
    run, dest = RUNS / name, ROOT / "packages" / pkg / "pretrained" / model
    card = {"name": model, "toolkit": pkg}
    write_card(dest, {**card, "summary": "(being exported)"})  # so that the figures can load it by name
    card.update(EXPORTERS[pkg](name, run, dest))
    card.update(
        {
            "commands": command_lines(name),
            "commit": (run / "commit").read_text().strip(),
            "wall_minutes": float((run / "done").read_text()),
            "machine": (run / "machine").read_text().strip()
            if (run / "machine").is_file()  # written by hand for a run on a lent GPU
            else f"{platform.machine()} CPU, {os.cpu_count()} cores shared with other training runs "
            "(and other work); one torch thread per run",
            "trained": time.strftime("%Y-%m-%d", time.localtime((run / "done").stat().st_mtime)),
            "files": {p.name: p.stat().st_size for p in sorted(dest.glob("*.safetensors"))},
            "dtype": "float16 weights (loaded as float32)",
            "retrain": f"make pretrained  (or: .venv/bin/python scripts/pretrained.py --only {name})",
        }
    )
    write_card(dest, card)
    print(f"[export] {name}: {dest} ({sum(card['files'].values()) / 1e6:.2f} MB) {card['summary']}", flush=True)
    return dest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", choices=sorted(RECIPES), default=sorted(RECIPES))
    ap.add_argument("--parallel", type=int, default=2, help="recipes trained at once (one CPU thread each)")
    ap.add_argument("--export-only", action="store_true")
    args = ap.parse_args()
    if not args.export_only:
        with ThreadPoolExecutor(args.parallel) as pool:
            list(pool.map(lambda n: train(n, RUNS / "_logs"), args.only))
    for name in args.only:
        if (RUNS / name / "done").is_file() and name.split("/")[0] in EXPORTERS:
            export(name)


if __name__ == "__main__":
    main()
