"""Command line: ``python -m companion assets`` and ``python -m companion run ...``."""
from .cli import main

raise SystemExit(main())
