"""No garbage collection while a function loads: every handler module imports this first, and `loaded()` ends it.

A cold start creates some hundred thousand objects (modules, classes, functions, pydantic schemas) and frees almost
none, so the collector's passes over them during the imports find nothing to free: they cost 10-18% of a cold init
(`make bench`). `loaded()` then moves what init made to the permanent generation (`gc.freeze`: the collections
of the requests never walk it again) and turns the collector back on.

Process-wide, so it is enforced rather than hoped for: tests/unit/test_function_imports.py checks that every
handler imports this module before anything else and that its collector is on once it is loaded."""

import gc

gc.disable()


def loaded() -> None:
    """The function's module is loaded: collect from now on, never walking what init made."""
    gc.freeze()
    gc.enable()
