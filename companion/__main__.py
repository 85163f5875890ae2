"""``python -m companion``: the book's command line (``companion.book.cli``)."""

from .book.cli import main

raise SystemExit(main())
