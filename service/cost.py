"""What a model call costs: a fixed price per call plus a price per token, learnt from the calls.

Why two numbers: a one-line message is mostly fixed cost (tokenising, Python, launching the
network), a 1,000-token text mostly per-token cost. One number of seconds per token, averaged over
calls, read the fixed cost of short calls as a price per token: after a few chat messages a
1,000-token call looked ten times dearer than it is, and admission refused requests it could
serve. Here a line ``seconds = per_call + per_token * tokens`` is fitted by least squares over the
recent calls (each older call weighing ``DECAY`` times less), and read with both terms.
"""

from __future__ import annotations

from dataclasses import dataclass

DECAY = 0.98  # an observation's weight after the next one: the last ~50 calls count
_EPSILON = 1e-12


@dataclass
class CostModel:
    """``seconds = per_call + per_token * tokens``, fitted to weighted recent observations.

    >>> model = CostModel()
    >>> for tokens, seconds in [(10, 0.011), (100, 0.02), (1000, 0.11), (10, 0.011)]:
    ...     model.observe(tokens, seconds)
    >>> round(model.per_call, 4), round(model.per_token * 1e6, 1)
    (0.01, 100.0)
    >>> round(model.seconds(calls=2, tokens=2000), 3)
    0.22
    """

    per_call: float = 0.0
    per_token: float = 0.0
    _weight: float = 0.0
    _x: float = 0.0
    _y: float = 0.0
    _xx: float = 0.0
    _xy: float = 0.0

    @classmethod
    def starting_at(cls, per_token: float) -> CostModel:
        """A model that knows only a first guess of the price per token (a timed warm-up call)."""
        return cls(per_token=max(per_token, 0.0))

    def observe(self, tokens: int, seconds: float) -> None:
        x, y = float(max(tokens, 1)), max(seconds, 0.0)
        self._weight = DECAY * self._weight + 1.0
        self._x = DECAY * self._x + x
        self._y = DECAY * self._y + y
        self._xx = DECAY * self._xx + x * x
        self._xy = DECAY * self._xy + x * y
        spread = self._weight * self._xx - self._x * self._x
        if spread > _EPSILON * self._xx * self._weight:  # calls of different sizes: fit the line
            slope = (self._weight * self._xy - self._x * self._y) / spread
            self.per_token = max(slope, 0.0)
            self.per_call = max((self._y - self.per_token * self._x) / self._weight, 0.0)
        else:  # one size so far: the whole cost per token, through the origin
            self.per_token = self._y / self._x
            self.per_call = 0.0

    def seconds(self, calls: int, tokens: int) -> float:
        """Expected model time of ``calls`` calls holding ``tokens`` tokens in all."""
        return calls * self.per_call + tokens * self.per_token
