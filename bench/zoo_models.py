"""Healthy real architectures, built from their own packages with small configs, for
``bench/bench_zoo.py``. Each factory is what a user names under
[tool.initlint.runtime] models; only the configs are made small (depth and width), never
the init. Run in a venv with torchvision, timm and transformers (not this project's
dependencies)."""

from __future__ import annotations


def _hf(config_name: str, model_name: str, **config):
    import transformers

    return getattr(transformers, model_name)(getattr(transformers, config_name)(**config))


# --- torchvision ---------------------------------------------------------------------------

def tv_resnet50():
    import torchvision

    return torchvision.models.resnet50()


def tv_resnet18():
    import torchvision

    return torchvision.models.resnet18()


def tv_mobilenet_v3_small():
    import torchvision

    return torchvision.models.mobilenet_v3_small()


def tv_vit():
    import torchvision

    return torchvision.models.VisionTransformer(image_size=64, patch_size=8, num_layers=6,
                                                num_heads=4, hidden_dim=128, mlp_dim=256)


def tv_efficientnet_b0():
    import torchvision

    return torchvision.models.efficientnet_b0()


# --- timm ----------------------------------------------------------------------------------

def timm_convnext_atto():
    import timm

    return timm.create_model("convnext_atto")


def timm_vit_tiny():
    import timm

    return timm.create_model("vit_tiny_patch16_224", img_size=64, depth=6)


def timm_efficientnet_b0():
    import timm

    return timm.create_model("efficientnet_b0")


def timm_resnet26d():
    import timm

    return timm.create_model("resnet26d")


# --- transformers --------------------------------------------------------------------------

SMALL = {"vocab_size": 1000}


def hf_bert():
    return _hf("BertConfig", "BertModel", hidden_size=256, num_hidden_layers=6,
               num_attention_heads=4, intermediate_size=1024, **SMALL)


def hf_gpt2():
    return _hf("GPT2Config", "GPT2Model", n_embd=256, n_layer=6, n_head=4, **SMALL)


def hf_gpt2_small():
    """GPT-2 small itself (124M parameters): the cost benchmark."""
    return _hf("GPT2Config", "GPT2Model")


def hf_t5():
    return _hf("T5Config", "T5Model", d_model=128, d_ff=256, d_kv=32, num_layers=4,
               num_heads=4, **SMALL)


def hf_llama():
    return _hf("LlamaConfig", "LlamaModel", hidden_size=256, intermediate_size=512,
               num_hidden_layers=6, num_attention_heads=4, num_key_value_heads=2, **SMALL)


def hf_mistral():
    return _hf("MistralConfig", "MistralModel", hidden_size=256, intermediate_size=512,
               num_hidden_layers=6, num_attention_heads=4, num_key_value_heads=2, **SMALL)


def hf_vit():
    return _hf("ViTConfig", "ViTModel", hidden_size=128, num_hidden_layers=6,
               num_attention_heads=4, intermediate_size=256, image_size=64, patch_size=8)


def hf_mamba():
    return _hf("MambaConfig", "MambaModel", hidden_size=128, state_size=8,
               num_hidden_layers=6, **SMALL)


def hf_rwkv():
    return _hf("RwkvConfig", "RwkvModel", hidden_size=128, num_hidden_layers=6,
               attention_hidden_size=128, intermediate_size=256, context_length=64, **SMALL)
