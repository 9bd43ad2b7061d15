"""`autoenhance preview`'s engine: see what a configured task makes of an image before deploying it.

`engine.py` plans each local image as the function plans its upload (`handler.plan.plan_record`)
and runs the request on the local MPS, which does the ImageTask with Pillow
(fakes/mps/imaging.py); `page.py` writes the outputs and one HTML page showing each image before
and after. Pillow is imported here at module level: only the preview command imports this package.
"""

from .engine import Facts, Shot, Upload, facts_of, preview
from .page import PAGE, write_preview

__all__ = ["PAGE", "Facts", "Shot", "Upload", "facts_of", "preview", "write_preview"]
