"""FunctionTransformer functions -> expression IR -> numpy reference and ONNX.

(a) ``evaluate(translate(ft), X)`` equals ``ft.transform(X)`` exactly on inputs
with NaN, +-inf, +-0 and negatives, reading the source and the bytecode;
(b) the ONNX graph, alone and inside a pipeline, matches sklearn within 1e-12
with the same NaN positions; (c) impure or unsupported functions are refused
with a reason that names the problem.
"""

from __future__ import annotations

import functools
import importlib
import json
import linecache
import math
import pickle
import sys
import textwrap
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.special import expit
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from mlexport import expr as E
from mlexport.errors import UnsupportedStepError

F = 3
RTOL = ATOL = 1e-12
THRESHOLD = 18
LIMITS = [0, 100]


def is_adult(x):
    return x > 18


def above_threshold(x):
    """Reads a module-level int: frozen at translation time."""
    return x > THRESHOLD


def scaled_log(x, scale=1.0, offset=0.0):
    return np.log1p(np.abs(x)) * scale + offset


def two_features(x):
    ratio = x[:, 0] / (x[:, 1] + 1.0)
    last = np.where(np.isnan(x[:, 2]), -1.0, x[:, 2] ** 2)
    return np.column_stack([ratio, last, x[:, 1:] > 0])


# name -> (func, kw_args). Lambdas sit on their own lines inside this dict on purpose.
CASES: dict[str, tuple[Any, dict[str, Any] | None]] = {
    "log1p": (np.log1p, None),
    "sqrt": (np.sqrt, None),
    "abs": (np.abs, None),
    "exp": (np.exp, None),
    "gt_lambda": (lambda x: x > 18, None),
    "is_adult": (is_adult, None),
    "where_log1p": (lambda x: np.where(x > 0, np.log1p(x), 0.0), None),
    "clip_div": (lambda x: np.clip(x, 0, 100) / 10, None),
    "band": (lambda x: (x > 1) & (x < 5), None),
    "global_const": (above_threshold, None),
    "kw_args": (scaled_log, {"scale": 2.5, "offset": -1}),
    "column_stack": (two_features, None),
    "np_clip_kw": (np.clip, {"a_min": -1.0, "a_max": 3.0}),
    "identity": (None, None),
    "mod_min_max": (lambda x: np.maximum(x % 3.0, np.minimum(x, 1.0)) - np.sign(x) * 0.5, None),
    "casts_and_pow": (lambda x: (x >= 0).astype(float) * x ** 0.5 + (x < -1) * 1, None),
    "nan_to_num_round": (lambda x: np.round(np.nan_to_num(x, nan=-7.0, posinf=1e6)) + np.expm1(x[:, [0]]), None),
}
PY_FUNCS = {k for k, (f, _) in CASES.items() if callable(f) and type(f).__name__ == "function"}


def tricky(n: int = 240, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    special = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.5, -2.5, 3.0, -3.0, 5.0, 18.0,
                        -18.0, 1e-300, 5e-324, 1e-17, -1e-17, 710.0, -745.0, 1e300, -1e300, 100.0, 1e16])
    pool = np.concatenate([special, rng.normal(0, 4, 100), rng.normal(18, 3, 60), rng.uniform(-1, 1, 40)])
    X = rng.choice(pool, size=(n, F))
    for j in range(F):
        X[: len(special), j] = np.roll(special, 5 * j)
    return X


def make_ft(name: str) -> FunctionTransformer:
    func, kw = CASES[name]
    return FunctionTransformer(func, kw_args=kw).fit(tricky())


def transform(ft: FunctionTransformer, X: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.asarray(ft.transform(X))


def assert_same(got: np.ndarray, ref: np.ndarray) -> None:
    assert got.shape == ref.shape
    assert (got.dtype == bool) == (ref.dtype == bool)
    assert np.array_equal(got, ref, equal_nan=True)


def assert_close(got: np.ndarray, ref: np.ndarray) -> None:
    ref = np.asarray(ref, dtype=np.float64)
    assert got.shape == ref.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref), err_msg="NaN positions differ")
    np.testing.assert_allclose(got, ref, rtol=RTOL, atol=ATOL, equal_nan=True)


