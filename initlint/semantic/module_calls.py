"""Calls that write a module's parameters without an init site of their own: a method run on
a module (``self.emb.reset_parameters()``, ``m.reset_parameters()`` in a walk,
``self.reset_parameters()`` inherited from an ``nn.LSTMCell``, ``self.enc.load_state_dict(sd)``)
and calls we cannot see into that are handed a module or one of its tensors. The linker makes
each a site of its own (style "reset" or "opaque") so that the rules' one question, which
sites write this parameter, counts them: torch's reset as a known write of what it draws,
anything we cannot know as unknown for what it was handed, and only that.
"""

from __future__ import annotations

from initlint.core import torch_api as api
from initlint.core.findings import Span
from initlint.extract.facts import CallRef, FunctionFacts, InitSite, Target
from initlint.semantic.classes import ClassIndex

#: what a call writes of a module when that is not known (a class or base we cannot see)
UNKNOWN_WRITES = ("?",)
#: torch's reset method
RESET = "reset_parameters"


def call_site(fn: FunctionFacts, call: CallRef, receiver: str) -> InitSite:
    """The site of ``call`` made in ``fn`` on ``receiver`` (``self.fc``, ``m``): it runs under
    the call's tests and writes (some of) the receiver's parameters."""
    base, _, path = receiver.partition(".")
    span = call.span if call.span is not None else Span(fn.span.row, fn.span.column,
                                                        fn.span.row, fn.span.column)
    name = call.name.rsplit(".", 1)[-1]
    return InitSite(name, "reset" if name == RESET and call.kind != "function" else "opaque",
                    Target(base, path, "", text=receiver), (), span, span, call.conditions,
                    call.no_grad, fn.qualname, span)


def method_writes(index: ClassIndex, cls: str, method: str,
                  own: bool = True) -> tuple[str, ...] | None:
    """What ``<module>.<method>()`` writes on a module of class ``cls``: parameter names
    (``"*"``: every parameter of the module), ``UNKNOWN_WRITES``, or ``()`` (nothing: the
    method writes no parameter, or the class has none by that name); None when the project
    defines the method (its own code, which the linker runs like any other). ``own``
    False: the method the project's classes inherit (``super().reset_parameters()``)."""
    if cls.startswith(api.NN):
        return _torch_writes(api.canonical(cls), method)
    klass = index.resolve_class(cls) if cls else None
    if klass is None:
        return UNKNOWN_WRITES
    if own and index.method(klass, method) is not None:
        return None
    if method != RESET:  # nn.Module's own (``load_state_dict``), or none
        return UNKNOWN_WRITES if method in api.WRITING_METHODS else ()
    for ancestor in index.mro(klass):
        for base in ancestor.bases:
            if api.canonical(base).startswith(api.NN) and api.canonical(base) != api.MODULE_BASE:
                return api.TORCH_RESETS.get(api.canonical(base), UNKNOWN_WRITES)
    return UNKNOWN_WRITES if index.external_bases(klass) else ()


def _torch_writes(cls: str, method: str) -> tuple[str, ...]:
    if method == RESET:
        return api.TORCH_RESETS.get(cls, UNKNOWN_WRITES)
    return UNKNOWN_WRITES if method in api.WRITING_METHODS else ()
