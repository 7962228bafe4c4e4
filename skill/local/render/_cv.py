"""OpenCV, typed as ``Any``.

OpenCV's bundled stubs return ``Mat | ndarray[Any, integer | floating]`` for every call, which
loses the dtype each array really has; the modules here annotate their own arrays instead.
"""

from typing import Any

import cv2 as _cv2

cv2: Any = _cv2

__all__ = ["cv2"]
