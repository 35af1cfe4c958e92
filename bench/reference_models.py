"""The seed report's networks in PyTorch, as the report defines them.

Used as the reference that rtml's compiled trainers are compared against, in
tests (outputs, weights) and benchmarks (step time). Module names follow the
report's classes, so their state_dict() keys are the parameter names of the
matching models/*.yaml.
"""
import torch
import torch.nn as nn


def alexnet_classifier(num_classes):
    """AlexNet's classifier on 256x6x6 features: dropout, fc 4096, ReLU,
    dropout, fc 4096, ReLU, fc."""
    return nn.Sequential(
        nn.Dropout(p=0.5),
        nn.Linear(256 * 6 * 6, 4096),
        nn.ReLU(inplace=True),
        nn.Dropout(p=0.5),
        nn.Linear(4096, 4096),
        nn.ReLU(inplace=True),
        nn.Linear(4096, num_classes),
    )


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
        self.classifier = alexnet_classifier(num_classes)

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


# ---------------------------------------------------------------------------
# The report's "Custom GoogLeNet" (models/googlenet_bn.yaml): batch norm after
# every convolution inside the inception branches, two 3x3 convolutions in
# place of the 5x5, the paper's stem with LRN, side classifiers after 4a and
# 4d. 10,635,134 parameters for 10 classes.


def conv_bn_relu(in_planes, out_planes, kernel_size, padding=0):
    """Conv, batch norm, ReLU: three modules to splice into a Sequential
    (so that keys read `b2.3.weight` as in the report's model)."""
    return [nn.Conv2d(in_planes, out_planes, kernel_size=kernel_size,
                      padding=padding),
            nn.BatchNorm2d(out_planes), nn.ReLU(True)]


# in_channels, 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool projection of
# inception3a .. inception5b (the paper's Table 1).
INCEPTIONS = {
    "3a": (192, 64, 96, 128, 16, 32, 32),
    "3b": (256, 128, 128, 192, 32, 96, 64),
    "4a": (480, 192, 96, 208, 16, 48, 64),
    "4b": (512, 160, 112, 224, 24, 64, 64),
    "4c": (512, 128, 128, 256, 24, 64, 64),
    "4d": (512, 112, 144, 288, 32, 64, 64),
    "4e": (528, 256, 160, 320, 32, 128, 128),
    "5a": (832, 256, 160, 320, 32, 128, 128),
    "5b": (832, 384, 192, 384, 48, 128, 128),
}


class GoogLeNetTrunk(nn.Module):
    """What both GoogLeNets share after their stems: inception3a .. 5b with
    a max pool after 3b and 4e, the side classifiers after 4a and 4d (in
    training, when aux_logits), and the average-pool classifier. A subclass
    builds its stem, then calls build_trunk, and defines stem(x)."""

    def build_trunk(self, inception, aux, pool, num_classes, aux_logits):
        self.aux_logits = aux_logits
        for name, channels in INCEPTIONS.items():
            setattr(self, "inception" + name, inception(*channels))
            if name in ("3b", "4e"):
                setattr(self, "maxpool" + name[0], pool())
        if aux_logits:
            self.aux1 = aux(512, num_classes)
            self.aux2 = aux(528, num_classes)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(0.4)
        self.fc = nn.Linear(1024, num_classes)

    def forward(self, x):
        x = self.stem(x)
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        side = self.training and self.aux_logits
        aux1 = self.aux1(x) if side else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if side else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))
        return (x, aux1, aux2) if side else x


class Inception(nn.Module):
    """The report's `Inception(in_planes, n1x1, n3x3red, n3x3, n5x5red, n5x5,
    pool_planes)`: branches b1..b4, each a Sequential."""

    def __init__(self, in_planes, n1x1, n3x3red, n3x3, n5x5red, n5x5,
                 pool_planes):
        super().__init__()
        self.b1 = nn.Sequential(*conv_bn_relu(in_planes, n1x1, 1))
        self.b2 = nn.Sequential(*conv_bn_relu(in_planes, n3x3red, 1),
                                *conv_bn_relu(n3x3red, n3x3, 3, padding=1))
        self.b3 = nn.Sequential(*conv_bn_relu(in_planes, n5x5red, 1),
                                *conv_bn_relu(n5x5red, n5x5, 3, padding=1),
                                *conv_bn_relu(n5x5, n5x5, 3, padding=1))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1),
                                *conv_bn_relu(in_planes, pool_planes, 1))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)


