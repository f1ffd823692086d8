"""The local stack: Flexcord's functions, moto, the Discord and Twilio emulators and sample RSS/Atom
feeds on one machine.

In Lambda the shared package comes from the layer (/opt/python); here it is put on the path the
same way, so `python -m devstack` and the handlers import the very code the layer ships.
"""

import sys
from pathlib import Path

_LAYER = str(Path(__file__).resolve().parent.parent / "layers" / "flexcord")
if _LAYER not in sys.path:
    sys.path.insert(0, _LAYER)
