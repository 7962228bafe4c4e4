"""The local renderer: a still photo in, a seamless 1080p jiggle-and-bounce loop MP4 out.

    from skill.local.render import render
    result = render("cat.jpg", "cat.mp4", intensity="medium", aspect="9:16", title="Hi!")
    result.path, result.frames, result.phases["total"]

Layered so the background never swims: the subject is found (a person, a salient pet or
object, a product on a plain backdrop, a cut-out's alpha), the background behind it is rebuilt
once, and only the subject moves, as a soft body on a mesh driven by a periodic choreography of
springs, then is laid back over it. A photo with nothing to cut out pulses gently as a whole.
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
