"""Length-bucketed batch order: a permutation cut into batches of similar lengths, reproducible by seed."""

from __future__ import annotations

import random

import pytest
import torch

from slotfill.training.batching import bucketed_batches


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _lengths(count: int, seed: int = 0) -> list[int]:
    rng = random.Random(seed)
    return [rng.randint(1, 40) for _ in range(count)]


@pytest.mark.parametrize(
    ("count", "batch_size", "pool"),
    [(0, 4, 50), (1, 4, 50), (7, 3, 50), (64, 8, 50), (101, 4, 3), (100, 1, 2), (5, 16, 1)],
)
def test_every_index_exactly_once_in_batches_of_at_most_batch_size(
    count: int, batch_size: int, pool: int
) -> None:
    batches = bucketed_batches(_lengths(count), batch_size, _generator(0), pool=pool)
    assert sorted(i for batch in batches for i in batch) == list(range(count))
    assert all(1 <= len(batch) <= batch_size for batch in batches)
    assert len(batches) == -(-count // batch_size)


def test_one_pool_cuts_the_length_order_into_consecutive_runs() -> None:
    # Distinct lengths: batch k must hold exactly the k-th run of batch_size lengths in sorted order.
    lengths = list(range(100))
    random.Random(1).shuffle(lengths)
    batches = bucketed_batches(lengths, 8, _generator(0), pool=50)
    runs = sorted(sorted(lengths[i] for i in batch) for batch in batches)
    assert runs == [list(range(start, min(start + 8, 100))) for start in range(0, 100, 8)]


def test_batches_are_sorted_within_pools() -> None:
    lengths = _lengths(400, seed=2)
    batch_size, pool = 8, 5
    batches = bucketed_batches(lengths, batch_size, _generator(0), pool=pool)
    for batch in batches:
        assert [lengths[i] for i in batch] == sorted(lengths[i] for i in batch)
    # Only the last batch of each pool can be short.
    pools = -(-len(lengths) // (batch_size * pool))
    assert sum(len(batch) < batch_size for batch in batches) <= pools
    # Bucketing puts similar lengths together: far less spread per batch than a random cut gives.
    bucketed_spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches)
    order = list(range(len(lengths)))
    random.Random(0).shuffle(order)
    random_batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    random_spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in random_batches)
    assert bucketed_spread < random_spread / 3


def test_the_batch_order_is_shuffled_not_sorted_by_length() -> None:
    lengths = list(range(200))
    batches = bucketed_batches(lengths, 4, _generator(0))
    firsts = [lengths[batch[0]] for batch in batches]
    assert firsts != sorted(firsts)


def test_same_seed_same_batches() -> None:
    lengths = _lengths(150)
    first = bucketed_batches(lengths, 8, _generator(42), pool=3)
    second = bucketed_batches(lengths, 8, _generator(42), pool=3)
    assert first == second
    assert bucketed_batches(lengths, 8, _generator(43), pool=3) != first


def test_each_call_draws_a_new_order_from_the_generator() -> None:
    # fit() reuses one generator for every epoch: consecutive epochs must not repeat the order.
    lengths = _lengths(150)
    generator = _generator(7)
    epoch1 = bucketed_batches(lengths, 8, generator)
    epoch2 = bucketed_batches(lengths, 8, generator)
    assert epoch1 != epoch2
    replay = _generator(7)
    assert [bucketed_batches(lengths, 8, replay), bucketed_batches(lengths, 8, replay)] == [epoch1, epoch2]
