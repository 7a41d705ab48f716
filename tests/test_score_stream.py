"""``mlexport score`` through the Go and Java command-line scorers.

A CSV file already in the scorer's layout goes straight to the scorer (one
process, no per-cell formatting in Python); anything else is streamed through
one scorer process in chunks. Either way the predictions must be those of the
reference scorer (``json-python``), and what the Python path accepts or
refuses (missing-value spellings, missing columns, text in a number column)
must not change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

import mlexport
from mlexport import api, fastcsv
from mlexport.errors import BadInputError
from mlexport.outputs import Outputs
from mlexport.runtimes import cli_stream, get_runtime

pytestmark = pytest.mark.filterwarnings("ignore")

COLS = ["a", "b", "c", "d"]
RNG = np.random.default_rng(0)
X = pd.DataFrame(RNG.normal(size=(240, 4)), columns=COLS)
X.iloc[::17, 1] = np.nan
Y = (X["a"].fillna(0) + X["c"] > 0).astype(int).to_numpy()


@pytest.fixture(params=["json-go", "json-java"])
def runtime(request: pytest.FixtureRequest) -> str:
    reason = get_runtime(request.param).available()
    if reason:
        pytest.skip(reason)
    return str(request.param)


@pytest.fixture(scope="module")
def numeric(tmp_path_factory: pytest.TempPathFactory) -> Path:
    m = make_pipeline(SimpleImputer(), RandomForestClassifier(n_estimators=7, max_depth=5, random_state=0)).fit(X, Y)
    art = tmp_path_factory.mktemp("numeric") / "m.json"
    mlexport.export(m, "json", art, verify=False)
    return art


@pytest.fixture(scope="module")
def with_strings(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    frame = X.assign(city=np.array(["paris", "lyon", None, "nice", 'a "q", b'] * 48, dtype=object))
    pre = ColumnTransformer([("c", OneHotEncoder(handle_unknown="ignore"), ["city"]), ("n", SimpleImputer(), COLS)])
    m = make_pipeline(pre, LogisticRegression(max_iter=1000)).fit(frame, Y)
    art = tmp_path_factory.mktemp("strings") / "m.json"
    mlexport.export(m, "json", art, verify=False)
    return art, frame


def assert_same(got: Outputs, want: Outputs) -> None:
    assert got.label is not None and want.label is not None
    assert list(got.label) == list(want.label)
    for name in ("proba", "value", "decision"):
        a, b = getattr(got, name), getattr(want, name)
        assert (a is None) == (b is None), name
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


def reference(art: Path, data: Any) -> Outputs:
    out = mlexport.score(art, data, runtime="json-python")
    assert isinstance(out, Outputs)
    return out


def test_score_csv_is_what_pandas_writes() -> None:
    p = RNG.random(60)
    p[[1, 7]] = np.nan
    p[2], p[3], p[4] = np.inf, -0.0, 5e-324
    labels = np.array(["a", "b,c", 'q"x', "", "line\nbreak", None] * 10, dtype=object)
    for o in (Outputs(label=RNG.integers(-2, 3, 60), proba=np.c_[p, 1 - p], classes=(-1, 2)),
              Outputs(label=labels, proba=np.c_[p], classes=("a,b",)), Outputs(label=labels),
              Outputs(label=RNG.integers(0, 2, 60).astype(bool), decision=p, classes=(False, True)),
              Outputs(label=np.array([1, "a", None] * 20, dtype=object), decision=np.c_[p, p, p]),
              Outputs(value=p), Outputs(value=np.c_[p, 2 * p])):
        frame = o.to_frame()
        for header in (True, False):
            assert fastcsv.score_csv(frame, header) == frame.to_csv(index=False, header=header, float_format="%.17g")


def test_scorer_input_csv_round_trips_every_double() -> None:
    bits = np.random.default_rng(1).integers(0, 2**64, size=20_000, dtype=np.uint64).view(np.float64)
    values = np.r_[bits, 0.0, -0.0, 5e-324, 1e-7, 1e16, 1e22, 0.1, np.inf, -np.inf, np.nan]
    frame = pd.DataFrame({"x": values, "s": ["", 'a"b', None, "1.0"] * (len(values) // 4) + [None] * (len(values) % 4)})
    text = fastcsv.scorer_input_csv(frame, [("x", "number", True), ("s", "string", True), ("u", "number", False)],
                                    used_only=True).decode()
    lines = text.split("\n")
    assert lines[0] == '"x","s"' and lines[-1] == ""
    cells = [ln.split(",", 1) for ln in lines[1:-1]]
    got = np.array([float(c[0]) if c[0] else np.nan for c in cells])
    assert np.array_equal(got, values, equal_nan=True)
    assert np.array_equal(np.signbit(got)[~np.isnan(values)], np.signbit(values)[~np.isnan(values)])  # -0.0 too
    assert [c[1] for c in cells[:4]] == ['""', '"a""b"', "", '"1.0"']


def test_a_csv_file_goes_straight_to_the_scorer(runtime: str, numeric: Path, tmp_path: Path) -> None:
    data = X[["d", "c", "b", "a"]].assign(extra="ignored")
    csv = tmp_path / "in.csv"
    data.to_csv(csv, index=False)
    scorer = get_runtime(runtime).load(numeric)
    try:
        parts = scorer.score_file(csv)
        assert parts is not None  # named numeric inputs: the scorer reads the file itself
        whole = list(parts)
    finally:
        scorer.close()
    assert len(whole) == 1 and len(whole[0].label) == len(X)
    want = reference(numeric, csv)
    assert_same(whole[0], want)
    got = mlexport.score(numeric, csv, runtime=runtime)
    assert isinstance(got, Outputs)
    assert_same(got, want)
    # the output file is the one the Python path writes
    assert mlexport.score(numeric, csv, runtime=runtime, out=tmp_path / "p.csv") == len(X)
    mlexport.score(numeric, csv, runtime="json-python", out=tmp_path / "r.csv")
    mine, ref = pd.read_csv(tmp_path / "p.csv"), pd.read_csv(tmp_path / "r.csv")
    assert list(mine.columns) == list(ref.columns) and list(mine["label"]) == list(ref["label"])
    np.testing.assert_allclose(mine.iloc[:, 1:].to_numpy(), ref.iloc[:, 1:].to_numpy(), rtol=1e-9, atol=1e-9)


def test_output_read_back_in_chunks(runtime: str, numeric: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                    ) -> None:
    csv = tmp_path / "in.csv"
    X.to_csv(csv, index=False)
    monkeypatch.setattr(cli_stream, "CHUNK_ROWS", 37)
    seen: list[int] = []
    n = mlexport.score(numeric, csv, runtime=runtime, out=tmp_path / "p.csv", progress=lambda _w, rows: seen.append(rows))
    assert n == len(X) and seen == [*range(37, len(X), 37), len(X)]
    back = pd.read_csv(tmp_path / "p.csv")
    assert list(back["label"]) == list(reference(numeric, csv).label)


@pytest.mark.parametrize("spelling", ["NA", "null", "N/A", "None"])
def test_missing_value_spellings_the_scorer_refuses_are_still_read(runtime: str, numeric: Path, tmp_path: Path,
                                                                    spelling: str) -> None:
    text = X.to_csv(index=False, na_rep="NaN").splitlines()
    text[3] = text[3].split(",", 1)[0] + "," + spelling + "," + text[3].split(",", 2)[2]
    csv = tmp_path / "in.csv"
    csv.write_text("\n".join(text) + "\n")
    got = mlexport.score(numeric, csv, runtime=runtime)
    assert isinstance(got, Outputs)
    assert_same(got, reference(numeric, csv))


def test_bad_files_get_mlexport_errors(runtime: str, numeric: Path, tmp_path: Path) -> None:
    csv = tmp_path / "in.csv"
    X.drop(columns=["c"]).to_csv(csv, index=False)
    with pytest.raises(BadInputError, match=r"missing column\(s\) 'c'"):
        mlexport.score(numeric, csv, runtime=runtime, out=tmp_path / "p.csv")
    text = X.to_csv(index=False).splitlines()
    text[5] = "abc," + text[5].split(",", 1)[1]
    csv.write_text("\n".join(text) + "\n")
    with pytest.raises(BadInputError, match="column 'a' must be numeric. Got 'abc' at row 5"):
        mlexport.score(numeric, csv, runtime=runtime, out=tmp_path / "p.csv")
    assert not (tmp_path / "p.csv").exists()
    csv.write_text(",".join(COLS) + "\n")  # a header and no rows: as the Python path has it
    assert mlexport.score(numeric, csv, runtime=runtime, out=tmp_path / "p.csv") == \
        mlexport.score(numeric, csv, runtime="json-python", out=tmp_path / "r.csv")


def test_chunks_share_one_scorer_process(runtime: str, with_strings: tuple[Path, pd.DataFrame], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    art, frame = with_strings
    csv = tmp_path / "in.csv"
    frame.to_csv(csv, index=False)
    scorer = get_runtime(runtime).load(art)
    try:
        assert scorer.score_file(csv) is None  # a string column: read by mlexport, fed in chunks
    finally:
        scorer.close()
    monkeypatch.setattr(api, "CHUNK_ROWS", 50)
    want = reference(art, csv)
    got = mlexport.score(art, csv, runtime=runtime)
    assert isinstance(got, Outputs)
    assert_same(got, want)
    seen: list[int] = []
    assert mlexport.score(art, csv, runtime=runtime, out=tmp_path / "p.csv",
                          progress=lambda _w, rows: seen.append(rows)) == len(frame)
    assert seen == [50, 100, 150, 200, 240]


def test_stream_of_frames_keeps_chunk_boundaries(runtime: str, with_strings: tuple[Path, pd.DataFrame]) -> None:
    art, frame = with_strings
    from mlexport.data import conform

    scorer = get_runtime(runtime).load(art)
    try:
        rows = conform(frame, scorer.signature)
        chunks = [rows.iloc[:10], rows.iloc[10:10], rows.iloc[10:200], rows.iloc[200:]]
        parts = list(scorer.predict_stream(iter(chunks)))
        assert [len(p.label) for p in parts] == [10, 0, 190, 40]
        for part, chunk in zip(parts, chunks):
            if len(chunk):
                assert_same(part, scorer.predict(chunk))
        # bad data in a later chunk: the reading error, not a scorer error, reaches the caller
        bad = rows.iloc[:20].copy()
        bad["a"] = "x"
        with pytest.raises(BadInputError, match="column 'a' must be numeric"):
            list(scorer.predict_stream(iter([rows.iloc[:30], bad])))
        # a consumer that stops early ends the process
        stream = scorer.predict_stream(iter([rows] * 50))
        next(stream)
        stream.close()  # type: ignore[attr-defined]
    finally:
        scorer.close()


def test_data_errors_in_later_chunks_leave_no_output(runtime: str, with_strings: tuple[Path, pd.DataFrame],
                                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    art, frame = with_strings
    bad = frame.astype({"a": object})
    bad.loc[200, "a"] = "oops"
    csv = tmp_path / "in.csv"
    bad.to_csv(csv, index=False)
    monkeypatch.setattr(api, "CHUNK_ROWS", 50)
    with pytest.raises(BadInputError, match="Got 'oops' at row 201"):
        mlexport.score(art, csv, runtime=runtime, out=tmp_path / "p.csv")
    assert not list(tmp_path.glob("*p.csv*"))


def test_parity_feeds_every_chunk_to_one_scorer_process(runtime: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """``parity`` / ``verify`` over a chunked file start one scorer process, as ``score`` does
    (a JVM start per 50,000 rows before), and still compare every chunk and find a difference."""
    model = make_pipeline(SimpleImputer(), LogisticRegression()).fit(X, Y)
    art = tmp_path / "m.json"
    mlexport.export(model, "json", art, verify=False)
    csv = tmp_path / "in.csv"
    X.to_csv(csv, index=False)
    monkeypatch.setattr(api, "CHUNK_ROWS", 50)
    starts: list[list[str]] = []
    real_start = cli_stream._start

    def counting_start(cmd: list[str], *args: Any) -> Any:
        starts.append(cmd)
        return real_start(cmd, *args)

    monkeypatch.setattr(cli_stream, "_start", counting_start)
    seen: list[int] = []
    result = mlexport.verify(model, art, data=csv, runtimes=[runtime], progress=lambda _w, rows: seen.append(rows))
    assert result.passed and result.rows == len(X)
    assert seen == [50, 100, 150, 200, 240]
    assert len(starts) == 1
    other = make_pipeline(SimpleImputer(), LogisticRegression(C=0.01)).fit(X, Y)  # another model: parity must fail
    failed = mlexport.verify(other, art, data=csv, runtimes=[runtime])
    assert not failed.passed and failed.rows == len(X)
