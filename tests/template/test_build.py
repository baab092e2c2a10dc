"""`sam build` here, offline and without Docker, makes what Lambda arm64 / python3.13 can run.

Builds the whole template into a temporary directory once (about 10 s with a warm pip cache), then
checks the layer: target-platform wheels only (every ``.so`` is ELF aarch64), no second copy of the
AWS SDK (the runtime ships boto3/botocore), nothing missing that its packages need; and prints its size.
Skips, saying why, where ``sam`` or python3.13 is missing; CI here has both.
"""

import email.parser
import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from local.template import ROOT, functions

SAM = Path(sys.executable).with_name("sam")
PYENV_VERSION = os.environ.get("PYENV_VERSION", "3.11.7:3.12.1:3.13.0")
ENV = {**os.environ, "PYENV_VERSION": PYENV_VERSION, "SAM_CLI_TELEMETRY": "0"}
LAYER_SOURCE = ROOT / "layers" / "payments"
# The Lambda python3.13 runtime's own packages: the layer must not ship them again.
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer"}
EM_AARCH64 = 183
LAMBDA_ENVIRONMENT: dict[str, str] = {
    **{key: str(value) for key, value in default_environment().items()},
    "python_version": "3.13",
    "python_full_version": "3.13.0",
    "platform_machine": "aarch64",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
}


def _python313_available() -> bool:
    try:
        run = subprocess.run(["python3.13", "--version"], env=ENV, capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return run.returncode == 0


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if not SAM.exists():
        pytest.skip(f"no sam CLI at {SAM}")
    if not _python313_available():
        pytest.skip("python3.13 is not on PATH (PYENV_VERSION=3.11.7:3.12.1:3.13.0 on pyenv machines)")
    out = tmp_path_factory.mktemp("sam")
    started = time.monotonic()
    run = subprocess.run(
        [str(SAM), "build", "--no-cached", "--parallel", "--build-dir", str(out / "build")],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    print(f"\nsam build (arm64, python3.13, no Docker): {elapsed:.1f} s")
    yield out / "build"
    shutil.rmtree(out, ignore_errors=True)


def _layer(built: Path) -> Path:
    return built / "PaymentsLayer" / "python"


def _elf_machine(path: Path) -> int | None:
    header = path.read_bytes()[:20]
    if header[:4] != b"\x7fELF":
        return None
    return int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")


def _distributions(layer: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, Requires-Dist) of every distribution installed into the layer."""
    found: dict[str, tuple[str, list[str]]] = {}
    for info in layer.glob("*.dist-info"):
        metadata = email.parser.Parser().parsestr((info / "METADATA").read_text())
        name = canonicalize_name(metadata["Name"])
        found[name] = (metadata["Version"], metadata.get_all("Requires-Dist") or [])
    return found


def test_the_layer_has_no_aws_sdk_and_only_aarch64_binaries(built: Path) -> None:
    layer = _layer(built)
    top_level = {p.name for p in layer.iterdir()}
    assert not top_level & RUNTIME_PROVIDED, top_level & RUNTIME_PROVIDED
    assert not set(_distributions(layer)) & RUNTIME_PROVIDED
    binaries = sorted(layer.rglob("*.so"))
    assert binaries, "expected compiled modules (pydantic_core)"
    wrong = {str(p.relative_to(layer)): _elf_machine(p) for p in binaries if _elf_machine(p) != EM_AARCH64}
    assert not wrong, f"not ELF aarch64 (e_machine {EM_AARCH64}): {wrong}"
    assert any("pydantic_core" in str(p) for p in binaries)
    size = sum(p.stat().st_size for p in layer.rglob("*") if p.is_file())
    print(f"\nPaymentsLayer: {size / 1e6:.1f} MB unzipped, {len(binaries)} .so files, all aarch64")


def test_the_layer_carries_the_payments_package_as_in_the_source(built: Path) -> None:
    source = LAYER_SOURCE / "payments"
    expected = {str(p.relative_to(source)) for p in source.rglob("*.py")}
    package = _layer(built) / "payments"
    shipped = {str(p.relative_to(package)) for p in package.rglob("*.py")}
    assert shipped == expected


def test_every_module_of_the_layer_ships_its_cpython_313_bytecode_unchecked(built: Path) -> None:
    """/opt is read-only on Lambda: a module without its .pyc is compiled again at every cold start. The
    .pyc must be 3.13's and unchecked-hash (flags = 0b01: hash-based, not checked against the source)."""
    layer = _layer(built)
    sources = [p for p in layer.rglob("*.py")]
    missing, checked = [], []
    for source in sources:
        pyc = source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc"
        if not pyc.exists():
            missing.append(str(source.relative_to(layer)))
            continue
        header = pyc.read_bytes()[:8]
        if header[:4] != importlib.util.MAGIC_NUMBER or int.from_bytes(header[4:8], "little") != 0b01:
            checked.append(str(pyc.relative_to(layer)))
    assert sources and not missing, missing[:10]
    assert not checked, checked[:10]
    assert not list(layer.rglob("swagger-ui-bundle.min.js"))


def test_every_dependency_of_the_layer_is_in_it_or_in_the_runtime(built: Path) -> None:
    """requirements.txt is installed with --no-deps: it must be a complete lock."""
    installed = _distributions(_layer(built))
    missing = []
    for name, (_, requires) in installed.items():
        for line in requires:
            requirement = Requirement(line)
            if requirement.marker is not None and not requirement.marker.evaluate(
                {**LAMBDA_ENVIRONMENT, "extra": ""}
            ):
                continue
            wanted = canonicalize_name(requirement.name)
            if wanted in RUNTIME_PROVIDED:
                continue
            version = installed.get(wanted, ("", []))[0]
            if not version or not requirement.specifier.contains(version, prereleases=True):
                missing.append(f"{name} needs {line}")
    assert not missing, missing


def test_the_layer_pins_what_the_tests_run_with(built: Path) -> None:
    for name, (version, _) in _distributions(_layer(built)).items():
        assert importlib.metadata.version(name) == version, f"{name}: layer {version}, tests run another"


def test_function_artifacts_hold_only_their_handler(built: Path) -> None:
    for logical_id in functions():
        files = {str(p.relative_to(built / logical_id)) for p in (built / logical_id).rglob("*") if p.is_file()}
        assert files == {"app.py"}, (logical_id, files)