# ---------------------------------------------------------------- ONNX helpers

def onnx_runner(model: Any) -> Any:
    """A function X -> ONNX output, converting ``model`` with mlexport's FunctionTransformer converter."""
    import onnxruntime as ort
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType

    from mlexport.exporters import onnx_expr

    convs, shapes = onnx_expr.custom_converters()
    onx = convert_sklearn(
        model,
        initial_types=[("X", DoubleTensorType([None, F]))],
        target_opset={"": 21, "ai.onnx.ml": 5},
        custom_conversion_functions=convs,
        custom_shape_calculators=shapes,
    )
    sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])

    def run(X: np.ndarray) -> np.ndarray:
        return sess.run(None, {"X": np.ascontiguousarray(X, dtype=np.float64)})[0]

    return run


@functools.cache
def fitted(name: str) -> tuple[FunctionTransformer, E.ExprProgram, Any]:
    ft = make_ft(name)
    return ft, E.translate(ft), onnx_runner(ft)


# ------------------------------------------------------------ (a) evaluation


@pytest.mark.parametrize("use_source", [True, False], ids=["source", "bytecode"])
@pytest.mark.parametrize("name", list(CASES))
def test_evaluate_equals_transform(name: str, use_source: bool) -> None:
    ft = make_ft(name)
    prog = E.translate(ft, use_source=use_source)
    if name in PY_FUNCS:
        assert prog.origin == ("source" if use_source else "bytecode")
    X = tricky(seed=1)
    assert_same(E.evaluate(prog, X), transform(ft, X))


@pytest.mark.parametrize("name", list(CASES))
def test_json_round_trip(name: str) -> None:
    prog = E.translate(make_ft(name))
    doc = json.loads(json.dumps(prog.to_dict(), allow_nan=False))
    back = E.ExprProgram.from_dict(doc)
    assert back.to_dict() == doc
    X = tricky(seed=2)
    assert_same(E.evaluate(back, X), E.evaluate(prog, X))


def test_json_form_and_frozen_globals() -> None:
    prog = E.translate(make_ft("global_const"))
    assert prog.frozen == (("THRESHOLD", 18),)
    assert prog.to_dict() == {
        "format": "mlexport.expr", "version": 1, "function": "above_threshold", "origin": "source",
        "n_features_in": 3, "n_features_out": 3, "dtype": "bool", "frozen": {"THRESHOLD": 18},
        "output": {"op": "gt", "args": [{"op": "input"}, {"op": "const", "value": 18.0}]},
    }
    nan_doc = E.translate(FunctionTransformer(lambda x: np.where(x > 0, x, np.nan)).fit(tricky())).to_dict()
    assert '"NaN"' in json.dumps(nan_doc, allow_nan=False)


@pytest.mark.parametrize("name", ["column_stack", "nan_to_num_round", "is_adult", "kw_args"])
def test_per_column_matches_matrix_form(name: str) -> None:
    prog = E.translate(make_ft(name))
    cols = E.per_column(prog)
    assert len(cols) == prog.n_features_out
    flat = E.ExprProgram(E.Concat(tuple(cols)), prog.n_features_in)
    text = json.dumps(flat.to_dict())
    assert '"input"' not in text and '"cols"' not in text
    X = tricky(seed=3)
    assert_same(E.evaluate(flat, X), E.evaluate(prog, X))


