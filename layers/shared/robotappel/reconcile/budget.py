"""A run's time, shared between its steps so that none starves the others.

Each step gets its share of what is left when it starts: its weight over the weights of the steps still to run. A
step that finishes early leaves the rest of its share to the steps after it. A step that finds its share spent
stops where it is (its cursor keeps the place) and is counted as out of time: metric ReconciledOutOfTime, published
every run, alarmed when every run of the last hour ran out (template.yaml)."""

import time
from collections.abc import Callable


class Share:
    """A step's `out_of_time`: true from its deadline on; remembers that it was."""

    def __init__(self, deadline: float, clock: Callable[[], float]) -> None:
        self._deadline, self._clock = deadline, clock
        self.ran_out = False

    def __call__(self) -> bool:
        self.ran_out = self.ran_out or self._clock() >= self._deadline
        return self.ran_out


class Budget:
    """The run's time until `deadline` (on `clock`), shared by weight between the steps still to run."""

    def __init__(self, deadline: float, weights: list[float], clock: Callable[[], float] = time.monotonic) -> None:
        self._deadline, self._weights, self._clock = deadline, list(weights), clock

    def next_share(self) -> Share:
        """The share of the next step (in the order of `weights`)."""
        weight, now = self._weights.pop(0), self._clock()
        left = max(self._deadline - now, 0.0)
        return Share(now + left * weight / (weight + sum(self._weights)), self._clock)
