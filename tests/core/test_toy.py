"""The article's toy: the +-1 weights that fire hardest have the image's sign pattern."""

import numpy as np
import pytest

from companion import toy


def test_article_weights_2x2():
    # the article: person -> W1 = (-1, 1, 1, -1), dog -> W2 = (1, -1, -1, 1)
    np.testing.assert_array_equal(
        toy.best_weights(toy.TOY_IMAGES["person 2x2"])[0].ravel(), [-1, 1, 1, -1]
    )
    np.testing.assert_array_equal(
        toy.best_weights(toy.TOY_IMAGES["dog 2x2"])[0].ravel(), [1, -1, -1, 1]
    )


@pytest.mark.parametrize("name", list(toy.TOY_IMAGES))
def test_best_weights_look_like_the_image(name):
    image = toy.TOY_IMAGES[name]
    weights, responses = toy.best_weights(image)
    np.testing.assert_array_equal(weights, np.sign(toy.center(image)))
    assert len(responses) == 2**image.size
    assert responses.max() == pytest.approx(
        np.abs(toy.center(image)).sum()
    )  # sum of |x| is the best possible


def test_response_by_hand():
    # person 2x2 centred: mean 117.5 -> [[-77.5, 92.5], [72.5, -87.5]]; its best weights give 330
    table = toy.responses_table()
    assert table["person 2x2"]["person 2x2"] == pytest.approx(330.0)
    assert table["person 2x2"]["dog 2x2"] < 0 < table["dog 2x2"]["dog 2x2"]
    assert "person 3x3" not in table["person 2x2"]  # only same-sized images are compared


def test_sign_weights():
    w = toy.sign_weights(2)
    np.testing.assert_array_equal(w, [[-1, -1], [-1, 1], [1, -1], [1, 1]])
    with pytest.raises(ValueError, match="1 <= n <= 16"):
        toy.sign_weights(17)


def test_toy_figure_frames_every_cell_and_labels_the_weights():
    from companion.plotting import plot_toy

    best = {name: toy.best_weights(image)[0] for name, image in toy.TOY_IMAGES.items()}
    fig = plot_toy(toy.TOY_IMAGES, best)
    axes = fig.axes
    assert len(axes) == 8
    weights_2x2 = axes[4]  # second row: the weights, -1 blue and +1 red on a diverging map
    assert weights_2x2.images[0].get_cmap().name == "coolwarm"
    assert weights_2x2.images[0].get_clim() == (-1, 1)
    assert sorted(t.get_text() for t in weights_2x2.texts) == ["+1", "+1", "-1", "-1"]
    assert all(spine.get_visible() for spine in weights_2x2.spines.values())  # a frame
    assert len(axes[2].get_xticks(minor=True)) == 4  # 3x3 image: cell borders at -0.5 .. 2.5
