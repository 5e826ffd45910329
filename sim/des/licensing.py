"""The licensing authority of one export control and destination: a queue before a finite team.

Each lot from a controlled origin needs a licence while its destination's phase is a licence
regime. Its application joins a FIFO queue for one of ``servers`` reviewers (a ``simpy.Resource``).
A review takes ``lot / (rate / servers) x factor`` days, where ``rate`` (t/day) is the review
capacity of the phase in force (docs/controls.md: a share of the pre-control flow, of current
applications or of current demand, adapting from an initial to a final share), set at every step
start, so a busy team processes ``rate`` tonnes a day whatever the lot size; the factor has mean 1
and cv ``des.licence.service_cv``. After the review the decision comes after a delay drawn from
the phase's decision-time distribution (gamma with mean ``licence.decision_days`` and cv
``licence.decision_cv``, or, where the scenario states no ``decision_cv``, the DES setting
``des.licence.decision_shape``/``decision_cv``) without holding a reviewer; the licence is granted
with the phase's ``licence.approval`` probability and the lot ships, otherwise the order is
refused. When the requirement lifts (no regime now) every pending application - queued, under
review or awaiting its decision - is released and its lot ships at once; when a ban or quota
replaces it, every pending application is refused.

The queue is kept by hand rather than with a ``simpy.Resource`` and one process per application:
an application costs two SimPy events (end of review, decision) instead of about six (process
start, request, review, release, decision, process end), and callbacks read their application
from the event, so no generator or closure is made per lot. The order of everything that draws
or books is SimPy's: applications submitted at one instant start together after the instant's
control changes (an URGENT event, as a process start), reviews start in FIFO order as reviewers
free, a lift or refusal closes the pending applications in submission order (an URGENT event,
as SimPy's interrupts), and applications waiting for a zero review rate to turn positive join
the queue after those submitted in the step that raised it.
"""
from __future__ import annotations

from collections import deque
from typing import Callable

import simpy
from simpy.events import NORMAL, URGENT, Event

from .streams import Multiplier, Uniform

QUEUED, REVIEW, DECISION = 0, 1, 2


class Application:
    """One licence application (one lot)."""

    __slots__ = ("id", "qty", "submitted", "started", "reviewed", "phase", "tag", "closed")

    def __init__(self, aid: int, qty: float, now: float, tag: object = None):
        self.id, self.qty, self.submitted, self.tag = aid, qty, now, tag
        self.started = self.reviewed = float("nan")
        self.phase = QUEUED
        self.closed = False


class _Due(Event):
    """An event scheduled on creation that calls ``callback(event)``; ``event.app`` is its application
    (a timeout with a callback and a payload)."""

    def __init__(self, env: simpy.Environment, delay: float, priority: int, callback: Callable[[Event], None],
                 app: Application | None = None):
        # the initialisation of simpy.events.Timeout, inlined as SimPy does for speed
        self.env, self.callbacks, self._value, self._ok, self.app = env, [callback], None, True, app
        env.schedule(self, priority, delay)


