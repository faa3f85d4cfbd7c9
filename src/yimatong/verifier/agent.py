"""The checkpoint agent: a long-running loop for a gate or a phone (``yimatong checkpoint``).

Reads one scan per line from stdin (a scanner that types): a code, or an ID number typed at
the gate (``330106194001012224`` or ``ID:414:E12345678``), optionally followed by a TAB and the
temperature in °C. Prints one decision line per scan (``--json``: one JSON object per line)
and flushes it at once. ``:status`` prints the agent's state; empty lines and ``#`` comments
are ignored.

A SMART Health Card in several QR codes arrives as one line per chunk (``shc:/1/3/...``, then
``shc:/2/3/...``, ``shc:/3/3/...``, in any order): the agent keeps the chunks of one card and
answers ``MORE`` until the last one is read, then decides on the card (the chunks joined, the
temperature of the last line). A chunk of another card (another count), a chunk read twice,
or one more than ``CHUNK_WAIT`` seconds after the first starts a new card; any other scan
drops the chunks kept.

A background thread refreshes the lists every ``refresh_every`` seconds and uploads the scan
queue every ``upload_every`` seconds while scans are pending. Neither ever blocks a decision:
a scan is decided with whatever the verifier has at that moment, online if the hub answers
within the short timeout, offline otherwise. The agent survives the network and the hub coming
and going, and stops cleanly on EOF, Ctrl-C or SIGTERM: the scan being decided is finished,
the queue gets one last upload attempt, and a summary goes to stderr.
"""

from __future__ import annotations

import json
import logging
import re
import signal
import threading
from collections.abc import Iterable
from types import FrameType
from typing import Any, TextIO

from yimatong.verifier.verifier import Result, Verifier

__all__ = ["CHUNK_WAIT", "Agent", "parse_line"]

log = logging.getLogger("yimatong.verifier")


#: Seconds the chunks of one SMART Health Card are kept waiting for the others.
CHUNK_WAIT = 120.0
_SHC_CHUNK = re.compile(r"shc:/([1-9][0-9]?)/([1-9][0-9]?)/[0-9]*", re.ASCII)


class _Stop(Exception):
    """Raised in the main thread by SIGTERM/SIGINT while it waits for input."""


def parse_line(line: str) -> tuple[str, float | None]:
    """(scanned text, temperature °C or None); ValueError for a temperature that is not one."""
    text, _, rest = line.rstrip("\r\n").partition("\t")
    temperature = None
    if rest.strip():
        temperature = float(rest.strip())
        if not 30.0 <= temperature <= 45.0:
            raise ValueError("a temperature is 30.0 to 45.0 °C")
    return text.strip(), temperature


