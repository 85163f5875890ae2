"""Planted answers for assignments/tensorflow/03_triplet_retrieval.ipynb."""

# a plausible mistake: ranking by the plain dot product, without scaling rows to length 1
WRONG = (
    "q2",
    """
def cosine_search(embeddings, k):
    x = np.asarray(embeddings, dtype=float)
    similarity = x @ x.T
    np.fill_diagonal(similarity, -np.inf)
    return np.argsort(-similarity, axis=1)[:, :k]
""",
)

# passes the public example (anchor 0, positive 1 of the hand-made batch) and nothing else
HARDCODED = (
    "q4",
    """
def semi_hard_negative(distances, labels, anchor, positive):
    return 3
""",
)
