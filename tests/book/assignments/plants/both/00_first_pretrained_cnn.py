"""Planted answers for both editions of assignments/*/00_first_pretrained_cnn.ipynb."""

# a plausible mistake: the softmax without subtracting the largest logit, right on small
# logits and NaN once e^1000 overflows
WRONG = (
    "q2",
    """
def softmax(logits):
    exps = np.exp(logits)
    return exps / exps.sum(axis=1, keepdims=True)
""",
)

# passes the public example (3x3 filters, colour to 32 maps, with biases) and nothing else
HARDCODED = (
    "q4",
    """
def conv_params(kernel, c_in, c_out, bias=True):
    return 896
""",
)
