"""Pictograms of the everyday sound sources (a dog, a siren, a bell, ...), drawn with PIL in a unit box, and
the scenes they sit in: a noisy gradient background with clutter (random shapes and lines that say nothing
about the sound), the pictogram at a size, position and tilt that move from frame to frame."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw

from gm_common.errors import ConfigError

RGB = tuple[int, int, int]
BACKGROUNDS: dict[str, RGB] = {
    "light": (205, 205, 195),
    "dark": (25, 25, 30),
    "blue": (70, 110, 170),
    "green": (70, 125, 70),
    "beige": (190, 170, 130),
    "gray": (110, 110, 110),
}
SIZES = {"small": (0.38, 0.5), "medium": (0.52, 0.66), "large": (0.68, 0.82)}  # side / image side


class Canvas:
    """A square RGBA layer on which a pictogram is drawn in unit coordinates (0..1), with colour jitter."""

    def __init__(self, side: int, rng: np.random.Generator):
        self.side, self.rng = side, rng
        self.image = Image.new("RGBA", (side, side), (0, 0, 0, 0))
        self.draw = ImageDraw.Draw(self.image)

    def xy(self, *pts: float) -> list[float]:
        """Unit coordinates -> pixels."""
        return [p * self.side for p in pts]

    def colour(self, rgb: RGB, jitter: int = 25) -> tuple[int, int, int, int]:
        """``rgb`` with a random shift of up to ``jitter`` per channel, opaque."""
        c = np.clip(np.array(rgb) + self.rng.integers(-jitter, jitter + 1, 3), 0, 255)
        return (*(int(v) for v in c), 255)

    def width(self, w: float) -> int:
        """A line width given as a fraction of the side (at least one pixel)."""
        return max(1, int(round(w * self.side)))


def dog(c: Canvas) -> None:
    """A standing dog in profile: body, head with a floppy ear and snout, four legs, a raised tail."""
    fur, dark = c.colour((150, 95, 45)), c.colour((70, 40, 20))
    d = c.draw
    d.ellipse(c.xy(0.15, 0.38, 0.72, 0.68), fill=fur)
    for x in (0.2, 0.32, 0.55, 0.65):
        d.rectangle(c.xy(x, 0.58, x + 0.07, 0.9), fill=fur)
    d.ellipse(c.xy(0.6, 0.15, 0.88, 0.45), fill=fur)
    d.rectangle(c.xy(0.8, 0.3, 0.97, 0.42), fill=fur)
    d.ellipse(c.xy(0.93, 0.29, 0.99, 0.35), fill=dark)
    d.polygon(c.xy(0.62, 0.2, 0.7, 0.17, 0.66, 0.42), fill=dark)
    d.line(c.xy(0.17, 0.48, 0.04, 0.22), fill=fur, width=c.width(0.06))


def siren(c: Canvas) -> None:
    """A rotating emergency light: a red dome on a dark base with light rays."""
    red, base, ray = c.colour((225, 30, 30)), c.colour((50, 50, 55)), c.colour((255, 220, 60))
    c.draw.pieslice(c.xy(0.25, 0.3, 0.75, 0.8), 180, 360, fill=red)
    c.draw.rectangle(c.xy(0.18, 0.55, 0.82, 0.7), fill=base)
    for a in (200, 235, 270, 305, 340):
        r = math.radians(a)
        c.draw.line(c.xy(0.5 + 0.32 * math.cos(r), 0.5 + 0.32 * math.sin(r), 0.5 + 0.47 * math.cos(r),
                         0.5 + 0.47 * math.sin(r)), fill=ray, width=c.width(0.05))  # fmt: skip


def church_bell(c: Canvas) -> None:
    """A flared golden bell hanging from a loop, its clapper below the rim."""
    gold, dark = c.colour((215, 170, 40)), c.colour((90, 60, 20))
    c.draw.polygon(c.xy(0.38, 0.2, 0.62, 0.2, 0.68, 0.55, 0.85, 0.78, 0.15, 0.78, 0.32, 0.55), fill=gold)
    c.draw.ellipse(c.xy(0.36, 0.12, 0.64, 0.3), fill=gold)
    c.draw.ellipse(c.xy(0.44, 0.03, 0.56, 0.15), outline=dark, width=c.width(0.04))
    c.draw.ellipse(c.xy(0.43, 0.76, 0.57, 0.9), fill=dark)


def _cloud(c: Canvas, colour: tuple[int, int, int, int]) -> None:
    for box in ((0.1, 0.25, 0.45, 0.55), (0.3, 0.1, 0.7, 0.5), (0.55, 0.22, 0.9, 0.55), (0.2, 0.35, 0.8, 0.58)):
        c.draw.ellipse(c.xy(*box), fill=colour)


def rain(c: Canvas) -> None:
    """A grey cloud with slanted blue rain streaks below it."""
    _cloud(c, c.colour((160, 165, 175)))
    blue = c.colour((60, 120, 230))
    for x in (0.2, 0.35, 0.5, 0.65, 0.8):
        for y in (0.62, 0.8):
            c.draw.line(c.xy(x + 0.03, y, x - 0.03, y + 0.12), fill=blue, width=c.width(0.04))


def _bird(c: Canvas, x: float, y: float, s: float, body: tuple[int, int, int, int]) -> None:
    beak = c.colour((240, 150, 30))
    c.draw.ellipse(c.xy(x, y + 0.1 * s, x + 0.6 * s, y + 0.45 * s), fill=body)
    c.draw.ellipse(c.xy(x + 0.45 * s, y, x + 0.75 * s, y + 0.3 * s), fill=body)
    c.draw.polygon(c.xy(x + 0.73 * s, y + 0.1 * s, x + 0.92 * s, y + 0.16 * s, x + 0.73 * s, y + 0.21 * s), fill=beak)
    c.draw.polygon(c.xy(x, y + 0.2 * s, x - 0.2 * s, y + 0.1 * s, x, y + 0.35 * s), fill=body)


def birds(c: Canvas) -> None:
    """Two small songbirds perched on a branch."""
    c.draw.line(c.xy(0.05, 0.75, 0.95, 0.68), fill=c.colour((100, 70, 40)), width=c.width(0.05))
    _bird(c, 0.1, 0.4, 0.45, c.colour((60, 140, 210)))
    _bird(c, 0.52, 0.33, 0.45, c.colour((230, 200, 50)))


def car(c: Canvas) -> None:
    """A car in profile (body, cabin with a window, two wheels) with an exhaust puff."""
    paint, glass, tyre = c.colour((40, 90, 200)), c.colour((180, 220, 240)), c.colour((20, 20, 20), 10)
    c.draw.rectangle(c.xy(0.1, 0.45, 0.9, 0.68), fill=paint)
    c.draw.polygon(c.xy(0.25, 0.45, 0.35, 0.25, 0.65, 0.25, 0.77, 0.45), fill=paint)
    c.draw.polygon(c.xy(0.33, 0.44, 0.39, 0.3, 0.62, 0.3, 0.7, 0.44), fill=glass)
    for x in (0.2, 0.64):
        c.draw.ellipse(c.xy(x, 0.58, x + 0.18, 0.76), fill=tyre)
    c.draw.ellipse(c.xy(0.0, 0.58, 0.1, 0.66), fill=c.colour((170, 170, 170)))


def clock(c: Canvas) -> None:
    """A round wall clock: white face, dark rim, hour marks and two hands."""
    dark = c.colour((30, 30, 30), 10)
    c.draw.ellipse(c.xy(0.08, 0.08, 0.92, 0.92), fill=c.colour((245, 245, 240), 8), outline=dark, width=c.width(0.06))
    for k in range(12):
        a = 2 * math.pi * k / 12
        c.draw.line(c.xy(0.5 + 0.3 * math.cos(a), 0.5 + 0.3 * math.sin(a), 0.5 + 0.36 * math.cos(a),
                         0.5 + 0.36 * math.sin(a)), fill=dark, width=c.width(0.03))  # fmt: skip
    h, m = c.rng.uniform(0, 2 * math.pi, 2)
    c.draw.line(c.xy(0.5, 0.5, 0.5 + 0.18 * math.cos(h), 0.5 + 0.18 * math.sin(h)), fill=dark, width=c.width(0.05))
    c.draw.line(c.xy(0.5, 0.5, 0.5 + 0.3 * math.cos(m), 0.5 + 0.3 * math.sin(m)), fill=dark, width=c.width(0.03))


def thunder(c: Canvas) -> None:
    """A dark storm cloud with a yellow lightning bolt."""
    _cloud(c, c.colour((70, 70, 85)))
    bolt = (0.52, 0.45, 0.38, 0.7, 0.5, 0.7, 0.4, 0.97, 0.68, 0.62, 0.55, 0.62, 0.64, 0.45)
    c.draw.polygon(c.xy(*bolt), fill=c.colour((255, 225, 30)))


def door(c: Canvas) -> None:
    """A wooden door with panels and a knob, and a knuckle with motion marks at its edge."""
    wood, dark = c.colour((130, 80, 40)), c.colour((80, 45, 20))
    c.draw.rectangle(c.xy(0.22, 0.05, 0.7, 0.97), fill=wood, outline=dark, width=c.width(0.03))
    for y in (0.12, 0.55):
        c.draw.rectangle(c.xy(0.3, y, 0.62, y + 0.35), outline=dark, width=c.width(0.025))
    c.draw.ellipse(c.xy(0.58, 0.5, 0.66, 0.58), fill=c.colour((230, 190, 60)))
    c.draw.ellipse(c.xy(0.74, 0.35, 0.94, 0.55), fill=c.colour((235, 185, 150)))
    for r in (0.1, 0.16):
        c.draw.arc(c.xy(0.72 - r, 0.45 - r, 0.72 + r, 0.45 + r), 150, 210, fill=dark, width=c.width(0.02))


def _drop(c: Canvas, x: float, y: float, s: float, colour: tuple[int, int, int, int]) -> None:
    c.draw.polygon(c.xy(x, y, x - 0.45 * s, y + 0.6 * s, x + 0.45 * s, y + 0.6 * s), fill=colour)
    c.draw.ellipse(c.xy(x - 0.5 * s, y + 0.35 * s, x + 0.5 * s, y + 1.1 * s), fill=colour)


def tap(c: Canvas) -> None:
    """A tap (faucet) with a drop of water falling from it and a small puddle."""
    metal, blue = c.colour((170, 175, 185)), c.colour((50, 130, 235))
    c.draw.rectangle(c.xy(0.1, 0.15, 0.6, 0.3), fill=metal)
    c.draw.rectangle(c.xy(0.48, 0.15, 0.62, 0.42), fill=metal)
    c.draw.rectangle(c.xy(0.25, 0.05, 0.35, 0.15), fill=metal)
    _drop(c, 0.55, 0.5, 0.16, blue)
    c.draw.ellipse(c.xy(0.3, 0.85, 0.8, 0.95), fill=blue)


def telephone(c: Canvas) -> None:
    """An old desk telephone: a trapezoid body with a round dial and the handset on top."""
    body, dial = c.colour((200, 35, 45)), c.colour((240, 240, 230), 10)
    c.draw.polygon(c.xy(0.25, 0.45, 0.75, 0.45, 0.9, 0.88, 0.1, 0.88), fill=body)
    c.draw.ellipse(c.xy(0.36, 0.52, 0.64, 0.8), fill=dial)
    c.draw.ellipse(c.xy(0.45, 0.61, 0.55, 0.71), fill=body)
    c.draw.rounded_rectangle(c.xy(0.12, 0.22, 0.88, 0.36), radius=c.width(0.06), fill=body)
    for x in (0.1, 0.72):
        c.draw.ellipse(c.xy(x, 0.25, x + 0.18, 0.45), fill=body)


def cat(c: Canvas) -> None:
    """A cat's face: pointed ears, green eyes, a pink nose and whiskers."""
    fur, dark = c.colour((235, 140, 50)), c.colour((40, 30, 20), 10)
    c.draw.polygon(c.xy(0.12, 0.45, 0.2, 0.05, 0.45, 0.3), fill=fur)
    c.draw.polygon(c.xy(0.88, 0.45, 0.8, 0.05, 0.55, 0.3), fill=fur)
    c.draw.ellipse(c.xy(0.12, 0.2, 0.88, 0.92), fill=fur)
    for x in (0.3, 0.58):
        c.draw.ellipse(c.xy(x, 0.42, x + 0.12, 0.56), fill=c.colour((60, 190, 70)))
        c.draw.line(c.xy(x + 0.06, 0.43, x + 0.06, 0.55), fill=dark, width=c.width(0.02))
    c.draw.polygon(c.xy(0.45, 0.62, 0.55, 0.62, 0.5, 0.69), fill=c.colour((240, 130, 160)))
    for dy in (-0.04, 0.03):
        c.draw.line(c.xy(0.42, 0.68, 0.08, 0.66 + dy), fill=dark, width=c.width(0.015))
        c.draw.line(c.xy(0.58, 0.68, 0.92, 0.66 + dy), fill=dark, width=c.width(0.015))


