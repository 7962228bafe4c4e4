"""The local renderer: a still photo in, a seamless 1080p jiggle-and-bounce loop MP4 out.

    from skill.local.render import render
    result = render("cat.jpg", "cat.mp4", intensity="medium", aspect="9:16", title="Hi!")
    result.path, result.frames, result.phases["total"]

Layered so the background never swims: the subject is found (a person-segmentation model, a
plain-backdrop test, or a centred cut-out), the background behind it is filled once, and only
the subject is warped, along damped springs' periodic response, then composited back.
"""

from ._motion import INTENSITIES, MOTIONS
from ._photo import probe_image
from ._pipeline import ASPECTS, render
from ._preview import make_heat_map, make_preview
from ._result import RenderResult

__all__ = [
    "ASPECTS",
    "INTENSITIES",
    "MOTIONS",
    "RenderResult",
    "make_heat_map",
    "make_preview",
    "probe_image",
    "render",
]
