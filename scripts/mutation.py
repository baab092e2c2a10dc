"""Mutation testing of the pure core (``make mutation``): money and every module of the domain.

mutmut (pinned in requirements-dev.txt, configured under ``[tool.mutmut]`` in pyproject.toml) runs the
fast unit tests (tests/unit) against each mutant, and only the tests that call the mutated function.
It runs in ``build/mutation/``, a workspace where ``payments`` is the layer's package (a link to
``layers/payments/payments``): mutmut names a mutant after its file's path, and the tests import the
layer as ``payments``. Every run starts from scratch (no cache): what it prints is about the code as it is.

It prints the score per module (killed / non-equivalent mutants) and every surviving mutant (file:line,
the mutation, and the key to list it under in ``mutation/equivalent.txt`` with why it is equivalent),
and exits non-zero when a module is below ``TARGET``.

Two small adaptations of mutmut 3.7 are applied in its own process (``python scripts/mutation.py mutmut
...`` runs mutmut with them, e.g. ``mutmut show <name>`` from ``build/mutation``):
- pytest 9 no longer has ``Node._nodeid``, which mutmut's test-to-function statistics read;
- mutmut skips every decorated class and function; our entities are frozen dataclasses whose methods
  and properties (``Caller.has``, ``Payment.idempotence_key``, ``refund_available``...) are exactly
  what must be mutated, so methods of ``@dataclass`` classes and ``@property`` getters are mutated too
  (the unmutated copy and the mutants are plain functions behind the one decorated trampoline).
Module-level constants (status sets, the amount regex) are never mutated by mutmut: tests pin them.
"""

import argparse
import ast
import difflib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parents[1]
WORKSPACE = ROOT / "build" / "mutation"
EQUIVALENT_FILE = ROOT / "mutation" / "equivalent.txt"
MUTMUT_VERSION = "3.7.0"  # the adaptations below are written against this version's internals
TARGET = 95.0  # per module, percent of non-equivalent mutants killed

# name in the workspace -> what it links to (the tests need the local stack's helpers and events/)
LINKS = {
    "payments": ROOT / "layers" / "payments" / "payments",
    "tests": ROOT / "tests",
    "local": ROOT / "local",
    "events": ROOT / "events",
    "functions": ROOT / "functions",
    "template.yaml": ROOT / "template.yaml",
    "pyproject.toml": ROOT / "pyproject.toml",
}

KILLED = {"killed", "timeout", "segfault", "caught by type check"}
NOT_KILLED = {"survived", "no tests", "suspicious", "skipped"}


def say(text: str = "", end: str = "\n") -> None:
    sys.stdout.write(text + end)
    sys.stdout.flush()


# ---------------------------------------------------------------- running mutmut


def patch_mutmut() -> None:
    """Adapt mutmut 3.7 to pytest 9 and to our dataclass entities (see the module's docstring)."""
    from importlib.metadata import version

    import _pytest.nodes
    import libcst as cst
    from libcst.metadata import PositionProvider
    from mutmut.mutation import file_mutation

    installed = version("mutmut")
    if installed != MUTMUT_VERSION:
        sys.exit(f"scripts/mutation.py is written for mutmut {MUTMUT_VERSION}, found {installed}")

    if not hasattr(_pytest.nodes.Node, "_nodeid"):
        setattr(_pytest.nodes.Node, "_nodeid", property(lambda node: node.nodeid))  # noqa: B010

    def is_dataclass(node: cst.CSTNode) -> bool:
        def named(expression: cst.BaseExpression) -> bool:
            return isinstance(expression, cst.Name) and expression.value == "dataclass"

        return (
            isinstance(node, cst.ClassDef)
            and bool(node.decorators)
            and all(
                named(d.decorator) or (isinstance(d.decorator, cst.Call) and named(d.decorator.func))
                for d in node.decorators
            )
        )

    def is_property(node: cst.CSTNode) -> bool:
        return (
            isinstance(node, cst.FunctionDef)
            and len(node.decorators) == 1
            and isinstance(node.decorators[0].decorator, cst.Name)
            and node.decorators[0].decorator.value == "property"
        )

    visitor = file_mutation.MutationVisitor
    original_skip = visitor._skip_node_and_children

    def skip(self: Any, node: cst.CSTNode) -> bool:
        if not (is_dataclass(node) or is_property(node)):
            return original_skip(self, node)
        position = self.get_metadata(PositionProvider, node, None)
        if position and position.start.line in self._ignored_node_lines:
            return original_skip(self, node)  # a "pragma: no mutate" on it: mutmut records and skips it
        return (
            isinstance(node, cst.FunctionDef) and node.name.value in file_mutation.NEVER_MUTATE_FUNCTION_NAMES
        )

    visitor._skip_node_and_children = skip  # type: ignore[method-assign]

    original_arrange = file_mutation.function_trampoline_arrangement

    def arrange(function: cst.FunctionDef, mutants: Any, class_name: str | None) -> Any:
        declarations, methods, assignments, names = original_arrange(function, mutants, class_name)
        if is_property(function):
            # the trampoline keeps @property; the copies it dispatches to must be plain functions
            methods = [methods[0], *(cast(cst.FunctionDef, m).with_changes(decorators=[]) for m in methods[1:])]
        return declarations, methods, assignments, names

    file_mutation.function_trampoline_arrangement = arrange