class LicensingAuthority:
    """Applications queue for ``servers`` reviewers; decisions after a delay; approval by chance."""

    def __init__(self, env: simpy.Environment, name: str, rate: float, servers: int, service: Multiplier,
                 decision_days: float, decision: Callable[[], float], approval: float, uniform: Uniform,
                 on_grant: Callable[[Application, str], None], on_refuse: Callable[[Application], None],
                 log: Callable[[str, str, float], None] | None = None, keep: bool = False):
        self.env, self.name = env, name
        self.servers = int(servers)
        self.free = self.servers                    # reviewers idle now
        self.queue: deque[Application] = deque()    # waiting for a reviewer, FIFO
        self.stalled: list[Application] = []        # waiting for the review rate to turn positive
        self._new: list[Application] = []           # submitted this instant, not yet started
        self._waking = False
        self.rate = self.per_server = 0.0
        self.set_rate(rate)
        self.service, self.decision = service, decision
        self.decision_days, self.approval, self.uniform = float(decision_days), float(approval), uniform
        self.on_grant, self.on_refuse, self.log = on_grant, on_refuse, log
        self.draws: dict[int, Multiplier] = {}     # decision-time draws by licence phase (set by the model)
        self.pending: dict[int, Application] = {}
        self.pending_t = 0.0
        self._next = 0
        # statistics: counts, sums, and time integrals of the number waiting and under review
        self.waiting = self.reviewing = 0
        self.area_waiting = self.area_reviewing = 0.0
        self._last = env.now
        self.submitted = self.granted = self.refused = self.released = 0
        self.refused_t = 0.0
        self.sum_to_decision = 0.0
        self.decided = 0
        self.records: list[Application] | None = [] if keep else None

    def set_rate(self, rate: float) -> None:
        """Set the team's review rate (t/day) for reviews that start from now on."""
        was = self.per_server
        self.rate = float(rate)
        self.per_server = self.rate / self.servers if self.rate > 0 else 0.0
        if was <= 0 < self.per_server and self.stalled and not self._waking:   # someone waits for capacity
            self._waking = True
            _Due(self.env, 0, NORMAL, self._wake)

    def _mark(self) -> None:
        now = self.env.now
        dt = now - self._last
        if dt:
            self.area_waiting += self.waiting * dt
            self.area_reviewing += self.reviewing * dt
            self._last = now

    def apply(self, qty: float, tag: object = None) -> Application:
        """Submit an application for a lot of ``qty`` tonnes."""
        app = Application(self._next, qty, self.env.now, tag)
        self._next += 1
        self.submitted += 1
        self.pending_t += qty
        self.pending[app.id] = app
        if not self._new:
            _Due(self.env, 0, URGENT, self._intake)
        self._new.append(app)
        if self.log is not None:
            self.log("licence_apply", self.name, qty)
        return app

    # ---- the queue ------------------------------------------------------------------------------
    def _intake(self, _ev: Event) -> None:
        """This instant's applications join the queue (or wait for a review rate)."""
        new, self._new = self._new, []
        for app in new:
            if app.closed:
                continue
            self._mark()
            self.waiting += 1
            if self.per_server <= 0:
                self.stalled.append(app)
            else:
                self.queue.append(app)
        self._serve()

    def _wake(self, _ev: Event) -> None:
        """The review rate turned positive: the applications that waited for it join the queue."""
        self._waking = False
        if self.per_server <= 0:
            return
        self.queue.extend(a for a in self.stalled if not a.closed)
        self.stalled = []
        self._serve()

    def _serve(self) -> None:
        """Start reviews while reviewers are idle and applications queue."""
        queue = self.queue
        if not (self.free > 0 and queue):
            return
        if self.per_server <= 0:            # the rate fell to zero: the queue waits for it to return
            self.stalled[:0] = list(queue)
            queue.clear()
            return
        env, now, per, service, done = self.env, self.env.now, self.per_server, self.service, self._reviewed
        self._mark()
        while self.free > 0 and queue:
            app = queue.popleft()
            self.free -= 1
            self.waiting -= 1
            self.reviewing += 1
            app.phase, app.started = REVIEW, now
            _Due(env, app.qty / per * service(), NORMAL, done, app)

    def _reviewed(self, ev: Event) -> None:
        """A review ends: the reviewer is free; the decision follows after its delay."""
        app: Application = ev.app  # type: ignore[attr-defined]
        if app.closed:
            return
        self._mark()
        self.reviewing -= 1
        self.free += 1
        app.phase, app.reviewed = DECISION, self._last          # _mark has just set _last to now
        delay = self.decision_days * self.decision()   # decision_days and decision: the phase in force
        if delay > 0:
            _Due(self.env, delay, NORMAL, self._decided, app)
        else:
            self._decide(app)
        if self.queue:
            self._serve()

    def _decided(self, ev: Event) -> None:
        app: Application = ev.app  # type: ignore[attr-defined]
        if not app.closed:
            self._decide(app)

    def _decide(self, app: Application) -> None:
        self._close(app)
        if self.uniform() < self.approval:
            self.granted += 1
            self.on_grant(app, "licence_approve")
        else:
            self._refuse(app)

    def _refuse(self, app: Application) -> None:
        self.refused += 1
        self.refused_t += app.qty
        self.on_refuse(app)
        if self.log is not None:
            self.log("licence_refuse", self.name, app.qty)

    def _close(self, app: Application) -> None:
        app.closed = True
        del self.pending[app.id]
        self.pending_t -= app.qty
        if self.pending_t < 1e-9 * max(app.qty, 1.0) and not self.pending:
            self.pending_t = 0.0
        self.decided += 1
        self.sum_to_decision += self.env.now - app.submitted
        if self.records is not None:
            self.records.append(app)

    def lift(self, refuse: bool = False) -> float:
        """The licence requirement ends now: release (or, ``refuse``, deny) every pending application;
        returns their tonnes."""
        total = self.pending_t
        apps = list(self.pending.values())
        if self.pending:
            ev = _Due(self.env, 0, URGENT, self._stop, list(self.pending.values()))
            ev.refuse = refuse
        return total

    def _stop(self, ev: Event) -> None:
        """Close the applications pending when the requirement ended, in submission order."""
        refuse = ev.refuse  # type: ignore[attr-defined]
        for app in ev.app:  # type: ignore[attr-defined]
            if app.closed:
                continue
            self._mark()
            if app.phase == QUEUED:
                self.waiting -= 1
            elif app.phase == REVIEW:
                self.reviewing -= 1
                self.free += 1
            self._close(app)
            if refuse:
                self._refuse(app)
            else:
                self.released += 1
                self.on_grant(app, "licence_release")
        self.queue = deque(a for a in self.queue if not a.closed)
        self.stalled = [a for a in self.stalled if not a.closed]
        self._serve()

    def areas(self) -> tuple[float, float, float]:
        """(now, integral of the number waiting, integral of the number under review) since the start."""
        self._mark()
        return self.env.now, self.area_waiting, self.area_reviewing
