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
    "another module of the package, on the model it constructs; a builder in another "
    "module is not run on the construction it makes (the same builder in the model's own "
    "file is: loop_to_build), so findings that need that init are lost and absence claims "
    "(INI101 no init, INI201, INI202) appear: ")
_TO_TRAIN_SCRIPT = (
    "the init statements that ended `__init__` run in train.py under `if __name__ == "
    "\"__main__\"` on `model = Net()`, the class imported from its module; a script in "
    "another file is not run on the construction it makes, so findings that need that init "
    "are lost and absence claims (INI101, INI201, INI202) appear: ")
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
_REGISTRY_CALLBACK = (
    "`self.apply(INITS[\"init\"])` with the module-level `INITS = {\"init\": init}`: a "
    "subscript of a registry dict is not evaluated to the function it holds, so the "
    "callback is unknown and the init it runs is not seen: ")
_REGISTRY_INIT_FN = (
    "`INIT_FNS[\"normal_\"](w, 0, 0.02)` with `INIT_FNS = dict(normal_=nn.init.normal_)`: "
    "an init function looked up by name in a registry is not evaluated to the torch.nn.init "
    "function it holds, so the call is not an init site (call-site rules INI001-INI006 and "
    "every rule needing the init lose it; absence claims appear): ")

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
    "coverage/init_before_layers.py::to_builder_module":
        _TO_BUILDER_MODULE + "lost none; gained INI202",
    "coverage/init_never_called.py::to_builder_module":
        _TO_BUILDER_MODULE + "lost none; gained INI201",
    "coverage/isinstance_gap.py::to_builder_module":
        _TO_BUILDER_MODULE + "lost INI203; gained none",
    "coverage/name_filter_norm.py::to_builder_module":
        _TO_BUILDER_MODULE + "lost INI204; gained none",
    "coverage/norm_scale_near_zero.py::to_builder_module":
        _TO_BUILDER_MODULE + "lost INI207; gained INI207",
    "coverage/padding_idx.py::to_builder_module": _TO_BUILDER_MODULE + "lost INI205; gained none",
    "crossfile_config::to_builder_module": _TO_BUILDER_MODULE + "lost INI205; gained none",
    "crossfile_pkg::to_builder_module": _TO_BUILDER_MODULE + "lost none; gained INI101",
    "reach/loop_callbacks.py::to_builder_module":
        _TO_BUILDER_MODULE + "lost INI208 x2; gained none",
    "reach/named_walks.py::to_builder_module": _TO_BUILDER_MODULE + "lost INI208 x2; gained none",
    "reach/reaches_nothing.py::to_builder_module":
        _TO_BUILDER_MODULE + "lost INI208 x2; gained none",
    "reach/uninitialized_clean.py::to_builder_module":
        _TO_BUILDER_MODULE + "lost none; gained INI007 x3",
    "real_bugs/deeplab_bn_gamma_zero_bug.py::to_builder_module":
        _TO_BUILDER_MODULE + "lost INI207; gained INI207",
    "real_bugs/fairseq_relpos_bias_uninitialized_fixed.py::to_builder_module":
        _TO_BUILDER_MODULE + "lost none; gained INI007 x2",
    "real_bugs/see_in_dark_init_never_called_fixed.py::to_builder_module":
        _TO_BUILDER_MODULE + "lost INI206; gained none",
    "real_bugs/ssds_conv_key_filter_bug.py::to_builder_module":
        _TO_BUILDER_MODULE + "lost INI004; gained none",
    "runtime/broken_models.py::to_builder_module": _TO_BUILDER_MODULE + "lost INI206; gained none",
    "runtime/residual_he.py::to_builder_module": _TO_BUILDER_MODULE + "lost INI104; gained none",
    "signal/custom_norms.py::to_builder_module":
        _TO_BUILDER_MODULE + "lost INI204, INI207; gained INI207",
    "signal/deep_stack_clean.py::to_builder_module":
        _TO_BUILDER_MODULE + "lost none; gained INI101 x5",
    "signal/gain_mismatch.py::to_builder_module":
        _TO_BUILDER_MODULE + "lost INI103 x3; gained none",
    "signal/pooling.py::to_builder_module": _TO_BUILDER_MODULE + "lost INI102; gained INI101",
    "signal/pooling_clean.py::to_builder_module": _TO_BUILDER_MODULE + "lost none; gained INI101",
    "signal/residual_unscaled.py::to_builder_module":
        _TO_BUILDER_MODULE + "lost INI104; gained none",
    "signal/xavier_relu.py::to_builder_module": _TO_BUILDER_MODULE + "lost INI102 x2; gained none",
    "structure/codec_factory::to_builder_module": _TO_BUILDER_MODULE + "lost INI209; gained none",
    "structure/fused_gates.py::to_builder_module":
        _TO_BUILDER_MODULE + "lost INI105 x2; gained none",
    "structure/reparam_factory.py::to_builder_module":
        _TO_BUILDER_MODULE + "lost INI209 x2; gained none",
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
    "coverage/init_before_layers.py::to_train_script":
        _TO_TRAIN_SCRIPT + "lost none; gained INI202",
    "coverage/init_never_called.py::to_train_script": _TO_TRAIN_SCRIPT + "lost none; gained INI201",
    "coverage/isinstance_gap.py::to_train_script": _TO_TRAIN_SCRIPT + "lost INI203; gained none",
    "coverage/name_filter_norm.py::to_train_script": _TO_TRAIN_SCRIPT + "lost INI204; gained none",
    "coverage/norm_scale_near_zero.py::to_train_script":
        _TO_TRAIN_SCRIPT + "lost INI207; gained INI207",
    "coverage/padding_idx.py::to_train_script": _TO_TRAIN_SCRIPT + "lost INI205; gained none",
    "crossfile_pkg::to_train_script": _TO_TRAIN_SCRIPT + "lost none; gained INI101",
    "reach/loop_callbacks.py::to_train_script": _TO_TRAIN_SCRIPT + "lost INI208 x2; gained none",
    "reach/named_walks.py::to_train_script": _TO_TRAIN_SCRIPT + "lost INI208 x2; gained none",
    "reach/reaches_nothing.py::to_train_script": _TO_TRAIN_SCRIPT + "lost INI208 x2; gained none",
    "real_bugs/deeplab_bn_gamma_zero_bug.py::to_train_script":
        _TO_TRAIN_SCRIPT + "lost INI207; gained INI207",
    "real_bugs/see_in_dark_init_never_called_fixed.py::to_train_script":
        _TO_TRAIN_SCRIPT + "lost INI206; gained none",
    "real_bugs/ssds_conv_key_filter_bug.py::to_train_script":
        _TO_TRAIN_SCRIPT + "lost INI004; gained none",
    "runtime/broken_models.py::to_train_script": _TO_TRAIN_SCRIPT + "lost INI206; gained none",
    "runtime/residual_he.py::to_train_script": _TO_TRAIN_SCRIPT + "lost INI104; gained none",
    "signal/custom_norms.py::to_train_script":
        _TO_TRAIN_SCRIPT + "lost INI204, INI207; gained INI207",
    "signal/deep_stack_clean.py::to_train_script": _TO_TRAIN_SCRIPT + "lost none; gained INI101 x5",
    "signal/gain_mismatch.py::to_train_script": _TO_TRAIN_SCRIPT + "lost INI103 x3; gained none",
    "signal/pooling.py::to_train_script": _TO_TRAIN_SCRIPT + "lost INI102; gained INI101",
    "signal/pooling_clean.py::to_train_script": _TO_TRAIN_SCRIPT + "lost none; gained INI101",
    "signal/residual_unscaled.py::to_train_script": _TO_TRAIN_SCRIPT + "lost INI104; gained none",
    "signal/xavier_relu.py::to_train_script": _TO_TRAIN_SCRIPT + "lost INI102 x2; gained none",
    "structure/codec_factory::to_train_script": _TO_TRAIN_SCRIPT + "lost INI209; gained none",
    "structure/fused_gates.py::to_train_script": _TO_TRAIN_SCRIPT + "lost INI105 x2; gained none",
    "structure/reparam_factory.py::to_train_script":
        _TO_TRAIN_SCRIPT + "lost INI209 x2; gained none",
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
    "coverage/isinstance_gap.py::helper_self": _HELPER_SELF + "lost INI203; gained none",
    "coverage/name_filter_norm.py::helper_self": _HELPER_SELF + "lost none; gained INI204",
    "coverage/padding_idx.py::helper_self": _HELPER_SELF + "lost INI205; gained none",
    "crossfile_config::helper_self": _HELPER_SELF + "lost INI205; gained none",
    "reach/loop_callbacks.py::helper_self": _HELPER_SELF + "lost INI208 x2; gained none",
    "reach/named_walks.py::helper_self": _HELPER_SELF + "lost INI208; gained none",
    "reach/reaches_nothing.py::helper_self": _HELPER_SELF + "lost INI208 x2; gained none",
    "real_bugs/deeppruner_weight_init_not_called_bug.py::helper_self":
        _HELPER_SELF + "lost INI201; gained none",
    "real_bugs/deeppruner_weight_init_not_called_fixed.py::helper_self":
        _HELPER_SELF + "lost INI206; gained none",
    "real_bugs/dimenet_inplace_freq_bug.py::helper_self": _HELPER_SELF + "lost INI003; gained none",
    "real_bugs/mmdet_mask_head_never_initialized_bug.py::helper_self":
        _HELPER_SELF + "lost INI201; gained none",
    "real_bugs/pytorch_examples_decoder_bias_bug.py::helper_self":
        _HELPER_SELF + "lost INI206; gained none",
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
    "api_misuse/unguarded_bias_clean.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost none; gained INI005",
    "api_misuse/unused_noqa.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost none; gained INI206, INI901 x2",
    "coverage/bias_left_default.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost INI206; gained none",
    "coverage/init_before_layers.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost INI202; gained none",
    "coverage/init_never_called.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost INI201; gained none",
    "coverage/isinstance_gap.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost INI203; gained none",
    "coverage/name_filter_norm.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost INI204; gained none",
    "coverage/padding_idx.py::helper_self_utils": _HELPER_SELF_UTILS + "lost INI205; gained none",
    "crossfile_config::helper_self_utils": _HELPER_SELF_UTILS + "lost INI205; gained none",
    "reach/loop_callbacks.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost INI208 x2; gained none",
    "reach/reaches_nothing.py::helper_self_utils": _HELPER_SELF_UTILS + "lost INI208; gained none",
    "real_bugs/deeppruner_weight_init_not_called_bug.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost INI201; gained none",
    "real_bugs/deeppruner_weight_init_not_called_fixed.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost INI206; gained none",
    "real_bugs/dimenet_inplace_freq_bug.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost INI003; gained none",
    "real_bugs/mmdet_mask_head_never_initialized_bug.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost INI201; gained none",
    "real_bugs/pytorch_examples_decoder_bias_bug.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost INI206; gained none",
    "real_bugs/pytorch_pretrained_bert_layernorm_normal_bug.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost INI207; gained none",
    "real_bugs/see_in_dark_init_never_called_fixed.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost INI206; gained none",
    "signal/custom_norms.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost INI204, INI207; gained INI207",
    "signal/deep_stack_clean.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost none; gained INI101 x2",
    "signal/gain_mismatch.py::helper_self_utils": _HELPER_SELF_UTILS + "lost INI103; gained none",
    "signal/xavier_relu.py::helper_self_utils": _HELPER_SELF_UTILS + "lost INI102; gained none",
    "structure/reparam_order.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost INI209; gained none",
    "structure/reparametrized.py::helper_self_utils":
        _HELPER_SELF_UTILS + "lost INI209; gained INI005",
    # --- closure_factory ---
    "reach/reaches_nothing.py::closure_factory": _CLOSURE_FACTORY + "lost INI208; gained INI208",
    # --- registry_callback ---
    "coverage/name_filter_norm.py::registry_callback":
        _REGISTRY_CALLBACK + "lost INI204; gained none",
    "reach/reaches_nothing.py::registry_callback":
        _REGISTRY_CALLBACK + "lost INI208; gained INI005",
    "reach/reaches_nothing_clean.py::registry_callback":
        _REGISTRY_CALLBACK + "lost none; gained INI005",
    "real_bugs/d2l_apply_ignores_argument_bug.py::registry_callback":
        _REGISTRY_CALLBACK + "lost INI208 x2; gained none",
    "real_bugs/ssds_conv_key_filter_bug.py::registry_callback":
        _REGISTRY_CALLBACK + "lost INI004; gained none",
    "structure/codec_factory::registry_callback": _REGISTRY_CALLBACK + "lost INI209; gained none",
    "structure/fused_gates.py::registry_callback": _REGISTRY_CALLBACK + "lost INI105; gained none",
    "structure/reparam_factory.py::registry_callback":
        _REGISTRY_CALLBACK + "lost INI209; gained none",
    # --- registry_init_fn ---
    "api_misuse/fan_of_1d.py::registry_init_fn": _REGISTRY_INIT_FN + "lost INI004 x14; gained none",
    "api_misuse/init_on_copy.py::registry_init_fn":
        _REGISTRY_INIT_FN + "lost INI002 x8; gained none",
    "api_misuse/invalid_argument.py::registry_init_fn":
        _REGISTRY_INIT_FN + "lost INI006 x7; gained none",
    "api_misuse/unguarded_bias.py::registry_init_fn":
        _REGISTRY_INIT_FN + "lost INI005 x6; gained none",
    "coverage/bias_left_default.py::registry_init_fn":
        _REGISTRY_INIT_FN + "lost INI206 x3; gained none",
    "coverage/exported_init.py::registry_init_fn": _REGISTRY_INIT_FN + "lost INI201; gained none",
    "coverage/init_before_layers.py::registry_init_fn":
        _REGISTRY_INIT_FN + "lost INI202 x2; gained none",
    "coverage/init_never_called.py::registry_init_fn":
        _REGISTRY_INIT_FN + "lost INI201 x3; gained none",
    "coverage/isinstance_gap.py::registry_init_fn": _REGISTRY_INIT_FN + "lost INI203; gained none",
    "coverage/name_filter_norm.py::registry_init_fn":
        _REGISTRY_INIT_FN + "lost INI204 x2; gained none",
    "coverage/norm_scale_near_zero.py::registry_init_fn":
        _REGISTRY_INIT_FN + "lost INI207 x2; gained none",
    "crossfile_pkg::registry_init_fn": _REGISTRY_INIT_FN + "lost INI005 x2, INI201; gained INI101",
    "reach/loop_callbacks.py::registry_init_fn":
        _REGISTRY_INIT_FN + "lost INI202, INI208 x3; gained none",
    "reach/named_walks.py::registry_init_fn": _REGISTRY_INIT_FN + "lost INI208 x2; gained none",
    "reach/reaches_nothing.py::registry_init_fn": _REGISTRY_INIT_FN + "lost INI208 x4; gained none",
    "reach/uninitialized_clean.py::registry_init_fn":
        _REGISTRY_INIT_FN + "lost none; gained INI007 x3",
    "real_bugs/cleanrl_lstm_fused_orthogonal_bug.py::registry_init_fn":
        _REGISTRY_INIT_FN + "lost INI105; gained none",
    "real_bugs/d2l_apply_ignores_argument_bug.py::registry_init_fn":
        _REGISTRY_INIT_FN + "lost INI208 x2; gained none",
    "real_bugs/deeplab_bn_gamma_zero_bug.py::registry_init_fn":
        _REGISTRY_INIT_FN + "lost INI207; gained none",
    "real_bugs/maskrcnn_benchmark_predictor_bias_bug.py::registry_init_fn":
        _REGISTRY_INIT_FN + "lost INI206 x2; gained none",
    "real_bugs/mmdet_mask_head_never_initialized_bug.py::registry_init_fn":
        _REGISTRY_INIT_FN + "lost INI201; gained none",
    "real_bugs/pytorch_examples_decoder_bias_bug.py::registry_init_fn":
        _REGISTRY_INIT_FN + "lost INI206; gained none",
    "real_bugs/ssds_conv_key_filter_bug.py::registry_init_fn":
        _REGISTRY_INIT_FN + "lost INI004; gained none",
    "runtime/residual_he.py::registry_init_fn": _REGISTRY_INIT_FN + "lost INI104; gained none",
    "signal/custom_norms.py::registry_init_fn":
        _REGISTRY_INIT_FN + "lost INI004, INI204, INI207; gained none",
    "signal/deep_stack_clean.py::registry_init_fn":
        _REGISTRY_INIT_FN + "lost none; gained INI101 x8",
    "signal/gain_mismatch.py::registry_init_fn": _REGISTRY_INIT_FN + "lost INI103 x3; gained none",
    "signal/pooling.py::registry_init_fn": _REGISTRY_INIT_FN + "lost INI102; gained INI101",
    "signal/pooling_clean.py::registry_init_fn": _REGISTRY_INIT_FN + "lost none; gained INI101",
    "signal/residual_unscaled.py::registry_init_fn": _REGISTRY_INIT_FN + "lost INI104; gained none",
    "signal/xavier_relu.py::registry_init_fn": _REGISTRY_INIT_FN + "lost INI102 x2; gained none",
    "structure/codec_factory::registry_init_fn": _REGISTRY_INIT_FN + "lost INI209 x2; gained none",
    "structure/fused_gates.py::registry_init_fn": _REGISTRY_INIT_FN + "lost INI105 x3; gained none",
    "structure/reparam_factory.py::registry_init_fn":
        _REGISTRY_INIT_FN + "lost INI209 x3; gained none",
    "structure/reparam_order.py::registry_init_fn":
        _REGISTRY_INIT_FN + "lost INI202, INI209; gained none",
    "structure/reparametrized.py::registry_init_fn":
        _REGISTRY_INIT_FN + "lost INI209 x2; gained INI206",
}
