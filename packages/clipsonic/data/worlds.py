"""The synthetic worlds a data config can name (``data.world``): each module holds the world's ``CLASS_NAMES``
and its held-out evaluation queries, ``query_captions(label, k, seed)``."""

from __future__ import annotations

import importlib
from types import ModuleType

from gm_common.errors import ConfigError

WORLDS = {"synthetic": "clipsonic.data.synthesize", "everyday": "clipsonic.data.everyday"}


def world_module(name: str) -> ModuleType:
    """The module of the world ``name``; a ConfigError naming the known worlds otherwise."""
    if name not in WORLDS:
        raise ConfigError(f"unknown world {name!r} (data.world): use one of {', '.join(WORLDS)} or null")
    return importlib.import_module(WORLDS[name])


def text_queries(world: str | None, names: list[str], per_class: int, seed: int) -> list[list[str]]:
    """``per_class`` text queries per class: the world's held-out paraphrases, or ``a <name>`` for a set that
    no synthetic world wrote (``world`` None). A class the world does not know is a ConfigError."""
    if world is None:
        return [[f"a {n}"] * per_class for n in names]
    module = world_module(world)
    unknown = [n for n in names if n not in module.CLASS_NAMES]
    if unknown:
        raise ConfigError(f"classes {unknown} of the labels CSV are not events of the {world!r} world (data.world)")
    return [module.query_captions(module.CLASS_NAMES.index(n), per_class, seed) for n in names]
