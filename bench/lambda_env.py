"""What a function finds on Lambda: its environment (template.yaml's, resolved), its code and the layer as
``make build`` ships them, on read-only paths, and ``sys.path`` in Lambda's order.

Lambda's python3.13 runtime puts ``/var/task`` (the function), then ``/opt/python`` (the layer), then the
runtime's own site-packages (boto3, botocore and their dependencies) on ``sys.path``. Here the runtime's
part is a directory of links to exactly those packages in the virtualenv (compiled, as the runtime's
are), so nothing else of the virtualenv can be imported by accident.
"""

import importlib.machinery
import os
import shutil
import stat
import subprocess
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.infra import ROOT, say
from local.template import TEMPLATE, functions, load

BUILD_DIR = ROOT / ".aws-sam" / "build"
BUILT_LAYER = BUILD_DIR / "PaymentsLayer" / "python"
# What Lambda's python3.13 runtime itself provides (boto3 and what it needs).
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3")
# Sources whose change makes .aws-sam/build stale.
BUILD_INPUTS = (TEMPLATE, ROOT / "layers" / "payments", ROOT / "functions")


def _newest_source(paths: tuple[Path, ...]) -> float:
    newest = 0.0
    for path in paths:
        if path.is_file():
            newest = max(newest, path.stat().st_mtime)
            continue
        for file in path.rglob("*"):
            if file.is_file() and "__pycache__" not in file.parts and file.suffix not in {".pyc", ".pyo"}:
                newest = max(newest, file.stat().st_mtime)
    return newest


def build_is_fresh() -> bool:
    built = BUILD_DIR / "template.yaml"
    if not built.is_file() or not BUILT_LAYER.is_dir():
        return False
    if any(not (BUILD_DIR / logical_id).is_dir() for logical_id in functions()):
        return False
    return built.stat().st_mtime >= _newest_source(BUILD_INPUTS)


