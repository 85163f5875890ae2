"""Planted answers for assignments/tensorflow/04_simclr.ipynb."""

# a plausible mistake: the whole model frozen, then fc thawed; Keras then reports no
# trainable weights at all, since a frozen model hides those of its layers
WRONG = (
    "q3",
    """
def freeze_encoder(model):
    model.trainable = False
    model.fc.trainable = True
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))
""",
)

# passes the public example (the hand-made batch of two images at temperature 0.5) and
# nothing else
HARDCODED = (
    "q1",
    """
def info_nce_logits(features, batch_size, temperature=0.07):
    c = np.sqrt(0.5)
    logits = np.array([[c, 0, 0], [1, 0, c], [c, c, c], [1, 0, c]]) / 0.5
    return logits, np.zeros(4, dtype=int)
""",
)
