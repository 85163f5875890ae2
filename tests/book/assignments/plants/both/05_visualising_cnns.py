"""Planted answers for both editions of assignments/*/05_visualising_cnns.ipynb."""

# a plausible mistake: ReLU's ordinary backward pass (forward input positive), not the
# guided gate that also needs a positive gradient
WRONG = (
    "q5",
    """
def guided_relu_gradient(forward_input, grad_output):
    return np.where(np.asarray(forward_input) > 0, grad_output, 0.0)
""",
)

# passes the public example (two 4 x 4 boxes sharing a corner) and nothing else
HARDCODED = (
    "q4",
    """
def box_iou(a, b):
    return 1 / 7
""",
)
