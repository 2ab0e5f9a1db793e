"""Pinning a child process to N threads, so benchmark runs side by side do not fight over cores.

Every maths library reads its own variable at start-up (torch reads ``OMP_NUM_THREADS``), so
the limit must be in the child's environment before it starts; setting it afterwards is too late.
"""

from __future__ import annotations

import os

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)


def pinned_environment(threads: int) -> dict[str, str]:
    """This process's environment with every thread-count variable set to ``threads``."""
    env = dict(os.environ)
    env.update({name: str(threads) for name in THREAD_VARIABLES})
    return env


def threads_per_job(jobs: int) -> int | None:
    """Each of ``jobs`` runs side by side gets an equal share of the cores; one run alone is left
    to torch's default (None).

    >>> threads_per_job(1) is None
    True
    """
    return max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else None
