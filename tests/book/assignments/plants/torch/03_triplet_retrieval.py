"""Planted answers for assignments/torch/03_triplet_retrieval.ipynb."""

# a plausible mistake: MAP@R summing the precision at every correct result of the list,
# not only among the first R
WRONG = (
    "q3",
    """
def scores_at_r(ranked, labels):
    ranked, labels = np.asarray(ranked), np.asarray(labels)
    hits = labels[ranked] == labels[:, None]
    r = np.bincount(labels)[labels] - 1
    first_r = hits & (np.arange(hits.shape[1]) < r[:, None])
    precision = np.cumsum(hits, axis=1) / np.arange(1, hits.shape[1] + 1)
    map_at_r = ((precision * hits).sum(axis=1) / r).mean()
    return float(hits[:, 0].mean()), float((first_r.sum(1) / r).mean()), float(map_at_r)
""",
)

# passes the public example (the chapter's two hand-made triplets) and nothing else
HARDCODED = (
    "q1",
    """
def triplet_loss(anchor, positive, negative, margin=0.5, squared=True):
    return 0.03
""",
)