def run_mutmut(args: Sequence[str]) -> None:
    """``python scripts/mutation.py mutmut ARGS``: mutmut's own command line, adapted, in the workspace."""
    import multiprocessing

    multiprocessing.set_start_method("fork", force=True)  # mutmut's workers must inherit the patches
    patch_mutmut()
    from mutmut.__main__ import cli

    os.chdir(WORKSPACE)
    cli.main(args=list(args), prog_name="mutmut")


def relay(command: list[str], every: float = 30.0) -> int:
    """Run mutmut, passing its finished lines on; its spinner (``\\r``-rewritten status) only every
    ``every`` seconds, so a log (CI, a file) stays short."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert process.stdout is not None
    pending, status, shown = b"", b"", time.monotonic()
    while chunk := os.read(process.stdout.fileno(), 65536):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            text = line.split(b"\r")[-1].strip()
            if text:
                say(text.decode(errors="replace"))
        if b"\r" in pending:  # keep only the latest status of the line being rewritten
            pending = pending[pending.rfind(b"\r") :]
        status = pending.lstrip(b"\r") or status
        if status and time.monotonic() - shown >= every:
            say(status.decode(errors="replace").strip())
            shown = time.monotonic()
    return process.wait()


def prepare_workspace() -> None:
    shutil.rmtree(WORKSPACE / "mutants", ignore_errors=True)  # every run from scratch
    WORKSPACE.mkdir(parents=True, exist_ok=True)
    for name, target in LINKS.items():
        link = WORKSPACE / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(os.path.relpath(target, WORKSPACE))


# ---------------------------------------------------------------- reading the results


@dataclass(frozen=True)
class Mutant:
    name: str  # mutmut's: payments.domain.model.xǁCallerǁhas__mutmut_1
    file: str  # payments/domain/model.py (as under layers/payments/)
    function: str  # Caller.has
    line: int  # in the original file
    removed: tuple[str, ...]
    added: tuple[str, ...]
    status: str

    @property
    def key(self) -> str:
        """How mutation/equivalent.txt names it: the function and the mutated code (not mutmut's number)."""
        mutated = " ⏎ ".join(self.added) if self.added else "removed: " + " ⏎ ".join(self.removed)
        return f"{self.file}:{self.function} | {mutated}"

    def describe(self) -> str:
        was = " ⏎ ".join(self.removed)
        now = " ⏎ ".join(self.added)
        where = f"layers/payments/{self.file}:{self.line}  {self.function}  ({self.status})"
        return f"{where}\n      - {was}\n      + {now}"


@dataclass
class Module:
    file: str
    mutants: list[Mutant] = field(default_factory=list)
    equivalent: list[Mutant] = field(default_factory=list)

    @property
    def killed(self) -> int:
        return sum(m.status in KILLED for m in self.mutants)

    @property
    def survivors(self) -> list[Mutant]:
        return [m for m in self.mutants if m.status in NOT_KILLED and m not in self.equivalent]

    @property
    def score(self) -> float:
        meaningful = len(self.mutants) - len(self.equivalent)
        return 100.0 if meaningful == 0 else 100.0 * self.killed / meaningful


def function_lines(source: str) -> dict[str, int]:
    """``Class.method`` / ``function`` -> the line of its ``def`` (top level and one class deep, as mutmut)."""
    lines: dict[str, int] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef):
            lines[node.name] = node.lineno
        elif isinstance(node, ast.ClassDef):
            for child in node.body:
                if isinstance(child, ast.FunctionDef):
                    lines[f"{node.name}.{child.name}"] = child.lineno
    return lines


