"""Transfer learning, framework-free: zero-shot class mapping, per-class splits, DenseNet
arithmetic."""

from __future__ import annotations

import numpy as np

from . import checks
from .data import ImageSet
from .imagenet import imagenet_classes

# Level 1 (the model as it is): Fashion-MNIST classes and their ImageNet counterparts, where one
# exists.
FASHION_TO_IMAGENET = {
    "T-shirt/top": ["jersey"],
    "Trouser": ["jean"],
    "Pullover": ["sweatshirt", "cardigan"],
    "Dress": ["gown", "overskirt", "hoopskirt", "miniskirt"],
    "Coat": ["trench coat", "fur coat", "lab coat"],
    "Sandal": ["sandal"],
    "Shirt": [],  # ImageNet has no shirt class
    "Sneaker": ["running shoe", "Loafer"],
    "Bag": ["purse", "mailbag", "backpack", "plastic bag"],
    "Ankle boot": ["cowboy boot", "clog"],
}

# The four levels of transfer learning (the model as it is, a new head, the last blocks
# unfrozen, all of it fine-tuned); level 3 trains MobileNetV2 blocks 16..18 (of 0..18,
# torchvision's numbering) and the head.
LEVELS = (1, 2, 3, 4)
UNFREEZE_AT = 16

# DenseNet-BC variants of torchvision and Keras: layers per dense block (growth rate 32, 64 stem
# channels).
DENSENET_BLOCKS = {121: (6, 12, 24, 16), 169: (6, 12, 32, 32), 201: (6, 12, 48, 32)}


def imagenet_mapping(
    class_names, mapping: dict = FASHION_TO_IMAGENET
) -> tuple[np.ndarray, np.ndarray]:
    """ImageNet indices of the mapped classes and, for each, the index of the target class it stands
    for."""
    names = imagenet_classes()
    if isinstance(class_names, str) or not hasattr(class_names, "__iter__"):
        raise TypeError(
            f"class_names: expected a list of names, got {checks.describe(class_names)}"
        )
    if not isinstance(mapping, dict):
        raise TypeError(
            f"mapping: expected a dict {{class name: [ImageNet names]}}, got "
            f"{checks.describe(mapping)}"
        )
    unknown = [n for c in class_names for n in mapping.get(c, ()) if n not in names]
    if unknown:
        raise ValueError(f"not ImageNet class names: {unknown}")
    missing = [c for c in class_names if c not in mapping]
    if missing:
        raise ValueError(
            f"no mapping entry for classes {missing}: give each an ImageNet list (may be empty)"
        )
    pairs = [(names.index(n), t) for t, c in enumerate(class_names) for n in mapping[c]]
    if not pairs:
        raise ValueError("the mapping names no ImageNet class at all")
    columns, owners = zip(*pairs)
    return np.array(columns), np.array(owners)


def zero_shot_predict(
    imagenet_scores, class_names, mapping: dict = FASHION_TO_IMAGENET
) -> np.ndarray:
    """Target-class predictions: the best-scoring *mapped* ImageNet class decides (N x 1000 scores
    in)."""
    scores = checks.array(
        imagenet_scores, "imagenet_scores", 2, "N x 1000 ImageNet scores", finite=True
    )
    if scores.shape[1] != 1000:
        raise ValueError(f"expected N x 1000 ImageNet scores, got shape {scores.shape}")
    columns, owners = imagenet_mapping(class_names, mapping)
    return owners[scores[:, columns].argmax(1)]


def split_per_class(
    data: ImageSet, n_train: int, n_val: int, seed: int = 0
) -> tuple[ImageSet, ImageSet]:
    """Disjoint random training and validation sets with ``n_train`` and ``n_val`` images of every
    class."""
    if not isinstance(data, ImageSet):
        raise TypeError(f"split_per_class takes an ImageSet, got {type(data).__name__}")
    checks.integer(n_train, "n_train", 1)
    checks.integer(n_val, "n_val", 0)
    rng = np.random.default_rng(seed)
    train, val = [], []
    for c in range(len(data.class_names)):
        idx = rng.permutation(np.flatnonzero(data.labels == c))
        if len(idx) < n_train + n_val:
            raise ValueError(
                f"class {data.class_names[c]!r} has {len(idx)} images, {n_train + n_val} asked for"
            )
        train.append(idx[:n_train])
        val.append(idx[n_train : n_train + n_val])
    return data.subset(rng.permutation(np.concatenate(train))), data.subset(
        rng.permutation(np.concatenate(val))
    )


def dense_connections(layers: int) -> int:
    """Direct connections in a dense block of ``layers`` layers: 1 + 2 + ... + x = x(x+1)/2."""
    checks.integer(layers, "layers", 0)
    return layers * (layers + 1) // 2


def densenet_channels(
    blocks=DENSENET_BLOCKS[121], growth_rate: int = 32, stem: int = 64
) -> list[tuple[str, int]]:
    """Channels after every dense block and transition: a block adds ``layers x growth``, a
    transition halves."""
    if isinstance(blocks, (str, bytes)) or not hasattr(blocks, "__iter__") or not len(blocks):
        raise TypeError(
            f"blocks: expected layers per dense block, e.g. (6, 12, 24, 16), got "
            f"{checks.describe(blocks)}"
        )
    for value in blocks:
        checks.integer(value, "layers per block", 1)
    checks.integer(growth_rate, "growth_rate", 1)
    checks.integer(stem, "stem", 1)
    out, channels = [("stem", stem)], stem
    for i, layers in enumerate(blocks, 1):
        channels += layers * growth_rate
        out.append((f"denseblock{i}", channels))
        if i < len(blocks):
            channels //= 2
            out.append((f"transition{i}", channels))
    return out


def check_level(level, freeze_batchnorm) -> None:
    """A transfer level (``LEVELS``) and the BatchNorm flag, as both editions' ``set_level`` take
    them."""
    if level not in LEVELS or isinstance(level, bool):
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    if not isinstance(freeze_batchnorm, bool):
        raise TypeError(
            f"freeze_batchnorm must be True or False, got {checks.describe(freeze_batchnorm)}"
        )


def check_densenet(depth, pretrained) -> None:
    """A DenseNet depth (``DENSENET_BLOCKS``: 121, 169, 201) and the ImageNet-weights flag."""
    if isinstance(depth, bool) or depth not in DENSENET_BLOCKS:
        raise ValueError(f"depth must be one of {sorted(DENSENET_BLOCKS)}, got {depth}")
    if not isinstance(pretrained, bool):
        raise TypeError(f"pretrained must be True or False, got {checks.describe(pretrained)}")