class InceptionAux(nn.Module):
    """The report's side classifier: 5x5/3 average pool, 1x1 conv to 128,
    fc 1024, dropout 0.7, classifier."""

    def __init__(self, in_channels, num_classes):
        super().__init__()
        self.conv = nn.Sequential(
            nn.AvgPool2d(kernel_size=5, stride=3),
            nn.Conv2d(in_channels, 128, kernel_size=1),
            nn.ReLU(True),
        )
        self.fc1 = nn.Linear(128 * 4 * 4, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(0.7)

    def forward(self, x):
        x = self.conv(x)
        x = torch.flatten(x, 1)
        x = torch.relu(self.fc1(x))
        x = self.dropout(x)
        return self.fc2(x)


class GoogLeNetBN(GoogLeNetTrunk):
    """The report's `GoogLeNet(num_classes=10, aux_logits=True)` ("Custom
    GoogLeNet"). In training it returns (main, aux1, aux2)."""

    def __init__(self, num_classes: int = 10, aux_logits: bool = True):
        super().__init__()
        self.conv1 = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3),
            nn.ReLU(True),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
            nn.LocalResponseNorm(size=5, alpha=0.0001, beta=0.75, k=2),
        )
        self.conv2 = nn.Sequential(
            nn.Conv2d(64, 64, kernel_size=1),
            nn.ReLU(True),
            nn.Conv2d(64, 192, kernel_size=3, padding=1),
            nn.ReLU(True),
            nn.LocalResponseNorm(size=5, alpha=0.0001, beta=0.75, k=2),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        )
        self.build_trunk(Inception, InceptionAux,
                         lambda: nn.MaxPool2d(3, stride=2, padding=1),
                         num_classes, aux_logits)

    def stem(self, x):
        return self.conv2(self.conv1(x))


# ---------------------------------------------------------------------------
# GoogLeNet as the paper describes it (models/googlenet.yaml): Szegedy et al.,
# "Going Deeper with Convolutions", 2014, Table 1 and Section 5. Convolutions
# with bias and ReLU, no batch norm, true 5x5 branches, max pools rounding up
# as Caffe does. Module names follow torchvision's GoogLeNet (conv1,
# maxpool1, ..., inceptionNx.branchK, aux1/aux2, fc) with a ConvReLU in place
# of BasicConv2d, so keys read `inception3a.branch3.1.conv.weight`.


class ConvReLU(nn.Module):
    def __init__(self, in_channels, out_channels, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, **kwargs)

    def forward(self, x):
        return torch.relu(self.conv(x))


class PaperInception(nn.Module):
    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5,
                 pool_proj):
        super().__init__()
        self.branch1 = ConvReLU(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            ConvReLU(in_channels, ch3x3red, kernel_size=1),
            ConvReLU(ch3x3red, ch3x3, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(
            ConvReLU(in_channels, ch5x5red, kernel_size=1),
            ConvReLU(ch5x5red, ch5x5, kernel_size=5, padding=2),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            ConvReLU(in_channels, pool_proj, kernel_size=1),
        )

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x),
                          self.branch4(x)], 1)


