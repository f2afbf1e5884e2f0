"""A pytest plugin for scripts/pyzmq-suite.sh: the outcome of every test, by node id.

Loaded with `-p pyzmq_suite_outcomes` (scripts/ on PYTHONPATH); appends one line per test to
the file $PYZMQ_SUITE_OUTCOMES as each test ends, so that a run that dies part-way (a crash, a
kill) still leaves what it did:

    passed|failed|error|skipped|xfailed|xpassed <node id>
    rerun <node id>            a failed attempt pytest-rerunfailures ran again
    finished <exit status>     written last, only when the session ended normally

A module that fails to import is an `error` line for the file, one that skips at import (an
importorskip) a `skipped` line for it. The script compares these lines between libraries;
pytest's own report, which the script shows, says why.
"""

import os

_path = os.environ["PYZMQ_SUITE_OUTCOMES"]
# node id -> outcome of its current attempt so far
_current = {}


def _write(line):
    with open(_path, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def pytest_collectreport(report):
    if report.failed:
        _write(f"error {report.nodeid}")
    elif report.skipped:
        _write(f"skipped {report.nodeid}")


def pytest_runtest_logreport(report):
    nodeid = report.nodeid
    if report.outcome == "rerun":
        _write(f"rerun {nodeid}")
        _current.pop(nodeid, None)
        return
    xfail = hasattr(report, "wasxfail")
    if report.when == "setup":
        if report.failed:
            _current[nodeid] = "error"
        elif report.skipped:
            _current[nodeid] = "xfailed" if xfail else "skipped"
    elif report.when == "call":
        if xfail:
            _current[nodeid] = "xfailed" if report.skipped else "xpassed"
        elif report.failed:
            _current[nodeid] = "failed"
        else:
            _current[nodeid] = "skipped" if report.skipped else "passed"
    else:
        # teardown ends the attempt; an error there spoils a pass or a skip
        outcome = _current.pop(nodeid, None)
        if report.failed and outcome in (None, "passed", "skipped", "xfailed"):
            outcome = "error"
        if outcome is not None:
            _write(f"{outcome} {nodeid}")


def pytest_sessionfinish(session, exitstatus):
    _write(f"finished {int(exitstatus)}")
