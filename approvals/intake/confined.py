"""Run a parser of an uploaded file in a child process that cannot take the server down with it.

A workbook reader builds the sheet in memory: a crafted file of a few megabytes (one shared
string in every cell, a cell at row 1,048,576 of column XFD) can make it ask for gigabytes, or
read for minutes. Counting (intake/lists.py, meanwhile in the parent) stops what can be counted;
this stops the rest. calamine, written in Rust, aborts its process when memory runs out: here that
process is the child, and the parent reports it like any other ceiling. The child is forked,
so it starts at once with everything already imported, and gets a ceiling on the memory it
may add and on its CPU time. If it passes either, it ends, and the upload gets a message
instead of the web worker being killed by the kernel's out-of-memory killer, with every
other request it was serving.

Linux only for the memory ceiling (it reads /proc/self/statm); elsewhere only the CPU time
is limited. Forking is what gunicorn's sync workers do all the time (one thread each). In a
threaded server (the demo's runserver) the child holds only the forking thread: it runs the
parser and nothing else, and Python renews its import and logging locks after a fork.
"""

import logging
import multiprocessing
import os
import pickle
import resource
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger(__name__)
# What reading one workbook may add in memory and take in CPU time. A real list of 200,000 rows
# of 20 columns is read within 600 MB and 5 s; one shared string copied into every row is stopped
# at the memory ceiling after about a second. gunicorn's timeout is 120 s.
WORKBOOK_MEMORY_BYTES = 1024**3
WORKBOOK_CPU_SECONDS = 60
_STATM = Path("/proc/self/statm")
# How much longer than its CPU time a child may take by the clock (waiting for a core on a busy machine);
# with 60 s of CPU, 80 s in all leaves the request time to store the list within gunicorn's 120 s.
WALL_SECONDS_MORE = 20


class Exceeded(Exception):
    """The child passed its memory or CPU ceiling, or ended without an answer."""


def run_confined(function: Callable, *args, memory_bytes: int, cpu_seconds: int, keep: type[Exception] | tuple = (),
                 meanwhile: Callable[[], None] | None = None):
    """``function(*args)`` in a forked child; its result, or the ``keep`` exception it raised, raised here
    (rebuilt from its message).

    ``meanwhile()`` runs here while the child works (a check of the same input, on the other core):
    if it raises, the child is stopped and its exception is the answer.

    Raises ``Exceeded`` when the child ran out of memory or CPU time; any other exception in the
    child becomes a RuntimeError here, as it would have been one in the request.
    """
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(sender, function, args, memory_bytes, cpu_seconds, keep),
                            daemon=True)
    child.start()
    sender.close()
    try:
        if meanwhile is not None:
            meanwhile()
        outcome = _answer(receiver, cpu_seconds)
    except BaseException:
        child.kill()  # refused meanwhile (or interrupted): the child's work is not wanted
        raise
    finally:
        receiver.close()
        child.join(timeout=1)
        if child.is_alive():
            child.kill()
            child.join()
    kind, value = outcome
    if kind == "done":
        return value
    if kind == "kept":
        raise keep(value)
    if kind == "exceeded":
        raise Exceeded
    raise RuntimeError(f"the confined parser failed: {value}")


def _answer(receiver, cpu_seconds: int) -> tuple[str, object]:
    try:
        # Wall-clock time as well: a child stopped by the kernel, or sleeping, uses no CPU time.
        return receiver.recv() if receiver.poll(cpu_seconds + WALL_SECONDS_MORE) else ("exceeded", None)
    except (EOFError, OSError, pickle.UnpicklingError):
        # Ended without an answer, or in the middle of one: killed at a ceiling, or crashed.
        return ("exceeded", None)


def _child(sender, function: Callable, args: tuple, memory_bytes: int, cpu_seconds: int,
           keep: type[Exception] | tuple) -> None:
    # A Rust reader that aborts at the memory ceiling would first print (slowly) a backtrace
    # of itself, which says nothing about the upload.
    os.environ["RUST_BACKTRACE"] = "0"
    try:
        _limit(memory_bytes, cpu_seconds)
        outcome = ("done", function(*args))
    except keep as exc:
        outcome = ("kept", str(exc))
    except MemoryError:
        outcome = ("exceeded", None)
    except BaseException as exc:  # noqa: BLE001 - whatever it was, the parent reports it
        outcome = ("failed", f"{type(exc).__name__}: {exc}")
    try:
        sender.send(outcome)
    except MemoryError:
        sender.send(("exceeded", None))
    finally:
        sender.close()
        # No clean-up of what the parent owns (its database connection, its files): just end.
        os._exit(0)


def _limit(memory_bytes: int, cpu_seconds: int) -> None:
    used_cpu = int(sum(os.times()[:2]))  # a forked child starts with its own count, but be sure
    _lower(resource.RLIMIT_CPU, used_cpu + cpu_seconds)
    # Ended at a ceiling (SIGXCPU, or calamine's abort), the child would otherwise leave a core
    # file of its memory, a copy of the web worker's, wherever core dumps are enabled.
    _lower(resource.RLIMIT_CORE, 0)
    if not _STATM.exists():
        logger.warning("No /proc/self/statm: an upload is read without a memory ceiling")
        return
    # The child starts as a copy of the parent: the ceiling is what it already has, plus the budget.
    used = int(_STATM.read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    _lower(resource.RLIMIT_AS, used + memory_bytes)


def _lower(kind: int, value: int) -> None:
    """Set the limit to value, or to the hard limit if that is lower already (only root may raise it).

    Where the system does not allow it (a sandbox that forbids setrlimit), the file is still read,
    without that ceiling, as it was before this module: the warning says so.
    """
    try:
        _soft, hard = resource.getrlimit(kind)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(kind, (value, value))
    except (ValueError, OSError) as exc:
        logger.warning("Could not set resource limit %s for reading an upload: %s", kind, exc)
