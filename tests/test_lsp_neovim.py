"""`initlint lsp` driven by a real headless Neovim (Debian's 0.7: `vim.lsp.start_client`):
diagnostics arrive, a quick fix is listed and applied by Neovim, and the diagnostics clear.
Skipped where `nvim` is not installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

NVIM = shutil.which("nvim")
pytestmark = pytest.mark.skipif(NVIM is None, reason="nvim is not installed")

MODEL = """\
import torch.nn as nn
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        nn.init.xavier_uniform(self.fc.weight)   # INI001, safe fix adds the underscore
"""

SCRIPT = r"""
local out = {}
local bufnr = vim.api.nvim_get_current_buf()
local id = vim.lsp.start_client({
  name = 'initlint',
  cmd = {vim.env.INITLINT_PY, '-m', 'initlint', 'lsp'},
  root_dir = vim.fn.getcwd(),
})
vim.lsp.buf_attach_client(bufnr, id)
local client = vim.lsp.get_client_by_id(id)
vim.wait(20000, function() return #vim.diagnostic.get(bufnr) > 0 end, 20)
out.before = {}
for _, d in ipairs(vim.diagnostic.get(bufnr)) do
  table.insert(out.before, {code = d.code, lnum = d.lnum, col = d.col, end_col = d.end_col,
                            severity = d.severity, source = d.source})
end
local params = vim.lsp.util.make_range_params()
params.range = {start = {line = 5, character = 20}, ['end'] = {line = 5, character = 20}}
params.context = {diagnostics = {}}
local resp = client.request_sync('textDocument/codeAction', params, 20000, bufnr)
out.titles = {}
local chosen
for _, action in ipairs((resp and resp.result) or {}) do
  table.insert(out.titles, action.title)
  if action.edit and action.title:find('xavier_uniform_', 1, true) then chosen = action end
end
if chosen then vim.lsp.util.apply_workspace_edit(chosen.edit, client.offset_encoding) end
vim.wait(20000, function() return #vim.diagnostic.get(bufnr) == 0 end, 20)
out.after = #vim.diagnostic.get(bufnr)
out.lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
local f = io.open(vim.env.INITLINT_OUT, 'w')
f:write(vim.fn.json_encode(out))
f:close()
client.stop()
vim.cmd('qa!')
"""


def test_neovim_shows_the_finding_and_applies_the_quick_fix(tmp_path: Path):
    (tmp_path / "model.py").write_text(MODEL)
    (tmp_path / "run.lua").write_text(SCRIPT)
    out = tmp_path / "out.json"
    env = {**os.environ, "INITLINT_PY": sys.executable, "INITLINT_OUT": str(out)}
    subprocess.run([NVIM, "--headless", "--clean", "-u", "NONE", "-S", "run.lua", "model.py"],
                   cwd=tmp_path, env=env, timeout=90, check=True, capture_output=True)
    result = json.loads(out.read_text())
    assert result["before"] == [{"code": "INI001", "lnum": 5, "col": 16, "end_col": 30,
                                 "severity": 1, "source": "initlint"}]
    assert result["titles"] == ["initlint (INI001): Use `xavier_uniform_` (same init, no "
                                "deprecation warning)",
                                "initlint (INI001): Disable for this line",
                                "initlint: Fix all auto-fixable problems"]
    assert result["lines"][5].startswith("        nn.init.xavier_uniform_(self.fc.weight)")
    assert result["after"] == 0
