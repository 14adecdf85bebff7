"""Time ``initlint --runtime`` on a ResNet-50-sized model on CPU.

torchvision cannot be imported here (its compiled ops are missing), so this file defines a
ResNet-50 the torchvision way (Bottleneck [3, 4, 6, 3], BatchNorm, kaiming_normal_ fan_out
init, 25.6M parameters) and lints itself with the runtime mode: once with the input the
runtime infers (the first Conv2d → (8, 3, 32, 32)), once with ImageNet's (8, 3, 224, 224)
named as a factory. Run: ``python bench/bench_runtime.py [--threads N]``.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn as nn


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet50(nn.Module):
    def __init__(self, num_classes: int = 1000, layers: tuple[int, ...] = (3, 4, 6, 3)):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(64, layers[0])
        self.layer2 = self._make_layer(128, layers[1], 2)
        self.layer3 = self._make_layer(256, layers[2], 2)
        self.layer4 = self._make_layer(512, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512 * Bottleneck.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * Bottleneck.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * Bottleneck.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * Bottleneck.expansion))
        layers = [Bottleneck(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * Bottleneck.expansion
        layers += [Bottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _measure(label: str, options, files: list[str]) -> None:
    from initlint.core.config import Config
    from initlint.engine.lint import lint_paths
    from initlint.runtime.session import run_runtime
    from initlint.runtime.table import model_summary

    config = Config()
    begun = time.perf_counter()
    findings = lint_paths(files, config, jobs=1).findings
    static = time.perf_counter() - begun
    report = run_runtime(files, findings, config, options)
    total = time.perf_counter() - begun
    for run in report.models:
        params = "25.6M" if "ResNet50" in run.label or ":" in run.label else "?"
        print(f"{label}: {run.label} ({params} params) input {run.input_shape}: "
              f"build+measure {run.seconds:.2f} s, {len(run.leaves)} leaf calls")
        print(f"    {model_summary(run)}")
    print(f"{label}: whole run {total:.2f} s (static pass {static:.2f} s), "
          f"{len(report.findings)} findings, {len(report.skipped)} skipped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from initlint.runtime.options import ModelSpec, RuntimeOptions

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU")
    files = [__file__]
    _measure("inferred input", RuntimeOptions(), files)
    import os

    spec = ModelSpec(f"{os.path.splitext(os.path.basename(__file__))[0]}:ResNet50",
                     input=(8, 3, 224, 224))
    _measure("224x224", RuntimeOptions(models=(spec,), root=os.path.dirname(
        os.path.abspath(__file__))), files)


if __name__ == "__main__":
    main()