class PaperInceptionAux(nn.Module):
    """5x5/3 average pool, 1x1 conv to 128 + ReLU, fc 1024 + ReLU, dropout
    0.7, classifier (the paper's Section 5)."""

    def __init__(self, in_channels, num_classes, dropout=0.7):
        super().__init__()
        self.pool = nn.AvgPool2d(kernel_size=5, stride=3)
        self.conv = ConvReLU(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(128 * 4 * 4, 1024)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(1024, num_classes)

    def forward(self, x):
        x = self.conv(self.pool(x))
        x = torch.flatten(x, 1)
        x = self.dropout(torch.relu(self.fc1(x)))
        return self.fc2(x)


class GoogLeNetPaper(GoogLeNetTrunk):
    """In training it returns (main, aux1, aux2)."""

    def __init__(self, num_classes: int = 10, aux_logits: bool = True):
        super().__init__()
        lrn = dict(size=5, alpha=0.0001, beta=0.75, k=2)
        self.conv1 = ConvReLU(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.lrn1 = nn.LocalResponseNorm(**lrn)
        self.conv2 = ConvReLU(64, 64, kernel_size=1)
        self.conv3 = ConvReLU(64, 192, kernel_size=3, padding=1)
        self.lrn2 = nn.LocalResponseNorm(**lrn)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.build_trunk(PaperInception, PaperInceptionAux,
                         lambda: nn.MaxPool2d(3, stride=2, ceil_mode=True),
                         num_classes, aux_logits)

    def stem(self, x):
        x = self.lrn1(self.maxpool1(self.conv1(x)))
        return self.maxpool2(self.lrn2(self.conv3(self.conv2(x))))


# ---------------------------------------------------------------------------
# The report's two-tower AlexNet (models/alexnet_towers.yaml): two
# independent towers 48-128-192-192-128 on the full input, concatenated into
# AlexNet's classifier. 56,466,826 parameters for 10 classes.


class AlexNetTower(nn.Module):
    """The report's AlexNetGPU1 / AlexNetGPU2 (identical)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 48, kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.LocalResponseNorm(size=5, alpha=0.0001, beta=0.75, k=2),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(48, 128, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.LocalResponseNorm(size=5, alpha=0.0001, beta=0.75, k=2),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(128, 192, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(192, 192, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(192, 128, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )

    def forward(self, x):
        return self.features(x)


class AlexNetTowers(nn.Module):
    """The report's `AlexNetMultiGPU(num_classes=10)` on one device (the
    report's CUDA streams and .cuda(i) calls left out: they do not change
    the function)."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.gpu1_net = AlexNetTower()
        self.gpu2_net = AlexNetTower()
        self.classifier = alexnet_classifier(num_classes)

    def forward(self, x):
        out = torch.cat([self.gpu1_net(x), self.gpu2_net(x)], dim=1)
        return self.classifier(out.view(x.size(0), -1))


# ---------------------------------------------------------------------------
# The paper's two-GPU AlexNet (models/alexnet_2gpu.yaml): Krizhevsky et al.,
# 2012, Section 3.2 and Figure 2. Each layer is split in halves, one per GPU;
# conv2, conv4 and conv5 read only their own GPU's half, conv3 and the fully
# connected layers read both. Sizes and padding as in the report's AlexNet
# (224x224 input, conv1 padding 2, 6x6 before the classifier).


class AlexNet2GPUHalf(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 48, kernel_size=11, stride=4, padding=2)
        self.conv2 = nn.Conv2d(48, 128, kernel_size=5, padding=2)
        self.conv3 = nn.Conv2d(256, 192, kernel_size=3, padding=1)
        self.conv4 = nn.Conv2d(192, 192, kernel_size=3, padding=1)
        self.conv5 = nn.Conv2d(192, 128, kernel_size=3, padding=1)
        self.fc6 = nn.Linear(256 * 6 * 6, 2048)
        self.fc7 = nn.Linear(4096, 2048)


class AlexNet2GPU(nn.Module):
    """Halves `gpu0` and `gpu1`; `fc8` reads both halves of fc7."""

    def __init__(self, num_classes: int = 10, dropout: float = 0.5):
        super().__init__()
        self.gpu0 = AlexNet2GPUHalf()
        self.gpu1 = AlexNet2GPUHalf()
        self.fc8 = nn.Linear(4096, num_classes)
        self.lrn = nn.LocalResponseNorm(size=5, alpha=0.0001, beta=0.75, k=2)
        self.pool = nn.MaxPool2d(kernel_size=3, stride=2)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        halves = (self.gpu0, self.gpu1)
        y = [self.pool(self.lrn(torch.relu(h.conv1(x)))) for h in halves]
        y = [self.pool(self.lrn(torch.relu(h.conv2(t)))) for h, t in zip(halves, y)]
        both = torch.cat(y, 1)
        y = [torch.relu(h.conv3(both)) for h in halves]
        y = [torch.relu(h.conv4(t)) for h, t in zip(halves, y)]
        y = [self.pool(torch.relu(h.conv5(t))) for h, t in zip(halves, y)]
        both = torch.flatten(torch.cat(y, 1), 1)
        y = [torch.relu(h.fc6(self.dropout(both))) for h in halves]
        both = torch.cat(y, 1)
        y = [torch.relu(h.fc7(self.dropout(both))) for h in halves]
        return self.fc8(torch.cat(y, 1))


# ---------------------------------------------------------------------------
# torchvision's networks (models/torchvision_*.yaml), built from Debian's
# python3-torchvision (0.14).


def torchvision_alexnet(num_classes: int = 10):
    import torchvision
    return torchvision.models.alexnet(num_classes=num_classes)


def torchvision_googlenet(num_classes: int = 10, transform_input: bool = False,
                          aux_logits: bool = False):
    """Without the side classifiers by default, as the report's "Pretrained
    GoogLeNet": googlenet(weights=...) drops aux1 and aux2 (not pretrained)
    unless aux_logits=True. torchvision sets transform_input=True for its
    pretrained weights; models/torchvision_googlenet.yaml is the network
    without it and folds it into its data normalization."""
    import torchvision
    return torchvision.models.googlenet(num_classes=num_classes,
                                        aux_logits=aux_logits, init_weights=True,
                                        transform_input=transform_input)


def torchvision_googlenet_aux(num_classes: int = 10, transform_input: bool = False):
    """With both side classifiers (torchvision_googlenet.yaml --set aux=true)."""
    return torchvision_googlenet(num_classes, transform_input, aux_logits=True)


# ---------------------------------------------------------------------------
# LeNet-5 (models/lenet5.yaml): LeCun et al. 1998 on 1x32x32 images, tanh and
# average pooling. 61,706 parameters for 10 classes.


class LeNet5(nn.Module):
    in_channels = 1
    image_size = 32

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2),
            nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2))
        self.classifier = nn.Sequential(
            nn.Linear(16 * 5 * 5, 120), nn.Tanh(),
            nn.Linear(120, 84), nn.Tanh(),
            nn.Linear(84, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


MODELS.update({
    "googlenet": GoogLeNetPaper,
    "lenet5": LeNet5,
    "googlenet_bn": GoogLeNetBN,
    "alexnet_towers": AlexNetTowers,
    "alexnet_2gpu": AlexNet2GPU,
    "torchvision_alexnet": torchvision_alexnet,
    "torchvision_googlenet": torchvision_googlenet,
    "torchvision_googlenet_aux": torchvision_googlenet_aux,
})


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


if __name__ == "__main__":
    # reference_models.py [MODEL...]: "MODEL PARAMS" per model, as the
    # report counts them (sum of numel over model.parameters()).
    import sys as _sys
    for _name in _sys.argv[1:] or sorted(MODELS):
        print(_name, f"{count_parameters(MODELS[_name]()):,}")
