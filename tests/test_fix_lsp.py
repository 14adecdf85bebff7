"""Quick fixes in the editor: each fix a quick fix whose title says what it writes; unsafe
ones offered (labelled) but never part of ``source.fixAll``. A real pytest-lsp client."""

from __future__ import annotations

from pathlib import Path

from pytest_lsp import LanguageClient
from test_lsp import (  # noqa: F401  (``client`` is the pytest-lsp fixture)
    apply_edits,
    change_doc,
    client,
    code_actions,
    codes_in,
    edits_of,
    engine_codes,
    line_range,
    open_doc,
    pushed,
    start,
)

# INI005 (safe: a None guard) and INI102 (unsafe: the ReLU gain), one model.
MODEL = """\
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64, bias=False)
        self.fc2 = nn.Linear(64, 64, bias=False)
        self.fc3 = nn.Linear(64, 64, bias=False)
        self.out = nn.Linear(64, 10, bias=False)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.fc1(x).relu()
        x = self.fc2(x).relu()
        x = self.fc3(x).relu()
        return self.out(x)
"""


async def test_quick_fix_titles_say_what_they_write_and_unsafe_is_labelled(
        client: LanguageClient, tmp_path: Path):  # noqa: F811
    await start(client, tmp_path)
    path = tmp_path / "model.py"
    uri = open_doc(client, path, MODEL)
    assert codes_in(await pushed(client, uri)) == ["INI005", "INI102"]
    guard = [a for a in await code_actions(client, uri, line_range(13))
             if "INI005" in a.title and not a.title.endswith("Disable for this line")]
    assert [a.title for a in guard] == ["initlint (INI005): Wrap in `if m.bias is not None:`"]
    assert guard[0].is_preferred
    fixed = apply_edits(MODEL, edits_of(guard[0].edit, uri))
    assert ("                if m.bias is not None:\n"
            "                    nn.init.zeros_(m.bias)") in fixed
    gain = [a for a in await code_actions(client, uri, line_range(12))
            if "INI102" in a.title and not a.title.endswith("Disable for this line")]
    assert [a.title for a in gain] == [
        'initlint (INI102): Pass `gain=nn.init.calculate_gain("relu")` (unsafe fix)']
    assert not gain[0].is_preferred
    fixed = apply_edits(MODEL, edits_of(gain[0].edit, uri))
    assert 'nn.init.xavier_uniform_(m.weight, gain=nn.init.calculate_gain("relu"))' in fixed
    assert "INI102" not in engine_codes(path, fixed)


async def test_fix_all_applies_the_safe_fix_and_leaves_the_unsafe_one(client, tmp_path):  # noqa: F811
    await start(client, tmp_path)
    uri = open_doc(client, tmp_path / "model.py", MODEL)
    await pushed(client, uri)
    (fix_all,) = await code_actions(client, uri, line_range(0), only=["source.fixAll"])
    if fix_all.edit is None:
        fix_all = await client.code_action_resolve_async(fix_all)
    fixed = apply_edits(MODEL, edits_of(fix_all.edit, uri))
    assert "if m.bias is not None:" in fixed
    assert "calculate_gain" not in fixed  # unsafe: offered, never applied by fix-all
    change_doc(client, uri, fixed, 2)
    assert codes_in(await pushed(client, uri)) == ["INI102"]