class Agent:
    def __init__(
        self,
        verifier: Verifier,
        *,
        out: TextIO,
        err: TextIO,
        as_json: bool = False,
        refresh_every: float = 60.0,
        upload_every: float = 5.0,
    ) -> None:
        self.verifier = verifier
        self.out = out
        self.err = err
        self.as_json = as_json
        self.refresh_every = refresh_every
        self.upload_every = upload_every
        self.scans = 0
        self.outcomes: dict[str, int] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._reading = False
        self._thread: threading.Thread | None = None
        self.last_refresh: dict[str, str] = {}
        self.last_upload: str = "not yet"
        self._link_said: str | None = None
        self._link_lock = threading.Lock()
        #: the chunks of one SMART Health Card read so far: (count, first read at, {index: text})
        self._chunks: tuple[int, float, dict[int, str]] | None = None

    # ------------------------------------------------------------------ background
    def start(self) -> None:
        self._thread = threading.Thread(target=self._background, name="ymt-lists", daemon=True)
        self._thread.start()

    def _background(self) -> None:
        next_refresh = 0.0
        clock = self.verifier.time
        while not self._stop.is_set():
            now = clock.elapsed()
            if now >= next_refresh or self.verifier.stale:
                self._safely(self._refresh)
                next_refresh = clock.elapsed() + self.refresh_every
            if self.verifier.online_possible and self.verifier.queue.count() > 0:
                self._safely(self._upload)
            self._wake.wait(self.upload_every)
            self._wake.clear()

    def _refresh(self) -> None:
        self.last_refresh = self.verifier.refresh()
        self._say_link()
        failed = {k: v for k, v in self.last_refresh.items() if v.startswith("error")}
        if failed and self.verifier.link is None:
            log.warning("list refresh: %s", failed)

    def _say_link(self) -> None:
        """Say on stderr, once each time it changes, what is wrong with the hub (or that it
        is over): a refused credential or a wrong URL must not pass as a quiet outage."""
        link = self.verifier.link
        line = link.line() if link is not None else None
        with self._link_lock:
            if line == self._link_said:
                return
            before, self._link_said = self._link_said, line
        if line is not None:
            log.warning("%s; deciding offline until it answers", line)
        elif before is not None:
            log.warning("the hub answers again")

    def _upload(self) -> None:
        report = self.verifier.upload()
        self._say_link()
        if report is not None:
            self.last_upload = (
                f"sent {report.sent}, duplicates {report.duplicates}, rejected "
                f"{report.rejected}, pending {report.remaining}"
                + (f", stopped: {report.error}" if report.error else "")
            )

    @staticmethod
    def _safely(fn: Any) -> None:
        try:
            fn()
        except Exception as exc:  # the background must outlive anything the network does
            log.warning("background task failed: %s", type(exc).__name__)

    # ------------------------------------------------------------------ the gate
    def handle(self, line: str) -> str | None:
        """Decide on one input line; returns the output line (None for nothing to print)."""
        if not line.strip() or line.lstrip().startswith("#"):
            return None
        if line.strip() == ":status":
            return self.status()
        try:
            text, temperature = parse_line(line)
        except ValueError as exc:
            return self._error(f"bad input line: {exc}")
        text, more = self._join_chunks(text)
        if more is not None:
            return more
        try:
            result = self.verifier.verify(text, temperature=temperature)
        except Exception as exc:  # one bad scan must not stop the gate
            log.error("scan failed: %s", type(exc).__name__)
            return self._error(f"could not decide ({type(exc).__name__}); check by hand")
        self._say_link()
        self.scans += 1
        key = result.outcome or "NONE"
        self.outcomes[key] = self.outcomes.get(key, 0) + 1
        if self.verifier.online_possible or self.verifier.stale:
            self._wake.set()  # upload (or refresh) now; offline, the queue waits
        return self._render(result)

    def _join_chunks(self, text: str) -> tuple[str, str | None]:
        """(the text to decide on, None), or (text, the MORE line) while chunks are missing."""
        m = _SHC_CHUNK.fullmatch(text)
        if m is None or m.group(2) == "1":
            self._chunks = None
            return text, None
        index, count = int(m.group(1)), int(m.group(2))
        now = self.verifier.time.elapsed()
        kept = self._chunks
        if kept is None or kept[0] != count or index in kept[2] or now - kept[1] > CHUNK_WAIT:
            kept = (count, now, {})
        kept[2][index] = text
        if len(kept[2]) < count:
            self._chunks = kept
            read = sorted(kept[2])
            if self.as_json:
                line = json.dumps({"outcome": None, "more": {"read": read, "of": count}})
            else:
                parts = ", ".join(map(str, read))
                line = f"MORE  请继续扫描下一部分/scan the next part [shc] read {parts} of {count}"
            return text, line
        self._chunks = None
        return " ".join(kept[2][i] for i in sorted(kept[2])), None

    def _render(self, result: Result) -> str:
        if self.as_json:
            return json.dumps(result.to_dict(), ensure_ascii=False)
        return result.line()

    def _error(self, message: str) -> str:
        if self.as_json:
            return json.dumps({"outcome": "CHECK", "error": message}, ensure_ascii=False)
        return f"CHECK 人工核验/check by hand [error] {message}"

    def status(self) -> str:
        v = self.verifier
        verdict = v.clock_verdict()
        state = {
            "scans": self.scans,
            "outcomes": self.outcomes,
            "queued": v.queue.count(),
            "rejected": v.queue.count("rejected"),
            "trust_version": v.trust.version if v.trust else None,
            "risk_version": v.risk.version if v.risk else None,
            "policy_version": v.policy.version if v.policy else None,
            "online": v.online_possible,
            "hub": v.link.line() if v.link is not None else "ok",
            "clock_ok": verdict.ok,
            "clock": verdict.reason_en or "agrees with the hub",
            "last_refresh": self.last_refresh,
            "last_upload": self.last_upload,
        }
        if self.as_json:
            return json.dumps({"status": state}, ensure_ascii=False)
        return "STATUS " + json.dumps(state, ensure_ascii=False)

    # ------------------------------------------------------------------ the loop
    def run(self, lines: TextIO | Iterable[str], *, install_signals: bool = True) -> int:
        """Read until EOF or a signal; returns the exit status (0)."""
        previous: dict[int, Any] = {}
        if install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, self._on_signal)
        self.start()
        iterator = iter(lines)
        try:
            while not self._stop.is_set():
                self._reading = True
                try:
                    line = next(iterator)
                except StopIteration:
                    break
                finally:
                    self._reading = False
                output = self.handle(line)
                if output is not None:
                    self.out.write(output + "\n")
                    self.out.flush()
        except _Stop:
            pass
        finally:
            self.stop()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return 0

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stop.set()
        if self._reading:
            raise _Stop  # waiting for input: stop now; deciding: finish the scan first

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.verifier.config.list_timeout + 5)
        self._safely(self._upload)
        pending = self.verifier.queue.count()
        self.err.write(
            f"checkpoint stopped: {self.scans} scans "
            f"({', '.join(f'{k} {n}' for k, n in sorted(self.outcomes.items())) or 'none'}); "
            f"{pending} waiting for upload\n"
        )
        self.err.flush()
