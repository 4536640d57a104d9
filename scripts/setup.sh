#!/usr/bin/env bash
# One-time set-up on a fresh machine: system packages (FluidSynth + a General MIDI soundfont),
# then the virtual environment .venv with the four packages installed in editable mode.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v fluidsynth >/dev/null 2>&1 || need_apt+=(fluidsynth)
{ ls /usr/share/sounds/sf2/*.sf2 || ls /usr/share/soundfonts/*.sf2; } >/dev/null 2>&1 || need_apt+=(timgm6mb-soundfont)
# Headless Chromium: the test that opens outputs/demo/index.html and checks every file on it loads.
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
# Its driver: the studio's browser test and screenshots drive Chromium through Selenium.
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo ">> installing system packages: ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
  else
    echo "!! missing system packages: ${need_apt[*]}"
    echo "!! install them (e.g. 'sudo apt-get install ${need_apt[*]}'); until then audio rendering"
    echo "!! (fluidsynth, soundfont) or the browser tests (chromium, chromium-driver) are skipped."
  fi
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  # A new .venv takes ~6.7 GB (PyPI's torch is its CUDA build): stop with a clear error, not pip's half-way ENOSPC.
  free_gb=$(df -Pk . | awk 'NR == 2 {print int($4 / 1048576)}')
  if [ "$free_gb" -lt 7 ]; then
    echo "!! set-up needs about 7 GB of free disk for .venv; $(pwd) has ${free_gb} GB free" >&2
    exit 1
  fi
  echo ">> creating .venv"
  "$PYTHON" -m venv .venv
fi
echo ">> installing packages into .venv (first time: torch/torchvision, a few minutes)"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"
touch .venv/.installed
echo ">> set-up done"
