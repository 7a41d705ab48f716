"""Custom functions carried into PMML: exported, then scored by JPMML-Evaluator and PMML4S.

Every expected number comes from the fitted scikit-learn pipeline itself, through
mlexport's own parity check (``mlexport.export`` / ``mlexport.verify``) at the
default tolerance rtol = atol = 1e-6. NaN rows are in every data set; infinite
inputs go to JPMML only (mlexport's PMML4S runtime sends JSON, which has no
infinity).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

import mlexport
from mlexport import jvm
from mlexport.errors import UnsupportedStepError
from mlexport.exporters import get_exporter
from mlexport.model import from_estimator

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


# --------------------------------------------------------------------------- functions


def banded(x: Any) -> Any:  # np.where, np.clip, boolean logic; NaN where age is missing and young
    x = np.asarray(x, dtype=float)
    older = (x[:, [0]] > 30) & ~np.isnan(x[:, [1]])
    return np.where(older, np.clip(x[:, [1]] / 1000.0, 15.0, 40.0), np.abs(x[:, [0]] - 40.0))


def shape_features(x: Any) -> Any:  # several outputs; sqrt of a negative and x / 0 give NaN / inf
    x = np.asarray(x, dtype=float)
    a, b = x[:, 0], x[:, 1]
    return np.column_stack([np.sqrt(a - 30.0), np.clip(b / (a - 40.0), -1e4, 1e4), np.maximum(a, 35.0), np.fmax(a, 35.0),
                            np.floor(a / 7.0) - np.round(a / 7.0), np.sign(a - 40.0) * np.expm1(-np.abs(a) / 50.0)])


def _parity_summary(res: Any) -> str:
    return "; ".join(
        f"{r.runtime}/{o.name}: {o.mismatches} rows, max_abs_err={o.max_abs_err} {o.note}"
        for r in res.runtimes for o in r.outputs if not o.passed
    ) + "; ".join(f"{r.runtime}: {r.error}" for r in res.runtimes if r.error)


def _people(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "age": rng.normal(40, 15, n).round(1),
        "income": rng.lognormal(10, 0.5, n),
        "city": rng.choice(["Lyon", "Paris", "Nice"], n).astype(object),
    })
    df.loc[::7, "age"] = np.nan
    df.loc[3::11, "income"] = np.nan
    df.loc[::10, "age"] = 18.0  # on the comparison's boundary
    df.loc[5::10, "age"] = 40.0  # divisor zero in shape_features
    y = ((df["income"].fillna(20000) > 22000) ^ (df["age"].fillna(0) > 45)).astype(int).to_numpy()
    return df, y


def _export(est: Any, X: pd.DataFrame, tmp_path: Path, name: str, probe: bool = True) -> Any:
    lm = from_estimator(est, source=name)
    (plan,) = mlexport.check(lm, ["pmml"])
    assert not plan.blocked, [v.to_dict() for v in plan.blockers]
    res = mlexport.export(lm, "pmml", tmp_path / f"{name}.pmml", data=X, probe=probe)
    assert res.parity is not None
    assert {r.runtime for r in res.parity.runtimes} == {"jpmml", "pmml4s"}
    assert res.parity.passed, _parity_summary(res.parity)
    return res


# --------------------------------------------------------------------------- end to end


@pytest.mark.jpmml
@pytest.mark.pmml4s
def test_lambda_def_and_ufunc_in_a_column_transformer_classifier(java, tmp_path: Path) -> None:
    df, y = _people()
    pre = ColumnTransformer([
        ("adult", FunctionTransformer(lambda x: x > 18), ["age"]),  # bool output consumed as 0/1, NaN -> False
        ("band", make_pipeline(FunctionTransformer(banded), SimpleImputer(), StandardScaler()), ["age", "income"]),
        ("log", make_pipeline(FunctionTransformer(np.log1p), SimpleImputer(), StandardScaler()), ["income"]),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")), ["city"]),
    ])
    est = Pipeline([("pre", pre), ("model", LogisticRegression(max_iter=2000))]).fit(df.iloc[:300], y[:300])
    test = df.iloc[300:]
    assert test["age"].isna().any() and test["income"].isna().any()
    res = _export(est, test, tmp_path, "people")
    # the file carries the translated fields, not the converter's own guess
    text = (tmp_path / "people.pmml").read_text()
    assert 'name="pre/adult:_lambda_[0]"' in text and 'name="pre/band/functiontransformer:banded[0]"' in text
    assert 'function="ln1p"' in text and 'invalidValueTreatment="asMissing"' in text
    manifest = res.manifest.read_text()
    assert '"translated_fields": 3' in manifest


@pytest.mark.jpmml
@pytest.mark.pmml4s
def test_multi_output_function_with_nan_and_inf_intermediates_regressor(java, tmp_path: Path) -> None:
    df, _ = _people(seed=1)
    X = df[["age", "income"]]
    y = np.nan_to_num(X["income"].to_numpy() / 1000.0) + np.nan_to_num(X["age"].to_numpy())
    est = make_pipeline(FunctionTransformer(shape_features), SimpleImputer(), Ridge()).fit(X.iloc[:300], y[:300])
    test = X.iloc[300:]
    assert test.isna().any().all() and (test["age"] == 40.0).any()  # NaN inputs, and b / 0 = inf clipped back
    _export(est, test, tmp_path, "shapes", probe=False)


@pytest.mark.jpmml
@pytest.mark.pmml4s
def test_kw_args_and_identity_functions(java, tmp_path: Path) -> None:
    df, _ = _people(seed=2)
    X = df[["age", "income"]]
    y = np.nan_to_num(X["age"].to_numpy())
    est = make_pipeline(
        FunctionTransformer(np.clip, kw_args={"a_min": 20.0, "a_max": 60.0}),  # ufunc with numeric kw_args
        FunctionTransformer(),  # identity
        SimpleImputer(),
        LinearRegression(),
    ).fit(X.iloc[:300], y[:300])
    _export(est, X.iloc[300:], tmp_path, "clip")


# --------------------------------------------------------------------------- operator grid

# one value per row and column: NaN, infinities, zeros, ties for rint, overflow for exp,
# values past 2**31 for floor/ceil, the domain edges of log/log1p/sqrt
_VALUES = [np.nan, np.inf, -np.inf, 0.0, 1.0, -1.0, 0.5, -0.5, 1.5, 2.5, -2.5, 18.0, 1e300, -1e300, 1e-300, 3.7,
           -3.7, 710.0, -745.5, 2.0**31 + 0.5, -(2.0**40) - 0.5, 1e20, 7.0, -2.0]


def _grid() -> pd.DataFrame:
    a = np.array(_VALUES)
    pairs = np.array(np.meshgrid(a, a)).reshape(2, -1).T
    return pd.DataFrame(pairs, columns=["x0", "x1"])


def _finite(x: Any) -> Any:
    return np.nan_to_num(x, nan=-7.0, posinf=1e6, neginf=-1e6)


# each reads one value per row back through a linear model; nan_to_num keeps it finite for sklearn
GRID: dict[str, Any] = {
    "log_family": lambda x: _finite(np.log(x[:, [0]]) + 2.0 * np.log2(np.abs(x[:, [1]])) - np.log10(x[:, [0]]) * 3.0),
    "log1p_expm1_sqrt": lambda x: _finite(np.log1p(x[:, [0]]) - np.expm1(x[:, [1]] / 100.0) + np.sqrt(x[:, [0]])),
    "exp_tanh_trig": lambda x: _finite(np.exp(x[:, [0]] / 10.0) + np.tanh(x[:, [1]]) + np.sin(x[:, [0]]) * np.cos(x[:, [1]])),
    "rounding": lambda x: _finite(np.floor(x[:, [0]]) + 3.0 * np.ceil(x[:, [1]]) + 5.0 * np.trunc(x[:, [0]]) + 7.0 * np.rint(x[:, [1]])),
    "sign_abs_square": lambda x: _finite(np.sign(x[:, [0]]) * 4.0 + np.abs(x[:, [1]]) - np.square(x[:, [0]] / 1e10)),
    "divide_and_power": lambda x: _finite(x[:, [0]] / x[:, [1]] + np.reciprocal(x[:, [1]]) + x[:, [0]] ** 2.0 + np.power(x[:, [1]], x[:, [0]] / 4.0)),
    "min_max_nan_rules": lambda x: _finite(np.minimum(x[:, [0]], x[:, [1]]) + 2.0 * np.maximum(x[:, [0]], 1.0) + 3.0 * np.fmin(x[:, [0]], x[:, [1]]) - np.fmax(x[:, [1]], 0.0)),
    "comparisons": lambda x: (1.0 * (x[:, [0]] < x[:, [1]]) + 2.0 * (x[:, [0]] <= 2.5) + 4.0 * (x[:, [0]] > x[:, [1]]) + 8.0 * (x[:, [1]] >= 18) + 16.0 * (x[:, [0]] == x[:, [1]]) + 32.0 * (x[:, [0]] != x[:, [1]])),
    "boolean_logic": lambda x: 1.0 * (((x[:, [0]] > 0) & ~(x[:, [1]] > 0)) | ((x[:, [0]] < -1) ^ np.isnan(x[:, [1]]))) + 2.0 * np.isinf(x[:, [0]]) + 4.0 * np.isfinite(x[:, [1]]),
    "where_clip": lambda x: _finite(np.where(x[:, [0]] > x[:, [1]], np.clip(x[:, [0]], -2.0, 3.0), np.clip(x[:, [1]], 0.0, np.inf))),
    "inf_arithmetic": lambda x: _finite((x[:, [0]] * 1e300) - (x[:, [1]] * 1e300) + np.exp(x[:, [0]]) * 0.0),
}


@pytest.mark.jpmml
@pytest.mark.pmml4s
@pytest.mark.parametrize("name", list(GRID))
def test_operator_grid_matches_numpy_in_both_evaluators(java, tmp_path: Path, name: str) -> None:
    rng = np.random.default_rng(5)
    train = rng.normal(0, 3, (200, 2))  # a plain array: the function sees numpy, the model columns x0, x1
    est = make_pipeline(FunctionTransformer(GRID[name]), LinearRegression()).fit(train, rng.normal(size=200))
    lm = from_estimator(est, source=name)
    (plan,) = mlexport.check(lm, ["pmml"])
    assert not plan.blocked, [v.to_dict() for v in plan.blockers]
    grid = _grid()
    out = tmp_path / f"{name}.pmml"
    mlexport.export(lm, "pmml", out, verify=False)
    with_inf = mlexport.verify(lm, out, data=grid, runtimes=["jpmml"])
    assert with_inf.passed, _parity_summary(with_inf)
    finite = grid[~np.isinf(grid.to_numpy()).any(axis=1)]
    res = mlexport.verify(lm, out, data=finite, runtimes=["jpmml", "pmml4s"])
    assert res.passed, _parity_summary(res)


# --------------------------------------------------------------------------- refusals


def test_check_is_static_and_refuses_what_pmml_cannot_carry_exactly(monkeypatch) -> None:
    def no_jvm() -> None:
        raise AssertionError("check must not start a JVM")

    monkeypatch.setattr(jvm, "start", no_jvm)
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [0.5, 1.5, np.nan, 2.0]})

    def noisy(x: Any) -> Any:
        print("scoring")
        return x * 2

    pre = ColumnTransformer([
        ("ok", FunctionTransformer(lambda x: np.where(x > 2, np.log1p(x), -x)), ["a"]),
        ("mod", FunctionTransformer(lambda x: x % 3.0), ["a"]),
        ("impure", FunctionTransformer(noisy), ["b"]),
    ])
    est = Pipeline([("pre", pre), ("model", LinearRegression())]).fit(X.fillna(0), [1.0, 2.0, 3.0, 4.0])
    verdicts = {v.path: v for v in get_exporter("pmml").assess(from_estimator(est))}
    assert verdicts["pre/ok"].ok
    assert verdicts["pre/mod"].status == "unsupported" and "np.remainder" in verdicts["pre/mod"].reason
    assert verdicts["pre/impure"].status == "unsupported"
    assert "noisy" in verdicts["pre/impure"].reason and "print" in verdicts["pre/impure"].reason
    assert verdicts["pre/impure"].hint


@pytest.mark.jpmml
@pytest.mark.pmml4s
def test_export_refuses_an_unexact_function_with_its_step_path(java, tmp_path: Path) -> None:
    X = pd.DataFrame({"a": np.arange(10.0), "b": np.arange(10.0) / 3})
    est = make_pipeline(FunctionTransformer(lambda x: np.fmod(x, 4.0)), LinearRegression()).fit(X, np.arange(10.0))
    with pytest.raises(UnsupportedStepError) as info:
        get_exporter("pmml").export(from_estimator(est), tmp_path / "f.pmml", X)
    assert (info.value.path, info.value.cls, info.value.fmt) == ("functiontransformer", "FunctionTransformer", "pmml")
    assert "fmod" in info.value.reason
    assert not (tmp_path / "f.pmml").exists()


# --------------------------------------------------------------------------- splicing (no JVM)


def _placeholder_doc(name: str, body: str) -> bytes:
    return (f'<PMML>\n\t<LocalTransformations>\n\t\t<DerivedField name="{name}" optype="continuous" dataType="double">'
            f"{body}</DerivedField>\n\t</LocalTransformations>\n\t"
            f'<RegressionTable><NumericPredictor name="{name}" coefficient="2"/></RegressionTable>\n</PMML>').encode()


def test_splice_reuses_the_converters_operands_whatever_they_are() -> None:
    from mlexport import expr as E
    from mlexport.exporters import pmml_expr

    ft = FunctionTransformer(lambda x: np.where(x[:, [0]] > x[:, [1]], x[:, [0]], 0.0)).fit(np.zeros((2, 2)))
    stand_in, splice = pmml_expr.placeholder(E.translate(ft), "pre/f")
    assert splice.inputs == ((0, 1),) and stand_in.name == "pre/f:_lambda_[0]"
    # what the converter writes for "X[0] + X[1]" when X[0] is itself a sum (e.g. an earlier step's field)
    first = '<Apply function="+"><FieldRef field="u"/><FieldRef field="v"/></Apply>'
    doc = _placeholder_doc(splice.name(0), f'<Apply function="+">{first}<FieldRef field="w"/></Apply>')
    out, n = pmml_expr.splice(doc, [splice])
    assert n == 1
    text = out.decode()
    assert '<FieldRef field="w"' in text and text.count('field="u"') >= 2  # X[0] used by the comparison and the branch
    assert 'function="greaterThan"' in text and 'name="pre/f:_lambda_[0]/t0"' in text
    assert 'NumericPredictor name="pre/f:_lambda_[0]"' in text


def test_splice_refuses_a_function_output_it_cannot_find() -> None:
    from mlexport import expr as E
    from mlexport.errors import ExportError
    from mlexport.exporters import pmml_expr

    ft = FunctionTransformer(np.log1p).fit(np.zeros((2, 1)))
    _stand_in, splice = pmml_expr.placeholder(E.translate(ft), "f")
    doc = _placeholder_doc("other", '<FieldRef field="x"/>').replace(b'NumericPredictor name="other"',
                                                                       f'NumericPredictor name="{splice.name(0)}"'.encode())
    with pytest.raises(ExportError, match="without its placeholder field"):
        pmml_expr.splice(doc, [splice])
    unread = _placeholder_doc("other", '<FieldRef field="x"/>')  # an output no step reads: nothing to do
    assert pmml_expr.splice(unread, [splice]) == (unread, 0)
