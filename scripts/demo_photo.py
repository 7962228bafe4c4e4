"""Write the demo's sample photo: scikit-image's astronaut (public domain, NASA) as a JPEG."""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from PIL import Image
    from skimage import data

    target = Path(argv[0] if argv else "out/astronaut.jpg")
    target.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(data.astronaut()).save(target, quality=92)  # type: ignore[no-untyped-call]
    print(f"sample photo: {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
