"""A PNG of the training curves (loss and dev scores per epoch) in the model folder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slotfill.training.trainer import EpochLog


def plot_history(
    histories: Sequence[Sequence[EpochLog]], path: Path, names: Sequence[str] | None = None
) -> None:
    """Loss on the left axis, dev slot F1 / intent / sentence accuracy (%) on the right; one set of
    lines per network trained (dashed, dotted, ... after the first), named by ``names`` (by
    default "member 1", "member 2", ...)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, loss_ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    score_ax = loss_ax.twinx()
    styles = ("-", "--", ":", "-.")
    for index, history in enumerate(histories):
        style = styles[index % len(styles)]
        name = names[index] if names is not None else f"member {index + 1}"
        suffix = f" ({name})" if len(histories) > 1 else ""
        epochs = [h.epoch for h in history]
        loss = [h.train_loss for h in history]
        loss_ax.plot(epochs, loss, style, color="tab:gray", label="train loss" + suffix)
        scores = [("dev slot F1", "tab:blue", [h.dev_slot_f1 for h in history])]
        if any(h.dev_intent_accuracy is not None for h in history):
            scores.append(("dev intent acc.", "tab:green", [h.dev_intent_accuracy or 0.0 for h in history]))
        scores.append(("dev sentence acc.", "tab:orange", [h.dev_sentence_accuracy for h in history]))
        for label, color, values in scores:
            score_ax.plot(epochs, [100 * v for v in values], style, color=color, label=label + suffix)
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("train loss")
    score_ax.set_ylabel("dev score (%)")
    lines = loss_ax.get_lines() + score_ax.get_lines()
    loss_ax.legend(lines, [str(line.get_label()) for line in lines], loc="center right", fontsize="small")
    loss_ax.set_title("slotfill training")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
