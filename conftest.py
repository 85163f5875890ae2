"""pytest's configuration for the whole repository: the ``smoke`` profile unless
``$COMPANION_PROFILE`` names another, so ``pytest --nbval notebooks/`` takes minutes. A notebook
opened and run as it is uses ``cpu`` (``companion.DEFAULT_PROFILE``): the committed numbers."""

import os

os.environ.setdefault("COMPANION_PROFILE", "smoke")
