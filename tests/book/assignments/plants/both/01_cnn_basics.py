"""Planted answers for both editions of assignments/*/01_cnn_basics.ipynb."""

# a plausible mistake: the padding added on one side only
WRONG = (
    "q1",
    """
def output_size(n, kernel, stride=1, padding=0):
    return (n + padding - kernel) // stride + 1
""",
)

# passes the public example (a 3x3 image of ones) and nothing else
HARDCODED = (
    "q2",
    """
def conv2d(x, w, stride=1, padding=0):
    return np.full((2, 2), 4.0)
""",
)
