# SPDX-License-Identifier: Apache-2.0
"""Deterministic quantization-aware training of the registered models.

``train("lenet-digits", bits=8)`` writes into ``out_dir`` (default ``models/<name>``), with
``suffix = ""`` for 8 bits and ``"-w<bits>"`` otherwise:

* ``<name><suffix>.pt``: the trained Brevitas ``state_dict``;
* ``<name><suffix>.onnx``: the QONNX export (see :mod:`edgepool.quant.export`);
* ``test.npz``: ``x`` float32 NCHW test images exactly as fed to the model, ``y`` int64 labels
  (the split depends only on the seed, so every bit width shares it);
* ``metrics<suffix>.json``: per-epoch training and validation loss / accuracy, the selected
  epoch, its validation accuracy, and the test accuracy of the selected model (float QAT and
  exact integer outputs);
* ``training_curve<suffix>.png``.

Model selection never looks at the test set: the dataset is split once into train / test
(:func:`split_dataset`), and the training part again into fit / validation
(:func:`split_validation`, stratified, ``ModelInfo.val_size``). Every epoch is scored on the
validation split; the weights of the best epoch (highest validation accuracy, ties broken by the
lower validation loss) are kept, and training stops early when ``patience`` epochs pass without a
better one (``patience=None``: run the whole schedule). The test set is evaluated once, on the
selected weights.

Determinism: ``torch.manual_seed``, a NumPy generator for the shuffles,
``torch.use_deterministic_algorithms(True)`` and one intra-op thread. Two runs on the same machine
with the same torch build write byte-identical weights (``tests/quant/test_quant_trainer.py``);
other CPUs or torch builds may differ in the last float bits.

Command line: ``python -m edgepool.quant.trainer lenet-digits --bits 8``.
"""

from __future__ import annotations

import json
import math
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError
from .export import brevitas_quant_outputs, export_qonnx, int_predictions
from .models import ModelInfo, get_model_info
from .presets import preset

DEFAULT_ROOT = Path("models")


@dataclass
class TrainResult:
    """What :func:`train` produced: paths of the artifacts and the measured accuracies."""

    name: str
    bits: int
    out_dir: Path
    state_dict: Path
    onnx: Path | None
    test_set: Path
    metrics: Path
    curve: Path
    test_acc: float          # float QAT model (Brevitas forward, eval mode), selected epoch
    # argmax of the exact integer outputs (brevitas_int_outputs); None for a bnn_pynq network
    # (its output is a float TensorNorm: edgepool's interpreter checks it, tests/frontend)
    int_test_acc: float | None
    seconds: float
    val_acc: float = 0.0     # float QAT model on the validation split, selected epoch
    int_val_acc: float | None = 0.0
    best_epoch: int = 0      # 1-based epoch whose weights were kept
    epochs_run: int = 0      # < epochs when early stopping ended the run


def artifact_suffix(bits: int, per_channel: bool = False) -> str:
    """File-name suffix of a bit width: ``""`` for the default 8 bits, ``"-w<bits>"`` otherwise;
    per-channel weight scales add ``".pc"`` (``-w4.pc``, ``-w8.pc``)."""
    if per_channel:
        return f"-w{bits}.pc"
    return "" if bits == 8 else f"-w{bits}"


def seed_everything(seed: int) -> None:
    """Seed torch and make it deterministic (single intra-op thread)."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)


def split_dataset(info: ModelInfo, seed: int = 0
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The fixed, stratified train/test split of a model's dataset:
    ``(x_train, y_train, x_test, y_test)``."""
    from sklearn.model_selection import train_test_split

    x, y = info.load_dataset()
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=info.test_size, random_state=seed,
                                          stratify=y)
    return (np.ascontiguousarray(xtr), ytr, np.ascontiguousarray(xte), yte)