def test_lambdas_sharing_a_line_and_missing_source(tmp_path: Any) -> None:
    X = tricky(seed=4)
    a, b = FunctionTransformer(lambda x: x + 1).fit(X), FunctionTransformer(lambda x: x * 2).fit(X)
    for ft in (a, b):
        prog = E.translate(ft)
        assert prog.origin == "source"
        assert_same(E.evaluate(prog, X), transform(ft, X))

    # no source at all: exec'd code
    ns: dict[str, Any] = {"np": np}
    exec(compile("def f(x):\n    return np.where(x > 2, x, -x)\n", "<no-source>", "exec"), ns)
    ft = FunctionTransformer(ns["f"]).fit(X)
    prog = E.translate(ft)
    assert prog.origin == "bytecode"
    assert_same(E.evaluate(prog, X), transform(ft, X))

    # a function unpickled from a module whose source file is gone
    mod_name = "mlx_expr_nosource_mod"
    (tmp_path / f"{mod_name}.py").write_text(textwrap.dedent("""
        import numpy as np
        LOW = 1.5
        def band(x):
            return (x > LOW) & (x < 5)
    """))
    sys.path.insert(0, str(tmp_path))
    try:
        mod = importlib.import_module(mod_name)
        blob = pickle.dumps(FunctionTransformer(mod.band).fit(X))
        (tmp_path / f"{mod_name}.py").unlink()
        linecache.clearcache()
        ft = pickle.loads(blob)
        prog = E.translate(ft)
        assert prog.origin == "bytecode"
        assert prog.frozen == (("LOW", 1.5),)
        assert_same(E.evaluate(prog, X), transform(ft, X))

        # a source file edited after import: the stale text is detected and ignored
        (tmp_path / f"{mod_name}.py").write_text(textwrap.dedent("""
            import numpy as np
            LOW = 1.5
            def band(x):
                return x * 100.0
        """))
        linecache.clearcache()
        prog = E.translate(ft)
        assert prog.origin == "bytecode"
        assert_same(E.evaluate(prog, X), transform(ft, X))
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(mod_name, None)


def test_closures_helpers_and_partial() -> None:
    X = tricky(seed=5)
    cut = 2.0

    def helper(v, k=3.0):
        return np.minimum(v, k)

    def f(x):
        return helper(x * cut) + helper(x, k=-1)

    cases = [FunctionTransformer(f), FunctionTransformer(functools.partial(np.clip, a_min=0.0, a_max=1.0))]
    for ft in cases:
        ft.fit(X)
        for use_source in (True, False):
            prog = E.translate(ft, use_source=use_source)
            assert_same(E.evaluate(prog, X), transform(ft, X))
    assert dict(E.translate(cases[0]).frozen) == {"cut": 2.0}


# ----------------------------------------------------------------- (b) ONNX


@pytest.mark.onnxruntime
@pytest.mark.parametrize("name", list(CASES))
def test_onnx_function_alone_matches_sklearn(name: str) -> None:
    ft, _, run = fitted(name)
    X = tricky(seed=6)
    out = run(X)
    assert out.dtype == np.float64
    assert_close(out, transform(ft, X))


@pytest.mark.onnxruntime
@pytest.mark.parametrize("name", list(CASES))
def test_onnx_pipeline_matches_sklearn(name: str) -> None:
    rng = np.random.default_rng(7)
    X_train = rng.uniform(0.0, 30.0, size=(200, F))
    X_train[::7] = np.round(X_train[::7])  # exact integers: 18, 0, ...
    func, kw = CASES[name]
    feats = np.asarray(FunctionTransformer(func, kw_args=kw).fit_transform(X_train), dtype=np.float64)
    y = feats @ rng.uniform(0.5, 1.5, feats.shape[1]) + rng.normal(0, 0.1, len(feats))
    model = make_pipeline(FunctionTransformer(func, kw_args=kw), LinearRegression()).fit(X_train, y)

    X = np.vstack([rng.uniform(-2.0, 32.0, size=(200, F)), tricky(seed=8)])
    with np.errstate(all="ignore"):
        feats = np.asarray(model[0].transform(X), dtype=np.float64)
    X = X[(np.abs(feats) < 1e200).all(axis=1)]  # sklearn's LinearRegression refuses NaN/inf features
    assert len(X) > 150
    out = onnx_runner(model)(X)
    with np.errstate(all="ignore"):  # np.where evaluates log1p on the discarded branch too
        ref = model.predict(X).reshape(-1, 1)
    assert_close(out, ref)


@pytest.mark.onnxruntime
def test_onnx_supports_and_refusals() -> None:
    from mlexport.exporters import onnx_expr

    X = tricky()
    assert onnx_expr.supports(make_ft("band")) is None
    reason = onnx_expr.supports(FunctionTransformer(np.tan).fit(X))
    assert reason and "tan" in reason
    reason = onnx_expr.supports(FunctionTransformer(prints).fit(X))
    assert reason and "print" in reason
    with pytest.raises(UnsupportedStepError, match="tan"):
        onnx_runner(FunctionTransformer(np.tan).fit(X))


