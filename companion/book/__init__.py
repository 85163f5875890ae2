"""The book's toolkit: what builds, runs, checks and grades the book, never imported by the
lessons' library (an import-linter contract in ``pyproject.toml`` says so).

``cli`` (``python -m companion``) and ``runner`` execute the notebooks with papermill and collect
their results; ``tolerances`` is the reproduction check's policy; ``results_page`` writes
``book/results.md``; ``pages`` opens the built book in Chromium; ``layout`` fits notebook code to
the book's column; ``extension`` is the Sphinx extension; ``assignments`` builds and grades the
otter-grader assignments; ``colab`` writes the Colab set-up cell; ``assets`` installs the offline
assets.
"""