def split_validation(x: np.ndarray, y: np.ndarray, size: int | float, seed: int = 0
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Carve a stratified validation split out of the *training* data:
    ``(x_fit, y_fit, x_val, y_val)``. ``size`` is a count or a fraction of ``x``."""
    from sklearn.model_selection import train_test_split

    xf, xv, yf, yv = train_test_split(x, y, test_size=size, random_state=seed, stratify=y)
    return (np.ascontiguousarray(xf), yf, np.ascontiguousarray(xv), yv)


def random_shift(x: np.ndarray, shift: int, rng: np.random.Generator) -> np.ndarray:
    """Translate every image of ``x`` (N, C, H, W) by a random integer offset in
    ``[-shift, shift]`` per axis, filling with zeros (training augmentation)."""
    if shift <= 0:
        return x
    n, _, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (shift, shift), (shift, shift)))
    off = rng.integers(0, 2 * shift + 1, size=(n, 2))
    return np.stack([padded[i, :, dy:dy + h, dx:dx + w] for i, (dy, dx) in enumerate(off)])


def evaluate(model: nn.Module, x: np.ndarray, y: np.ndarray, batch_size: int = 512
             ) -> tuple[float, float]:
    """``(mean cross-entropy loss, accuracy)`` of ``model`` in eval mode."""
    model.eval()
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    total, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            xb = torch.from_numpy(x[i:i + batch_size])
            yb = torch.from_numpy(y[i:i + batch_size])
            out = model(xb)
            total += float(loss_fn(out, yb))
            correct += int((out.argmax(1) == yb).sum())
    return total / len(x), correct / len(x)


def load_trained(name: str, bits: int = 8, out_dir: Path | None = None,
                 per_channel: bool = False) -> nn.Module:
    """Rebuild a registered model and load its trained ``state_dict`` from ``out_dir``."""
    info = get_model_info(name)
    out_dir = Path(out_dir) if out_dir is not None else DEFAULT_ROOT / name
    path = out_dir / f"{name}{artifact_suffix(bits, per_channel)}.pt"
    if not path.exists():
        pc = " --per-channel" if per_channel else ""
        raise ConfigError(f"no trained weights at {path}",
                          f"train them: edgepool train {name} --bits {bits}{pc} -o {out_dir}")
    model = info.build(bits, per_channel)
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()


def _write_test_set(path: Path, x: np.ndarray, y: np.ndarray) -> Path:
    """Write ``test.npz`` unless it already holds exactly these arrays (zip members carry a
    time stamp, so rewriting equal contents would still change the file's bytes)."""
    x, y = x.astype(np.float32), y.astype(np.int64)
    if path.exists():
        with np.load(path) as old:
            if (set(old.files) == {"x", "y"} and np.array_equal(old["x"], x)
                    and old["x"].dtype == x.dtype and np.array_equal(old["y"], y)
                    and old["y"].dtype == y.dtype):
                return path
    np.savez_compressed(path, x=x, y=y)
    return path


def _plot(history: list[dict], path: Path, title: str, best_epoch: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = [h["epoch"] for h in history]
    fig, ax1 = plt.subplots(figsize=(6, 4), dpi=100)
    ax1.plot(ep, [h["train_loss"] for h in history], "C0-", label="train loss")
    ax1.plot(ep, [h["val_loss"] for h in history], "C0--", label="validation loss")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("cross-entropy loss")
    ax2 = ax1.twinx()
    ax2.plot(ep, [h["train_acc"] for h in history], "C1-", label="train acc")
    ax2.plot(ep, [h["val_acc"] for h in history], "C1--", label="validation acc")
    ax2.axvline(best_epoch, color="0.5", linestyle=":", label=f"selected epoch {best_epoch}")
    ax2.set_ylabel("accuracy")
    ax2.set_ylim(0, 1)
    lines = ax1.get_lines() + ax2.get_lines()
    ax1.legend(lines, [ln.get_label() for ln in lines], loc="center right")
    ax1.set_title(title)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def train(name: str, bits: int = 8, out_dir: Path | None = None, epochs: int | None = None,
          seed: int = 0, *, lr: float | None = None, patience: int | None = None,
          export: bool = True, progress: bool = True, per_channel: bool = False) -> TrainResult:
    """Quantization-aware training of the registered model ``name`` at ``bits``.

    Adam with a cosine learning-rate decay, cross-entropy loss, mini-batches shuffled (and, if the
    registry asks, randomly shifted by up to ``augment_shift`` pixels) by a NumPy
    generator seeded with ``seed``. ``epochs`` / ``lr`` / ``patience`` default to the registry's
    values. ``per_channel``: per-channel power-of-two weight scales (all layers but the last;
    artifacts suffixed ``-w<bits>.pc``). The weights kept are those of the epoch with the best
    validation accuracy (see the module docstring); the test set is used only to report the
    selected model's accuracy.
    Writes the artifacts listed in the module docstring and returns a :class:`TrainResult`.
    """
    info = get_model_info(name)
    if not info.trainable:
        raise ConfigError(f"model {name!r} is architecture-only and cannot be trained",
                          "generate it with: python -m edgepool.quant.vgg16")
    if not info.bnn_pynq:
        preset(bits, per_channel)  # validates bits
    epochs = info.epochs if epochs is None else int(epochs)
    if epochs < 1:
        raise ConfigError(f"epochs must be >= 1, got {epochs}")
    patience = info.patience if patience is None else int(patience)
    if patience is not None and patience < 1:
        raise ConfigError(f"patience must be >= 1 epoch, got {patience}",
                          "leave it out to train the whole schedule")
    lr = info.lr if lr is None else float(lr)
    out_dir = Path(out_dir) if out_dir is not None else DEFAULT_ROOT / name
    out_dir.mkdir(parents=True, exist_ok=True)
    sfx = artifact_suffix(bits, per_channel)

    t0 = time.perf_counter()
    seed_everything(seed)
    xtrain, ytrain, xte, yte = split_dataset(info, seed)
    xtr, ytr, xva, yva = split_validation(xtrain, ytrain, info.val_size, seed)
    model = info.build(bits, per_channel)
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps_per_epoch = math.ceil(len(xtr) / info.batch_size)
    total_steps = epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1.0 + math.cos(math.pi * min(s, total_steps) / total_steps)))
    loss_fn = nn.CrossEntropyLoss()
    shift = int(info.extra.get("augment_shift", 0))
    history: list[dict] = []
    best: tuple[float, float] | None = None   # (val_acc, -val_loss) of the kept epoch
    best_epoch, best_state = 0, None

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
                  disable=not progress, transient=False) as bar:
        task = bar.add_task(f"{name} w{bits}", total=total_steps, status="")
        for epoch in range(1, epochs + 1):
            model.train()
            perm = rng.permutation(len(xtr))
            run_loss, run_correct = 0.0, 0
            for s in range(steps_per_epoch):
                idx = perm[s * info.batch_size:(s + 1) * info.batch_size]
                xb = torch.from_numpy(random_shift(xtr[idx], shift, rng))
                yb = torch.from_numpy(ytr[idx])
                opt.zero_grad(set_to_none=True)
                out = model(xb)
                loss = loss_fn(out, yb)
                loss.backward()
                opt.step()
                sched.step()
                if hasattr(model, "clip_weights"):      # bnn_pynq: latent weights in [-1, 1]
                    model.clip_weights(-1.0, 1.0)
                run_loss += loss.item() * len(idx)
                run_correct += int((out.argmax(1) == yb).sum())
                bar.advance(task)
            val_loss, val_acc = evaluate(model, xva, yva)
            history.append({"epoch": epoch, "train_loss": run_loss / len(xtr),
                            "train_acc": run_correct / len(xtr), "val_loss": val_loss,
                            "val_acc": val_acc})
            if best is None or (val_acc, -val_loss) > best:
                best, best_epoch = (val_acc, -val_loss), epoch
                # a copy: the optimizer keeps updating the live tensors
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            bar.update(task, status=f"loss {run_loss / len(xtr):.4f} val acc {val_acc:.4f} "
                                    f"(best {best[0]:.4f} @ {best_epoch})")
            if patience is not None and epoch - best_epoch >= patience:
                bar.update(task, completed=total_steps)
                break
    train_seconds = time.perf_counter() - t0
    assert best_state is not None  # epochs >= 1

    model.load_state_dict(best_state)
    model.eval()
    val_acc = history[best_epoch - 1]["val_acc"]
    test_loss, test_acc = evaluate(model, xte, yte)
    if info.bnn_pynq:
        ints, frac, int_acc, int_val_acc = None, None, None, None
    else:
        ints, frac = brevitas_quant_outputs(model, xte)
        int_acc = float((int_predictions(ints) == yte).mean())
        vints, _ = brevitas_quant_outputs(model, xva)
        int_val_acc = float((int_predictions(vints) == yva).mean())

    pt = out_dir / f"{name}{sfx}.pt"
    torch.save(model.state_dict(), pt)
    test_set = _write_test_set(out_dir / "test.npz", xte, yte)
    onnx_path = None
    if export:
        onnx_path = export_qonnx(model, out_dir / f"{name}{sfx}.onnx", (1, *info.input_shape))
    curve = out_dir / f"training_curve{sfx}.png"
    pc = " per-channel" if per_channel else ""
    _plot(history, curve, f"{name}, {bits}-bit{pc} QAT: val acc {val_acc:.4f} "
                          f"(epoch {best_epoch}), test acc {test_acc:.4f}", best_epoch)

    import brevitas

    metrics = {
        "model": name, "bits": name.split("_")[1] if info.bnn_pynq else bits,
        "per_channel": per_channel, "seed": seed, "epochs": epochs, "lr": lr,
        "batch_size": info.batch_size, "optimizer": "Adam + cosine decay",
        "augment_shift": shift,
        "n_train": int(len(xtr)), "n_val": int(len(xva)), "n_test": int(len(xte)),
        "input_shape": [1, *info.input_shape],
        "selection": {"split": "stratified validation split of the training data",
                      "criterion": "max val_acc, ties: min val_loss",
                      "patience": patience, "best_epoch": best_epoch,
                      "epochs_run": len(history)},
        "val_acc": val_acc, "int_val_acc": int_val_acc,
        "test_acc": test_acc, "test_loss": test_loss, "int_test_acc": int_acc,
        "output": ({"kind": "float (bnn_pynq TensorNorm)"} if ints is None else
                   {"kind": "gap_accumulator", "frac": frac, "map": list(ints.shape[2:]),
                    "logits": "float mean over the map of the integer accumulator"}
                   if ints.ndim == 4 else {"kind": "accumulator", "frac": frac}),
        "history": history, "train_seconds": round(train_seconds, 2),
        "versions": {"torch": torch.__version__, "brevitas": brevitas.__version__,
                     "python": platform.python_version()},
        "artifacts": {"state_dict": pt.name, "onnx": onnx_path.name if onnx_path else None,
                      "test_set": test_set.name, "curve": curve.name},
    }
    metrics_path = out_dir / f"metrics{sfx}.json"
    metrics_path.write_text(json.dumps(metrics, indent=2) + "\n")
    return TrainResult(name, bits, out_dir, pt, onnx_path, test_set, metrics_path, curve,
                       test_acc, int_acc, train_seconds, val_acc, int_val_acc, best_epoch,
                       len(history))


def main(argv: list[str] | None = None) -> None:
    """``python -m edgepool.quant.trainer NAME [--bits B] [--epochs E] [--seed S] [--patience P]
    [--out DIR]``."""
    import click

    @click.command()
    @click.argument("name")
    @click.option("--bits", type=click.Choice(["4", "8", "16"]), default="8", show_default=True)
    @click.option("--epochs", type=int, default=None, help="default: the registry's")
    @click.option("--seed", type=int, default=0, show_default=True)
    @click.option("--lr", type=float, default=None, help="default: the registry's")
    @click.option("--patience", type=int, default=None,
                  help="early stopping after this many epochs without a better validation score")
    @click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
                  help="default: models/NAME")
    def cli(name: str, bits: str, epochs: int | None, seed: int, lr: float | None,
            patience: int | None, out_dir: Path | None) -> None:
        r = train(name, int(bits), out_dir, epochs, seed, lr=lr, patience=patience)
        d = asdict(r)
        click.echo(json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in d.items()},
                              indent=2))

    cli.main(args=argv, standalone_mode=True)


if __name__ == "__main__":
    main()
