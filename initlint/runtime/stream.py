"""The residual stream: where a block network's signal lives, and the reference it is
measured against.

Blocks are found in the built model, not by name: the children of one parent that share a
user-defined class (``encoder.layer.0..11``, ``layer1.0..2``, ``blocks.0..``), innermost
such groups only (a ConvNeXt stage holds its blocks: the blocks are the stream). Each
parent's blocks are one stream: block k+1 reads what block k wrote. The reference is the
first block's input (after any embedding norm), never a raw embedding: a token lookup drawn
at std 0.02 is not the scale the network works at.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from initlint.runtime.results import LayerStats

#: Containers that only hold layers: a group of them is no residual block.
CONTAINERS = ("Sequential", "ModuleList", "ModuleDict")


def _own_class(module: Any) -> bool:
    cls = type(module)
    return (cls.__name__ not in CONTAINERS and next(module.children(), None) is not None and
        cls.__module__.split(".")[0] != "torch")


#: A block whose output correlates with its input at least this much carries it through:
#: a residual block (a plain Linear+ReLU stage: ≈ 0).
RESIDUAL_CARRY = 0.2


def streams_of(model: Any, layers: tuple[LayerStats, ...] = ()) -> tuple[tuple[str, ...], ...]:
    """Block paths per stream, in registration order; innermost groups only; with
    ``layers`` (measured calls), only groups whose blocks carry their input (residual)."""
    groups: list[tuple[str, ...]] = []
    for name, module in model.named_modules():
        by_class: dict[type, list[str]] = defaultdict(list)
        for child_name, child in module.named_children():
            if _own_class(child):
                by_class[type(child)].append(f"{name}.{child_name}" if name else child_name)
        groups += [tuple(paths) for paths in by_class.values() if len(paths) >= 2]
    if layers:
        calls = first_calls(layers)

        def residual(group: tuple[str, ...]) -> bool:
            measured = [calls[p].carry for p in group if p in calls]
            carries = sorted(c for c in measured if c is not None)
            return bool(carries) and carries[len(carries) // 2] >= RESIDUAL_CARRY

        groups = [g for g in groups if residual(g)]
    inner = [g for g in groups if not any(o is not g and o[0].startswith(p + ".")
                                          for o in groups for p in g)]
    return tuple(inner)


@dataclass(frozen=True)
class Point:
    """One place on the stream: a block's input (``in``) or output."""

    block: str
    side: str  # "in" | "out"
    std: float | None
    driven: float | None


def first_calls(layers: tuple[LayerStats, ...]) -> dict[str, LayerStats]:
    out: dict[str, LayerStats] = {}
    for layer in layers:
        out.setdefault(layer.path, layer)
    return out


def points(layers: tuple[LayerStats, ...], stream: tuple[str, ...]) -> list[Point]:
    """The first block's input, then every block's output, for blocks the forward ran."""
    calls = first_calls(layers)
    ran = [calls[p] for p in stream if p in calls and calls[p].start >= 0]
    if not ran:
        return []
    first = ran[0]
    out = [Point(first.path, "in", first.in_std, first.driven_in)]
    out += [Point(c.path, "out", c.out_std, c.driven_std) for c in ran]
    return out


def reference_point(layers: tuple[LayerStats, ...],
                    streams: tuple[tuple[str, ...], ...]) -> tuple[float | None, str]:
    """(std, where) of the reference: the longest stream's first block input, else the
    input of the first weight layer that is no embedding lookup."""
    ranked = sorted((points(layers, s) for s in streams), key=len, reverse=True)
    if ranked and ranked[0] and ranked[0][0].driven:
        return ranked[0][0].driven, f"input of `{ranked[0][0].block}`"
    first = next((layer for layer in layers if layer.leaf and layer.start >= 0 and
                  layer.is_weight_layer and layer.type not in ("Embedding", "EmbeddingBag")
                  and layer.driven_in), None)
    if first is None:
        return None, ""
    return first.driven_in, f"input of `{first.path}`"
