"""Handwritten digit reader: MNIST-style preprocessing of any drawing and a CNN trained on MNIST.

    import digits
    digits.predict(image) -> (10,) probabilities          digits.top_k(probabilities, k=3) -> label value
    digits.read_number(image) -> NumberResult             digits.preprocess(image) -> (28, 28) MNIST image
    digits.flatten(background, layers, composite) -> the drawing in a sketch-pad value
    digits.load_image(source) -> PIL image (raster formats only, size checked before decoding)
"""
from digits.errors import DigitsError, EmptyCanvasError, InputError
from digits.number import DigitRead, NumberResult, read_number
from digits.predict import classify, model_info, predict, predict_batch, top_k, warm_up
from digits.preprocess import load_image, preprocess
from digits.sketch import flatten
from digits.weights import WeightsError

__all__ = [
    "DigitRead", "DigitsError", "EmptyCanvasError", "InputError", "NumberResult", "WeightsError",
    "classify", "flatten", "load_image", "model_info", "predict", "predict_batch", "preprocess", "read_number", "top_k", "warm_up",
]
