"""Finding model weights on this machine: a local directory or the Hugging Face cache, never the network."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

_REPO_ID = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$')


class ModelNotFoundError(FileNotFoundError):
    """The weights named are not on this machine; the message says where they were looked for and how to get them."""


def resolve_model_path(name_or_path: str) -> Path:
    """The local directory of a model given as a path or a Hugging Face repo id ("google/owlv2-base-patch16").

    A repo id is looked up in the Hugging Face cache only (``local_files_only``): robots run
    without network, and a download at start-up would stall a node for minutes.
    """
    text = str(name_or_path).strip()
    if not text:
        raise ModelNotFoundError('no model given: set the model parameter to a local directory or a Hugging Face '
                                 'repo id in the cache')
    path = Path(text).expanduser()
    if path.is_dir():
        if not (path / 'config.json').is_file():
            raise ModelNotFoundError(f'model directory {path} has no config.json; it should hold a transformers '
                                     'model saved with save_pretrained (config.json, weights, processor files)')
        return path
    if path.exists():
        raise ModelNotFoundError(f'model path {path} is a file; give the directory that holds config.json')
    if not _REPO_ID.match(text) or text.startswith(('.', '/', '~')):
        raise ModelNotFoundError(f'model directory {path} does not exist')
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(text, local_files_only=True))
    except LocalEntryNotFoundError as exc:
        raise ModelNotFoundError(
            f"model '{text}' is not in the Hugging Face cache ({constants.HF_HUB_CACHE}) and this machine does not "
            f"download: on a machine with network run `hf download {text}` and copy its cache directory here "
            f"(or set HF_HOME), or pass a local directory saved with save_pretrained") from exc


def require_image_backend() -> None:
    """ImportError naming the fix when transformers' image processors cannot run (they need Pillow or torchvision)."""
    if importlib.util.find_spec('PIL') is None and importlib.util.find_spec('torchvision') is None:
        raise ImportError('the model backends need Pillow for transformers\' image processors: '
                          'add pillow to requirements.in and run `make lock && make setup` (or pip install pillow)')
