"""Training an ensemble's members: one network per seed, side by side when there are cores for it.

Member ``i`` is trained exactly as a single network with seed ``seed + i`` would be (its own
initialisation, data order, early stopping on dev and best epoch), so member 0 is the network that
``members=1`` trains. A network this size keeps about one core busy, so members train in parallel
processes, one per core that torch may use (``torch.get_num_threads()``, which follows
``OMP_NUM_THREADS``): on two cores an ensemble of two costs the wall time of one network. Each
process returns its weights as safetensors bytes, never a pickle.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as load_weights
from safetensors.torch import save as save_weights

from slotfill.model.batch import Featurizer
from slotfill.model.config import ModelConfig
from slotfill.model.device import resolve_device
from slotfill.model.ensemble import TaggerEnsemble, member_config
from slotfill.model.tagger import SlotTagger, Tagger
from slotfill.training.config import TrainConfig
from slotfill.training.data import Example
from slotfill.training.seeding import seed_everything
from slotfill.training.trainer import FitResult, fit

logger = logging.getLogger(__name__)

# Starting a process costs seconds (importing torch); below this many training utterances the
# members train one after another in this process instead, which is quicker.
PARALLEL_MIN_UTTERANCES = 1000


@dataclass(frozen=True)
class _Job:
    """Everything a process needs to train member ``index``, in plain picklable parts."""

    index: int
    count: int
    config: ModelConfig
    encoder_files: dict[str, bytes]  # Featurizer.save()
    train: Sequence[Example]
    dev: Sequence[Example]
    settings: TrainConfig
    device: str
    log_path: Path | None
    progress: bool
    threads: int


def member_jobs(settings: TrainConfig, utterances: int) -> int:
    """How many members train at once: one per core torch may use, when the data is big enough."""
    if settings.jobs:
        return min(settings.jobs, settings.members)
    if utterances < PARALLEL_MIN_UTTERANCES:
        return 1
    return max(1, min(settings.members, torch.get_num_threads()))


# Set in each worker process by ``_start_worker``: "stop" asks whether the training process
# wants the members to stop.
_WORKER: dict[str, Callable[[], bool]] = {}


def _start_worker(parent: int, stop: Any) -> None:
    """Set up a worker: Ctrl-C is the training process's to handle (it passes it on through
    ``stop``), and the worker ends when that process is gone (killed, say), so that no member
    trains on for nobody."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER["stop"] = stop.is_set

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def _fit_member(job: _Job, featurizer: Featurizer | None = None) -> tuple[SlotTagger, FitResult]:
    if job.threads:
        torch.set_num_threads(job.threads)
    if featurizer is None:
        featurizer = Featurizer.load(job.config, job.encoder_files.__getitem__)
    seed_everything(job.settings.seed)
    model = SlotTagger(job.config, featurizer.sizes)
    result = fit(
        model,
        featurizer,
        job.train,
        job.dev,
        job.settings,
        resolve_device(job.device),
        log_path=job.log_path,
        progress=job.progress,
        label=f"member {job.index + 1}/{job.count}" if job.count > 1 else "training",
        position=job.index if job.threads else None,  # bars on separate lines when side by side
        member=job.index if job.count > 1 else None,
        stop=_WORKER.get("stop"),
    )
    return model, result


def _fit_member_in_process(job: _Job) -> tuple[bytes, FitResult] | None:
    """The worker process's entry point: train, and hand the weights back as safetensors bytes;
    None for a member that was to start after a Ctrl-C."""
    stop = _WORKER.get("stop")
    if stop is not None and stop():
        return None
    model, result = _fit_member(job)
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    return save_weights(state), result


def _results(
    futures: Sequence[Future[tuple[bytes, FitResult] | None]], stop: Any
) -> list[tuple[bytes, FitResult]]:
    """Wait for every member; on Ctrl-C, ask those training to stop after their epoch with their
    best so far, and drop those still waiting for a process."""
    results = []
    for future in futures:
        while True:
            try:
                result = future.result()
                break
            except KeyboardInterrupt:
                stop.set()
                logger.warning(
                    "interrupted: the members training stop after this epoch and keep their best so far"
                )
        if result is not None:
            results.append(result)
    if len(results) < len(futures):
        logger.warning("interrupted: %d members not started are dropped", len(futures) - len(results))
    return results


def fit_members(
    config: ModelConfig,
    featurizer: Featurizer,
    train: Sequence[Example],
    dev: Sequence[Example],
    settings: TrainConfig,
    device: torch.device,
    *,
    log_path: Path | None = None,
    progress: bool = True,
) -> tuple[Tagger, list[FitResult]]:
    """Train ``config.members`` networks (seeds ``settings.seed + i``) and join them; one member
    is returned as the plain network it is.

    Ctrl-C keeps what was learnt: members training side by side each keep their best epoch so
    far; one after another, the members finished and the one interrupted make the ensemble, and
    the rest are not trained (a single network when the first was interrupted).
    """
    single = member_config(config)
    jobs = member_jobs(settings, len(train))
    threads = max(1, torch.get_num_threads() // jobs) if jobs > 1 else 0
    encoder_files = featurizer.save()
    plan = [
        _Job(
            index,
            config.members,
            single,
            encoder_files,
            train,
            dev,
            settings.replace(seed=settings.seed + index),
            str(device),
            log_path,
            progress,
            threads,
        )
        for index in range(config.members)
    ]
    if config.members > 1:
        logger.info("training %d members, %d at a time", config.members, jobs)
    if jobs == 1:
        trained = []
        for job in plan:
            trained.append(_fit_member(job, featurizer))
            if trained[-1][1].interrupted:
                break
    else:
        context = multiprocessing.get_context("spawn")
        stop = context.Event()
        with ProcessPoolExecutor(
            max_workers=jobs, mp_context=context, initializer=_start_worker, initargs=(os.getpid(), stop)
        ) as pool:
            returned = _results([pool.submit(_fit_member_in_process, job) for job in plan], stop)
        trained = []
        for weights, result in returned:
            member = SlotTagger(single, featurizer.sizes)
            member.load_state_dict(load_weights(weights))
            trained.append((member.to(device).eval(), result))
    results = [result for _, result in trained]
    if len(trained) < config.members:
        logger.warning("interrupted: keeping %d of %d members", len(trained), config.members)
    if len(trained) == 1:
        (member, _), *_ = trained
        return member, results
    joined = config.replace(members=len(trained))
    return TaggerEnsemble(joined, [member for member, _ in trained]).to(device).eval(), results
