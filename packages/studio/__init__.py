"""studio: every toolkit in a local web app (Gradio); the one package that imports all three.

    python -m studio                         # http://127.0.0.1:7860 (port=, host=)

Modules: ``app`` (``build`` the page apart from ``run``, which launches it), a module per tab (``arrange``,
``compose``, ``sound``, ``catalog``), ``models`` (each model loaded once, shared by every request), ``folders`` (a
request's own temporary folder), ``inputs`` (upload checks), ``errors`` (a failure as one line in the page),
``media`` (piano roll, audio and MIDI of a piece), ``browser`` (headless Chromium through Selenium) and
``screenshots`` (a PNG of each tab).
"""

import os

# before anything imports gradio: no analytics, no version check (the app never goes on the network)
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