def ensure_build(skip: bool = False) -> str:
    """``make build`` unless ``.aws-sam/build`` is newer than every source; returns what was done."""
    if build_is_fresh():
        return "fresh"
    if skip and BUILT_LAYER.is_dir():
        say("WARNING: .aws-sam/build is older than the sources; BENCH_SKIP_BUILD=1 uses it anyway")
        return "stale (BENCH_SKIP_BUILD)"
    say("make build (sam build): .aws-sam/build is missing or older than the sources")
    done = subprocess.run(
        ["make", "--no-print-directory", "build"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise RuntimeError(f"make build failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return "rebuilt"


@dataclass
class Staged:
    """Read-only copies of the built layer and functions, and the runtime's packages, in ``root``."""

    root: Path
    layer: Path
    runtime: Path
    functions: dict[str, Path] = field(default_factory=dict)
    bare: Path | None = None
    substituted: list[dict[str, Any]] = field(default_factory=list)
    staged_at: float = 0.0

    def path_for(self, function_dir: Path) -> list[str]:
        if function_dir == self.bare:  # a function without our layer
            return [str(function_dir), str(self.runtime)]
        return [str(function_dir), str(self.layer), str(self.runtime)]

    def written_bytecode(self) -> list[str]:
        """``__pycache__`` directories that appeared in the copies (there must be none)."""
        found = []
        for top in [self.layer, *self.functions.values(), *([self.bare] if self.bare else [])]:
            found += [str(p) for p in top.rglob("__pycache__") if p.stat().st_mtime > self.staged_at]
        return found


def _host_loads(so_file: Path) -> bool:
    """Whether this interpreter imports ``so_file`` (``mod.cpython-313-x86_64-linux-gnu.so`` here; a
    ``mod.cpython-313-aarch64-linux-gnu.so`` matches no suffix with a bare module name before it)."""
    name = so_file.name
    return any(
        name.endswith(suffix) and "." not in name.removesuffix(suffix)
        for suffix in importlib.machinery.EXTENSION_SUFFIXES
    )


def _dist_version(site: Path, package: str) -> str | None:
    """The version of the distribution that installed top-level ``package`` into ``site``."""
    for dist in site.glob("*.dist-info"):
        top_level = dist / "RECORD"
        if top_level.is_file() and any(
            line.startswith((f"{package}/", f"{package}.")) for line in top_level.read_text().splitlines()
        ):
            return dist.name.removesuffix(".dist-info").rpartition("-")[2]
    return None


def substitute_native_code(layer: Path) -> list[dict[str, Any]]:
    """The layer is built for arm64 (Lambda's Graviton); on another machine its compiled extensions
    cannot load. For each package that has some, copy this machine's build of the *same version* from
    the virtualenv (requirements-dev.txt pins the layer's versions) beside them. Only the compiled files
    change; the Python sources and layout stay exactly as shipped."""
    venv_site = Path(sysconfig.get_paths()["purelib"])
    packages = sorted({so.relative_to(layer).parts[0] for so in layer.rglob("*.so") if not _host_loads(so)})
    done = []
    for package in packages:
        shipped, ours = _dist_version(layer, package), _dist_version(venv_site, package)
        source = venv_site / package
        if shipped is None or shipped != ours or not source.is_dir():
            raise RuntimeError(
                f"the layer's {package} {shipped} has no compiled build for this machine in the "
                f"virtualenv (found {ours}): `make setup` installs the pinned versions"
            )
        copied = []
        for so in source.rglob("*.so"):
            if _host_loads(so):
                target = layer / package / so.relative_to(source)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(so, target)
                copied.append(str(target.relative_to(layer)))
        done.append({"package": package, "version": shipped, "files": sorted(copied)})
    return done


def _read_only(top: Path) -> None:
    for path in [top, *top.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _writable(top: Path) -> None:
    for path in [top, *top.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


def stage(root: Path, function_ids: list[str], bare_handler: Path) -> Staged:
    """Copy what ``make build`` shipped into ``root`` (``opt/python``, ``task/<LogicalId>``), make it
    read-only, and link the runtime's packages."""
    import time

    layer = root / "opt" / "python"
    shutil.copytree(BUILT_LAYER, layer, symlinks=True)
    substituted = substitute_native_code(layer)
    runtime = root / "runtime"
    runtime.mkdir()
    venv_site = Path(sysconfig.get_paths()["purelib"])
    for name in RUNTIME_PACKAGES:
        if not (venv_site / name).exists():
            raise RuntimeError(f"{name} is not in the virtualenv ({venv_site}): `make setup`")
        (runtime / name).symlink_to(venv_site / name)
    staged = Staged(root=root, layer=layer, runtime=runtime, substituted=substituted)
    for logical_id in function_ids:
        target = root / "task" / logical_id
        shutil.copytree(BUILD_DIR / logical_id, target, symlinks=True)
        staged.functions[logical_id] = target
    staged.bare = root / "task" / "BareBoto3Handler"
    shutil.copytree(bare_handler, staged.bare, ignore=shutil.ignore_patterns("__pycache__"))
    for top in [layer, *staged.functions.values(), staged.bare]:
        _read_only(top)
    staged.staged_at = time.time()
    return staged


def unstage(staged: Staged) -> None:
    _writable(staged.root / "opt")
    _writable(staged.root / "task")


# ---------------------------------------------------------------------------------------------- env
def _resolve(value: Any, parameters: dict[str, str], refs: dict[str, str]) -> str:
    """A template value as CloudFormation would give it, from the parameters' defaults."""
    if isinstance(value, dict) and "Ref" in value:
        name = value["Ref"]
        return refs[name] if name in refs else parameters.get(name, "")
    if isinstance(value, dict) and "Fn::Sub" in value:
        text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
        for name, resolved in {**parameters, **refs}.items():
            text = text.replace("${" + name + "}", resolved)
        return str(text)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def template_parameters() -> dict[str, str]:
    defaults = {}
    for name, spec in load()["Parameters"].items():
        default = spec.get("Default")
        defaults[name] = ",".join(default) if isinstance(default, list) else str(default or "")
    return defaults


def function_environment(logical_id: str, overrides: dict[str, str]) -> dict[str, str]:
    """The function's variables as deployed with the parameters' defaults (Globals, then its own),
    ``overrides`` for what points at the local stand-ins (table, URLs, secret)."""
    function = functions()[logical_id]
    parameters = template_parameters()
    refs = {"PaymentsTable": overrides.get("TABLE_NAME", ""), "Stage": parameters.get("Stage", "dev")}
    env = {name: _resolve(value, parameters, refs) for name, value in function.environment.items()}
    env.update(overrides)
    return env


def logging_config() -> dict[str, Any]:
    """Globals.Function.LoggingConfig (empty: Lambda's defaults, text logs with START/END/REPORT)."""
    config: dict[str, Any] = load().get("Globals", {}).get("Function", {}).get("LoggingConfig") or {}
    return config


def memory_size(logical_id: str) -> int:
    template = load()
    own = template["Resources"][logical_id]["Properties"].get("MemorySize")
    return int(own or template.get("Globals", {}).get("Function", {}).get("MemorySize", 128))


def lambda_variables(logical_id: str, memory_mb: int, region: str) -> dict[str, str]:
    """The variables Lambda itself sets in every python3.13 function's process."""
    variables = {
        "AWS_LAMBDA_FUNCTION_NAME": logical_id,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{logical_id}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]0123456789abcdef",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "LAMBDA_TASK_ROOT": "/var/task",
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "_HANDLER": functions()[logical_id].handler if logical_id in functions() else "app.handler",
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }
    config = logging_config()
    if config.get("LogFormat") == "JSON":
        variables["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
        if config.get("ApplicationLogLevel"):
            level = _resolve(config["ApplicationLogLevel"], template_parameters(), {})
            variables["AWS_LAMBDA_LOG_LEVEL"] = level.upper()
    return variables
