"""Counts the output messages (stream, display, result, error) a kernel's
session sends, so that a %memit result can tell whether the cell printed
something below its live line (then the result comes after that output
instead of replacing the line). jupyter_client's Session.message_count
counts every message instead, replies and status messages of requests
the frontend sends while the cell runs (a debugger's debug_request, say)
among them, and those are no output of the cell."""

OUTPUT_TYPES = frozenset((
    "stream", "display_data", "update_display_data", "execute_result",
    "error", "clear_output"))


class CountingSend:
    """Stands in for session.send (an instance attribute shadowing the
    method): counts the output messages, then sends as before."""
    __slots__ = ("send", "outputs")

    def __init__(self, send):
        self.send = send
        self.outputs = 0

    def __call__(self, stream, msg_or_type, *args, **kwargs):
        kind = msg_or_type
        if isinstance(kind, dict):
            kind = kind.get("msg_type") or kind.get("header", {}).get(
                "msg_type")
        if kind in OUTPUT_TYPES:
            self.outputs += 1
        return self.send(stream, msg_or_type, *args, **kwargs)


def count(session, install=False):
    """The output messages session sent since counting began, or -1 when
    it is not counted (install: begin now)."""
    send = vars(session).get("send")
    if not isinstance(send, CountingSend):
        if not install:
            return -1
        send = CountingSend(session.send)
        session.send = send
    return send.outputs


def uninstall(session):
    """%unload_ext: session.send is the method again (when peakmem's
    counter is what stands in for it)."""
    if isinstance(vars(session).get("send"), CountingSend):
        del session.send
