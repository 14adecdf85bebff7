"""What linking computes, as data: an init site landed on a model, a call that runs a
function once per module, a layer placed in a model's tree, what writes one parameter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from initlint.extract.facts import CallRef, Condition, InitSite, LayerFact, LoopBinding

#: How a site lands on a model: on one path (``self.fc.weight``), on a tensor it is handed
#: (``init_(self.fc.weight)``), on an indexed element (``self.layers[-1]``), on each module /
#: child / parameter a walk yields, on the members of an explicit list, or on anything (a
#: target we cannot follow); or a call on a module (the module at ``scope``, or each module
#: its binding walks): a method of it ("method": torch's ``reset_parameters`` draws what
#: ``torch_api.TORCH_RESETS`` says, per module class), or code we cannot see that is handed
#: the module or one of its tensors ("opaque": unknown for what it was handed, only).
How = Literal["direct", "direct_param", "indexed", "each_module", "each_child", "each_param",
              "members", "unknown", "method", "opaque"]


@dataclass(frozen=True)
class Applied:
    """An init site as it lands on one model: which layer paths it may write, and how sure."""

    site: InitSite
    scope: str  # path under the model the site's loop/receiver walks ("" = whole model)
    how: How
    binding: LoopBinding | None
    # tests around the call that ran the site's function with the walked module as
    # ``alias`` (``for m in self.modules(): if isinstance(m, nn.Linear): self._init(m)``)
    extra: tuple[Condition, ...] = ()
    alias: str = ""
    # "method": per module class it may run on, the parameters the method writes (see
    # :func:`~initlint.semantic.module_calls.method_writes`: "*" every one, "?" not known)
    resets: tuple[tuple[str, tuple[str, ...]], ...] = ()


#: Loops that hand each module of a tree to their body, and what each walks.
WALK_SOURCES: dict[str, Literal["modules", "children"]] = {
    "modules": "modules", "named_modules": "modules", "children": "children",
    "named_children": "children"}



@dataclass(frozen=True)
class PerModule:
    """A call that runs a function once per module of a tree: ``x.apply(fn)``, and the same
    program spelled as a loop, ``for m in x.modules(): fn(m)`` (``named_modules()`` too;
    ``children()`` walks the direct children only)."""

    call: CallRef
    callee: str  # qualified name of the function run ("" when not known)
    receiver: str  # the walked object as written: "self", "self.decoder", "model", ""
    receiver_cls: str  # its class when the code shows it (see CallRef.receiver_cls)
    var: str = ""  # the callee's parameter given the module ("" = its first)
    source: Literal["modules", "children"] = "modules"
    alias: str = ""  # the loop variable the call's tests read (``if isinstance(m, ...)``)

    @property
    def loop(self) -> bool:
        return self.call.kind != "apply"



@dataclass(frozen=True)
class Placed:
    """A layer inside a model, with its full path from the model."""

    path: str
    layer: LayerFact
    owner: str  # qualname of the class that builds it



@dataclass(frozen=True)
class LayerInit:
    """What writes one parameter (``weight`` or ``bias``) of one placed layer."""

    sites: tuple[InitSite, ...]
    possible: bool  # some code we cannot follow may also write it
