"""%memit --dask: the exact peak of every process of a Dask cluster.

Python glue only (imported by `import peakmem`, so it imports nothing
heavy at the top): the distributed Client's own run-on-every-worker calls
(Client.run, Client.run_on_scheduler) carry peakmem's C measurement into
each worker and the scheduler, where peakmem must be importable. Before
the statement, begin() resets each process's high-water mark
(clear_refs, through a probe in that process); after it, end() reads each
one's VmHWM there, so nothing assumes one machine: each worker reads its
own /proc. Every call has a timeout: a worker that died or hangs is
reported, never waited for.
"""
import os

PAUSE, TERMINATE = 0.80, 0.95  # distributed's defaults


class _SchedErr(Exception):
    """The scheduler's answer was an error (its text)."""


class SetupError(RuntimeError):
    """The user's mistake: no distributed, no Client. %memit --dask
    shows it as IPython's one-line UsageError (dask_py.c)."""


def _begin(dask_worker=None, dask_scheduler=None):
    """Runs in a worker (or the scheduler): reset its mark."""
    import socket
    from peakmem import _peakmem
    baseline, method = _peakmem._remote_begin()
    info = {"pid": os.getpid(), "host": socket.gethostname(),
            "baseline": baseline, "method": method, "memory_limit": None,
            "pause": PAUSE, "terminate": TERMINATE}
    mm = getattr(dask_worker, "memory_manager", None)
    if mm is not None:
        info["memory_limit"] = getattr(mm, "memory_limit", None) or None
        pause = getattr(mm, "memory_pause_fraction", PAUSE)
        info["pause"] = pause if pause else None
        try:
            import dask
            term = dask.config.get("distributed.worker.memory.terminate")
            info["terminate"] = term if term else None
        except Exception:
            pass
    return info


def _end(dask_worker=None, dask_scheduler=None):
    """Runs in a worker (or the scheduler): its peak since _begin."""
    import socket
    from peakmem import _peakmem
    peak, rss, method, began = _peakmem._remote_end()
    out = {"pid": os.getpid(), "host": socket.gethostname(), "peak": peak,
           "rss": rss, "method": method, "began": began}
    if not began:
        # Started during the statement (a restarted worker): its limits.
        info = _begin(dask_worker, dask_scheduler)
        _peakmem._remote_end()
        out.update(memory_limit=info["memory_limit"], pause=info["pause"],
                   terminate=info["terminate"], baseline=0)
    return out


def _everywhere(client, fn, timeout):
    """fn on every worker and on the scheduler at once (one round trip
    each, in parallel), at most timeout seconds. Returns (workers: {addr:
    value or exception}, or an error string; scheduler: value or
    exception)."""
    import asyncio

    async def both():
        return await asyncio.gather(
            client._run(fn, on_error="return"),
            client._run_on_scheduler(fn), return_exceptions=True)
    try:
        workers, sched = client.sync(both, callback_timeout=timeout)
    except (asyncio.TimeoutError, TimeoutError):
        err = "no answer within %gs" % timeout
        return err, _SchedErr(err)
    except Exception as e:
        err = "%s: %s" % (type(e).__name__, e)
        return err, _SchedErr(err)
    if isinstance(workers, BaseException):
        workers = "%s: %s" % (type(workers).__name__, workers)
    return workers, sched


def _client(address):
    try:
        from distributed import Client, get_client
    except ImportError:
        raise SetupError("--dask needs the 'distributed' package in the "
                         "kernel") from None
    if address:
        return Client(address, timeout=10, set_as_default=False), True
    try:
        return get_client(), False
    except ValueError:
        raise SetupError("--dask: no distributed Client in this kernel; "
                         "create one (Client(...)) or give its "
                         "scheduler's address: --dask=tcp://HOST:PORT") \
            from None


def _error_text(value):
    if isinstance(value, BaseException):
        if isinstance(value, (ImportError, ModuleNotFoundError)) or \
                "peakmem" in str(value):
            return ("peakmem is not importable on this worker (install "
                    "peakmem in the workers' environment): %s" % value)
        return "%s: %s" % (type(value).__name__, value)
    return None


def begin(address=None, timeout=10.0):
    """Before the statement: reset every worker's and the scheduler's
    mark. Returns the session for end()."""
    client, own = _client(address)
    s = {"client": client, "own": own, "timeout": timeout, "workers": {},
         "scheduler": None}
    res, sch = _everywhere(client, _begin, timeout)
    if isinstance(res, str):
        if own:
            client.close()
        raise RuntimeError("--dask: the workers did not answer: " + res)
    s["workers"] = dict(res)
    s["scheduler"] = sch if not isinstance(sch, BaseException) else \
        _SchedErr("%s: %s" % (type(sch).__name__, sch))
    return s


