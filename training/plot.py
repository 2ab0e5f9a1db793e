"""A PNG of the training curves (loss and dev scores per epoch) in the model folder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from training.trainer import EpochLog


def plot_history(histories: Sequence[Sequence[EpochLog]], path: Path) -> None:
    """Loss on the left axis, dev slot F1 / intent / sentence accuracy (%) on the right; one set of
    lines per ensemble member (dashed, dotted, ... after the first)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, loss_ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    score_ax = loss_ax.twinx()
    styles = ("-", "--", ":", "-.")
    for index, history in enumerate(histories):
        style = styles[index % len(styles)]
        suffix = f" (member {index + 1})" if len(histories) > 1 else ""
        epochs = [h.epoch for h in history]
        loss_ax.plot(
            epochs, [h.train_loss for h in history], style, color="tab:gray", label="train loss" + suffix
        )
        score_ax.plot(
            epochs,
            [100 * h.dev_slot_f1 for h in history],
            style,
            color="tab:blue",
            label="dev slot F1" + suffix,
        )
        if any(h.dev_intent_accuracy is not None for h in history):
            score_ax.plot(
                epochs,
                [100 * (h.dev_intent_accuracy or 0.0) for h in history],
                style,
                color="tab:green",
                label="dev intent acc." + suffix,
            )
        score_ax.plot(
            epochs,
            [100 * h.dev_sentence_accuracy for h in history],
            style,
            color="tab:orange",
            label="dev sentence acc." + suffix,
        )
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("train loss")
    score_ax.set_ylabel("dev score (%)")
    lines = loss_ax.get_lines() + score_ax.get_lines()
    loss_ax.legend(lines, [str(line.get_label()) for line in lines], loc="center right", fontsize="small")
    loss_ax.set_title("slotfill training")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
