"""Planted answers for assignments/tensorflow/02_transfer_learning.ipynb."""

# a plausible mistake: off by one, the block named by `block` frozen as well
WRONG = (
    "q2",
    """
def freeze_up_to(model, block):
    features = model.get_layer("features")
    features.trainable = True
    for i, part in enumerate(features.layers):
        part.trainable = i > block
    model.get_layer("head").trainable = True
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))
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
