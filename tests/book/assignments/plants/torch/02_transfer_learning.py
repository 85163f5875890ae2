"""Planted answers for assignments/torch/02_transfer_learning.ipynb."""

# a plausible mistake: the parameters frozen, the BatchNorm running statistics left to drift
WRONG = (
    "q3",
    """
def freeze(block):
    block.requires_grad_(False)
    return block
""",
)

# passes the public example (small data, similar domain) and nothing else
HARDCODED = (
    "q4",
    """
def choose_level(n_per_class, similar, same_classes=False):
    return 2
""",
)
