"""One scorer process for a whole ``score`` call (json-go and json-java).

Both command-line scorers read CSV from a file or standard input and write
CSV to a file or standard output (``-``), chunk by chunk. Two ways to use that:

* :func:`stream_file`: the user's CSV file goes straight to the scorer, which
  parses it itself (exactly, as when it is run by hand); mlexport only reads
  the predictions back, chunk by chunk. Used when the file already is in the
  scorer's input layout; if the scorer refuses the file (exit status 2: a
  column missing, a cell that is not a number, ...) :class:`InputRejected`
  tells the caller to read it the ordinary way, so errors and missing-value
  spellings stay mlexport's.
* :func:`stream_frames`: frames (chunks of a large file) are written to the
  scorer's standard input by a thread while its standard output is read back,
  one output chunk per input chunk: one process, not one per chunk.

Memory stays flat: files are read back in chunks, and pipes and the scorers'
own chunking bound what is in flight.
"""

from __future__ import annotations

import queue
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import pandas as pd

from ..errors import RuntimeFailure
from ..outputs import Outputs

Convert = Callable[[pd.DataFrame, int], Outputs]  # (output frame of strings, rows expected) -> Outputs
CHUNK_ROWS = 50_000
_DONE = object()


class InputRejected(Exception):
    """The scorer refused the data file as it is (exit status 2)."""


def _reader(stdout: IO[bytes]) -> Any:
    return pd.read_csv(stdout, dtype=str, keep_default_na=False, na_filter=False, skip_blank_lines=False,
                       chunksize=CHUNK_ROWS)


def _take(reader: Any, n: int) -> pd.DataFrame | None:
    try:
        return reader.get_chunk(n)  # type: ignore[no-any-return]
    except StopIteration:
        return None


def _message(err: IO[bytes], code: int) -> str:
    err.seek(0)
    lines = [ln.strip() for ln in err.read().decode("utf-8", "replace").splitlines() if ln.strip()]
    return lines[-1] if lines else f"exited with status {code}"


def _start(cmd: list[str], stdin: Any, err: IO[bytes], name: str) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=err)
    except OSError as e:
        raise RuntimeFailure(f"{name}: cannot run {cmd[0]}: {e}") from None


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for f in (proc.stdin, proc.stdout):
        if f is not None:
            try:
                f.close()
            except OSError:
                pass


def stream_file(cmd: list[str], data: Path, convert: Convert, name: str,
                clean: Callable[[str], str] = lambda m: m) -> Iterator[Outputs]:
    """Outputs of ``cmd + [data, OUT]``, read back from OUT in chunks of up to :data:`CHUNK_ROWS` rows.

    The scorer runs to the end first (reading its output while it scores would
    take CPU from it; the file is read back chunk by chunk, so memory stays flat).
    Raises :class:`InputRejected` when the scorer refuses the file or the file
    has no rows (the caller then reads it itself), :class:`RuntimeFailure` on
    any other failure of the scorer."""
    with tempfile.TemporaryDirectory(prefix="mlexport-score-") as work:
        out = Path(work) / "out.csv"
        try:
            r = subprocess.run([*cmd, str(data), str(out)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
        except OSError as e:
            raise RuntimeFailure(f"{name}: cannot run {cmd[0]}: {e}") from None
        if r.returncode != 0:
            lines = [ln.strip() for ln in r.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
            msg = clean(lines[-1] if lines else f"exited with status {r.returncode}")
            if r.returncode == 2:
                raise InputRejected(msg)
            raise RuntimeFailure(f"{name}: {msg}")
        rows = 0
        with open(out, "rb") as f:
            try:
                reader = _reader(f)
            except pd.errors.EmptyDataError:
                reader = None
            while reader is not None:
                frame = _take(reader, CHUNK_ROWS)
                if frame is None or len(frame) == 0:
                    break
                rows += len(frame)
                yield convert(frame, len(frame))
        if rows == 0:
            raise InputRejected("no rows")


def stream_frames(cmd: list[str], chunks: Iterable[pd.DataFrame], to_csv: Callable[[pd.DataFrame, bool], bytes],
                  convert: Convert, empty: Callable[[pd.DataFrame], Outputs], name: str,
                  clean: Callable[[str], str] = lambda m: m) -> Iterator[Outputs]:
    """Outputs of ``cmd + ["-", "-"]`` fed with ``chunks``: one per chunk, same rows, in order.

    ``to_csv(chunk, header)`` gives a chunk's CSV bytes; ``empty(chunk)`` the
    outputs of a chunk without rows."""
    sizes: queue.Queue[Any] = queue.Queue()
    failed: list[BaseException] = []

    def feed(stdin: IO[bytes]) -> None:
        try:
            first = True
            for chunk in chunks:
                data = to_csv(chunk, first)
                first = False
                sizes.put((len(chunk), chunk if len(chunk) == 0 else None))
                stdin.write(data)
        except (BrokenPipeError, OSError) as e:  # the scorer stopped reading: its own error says why
            if not isinstance(e, BrokenPipeError) and not failed:
                failed.append(e)
        except BaseException as e:  # noqa: BLE001 - reading the data failed: re-raised in the caller
            failed.append(e)
        finally:
            try:
                stdin.close()
            except OSError:
                pass
            sizes.put(_DONE)

    with tempfile.TemporaryFile() as err:
        proc = _start([*cmd, "-", "-"], subprocess.PIPE, err, name)
        assert proc.stdin is not None and proc.stdout is not None
        writer = threading.Thread(target=feed, args=(proc.stdin,), name=f"{name}-feed", daemon=True)
        writer.start()
        try:
            reader = None
            short = False
            while True:
                item = sizes.get()
                if item is _DONE:
                    break
                n, chunk = item
                if n == 0:
                    yield empty(chunk)
                    continue
                if reader is None:
                    try:
                        reader = _reader(proc.stdout)
                    except pd.errors.EmptyDataError:
                        short = True
                        break
                frame = _take(reader, n)
                if frame is None or len(frame) != n:
                    short = True
                    break
                yield convert(frame, n)
            if short:  # the scorer stopped early (its exit status says why) or misbehaves: end it
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
            writer.join()
            if failed:
                raise failed[0]
            code = proc.wait()
            if code != 0:
                raise RuntimeFailure(f"{name}: {clean(_message(err, code))}")
            if short:
                raise RuntimeFailure(f"{name}: the scorer wrote fewer rows than it was given")
        finally:
            _stop(proc)
            writer.join(timeout=5)
