"""The seed report's networks in PyTorch, as the report defines them.

Used as the reference that rtml's compiled trainers are compared against, in
tests (outputs, weights) and benchmarks (step time). Module names follow the
report's classes, so their state_dict() keys are the parameter names of the
matching models/*.yaml.
"""
import torch
import torch.nn as nn


class AlexNet(nn.Module):
    """The report's `AlexNet(num_classes, use_lrn)`."""

    def __init__(self, num_classes: int = 10, use_lrn: bool = True):
        super().__init__()
        self.use_lrn = use_lrn
        self.features_1 = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
        )
        self.lrn1 = nn.LocalResponseNorm(size=5, alpha=0.0001, beta=0.75, k=2)
        self.features_2 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
        )
        self.lrn2 = nn.LocalResponseNorm(size=5, alpha=0.0001, beta=0.75, k=2)
        self.features_3 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=0.5),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=0.5),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features_1(x)
        if self.use_lrn:
            x = self.lrn1(x)
        x = self.features_2(x)
        if self.use_lrn:
            x = self.lrn2(x)
        x = self.features_3(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


MODELS = {"alexnet": AlexNet}
