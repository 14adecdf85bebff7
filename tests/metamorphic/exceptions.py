"""(fixture, transform) pairs whose findings change today, each with the reason.

Every pair here is a program proven equivalent to its fixture (test_equivalence.py builds
both), so each entry is a known initlint bug, not a test bug. The list is asserted exact by
test_invariance.py: a listed pair that becomes invariant fails too (delete its line), so the
list always says what is true. The lead's note on issue 9 quotes it.
"""

from __future__ import annotations

# --- init code moved across functions and files (moves.py, issue 18) ------------------------
# Each reason says what the rewritten program does that initlint does not follow today; the
# per-pair tail lists the rule codes of the findings lost and gained.
_TO_BUILDER_MODULE = (
    "the init statements that ended `__init__` run in `build_<Class>()` of builders.py, "
    "another module of the package, on the model it constructs. Since issue 18 the builder "
    "is run on that construction (INI101/INI201/INI202 absence claims are gone), but rules "
    "still judge only sites that the model's own construction runs (INI206 and INI901 then "
    "claim a bias is left default), so findings are lost or gained: ")
_TO_TRAIN_SCRIPT = (
    "the init statements that ended `__init__` run in train.py under `if __name__ == "
    "\"__main__\"` on `model = Net()`. Since issue 18 the script is run on the model it "
    "builds (INI101/INI201/INI202 absence claims are gone), but rules still judge only sites "
    "that the model's own construction runs (INI206 and INI901 then claim a bias is left "
    "default), so findings are lost or gained: ")
_HELPER_SELF = (
    "the init code runs in a module-level function handed the instance (`init_net(self)`, "
    "`_init_weights(self)` turned from a method): the function's parameter is not bound to "
    "the model at the call, so `net.apply(net._init_weights)`, `for m in net.modules()` and "
    "`net.fc.weight` writes inside it are not walks or writes of the model: ")
_HELPER_SELF_UTILS = (
    "the same helpers handed `self`, in utils.py of the package (imported by the model): "
    "not bound to the model at the call, across files: ")
_CLOSURE_FACTORY = (
    "an init method used as `self.apply(self._init)` became `self.apply(make_init(self))`, "
    "a closure over the instance: INI208 still fires on the callback but the model applying "
    "it is not found (no `models_running` for a closure's site), so its subject loses the "
    "model: ")

# --- pairs of fixtures added with issue 18's linker work, under the moves above ----------------
_LOAD_ORDER = (
    "INI210 orders a load and a re-draw within what `__init__` runs; moved to a builder, a "
    "script or a helper handed `self`, the re-draw runs after construction, where the load "
    "it follows is not ordered against it: ")
_CORRELATED_MOVED = (
    "INI005's path-sensitive check binds the guard and the layer's existence within the "
    "class's own construction; the same write run by a builder, a script or a helper "
    "handed `self` is not checked against the layer it reaches: ")
_HELPER_LOCATIONS = (
    "init code of a model whose helper and base live in other files, moved into a helper "
    "handed `self`: the helper's writes are not bound to the model's layers, so the "
    "findings about them are lost: ")
_HELPER_RESET = (
    "a torch reset called as `self.reset_parameters()` after a parameter is added, moved "
    "into a helper handed `self`: the helper's call is not read as the inherited torch "
    "reset of the model, so the added parameter looks unwritten: ")

