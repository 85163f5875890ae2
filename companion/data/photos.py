"""Real photos that ship inside installed packages (no download): scikit-image, scikit-learn,
matplotlib."""

from __future__ import annotations

import numpy as np

from ..images import center_crop_resize
from .imageset import ImageSet


def _skimage(name):
    import skimage.data

    return lambda: getattr(skimage.data, name)()


def _sklearn(filename):
    def load():
        from sklearn.datasets import load_sample_image

        return load_sample_image(filename)

    return load


def _matplotlib(filename):
    def load():
        import matplotlib.cbook
        from PIL import Image

        with matplotlib.cbook.get_sample_data(filename) as f:
            return np.asarray(Image.open(f).convert("RGB"))

    return load


PHOTOS = {
    "chelsea": _skimage("chelsea"),  # a tabby cat
    "coffee": _skimage("coffee"),  # a cup of espresso
    "astronaut": _skimage("astronaut"),
    "rocket": _skimage("rocket"),
    "china": _sklearn("china.jpg"),  # a pagoda
    "flower": _sklearn("flower.jpg"),
    "grace_hopper": _matplotlib("grace_hopper.jpg"),
}


def photo(name: str) -> np.ndarray:
    """One bundled photo at its own size, H x W x 3 uint8."""
    if not isinstance(name, str) or name not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}: expected one of {', '.join(PHOTOS)}")
    return PHOTOS[name]()


def load_sample_photos(image_size: int = 224, names=None) -> ImageSet:
    """The bundled photos, centre-cropped to ``image_size``; ``class_names`` are the photo names."""
    from ..checks import integer

    integer(image_size, "image_size", 1)
    if isinstance(names, str):
        raise TypeError(f"names: expected a list of photo names, got the string {names!r}")
    names = list(names or PHOTOS)
    images = np.stack([center_crop_resize(photo(n), image_size) for n in names])
    return ImageSet(images, np.arange(len(names)), names, names=names)