PICTOGRAMS: dict[str, Callable[[Canvas], None]] = {
    "dog barking": dog,
    "siren wailing": siren,
    "church bell ringing": church_bell,
    "rain falling": rain,
    "birds chirping": birds,
    "car engine idling": car,
    "clock ticking": clock,
    "thunder rumbling": thunder,
    "knocking on a door": door,
    "water dripping": tap,
    "phone ringing": telephone,
    "cat meowing": cat,
}


def pictogram(name: str, side: int, rng: np.random.Generator) -> Image.Image:
    """The RGBA pictogram of sound event ``name``, ``side`` pixels square, transparent around it."""
    if name not in PICTOGRAMS:
        raise ConfigError(f"no pictogram for {name!r}; known: {', '.join(PICTOGRAMS)}")
    c = Canvas(side, rng)
    PICTOGRAMS[name](c)
    return c.image


def background(size: int, name: str, rng: np.random.Generator) -> Image.Image:
    """A gradient around the named colour with pixel noise and clutter: 2-5 random dull shapes and lines."""
    base = np.array(BACKGROUNDS[name], np.float32) + rng.integers(-15, 16, 3)
    other = base + rng.uniform(-40, 40, 3)
    angle = rng.uniform(0, 2 * np.pi)
    u = np.linspace(-0.5, 0.5, size, dtype=np.float32)
    w = np.clip(0.5 + np.cos(angle) * u[None, :] + np.sin(angle) * u[:, None], 0, 1)[..., None]
    img = base * (1 - w) + other * w + rng.normal(0, rng.uniform(2, 8), (size, size, 3))
    img = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(2, 6))):
        g = tuple(int(v) for v in np.clip(base + rng.uniform(-70, 70, 3), 0, 255))
        x0, y0 = rng.uniform(0, size, 2)
        x1, y1 = x0 + rng.uniform(-0.25, 0.25) * size, y0 + rng.uniform(-0.25, 0.25) * size
        box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        kind = int(rng.integers(3))
        if kind == 0:
            d.ellipse(box, fill=g)
        elif kind == 1:
            d.rectangle(box, fill=g)
        else:
            d.line((x0, y0, x1, y1), fill=g, width=max(1, size // 32))
    return img


def place(scene: Image.Image, picture: Image.Image, centre: tuple[float, float], tilt: float) -> None:
    """Paste an RGBA pictogram, tilted by ``tilt`` degrees, centred at ``centre`` (pixels) onto ``scene``."""
    rotated = picture.rotate(tilt, resample=Image.BILINEAR, expand=True)
    x, y = int(round(centre[0] - rotated.width / 2)), int(round(centre[1] - rotated.height / 2))
    scene.paste(rotated, (x, y), rotated)
