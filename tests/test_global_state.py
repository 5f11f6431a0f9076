"""Process-wide mutable state in the C sources: every static variable
(file scope or inside a function) that is not const is listed here with
why it must be one per process and what protects it. State that belongs
to a module, a measurement or a thread goes into module state
(pm_state_t), the measurement's own struct or a _Thread_local; a new
global fails this test until it is given a reason here and a comment in
the code naming its lock."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent

# CPython's definition tables: written once by the interpreter's type
# machinery under the GIL, never by peakmem; the API takes them non-const.
API_TYPES = {"PyMethodDef", "PyMemberDef", "PyGetSetDef", "PyType_Slot",
             "PyType_Spec", "PyModuleDef_Slot", "struct PyModuleDef"}

ALLOWED = {
    # VmHWM and its clear_refs reset are process-wide: one set of active
    # probes per process, guarded by set_lock.
    ("kernel/probe.c", "set_lock"): "lock of the probe set",
    ("kernel/probe.c", "newest"): "VmHWM is process-wide; set_lock",
    ("kernel/probe.c", "active_count"): "VmHWM is process-wide; set_lock",
    ("kernel/probe.c", "begin_count"): "VmHWM is process-wide; set_lock",
    ("kernel/probe.c", "reset_epoch"): "VmHWM is process-wide; set_lock",
    # /proc/self files: one descriptor per process, reopened after fork.
    ("kernel/rss.c", "open_lock"): "lock of the /proc/self files",
    ("kernel/rss.c", "statm_file"): "/proc/self/statm; open_lock, atomics",
    ("kernel/rss.c", "status_file"): "/proc/self/status; open_lock, atomics",
    ("kernel/rss.c", "clear_refs_file"): "/proc/self/clear_refs; open_lock",
    ("kernel/rss.c", "page_once"): "pthread_once",
    ("kernel/rss.c", "page_size"): "the machine's; written under page_once",
    ("kernel/rss.c", "cached_pid"): "this process's pid; atomic",
    ("kernel/rss.c", "pid_once"): "pthread_once (atfork handler)",
    # The clocksource is the machine's: calibrated once.
    ("kernel/clock.c", "ticks_once"): "pthread_once",
    ("kernel/clock.c", "use_tsc"): "written under ticks_once",
    ("kernel/clock.c", "tsc_ticks_per_ns"): "written under ticks_once",
    ("kernel/tracer.c", "next"): "epochs unique across tracers; atomic",
    ("protocol/c_locale.c", "c_locale"): "written under c_locale_once",
    ("protocol/c_locale.c", "c_locale_once"): "pthread_once",
    ("protocol/wire.c", "counter"): "msg_id fallback, unique; atomic",
    # A measurement outlives the module state that began it (unload or
    # reload while the statement runs): the running live lines are found
    # here by owner, under live_lock.
    ("magics/display_py.c", "live_lock"): "lock of the live-line registry",
    ("magics/display_py.c", "live_head"): "outlives module state; live_lock",
    # The terminal is the process's: one live line drawn on it at a time.
    ("magics/ttystream_py.c", "tty_busy"): "one terminal line; atomic",
    # SIGALRM and its Python handler are process-wide: whichever module
    # instance installed the handler must find every armed timeout of the
    # main thread. GIL (shared by every interpreter importing _peakmem:
    # it declares no per-interpreter GIL support).
    ("magics/timeout_py.c", "armed_timeouts"): "SIGALRM is process-wide; GIL",
    # %memit --dask in a worker: begin and end are separate calls from
    # the client (Client.run), and VmHWM is the process's: one worker-side
    # measurement per process. GIL.
    ("magics/remote_py.c", "remote_probe"): "VmHWM is process-wide; GIL",
    ("magics/remote_py.c", "remote_active"): "VmHWM is process-wide; GIL",
    # Per thread by construction.
    ("magics/lineprof_py.c", "chain"): "_Thread_local: this thread's only",
    # A static type: filled once by PyType_Ready under the GIL.
    ("magics/lineprof_py.c", "thread_type"): "static type; GIL",
    ("magics/ttystream_py.c", "ttystream_type"): "static type; GIL",
    # sys.monitoring's tool ids, callbacks and local events belong to the
    # interpreter, not to a module instance: the claimed id, its users
    # (threads with a profiler on), the events looked up once, the watched
    # code objects, the callbacks' object and the last backward jump seen.
    # GIL (the module declares no per-interpreter GIL support).
    ("magics/monitor_py.c", "tool"): "sys.monitoring is per interpreter; GIL",
    ("magics/monitor_py.c", "users"): "count of the id's users; GIL",
    ("magics/monitor_py.c", "warned"): "all ids taken: said once; GIL",
    ("magics/monitor_py.c", "event_bits"): "looked up once; GIL",
    ("magics/monitor_py.c", "local_events"): "looked up once; GIL",
    ("magics/monitor_py.c", "disable"): "sys.monitoring.DISABLE; GIL",
    ("magics/monitor_py.c", "watched"): "code objects with events on; GIL",
    ("magics/monitor_py.c", "monitor_type"): "static type; GIL",
    ("magics/monitor_py.c", "monitor"): "the callbacks' self; GIL",
    ("magics/monitor_py.c", "jump_from"): "last backward jump seen; GIL",
    ("magics/monitor_py.c", "jump_line"): "last backward jump seen; GIL",
    # Allocator hooks (PyMem_SetAllocator, NumPy's handler) are process-
    # wide: one tracking state per process, written under the GIL while
    # not tracking, read by the hooks on any thread; atomics for the rest.
    ("magics/allocs_py.c", "trk"): "allocator hooks are process-wide; GIL",
    ("magics/allocs_py.c", "tl"): "_Thread_local: this thread's hook state",
}

DECL = re.compile(
    r"^\s*static\s+(?P<type>(?:(?:_Thread_local|volatile|_Atomic|"
    r"struct|unsigned|signed|long|short)\s+)*[A-Za-z_]\w*)"
    r"(?:\s+|\s*\*+\s*)(?P<name>[A-Za-z_]\w*)\s*(?:\[[^\]]*\])?\s*[=;]")


def mutable_statics(path):
    """(name, type) of each non-const static variable in a C file."""
    for line in path.read_text().splitlines():
        m = DECL.match(line)
        if m is None or re.search(r"\bconst\b", line.split("=")[0]):
            continue
        kind = " ".join(m.group("type").replace("*", " ").split())
        if kind in API_TYPES or m.group("name") == "kwlist":
            # kwlist: PyArg_ParseTupleAndKeywords' names, never written
            continue
        yield m.group("name"), kind


def c_sources():
    for path in sorted(ROOT.glob("*/*.c")):
        top = path.relative_to(ROOT).parts[0]
        if top in ("tests", "bench") or top.startswith((".", "build")):
            continue
        yield path


def test_scanner_finds_globals():
    # the scanner itself: a pattern it missed would let anything through
    found = dict(mutable_statics(ROOT / "kernel" / "probe.c"))
    assert found.get("newest") == "pm_probe_t"
    assert "set_lock" in found
    assert "chain" in dict(mutable_statics(ROOT / "magics" /
                                           "lineprof_py.c"))


def test_scanner_flags_a_new_global(tmp_path):
    src = tmp_path / "x.c"
    src.write_text("static const int ok = 1;\n"
                   "static PyMethodDef defs[] = {{NULL}};\n"
                   "static int helper(void)\n{\n"
                   "    static double last_rss = 0;\n    return 0;\n}\n"
                   "static struct state *active; /* the bug */\n")
    assert list(mutable_statics(src)) == [("last_rss", "double"),
                                          ("active", "struct state")]


def test_every_process_wide_variable_has_a_reason():
    unlisted = []
    for path in c_sources():
        rel = path.relative_to(ROOT).as_posix()
        for name, kind in mutable_statics(path):
            if (rel, name) not in ALLOWED:
                unlisted.append("%s: static %s %s" % (rel, kind, name))
    assert unlisted == [], (
        "process-wide mutable state: move it into module state, the "
        "measurement's struct or a _Thread_local, or list it in "
        "tests/test_global_state.py with what protects it")