def _row(addr, role, before, after):
    row = {"address": addr, "role": role, "host": None, "pid": None,
           "baseline_bytes": None, "peak_bytes": None,
           "increment_bytes": None, "memory_limit_bytes": None,
           "share_of_limit": None, "pause_fraction": None,
           "terminate_fraction": None, "pause_crossed": False,
           "kill_crossed": False, "status": "ok"}
    err = _error_text(before) or _error_text(after)
    if isinstance(before, dict):
        row.update(host=before["host"], pid=before["pid"],
                   baseline_bytes=before["baseline"],
                   memory_limit_bytes=before["memory_limit"])
        pause, term = before["pause"], before["terminate"]
    else:
        pause, term = PAUSE, TERMINATE
    if err is not None:
        row["status"] = err
        return row
    if after is None:
        row["status"] = "died during the statement"
        return row
    if before is None:
        row.update(host=after["host"], pid=after["pid"], baseline_bytes=0,
                   memory_limit_bytes=after.get("memory_limit"))
        pause, term = after.get("pause"), after.get("terminate")
        row["status"] = "started during the statement"
    elif after["pid"] != before["pid"]:
        row["status"] = "restarted during the statement (pid %d, was %d)" % (
            after["pid"], before["pid"])
        row["baseline_bytes"] = 0
    row["pause_fraction"], row["terminate_fraction"] = pause, term
    row["peak_bytes"] = after["peak"]
    row["increment_bytes"] = after["peak"] - (row["baseline_bytes"] or 0)
    lim = row["memory_limit_bytes"]
    if lim:
        share = after["peak"] / lim
        row["share_of_limit"] = share
        row["pause_crossed"] = bool(pause) and share >= pause
        row["kill_crossed"] = bool(term) and share >= term
    return row


def end(s, limit_bytes=0):
    """After the statement: every worker's peak. Returns (rows, warnings):
    one row per worker (address order), then the scheduler's; warnings
    are lines for stderr (pause/kill thresholds, --limit, deaths)."""
    client, timeout = s["client"], s["timeout"]
    try:
        res, sch_after = _everywhere(client, _end, timeout)
        if isinstance(res, str):
            res = {a: RuntimeError(res) for a in s["workers"]}
        rows = [_row(a, "worker", s["workers"].get(a), res.get(a))
                for a in sorted(set(s["workers"]) | set(res))]
        sch_before = s["scheduler"]
        if isinstance(sch_before, _SchedErr):
            sch_after = sch_before
        elif isinstance(sch_after, BaseException):
            sch_after = _SchedErr("%s: %s" % (type(sch_after).__name__,
                                              sch_after))
        try:
            addr = client.scheduler.address
        except Exception:
            addr = "scheduler"
        rows.append(_row(addr, "scheduler", sch_before, sch_after))
    finally:
        if s["own"]:
            client.close()
    warnings = []
    for r in rows:
        who = "%s %s" % (r["role"], r["address"])
        if r["status"] != "ok" and not r["status"].startswith(
                ("started", "restarted")):
            warnings.append("%s: %s" % (who, r["status"]))
        if r["kill_crossed"]:
            warnings.append("%s peaked at %.0f%% of its memory limit "
                            "(its nanny kills it at %.0f%%)"
                            % (who, 100 * r["share_of_limit"],
                               100 * r["terminate_fraction"]))
        elif r["pause_crossed"]:
            warnings.append("%s peaked at %.0f%% of its memory limit "
                            "(Dask pauses a worker at %.0f%%)"
                            % (who, 100 * r["share_of_limit"],
                               100 * r["pause_fraction"]))
        if limit_bytes and r["role"] == "worker" and \
                r["peak_bytes"] is not None and r["peak_bytes"] > limit_bytes:
            r["over_limit"] = True
            warnings.append("%s peak %.2f MiB is above the --limit of "
                            "%.2f MiB" % (who, r["peak_bytes"] / 2**20,
                                          limit_bytes / 2**20))
        else:
            r["over_limit"] = False
    return rows, warnings


def dask_usage(proc, address=None, timeout=10.0, retval=False):
    """memory_usage() for a Dask cluster: run proc (f, (f, args) or
    (f, args, kw)) here while every worker's and the scheduler's exact
    peak is measured in that process. Returns the rows of %memit --dask
    (dicts: address, role, host, pid, baseline_bytes, peak_bytes,
    increment_bytes, memory_limit_bytes, share_of_limit, pause_crossed,
    kill_crossed, over_limit, status), or (rows, proc's return value) with
    retval. Uses the current distributed Client, or address."""
    if callable(proc):
        f, args, kw = proc, (), {}
    else:
        f, args, kw = (tuple(proc) + ((), {}))[:3]
        if not callable(f):
            raise ValueError("dask_usage(): proc must be a callable or "
                             "(f, args, kw)")
    s = begin(address, timeout)
    try:
        ret = f(*args, **(kw or {}))
    finally:
        rows, _ = end(s)
    return (rows, ret) if retval else rows
