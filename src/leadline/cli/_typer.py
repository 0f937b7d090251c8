"""Two adjustments to how Typer loads, for a quick ``leadline`` (issue 21, item 3); what it prints
and accepts is unchanged (tests/test_cli_lazy.py compares both ways).

* Typer's help module (``typer.rich_utils``) imports ``rich.markdown`` (with markdown-it and
  Pygments) and ``rich.traceback`` at its top, about as long as Typer itself, for two things the
  CLI's help never shows: Markdown help (our ``rich_markup_mode`` is ``"rich"``) and pretty
  tracebacks (``pretty_exceptions_enable=False``). While that module loads it gets stand-ins
  that import the real class the first time one is made, so they still work if ever asked for.
* Typer builds a pydantic ``TypeAdapter`` for each option of the command that runs, including the
  ones left out, whose value is ``None`` and comes back ``None`` (or ``()``) without it
  (``typer._coercion.RuntimeParam.coerce``): the adapter is built when a value is given.
"""

from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.abc import Loader
    from importlib.machinery import ModuleSpec

#: Module -> the class ``typer.rich_utils`` imports from it.
HEAVY = {"rich.markdown": "Markdown", "rich.traceback": "Traceback"}


def _stand_in(module: str, name: str) -> type:
    """A class named ``name`` that makes (or calls a class method of) the real ``module.name``."""

    def real() -> Any:
        return getattr(import_module(module), name)

    class Meta(type):
        def __call__(cls, *args: Any, **kwargs: Any) -> Any:
            return real()(*args, **kwargs)

        def __getattr__(cls, attribute: str) -> Any:
            return getattr(real(), attribute)

    return Meta(name, (), {"__module__": module, "__doc__": f"Stands for {module}.{name}, imported when used."})


class _HelpLoader:  # an importlib.abc.Loader (that module is not imported for this)
    def __init__(self, loader: Loader) -> None:
        self.loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        placed = [name for name in HEAVY if name not in sys.modules]
        for name in placed:
            stand_in = ModuleType(name)
            setattr(stand_in, HEAVY[name], _stand_in(name, HEAVY[name]))
            sys.modules[name] = stand_in
        try:
            self.loader.exec_module(module)
        finally:
            for name in placed:
                del sys.modules[name]


class _HelpFinder:  # an importlib.abc.MetaPathFinder
    def find_spec(self, fullname: str, path: Any, target: ModuleType | None = None) -> ModuleSpec | None:
        if fullname != "typer.rich_utils":
            return None
        from importlib.machinery import PathFinder

        if self in sys.meta_path:  # once: that module is imported once
            sys.meta_path.remove(self)

        spec = PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _HelpLoader(spec.loader)  # type: ignore[assignment]  # a Loader by its methods
        return spec


def _coerce_given_values_only() -> None:
    try:
        from typer._coercion import build_runtime_param
        from typer.core import _TyperParameter
    except ImportError:  # a Typer made otherwise: left as it is
        return
    if not hasattr(_TyperParameter, "get_runtime_param"):
        return

    class Deferred:
        """The parameter's coercion, built on the first value that is not ``None``."""

        def __init__(self, param: _TyperParameter) -> None:
            self.param = param
            self.built: Any = None

        def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
            if value is None:  # what RuntimeParam.coerce answers for None
                return () if param.multiple or param.nargs == -1 else None
            if self.built is None:
                self.built = build_runtime_param(self.param.type_descriptor)
            return self.built.coerce(value, param=param, ctx=ctx)

    def get_runtime_param(self: _TyperParameter) -> Any:
        if self._runtime_param is None:
            self._runtime_param = Deferred(self)  # type: ignore[assignment]
        return self._runtime_param

    _TyperParameter.get_runtime_param = get_runtime_param  # type: ignore[method-assign]


_installed = False


def install() -> None:
    """Both adjustments, once per process."""
    global _installed
    if _installed:
        return
    _installed = True
    if "typer.rich_utils" not in sys.modules:
        sys.meta_path.insert(0, _HelpFinder())
    _coerce_given_values_only()
