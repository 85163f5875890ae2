"""The bad-input harness shared by tests/core, tests/torch and tests/tf (framework-free).

A case is one call with one bad input; it must raise ``error`` with a one-line message that
contains ``expected`` (what the function wanted). ``public_names`` lists what each module defines
for users, so a coverage test can fail when a public function has fewer than three cases.
"""

import importlib
import inspect
from collections import Counter
from dataclasses import dataclass

import pytest


@dataclass
class Case:
    name: str  # module.function (or module.Class) the case belongs to
    call: object  # a function of no argument that makes the bad call
    error: type
    expected: str

    def __repr__(self):
        return self.name.rsplit(".", 1)[-1]


def owner(f) -> str:
    """``module.name`` of a function, a class or a bound method (which counts for its class)."""
    f = getattr(f, "__func__", f)
    return f"{f.__module__}.{f.__qualname__.split('.')[0]}"


def case(f, *args, error=ValueError, expected="expected", **kwargs) -> Case:
    """A bad call of ``f(*args, **kwargs)``."""
    return Case(owner(f), lambda: f(*args, **kwargs), error, expected)


def call(name, fn, error=ValueError, expected="expected") -> Case:
    """A bad call written out (``fn`` takes no argument), counted for ``name`` (a function)."""
    return Case(owner(name) if callable(name) else name, fn, error, expected)


def check(c: Case, capsys=None) -> None:
    """Run one case: the right exception, one line, naming what was expected."""
    with pytest.raises(c.error) as info:
        c.call()
    message = str(info.value)
    if c.error is SystemExit and capsys is not None:  # argparse prints its one-line error
        message = capsys.readouterr().err.strip().splitlines()[-1]
    assert "\n" not in message.strip(), f"{c.name}: message spans several lines: {message!r}"
    assert c.expected.lower() in message.lower(), f"{c.name}: {message!r} lacks {c.expected!r}"


def public_names(module_name: str) -> list[str]:
    """Functions and classes a module defines whose names do not start with ``_``."""
    module = importlib.import_module(module_name)
    return [
        f"{module_name}.{n}"
        for n, o in vars(module).items()
        if not n.startswith("_")
        and (inspect.isfunction(o) or inspect.isclass(o))
        and o.__module__ == module_name
    ]


def takes_no_input(full_name: str) -> bool:
    """Whether a function (or a class's constructor) has no parameter: no input can be bad."""
    module, name = full_name.rsplit(".", 1)
    f = getattr(importlib.import_module(module), name)
    try:
        return not inspect.signature(f).parameters
    except (TypeError, ValueError):  # a signature Python cannot read
        return False


def uncovered(cases, modules, exempt: dict) -> list[str]:
    """Public names of ``modules`` with fewer than 3 cases, unless exempt or taking no input."""
    counts = Counter(c.name for c in cases)
    return [
        f"{n} ({counts[n]} cases)"
        for m in modules
        for n in public_names(m)
        if counts[n] < 3 and n not in exempt and not takes_no_input(n)
    ]
