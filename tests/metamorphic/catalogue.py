"""Every transform of the metamorphic suite: rewrites within one file (transforms.py), then
those that move init code across functions and files (moves.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from moves import MOVES
from transforms import TRANSFORMS as IN_FILE

TRANSFORMS = IN_FILE + MOVES
BY_NAME = {t.name: t for t in TRANSFORMS}
