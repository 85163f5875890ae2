"""Planted answers for assignments/torch/04_simclr.ipynb."""

# a plausible mistake: the diagonal (each view with itself) left in the denominator
WRONG = (
    "q2",
    """
def info_nce(features, batch_size, temperature=0.07):
    z = features / np.linalg.norm(features, axis=1, keepdims=True)
    scores = z @ z.T / temperature
    n = 2 * batch_size
    partner = (np.arange(n) + batch_size) % n
    top = scores.max(axis=1)
    log_sum = top + np.log(np.exp(scores - top[:, None]).sum(axis=1))
    return float(np.mean(log_sum - scores[np.arange(n), partner]))
""",
)

# passes the public example (top-1 and top-2 of three hand-made rows) and nothing else
HARDCODED = (
    "q4",
    """
def top_k_accuracy(logits, labels, k):
    return 1 / 3 if k == 1 else 2 / 3
""",
)
