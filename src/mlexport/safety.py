"""Loading model files without running what is in them.

A pickle can name any importable callable and call it while loading. We unpickle
with a restricted ``find_class``: every global the file names is checked before
it is resolved, so a callable outside the allow-list is refused (with its name)
before anything could call it. Allowed:

* classes defined in scikit-learn, numpy, scipy, pandas, joblib or mlexport;
* numpy ufuncs, and plain functions of those libraries (``np.log1p``,
  scipy's array helpers) except in modules or with names that read or write
  files, run code or reach the network (``numpy.load``, ``pandas.read_*``,
  ``*.testing``, ``*.io``, ``sklearn.datasets``, joblib's functions ...);
* a short list of reconstruction helpers that numpy and the standard library
  use in ordinary pickles;
* anything in a module the user trusts explicitly (``--trust MODULE``).
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

from .errors import BadInputError

ALLOWED_ROOTS = frozenset({"sklearn", "numpy", "scipy", "pandas", "joblib", "mlexport"})

# Functions (not classes) that ordinary pickles of fitted models call.
ALLOWED_FUNCTIONS = frozenset(
    {
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy.random._pickle", "__randomstate_ctor"),
        ("numpy.random._pickle", "__bit_generator_ctor"),
        ("numpy.random._pickle", "__generator_ctor"),
        ("_codecs", "encode"),
        ("copyreg", "_reconstructor"),
        ("functools", "partial"),  # its callable is resolved (and vetted) separately
        ("scipy.sparse._csr", "csr_matrix"),
    }
)

# Plain data types from builtins / the standard library.
ALLOWED_BUILTINS = frozenset(
    {
        ("builtins", n)
        for n in (
            "object", "list", "dict", "tuple", "set", "frozenset", "int", "float", "complex",
            "bool", "str", "bytes", "bytearray", "slice", "range", "NoneType",
        )
    }
    | {("collections", "OrderedDict"), ("collections", "defaultdict"), ("datetime", "datetime")}
)


# Function modules and names never allowed, even inside the allowed libraries.
DENIED_MODULE_PARTS = frozenset(
    {"testing", "_testing", "_testutils", "io", "f2py", "distutils", "ctypeslib", "npyio", "_npyio_impl",
     "datasets", "_show_versions", "_pytesttester", "parallel", "_parallel_backends", "externals"}
)
DENIED_NAME_PREFIXES = ("load", "save", "read", "write", "open", "fetch", "exec", "eval", "system", "popen",
                        "compile", "import", "getattr", "setattr", "delattr", "run", "call", "spawn", "dump",
                        "fromfile", "tofile", "memmap", "genfromtxt", "from_pickle", "to_pickle", "delayed")


def _plain_function_allowed(module: str, name: str, obj: Any) -> bool:
    if isinstance(obj, type) or not callable(obj):
        return False
    real_module = getattr(obj, "__module__", None) or module
    for mod in {module, real_module}:
        parts = mod.split(".")
        if parts[0] not in ALLOWED_ROOTS or parts[0] == "joblib":
            return False
        if any(p in DENIED_MODULE_PARTS for p in parts[1:]):
            return False
    short = name.rsplit(".", 1)[-1]
    if short.startswith("__pyx_unpickle_"):  # Cython's generated state restorers
        return True
    return not short.lstrip("_").lower().startswith(DENIED_NAME_PREFIXES)


def _is_allowed(module: str, name: str, obj: Any, trusted: frozenset[str]) -> bool:
    import numpy as np

    root = module.split(".", 1)[0]
    if module in trusted or root in trusted or any(module.startswith(t + ".") for t in trusted):
        return True
    if (module, name) in ALLOWED_FUNCTIONS or (module, name) in ALLOWED_BUILTINS:
        return True
    if root not in ALLOWED_ROOTS:
        return False
    if isinstance(obj, type):
        return True
    if isinstance(obj, np.ufunc):
        return True
    return _plain_function_allowed(module, name, obj)


def _resolve(module: str, name: str, source: Path, trusted: frozenset[str]) -> Any:
    """Import ``module.name`` only if the allow-list says yes."""
    root = module.split(".", 1)[0]
    allowed_root = root in ALLOWED_ROOTS or (module, name) in ALLOWED_FUNCTIONS or (module, name) in ALLOWED_BUILTINS
    if not allowed_root and not any(module == t or module.startswith(t + ".") for t in trusted):
        raise BadInputError(
            f"{source}: refuses to load: it would call {module}.{name}, which is not on the allow-list "
            f"(pass --trust {module} if you wrote that module and trust this file)."
        )
    import importlib

    try:
        mod = importlib.import_module(module)
    except ImportError:
        raise BadInputError(
            f"{source}: needs module '{module}' (for '{name}'), which is not importable here; "
            f"install it or put its directory on PYTHONPATH."
        ) from None
    try:
        obj = mod
        for part in name.split("."):
            obj = getattr(obj, part)
    except AttributeError:
        raise BadInputError(
            f"{source}: needs '{name}' from module '{module}', which does not define it; "
            f"if it was defined in a script (__main__), move it into an importable module and re-save the model."
        ) from None
    if not _is_allowed(module, name, obj, trusted):
        raise BadInputError(
            f"{source}: refuses to load: it would call {module}.{name}, which is not on the allow-list "
            f"(pass --trust {module} if you trust this file)."
        )
    return obj


def _unpickler_class() -> type:
    from joblib.numpy_pickle import NumpyUnpickler

    class Restricted(NumpyUnpickler):  # type: ignore[misc,valid-type]
        source: Path = Path("?")
        trusted: frozenset[str] = frozenset()

        def find_class(self, module: str, name: str) -> Any:
            return _resolve(module, name, self.source, self.trusted)

    return Restricted


def load_pickle_checked(path: Path, trusted: tuple[str, ...] = ()) -> Any:
    """Load a pickle or joblib file through the allow-list."""
    from joblib.numpy_pickle import _validate_fileobject_and_memmap

    cls = _unpickler_class()
    try:
        with open(path, "rb") as f:
            with _validate_fileobject_and_memmap(f, str(path), None) as (fobj, _mmap):
                if isinstance(fobj, str):
                    raise BadInputError(f"{path}: written by a joblib older than 0.10; re-save it.")
                unpickler = cls(str(path), fobj, True, mmap_mode=None)
                unpickler.source = path
                unpickler.trusted = frozenset(trusted)
                return unpickler.load()
    except BadInputError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError, io.UnsupportedOperation, OSError) as e:
        kind = type(e).__name__
        msg = str(e).splitlines()[0] if str(e) else "truncated or not a pickle"
        raise BadInputError(f"{path}: not a readable model file ({kind}: {msg}).") from None
    except Exception as e:  # any other failure inside a third-party __setstate__
        raise BadInputError(f"{path}: could not be loaded ({type(e).__name__}: {e}).") from None


def load_skops_checked(path: Path, trusted: tuple[str, ...] = ()) -> Any:
    """Load a .skops file, trusting only the types our allow-list allows."""
    try:
        import skops.io as sio
    except ImportError:
        raise BadInputError(f"{path}: reading .skops files needs the 'skops' package (pip install skops).") from None
    try:
        untrusted = sio.get_untrusted_types(file=str(path))
    except Exception as e:
        raise BadInputError(f"{path}: not a readable .skops file ({type(e).__name__}: {e}).") from None
    refused = []
    for t in untrusted:
        module, _, name = t.rpartition(".")
        try:
            _resolve(module, name, path, frozenset(trusted))
        except BadInputError:
            refused.append(t)
    if refused:
        raise BadInputError(
            f"{path}: refuses to load types not on the allow-list: {', '.join(refused)} "
            "(pass --trust MODULE for modules you trust)."
        )
    try:
        return sio.load(str(path), trusted=untrusted)
    except Exception as e:
        raise BadInputError(f"{path}: could not be loaded ({type(e).__name__}: {e}).") from None