def read_mutants() -> list[Module]:
    import libcst as cst
    from mutmut.__main__ import (
        orig_function_and_class_names_from_key,
        read_functions_from_index,
        read_mutant_function,
        read_mutants_module,
        read_original_function,
        status_by_exit_code,
    )

    os.chdir(WORKSPACE)
    modules = []
    for meta in sorted((WORKSPACE / "mutants").glob("payments/**/*.py.meta")):
        file = str(meta.relative_to(WORKSPACE / "mutants"))[: -len(".meta")]
        exit_codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
        defs = function_lines((WORKSPACE / file).read_text())
        module = Module(file)
        for name, exit_code in sorted(exit_codes.items()):
            status = status_by_exit_code[exit_code]
            if status not in KILLED | NOT_KILLED:
                sys.exit(f"{name}: {status}: the run did not finish")
            function, class_name = orig_function_and_class_names_from_key(name)
            qualname = f"{class_name}.{function}" if class_name else function
            functions = read_functions_from_index(name, file)
            if functions is None:
                tree = read_mutants_module(file)
                functions = (read_original_function(tree, name), read_mutant_function(tree, name))
            before, after = (cst.Module([f]).code.strip().split("\n") for f in functions)
            first = next(
                (i for i, (old, new) in enumerate(zip(before, after, strict=False)) if old != new),
                min(len(before), len(after)),
            )
            removed: list[str] = []
            added: list[str] = []
            for line in difflib.unified_diff(before, after, lineterm="", n=0):
                if line.startswith(("---", "+++", "@@")):
                    continue
                (removed if line.startswith("-") else added).append(line[1:].strip())
            module.mutants.append(
                Mutant(
                    name, file, qualname, defs.get(qualname, 0) + first, tuple(removed), tuple(added), status
                )
            )
        modules.append(module)
    return modules


def read_equivalents() -> dict[str, str]:
    """mutation/equivalent.txt: ``file:function | mutated code | why it is equivalent`` per line."""
    equivalents: dict[str, str] = {}
    for number, raw in enumerate(EQUIVALENT_FILE.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, separator, reason = line.rpartition(" | ")
        if not separator or " | " not in key or not reason.strip():
            sys.exit(f"{EQUIVALENT_FILE}:{number}: expected 'file:function | mutated code | reason'")
        equivalents[key] = reason
    return equivalents


def report(modules: list[Module], equivalents: dict[str, str]) -> bool:
    used: set[str] = set()
    for module in modules:
        for mutant in module.mutants:
            if mutant.status in NOT_KILLED and mutant.key in equivalents:
                module.equivalent.append(mutant)
                used.add(mutant.key)

    say(f"\n{'module':<34}{'mutants':>8}{'killed':>8}{'equiv.':>8}{'survived':>9}{'score':>9}")
    for module in modules:
        say(
            f"{module.file:<34}{len(module.mutants):>8}{module.killed:>8}{len(module.equivalent):>8}"
            f"{len(module.survivors):>9}{module.score:>8.1f}%"
        )
    total = sum(len(m.mutants) for m in modules)
    killed = sum(m.killed for m in modules)
    equivalent = sum(len(m.equivalent) for m in modules)
    say(f"{'all':<34}{total:>8}{killed:>8}{equivalent:>8}{total - killed - equivalent:>9}", end="")
    say(f"{100.0 * killed / max(total - equivalent, 1):>8.1f}%")

    survivors = [mutant for module in modules for mutant in module.survivors]
    if survivors:
        say(f"\n{len(survivors)} surviving mutant(s): kill each with a test in tests/unit, or list its key")
        say(f"with why no test can tell it from the original in {EQUIVALENT_FILE.relative_to(ROOT)}:")
        for mutant in survivors:
            say(f"  {mutant.describe()}\n      key: {mutant.key}")
    stale = sorted(set(equivalents) - used)
    if stale:
        say(f"\n{len(stale)} line(s) of {EQUIVALENT_FILE.relative_to(ROOT)} match no survivor: remove them")
        for key in stale:
            say(f"  {key}")
    below = [m for m in modules if m.score < TARGET]
    for module in below:
        say(f"\nFAIL: {module.file} kills {module.score:.1f}% of its non-equivalent mutants (target {TARGET}%)")
    return not below


def main(argv: Sequence[str]) -> int:
    if argv[:1] == ["mutmut"]:
        run_mutmut(argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2, help="mutants run at once")
    parser.add_argument("--report-only", action="store_true", help="read the last run's results, run nothing")
    options = parser.parse_args(argv)

    started = time.monotonic()
    if not options.report_only:
        prepare_workspace()
        command = [sys.executable, __file__, "mutmut", "run", "--max-children", str(options.max_children)]
        if relay(command) != 0:
            sys.stderr.write("mutmut failed (its output is above)\n")
            return 2
    ok = report(read_mutants(), read_equivalents())
    if not options.report_only:
        say(f"\nmake mutation took {time.monotonic() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