# ---------------------------------------------------------------- (c) refusals


def prints(x):
    print(x)
    return x > 1


def opens_file(x):
    with open("/tmp/mlexport-expr-test.log", "a") as fh:
        fh.write("called")
    return x


def loops(x):
    out = x
    for _ in range(3):
        out = out + 1
    return out


def reads_mutable_global(x):
    return np.clip(x, LIMITS[0], LIMITS[1])


def calls_unknown(x):
    return expit(x)


def branches(x):
    if THRESHOLD > 10:
        return x
    return -x


def in_place(x):
    y = x * 2
    y += 1
    return y


def uses_shape(x):
    return x / x.shape[0]


def returns_1d(x):
    return np.log1p(x[:, 0])


def uses_math_module_on_arrays(x):
    return math.log(x)


def make_mutable_closure():
    state = [1.0]

    def f(x):
        return x * state[0]

    return f


REFUSALS = {
    "print": (prints, None, "print"),
    "open": (opens_file, None, "open"),
    "loop": (loops, None, "loop"),
    "mutable_global": (reads_mutable_global, None, "'LIMITS', a list"),
    "unknown_call": (calls_unknown, None, "expit"),
    "branch": (branches, None, "if"),
    "in_place": (in_place, None, "in-place"),
    "attribute": (uses_shape, None, ".shape"),
    "one_d": (returns_1d, None, "1-D"),
    "math_on_array": (uses_math_module_on_arrays, None, "math.log"),
    "mutable_closure": (make_mutable_closure(), None, "'state', a list"),
    "comprehension": (lambda x: np.column_stack([x[:, i] for i in range(2)]), None, "comprehension"),
    "chained_compare": (lambda x: 0 < x < 5, None, "chained comparison"),
    "kw_args_list": (scaled_log, {"scale": [1, 2]}, "kw_args['scale'] is a list"),
    "and_keyword": (lambda x: (x > 0) and (x < 3), None, "and"),
}
# reasons the bytecode reader words differently (it sees jumps, not syntax)
BYTECODE_WORDING = {"branch": "control flow", "chained_compare": "control flow", "and_keyword": "control flow",
                    "comprehension": "comprehension"}


@pytest.mark.parametrize("use_source", [True, False], ids=["source", "bytecode"])
@pytest.mark.parametrize("name", list(REFUSALS))
def test_refusals_name_the_problem(name: str, use_source: bool) -> None:
    func, kw, needle = REFUSALS[name]
    if not use_source:
        needle = BYTECODE_WORDING.get(name, needle)
    ft = FunctionTransformer(func, kw_args=kw).fit(tricky())
    with pytest.raises(UnsupportedStepError) as info:
        E.translate(ft, use_source=use_source)
    err = info.value
    assert err.cls == "FunctionTransformer"
    assert needle in err.reason, err.reason
    assert err.hint
    assert E.supports(ft) is not None


def test_malformed_documents_are_refused() -> None:
    from mlexport.errors import BadInputError

    good = E.translate(make_ft("band")).to_dict()
    for bad in (
        {**good, "version": 99},
        {**good, "output": {"op": "frobnicate", "args": []}},
        {**good, "output": {"op": "log1p", "args": [{"op": "gt", "args": [{"op": "input"}, {"op": "const", "value": 1}]}]}},
        {**good, "output": {"op": "add", "args": [{"op": "col", "index": 0}, {"op": "input"}]}},
    ):
        with pytest.raises(BadInputError):
            E.ExprProgram.from_dict(bad)


# ------------------------------------------------------------ property tests

finite_or_not = st.floats(allow_nan=True, allow_infinity=True, width=64)
matrices = st.integers(1, 12).flatmap(lambda n: arrays(np.float64, (n, F), elements=finite_or_not))


@pytest.mark.onnxruntime
@pytest.mark.parametrize("name", ["where_log1p", "mod_min_max", "column_stack"])
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(X=matrices)
def test_property_numpy_and_onnx(name: str, X: np.ndarray) -> None:
    ft, prog, run = fitted(name)
    ref = transform(ft, X)
    assert_same(E.evaluate(prog, X), ref)
    assert_close(run(X), ref)