EXCEPTIONS: dict[str, str] = {
    # (``for m in x.modules(): fn(m)`` is read as ``x.apply(fn)`` since project.PerModule:
    # apply_to_loop on reaches_nothing.py and on d2l_apply_ignores_argument_bug.py were that)
    # --- values passed through parameters -----------------------------------------------
    "real_bugs/sb3_ortho_init_bias_none_bug.py::literal_to_init_default": (
        "`nn.Linear(..., bias=mm_p0)` inside `nn.Sequential(...)` with `mm_p0=False` as the "
        "`__init__` default is not read as bias=False (INI005 lost); same gap as "
        "real_bugs/mmdet_fpn_xavier_bias_none (bias given by a name)"),
    # --- to_builder_module ---
    "api_misuse/fan_of_1d.py::to_builder_module":
        _TO_BUILDER_MODULE + "lost INI004 x3; gained none",
    "api_misuse/inplace_with_grad.py::to_builder_module":
        _TO_BUILDER_MODULE + "lost INI003 x3; gained none",
    "api_misuse/unguarded_bias.py::to_builder_module":
        _TO_BUILDER_MODULE + "lost INI005 x3; gained none",
    "api_misuse/unused_noqa.py::to_builder_module": _TO_BUILDER_MODULE + "lost none; gained INI901",
    "coverage/bias_left_default.py::to_builder_module":
        _TO_BUILDER_MODULE + "lost INI206 x3; gained none",
    "coverage/name_filter_norm.py::to_builder_module":
        _TO_BUILDER_MODULE + "lost INI204; gained none",
    "coverage/padding_idx.py::to_builder_module": _TO_BUILDER_MODULE + "lost INI205; gained none",
    "crossfile_config::to_builder_module": _TO_BUILDER_MODULE + "lost INI205; gained none",
    "reach/loop_callbacks.py::to_builder_module":
        _TO_BUILDER_MODULE + "lost INI208 x2; gained none",
    "reach/named_walks.py::to_builder_module": _TO_BUILDER_MODULE + "lost INI208 x2; gained none",
    "reach/reaches_nothing.py::to_builder_module":
        _TO_BUILDER_MODULE + "lost INI208 x2; gained none",
    "signal/custom_norms.py::to_builder_module":
        _TO_BUILDER_MODULE + "lost INI204, INI207; gained INI207",
    "signal/gain_mismatch.py::to_builder_module":
        _TO_BUILDER_MODULE + "lost INI103 x3; gained none",
    "signal/xavier_relu.py::to_builder_module": _TO_BUILDER_MODULE + "lost INI102 x2; gained none",
    "structure/reparam_order.py::to_builder_module":
        _TO_BUILDER_MODULE + "lost INI209; gained none",
    "structure/reparametrized.py::to_builder_module":
        _TO_BUILDER_MODULE + "lost INI209 x3; gained INI005",
    # --- to_train_script ---
    "api_misuse/fan_of_1d.py::to_train_script": _TO_TRAIN_SCRIPT + "lost INI004 x3; gained none",
    "api_misuse/inplace_with_grad.py::to_train_script":
        _TO_TRAIN_SCRIPT + "lost INI003 x3; gained none",
    "api_misuse/unguarded_bias.py::to_train_script":
        _TO_TRAIN_SCRIPT + "lost INI005 x3; gained none",
    "api_misuse/unused_noqa.py::to_train_script": _TO_TRAIN_SCRIPT + "lost none; gained INI901",
    "coverage/bias_left_default.py::to_train_script":
        _TO_TRAIN_SCRIPT + "lost INI206 x3; gained none",
    "coverage/name_filter_norm.py::to_train_script": _TO_TRAIN_SCRIPT + "lost INI204; gained none",
    "coverage/padding_idx.py::to_train_script": _TO_TRAIN_SCRIPT + "lost INI205; gained none",
    "reach/loop_callbacks.py::to_train_script": _TO_TRAIN_SCRIPT + "lost INI208 x2; gained none",
    "reach/named_walks.py::to_train_script": _TO_TRAIN_SCRIPT + "lost INI208 x2; gained none",
    "reach/reaches_nothing.py::to_train_script": _TO_TRAIN_SCRIPT + "lost INI208 x2; gained none",
    "signal/custom_norms.py::to_train_script":
        _TO_TRAIN_SCRIPT + "lost INI204, INI207; gained INI207",
    "signal/gain_mismatch.py::to_train_script": _TO_TRAIN_SCRIPT + "lost INI103 x3; gained none",
    "signal/xavier_relu.py::to_train_script": _TO_TRAIN_SCRIPT + "lost INI102 x2; gained none",
    "structure/reparam_order.py::to_train_script": _TO_TRAIN_SCRIPT + "lost INI209; gained none",
    "structure/reparametrized.py::to_train_script":
        _TO_TRAIN_SCRIPT + "lost INI209 x3; gained INI005",
    # --- helper_self ---
    "api_misuse/fan_of_1d.py::helper_self": _HELPER_SELF + "lost INI004 x10; gained none",
    "api_misuse/inplace_with_grad.py::helper_self": _HELPER_SELF + "lost INI003 x2; gained none",
    "api_misuse/unguarded_bias.py::helper_self": _HELPER_SELF + "lost INI005 x3; gained none",
    "api_misuse/unused_noqa.py::helper_self": _HELPER_SELF + "lost none; gained INI901",
    "coverage/bias_left_default.py::helper_self": _HELPER_SELF + "lost INI206; gained none",
    "coverage/init_never_called.py::helper_self": _HELPER_SELF + "lost INI201; gained none",
    "coverage/name_filter_norm.py::helper_self": _HELPER_SELF + "lost none; gained INI204",
    "coverage/padding_idx.py::helper_self": _HELPER_SELF + "lost INI205; gained none",
    "crossfile_config::helper_self": _HELPER_SELF + "lost INI205; gained none",
    "reach/loop_callbacks.py::helper_self": _HELPER_SELF + "lost INI208 x2; gained none",
    "reach/named_walks.py::helper_self": _HELPER_SELF + "lost INI208; gained none",
    "reach/reaches_nothing.py::helper_self": _HELPER_SELF + "lost INI208 x2; gained none",
    "real_bugs/dimenet_inplace_freq_bug.py::helper_self": _HELPER_SELF + "lost INI003; gained none",
    "real_bugs/mmdet_mask_head_never_initialized_bug.py::helper_self":
        _HELPER_SELF + "lost INI201; gained none",
    "real_bugs/pytorch_pretrained_bert_layernorm_normal_bug.py::helper_self":
        _HELPER_SELF + "lost INI207; gained none",
    "signal/custom_norms.py::helper_self": _HELPER_SELF + "lost INI207; gained INI207",
    "signal/gain_mismatch.py::helper_self": _HELPER_SELF + "lost INI103; gained none",
    "signal/xavier_relu.py::helper_self": _HELPER_SELF + "lost INI102; gained none",
    "structure/reparam_order.py::helper_self": _HELPER_SELF + "lost INI209; gained none",
    "structure/reparametrized.py::helper_self": _HELPER_SELF + "lost INI209; gained INI005",
    # --- helper_self_utils ---
    "api_misuse/fan_of_1d.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost INI004 x3; gained none",
    "api_misuse/inplace_with_grad.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost INI003 x3; gained none",
    "api_misuse/unguarded_bias.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost INI005 x3; gained none",
    "api_misuse/unused_noqa.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost none; gained INI206, INI901 x2",
    "coverage/bias_left_default.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost INI206; gained none",
    "coverage/name_filter_norm.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost INI204; gained none",
    "coverage/padding_idx.py::helper_self_utils": _HELPER_SELF_UTILS + "lost INI205; gained none",
    "crossfile_config::helper_self_utils": _HELPER_SELF_UTILS + "lost INI205; gained none",
    "reach/loop_callbacks.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost INI208 x2; gained none",
    "reach/reaches_nothing.py::helper_self_utils": _HELPER_SELF_UTILS + "lost INI208; gained none",
    "real_bugs/dimenet_inplace_freq_bug.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost INI003; gained none",
    "real_bugs/mmdet_mask_head_never_initialized_bug.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost INI201; gained none",
    "real_bugs/pytorch_pretrained_bert_layernorm_normal_bug.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost INI207; gained none",
    "signal/custom_norms.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost INI204, INI207; gained INI207",
    "signal/gain_mismatch.py::helper_self_utils": _HELPER_SELF_UTILS + "lost INI103; gained none",
    "signal/xavier_relu.py::helper_self_utils": _HELPER_SELF_UTILS + "lost INI102; gained none",
    "structure/reparam_order.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost INI209; gained none",
    "structure/reparametrized.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost INI209; gained INI005",
    # --- closure_factory ---
    "reach/reaches_nothing.py::closure_factory": _CLOSURE_FACTORY + "lost INI208; gained INI208",
    # --- registry_callback ---
    # --- registry_init_fn ---
    "absence/inherited_reset_clean.py::helper_self":
        _HELPER_RESET + "lost none; gained INI007",
    "absence/inherited_reset_clean.py::helper_self_utils":
        _HELPER_RESET + "lost none; gained INI007",
    "api_misuse/flag_guarded_bias.py::helper_self":
        _CORRELATED_MOVED + "lost INI005; gained none",
    "api_misuse/flag_guarded_bias.py::helper_self_utils":
        _CORRELATED_MOVED + "lost INI005; gained none",
    "api_misuse/flag_guarded_bias.py::to_builder_module":
        _CORRELATED_MOVED + "lost INI005; gained none",
    "crossfile_locations::helper_self":
        _HELPER_LOCATIONS + "lost INI205, INI206; gained none",
    "crossfile_locations::helper_self_utils":
        _HELPER_LOCATIONS + "lost INI205, INI206; gained none",
    "follow/loopvar_apply_bug::helper_self":
        _CORRELATED_MOVED + "lost INI005; gained none",
    "follow/loopvar_apply_bug::helper_self_utils":
        _CORRELATED_MOVED + "lost INI005; gained none",
    "follow/loopvar_apply_bug::to_builder_module":
        _CORRELATED_MOVED + "lost INI005; gained none",
    "follow/loopvar_apply_bug::to_train_script":
        _CORRELATED_MOVED + "lost INI005; gained none",
    "loads/pretrained_backbones.py::helper_self":
        _LOAD_ORDER + "lost INI210 x2; gained none",
    "loads/pretrained_backbones.py::helper_self_utils":
        _LOAD_ORDER + "lost INI210 x2; gained none",
    "loads/pretrained_backbones.py::to_builder_module":
        _LOAD_ORDER + "lost INI210 x2; gained none",
    "loads/pretrained_backbones.py::to_train_script":
        _LOAD_ORDER + "lost INI210 x2; gained none",
    "loads/segmenter::helper_self":
        _LOAD_ORDER + "lost INI210 x4; gained none",
    "loads/segmenter::helper_self_utils":
        _LOAD_ORDER + "lost INI210 x3; gained none",
    "loads/segmenter::to_builder_module":
        _LOAD_ORDER + "lost INI210 x3; gained none",
    "loads/segmenter::to_train_script":
        _LOAD_ORDER + "lost INI210 x3; gained none",
}
