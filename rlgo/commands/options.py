"""Command-line options and TOML keys made from frozen config dataclasses: each option is declared once.

A field (its annotation, default and attribute docstring) gives one option: the flag `--field-name`
(a bool field: `--field-name` when it defaults to False, `--no-field-name` when True), its --help
line (the docstring's first sentence and the default), its argparse type (int, float, str,
`X | None`, `tuple[X, ...]`, `Literal[...]` as choices), and the TOML key `field_name` of
`--config FILE.toml` (`field-name` is accepted too). The fields of a nested dataclass (NetConfig,
OptimConfig) become options of their own, so names must be unique across the nesting.

    OPTIONS = DataclassOptions(SLConfig, exclude=NET_DATA_FIELDS, types={"epochs": positive_int})
    OPTIONS.add_to(parser)                       # in register()
    cfg = OPTIONS.config(args, out=str(run))     # in run(): the given flags over the defaults

Every option defaults to None in the parsed namespace, so a flag not given (and not set by the
TOML file) leaves the dataclass default alone. `--config` is a custom argparse Action that fills in
only the options not given before it (flags after it override it).
"""
from __future__ import annotations

import argparse
import ast
import dataclasses
import difflib
import inspect
import re
import textwrap
import tomllib
import types as pytypes
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from rlgo.renames import FLAGS, renamed

REQUIRED = dataclasses.MISSING
"""The default of an option that has none (a required one)."""


class ConfigError(ValueError):
    """A TOML config file with an unknown key or a value of the wrong type, or a required option missing."""


@dataclass(frozen=True)
class Option:
    """One command-line option: a flag, its help, its type, its TOML key."""

    name: str
    """Namespace attribute and TOML key (a field name)."""
    help: str
    """Help text, without the default."""
    parse: Callable[[str], Any] | None = None
    """Text -> value (argparse type); None: a flag that stores `const`."""
    default: Any = None
    """Shown in --help; REQUIRED: no default."""
    const: Any = True
    """What a flag stores."""
    bare: Any = None
    """What an option that takes a value holds when given without one (`--ray` alone); None: the value is needed."""
    flags: tuple[str, ...] = ()
    """The option strings; the first is the option's name in messages (default: --name with dashes)."""
    path: tuple[str, ...] = ()
    """Where the value goes in a config: ('optim', 'lr'); () for an option that is no field."""
    choices: tuple | None = None
    """The values allowed, if only some."""
    many: bool = False
    """Takes one or more values (a tuple field; a TOML list)."""
    metavar: str | None = None
    """Placeholder in --help."""
    show_default: bool = True
    """Append "(default: ...)" to the help."""
    keep_default: bool = False
    """The parsed namespace holds `default` when the option is not given (else None: "not given")."""
    group: str = ""
    """Title of the --help section (the config class it comes from)."""

    @property
    def flag(self) -> str:
        return self.flags[0] if self.flags else "--" + self.name.replace("_", "-")

    @property
    def keys(self) -> tuple[str, ...]:
        """TOML keys: the name, its dashed spelling, and those of the other flags."""
        words = [self.name] + [f[2:] for f in self.flags if f.startswith("--")]
        return tuple(dict.fromkeys(k for w in words for k in (w, w.replace("-", "_"), w.replace("_", "-"))))

    def add_to(self, parser) -> None:
        """Add the option to an ArgumentParser (or argument group)."""
        text = self.help
        if self.bare is not None:
            text += f" (given alone: {_show(self.bare)})"
        if self.default is REQUIRED:
            text += " (required)"
        elif self.show_default and self.parse is not None and self.default is not None:
            text += f" (default: {_show(self.default)})"
        text = text.replace("%", "%%")
        flags = self.flags or (self.flag,)
        default = self.default if self.keep_default else None
        if self.parse is None:
            parser.add_argument(*flags, dest=self.name, action="store_const", const=self.const, default=default,
                                help=text)
            return
        if self.bare is not None:
            parser.add_argument(*flags, dest=self.name, type=self.parse, default=default, nargs="?", const=self.bare,
                                metavar=self.metavar, help=text)
            return
        parser.add_argument(*flags, dest=self.name, type=self.parse, default=default, choices=self.choices,
                            nargs="+" if self.many else None, metavar=self.metavar, help=text)

    def from_toml(self, value, where: str, key: str = ""):
        """The value of this option from a TOML value under `key`; ConfigError naming `where` and the key.

        A flag's field name takes the field's value (`symmetries = false`); the flag's own name takes
        true for "given" (`no-symmetries = true`) and false for "not given".
        """
        if self.parse is None:
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: {key or self.name} must be true or false, got {value!r}")
            if key.replace("-", "_") in ("", self.name):
                return value
            return self.const if value else None
        if isinstance(value, list) != self.many:
            raise ConfigError(f"{where}: {self.name} takes {'a list' if self.many else 'one value'}, got {value!r}")
        items = [self._item(v, where) for v in (value if self.many else [value])]
        return items if self.many else items[0]

    def _item(self, value, where: str):
        if isinstance(value, (bool, dict)):
            raise ConfigError(f"{where}: {self.name} = {value!r}: expected {self.metavar or 'a value'}")
        try:
            item = self.parse(str(value))
        except (argparse.ArgumentTypeError, ValueError, TypeError) as exc:
            raise ConfigError(f"{where}: {self.name} = {value!r}: {exc}") from None
        if self.choices is not None and item not in self.choices:
            raise ConfigError(f"{where}: {self.name} = {value!r}: choose from {', '.join(map(str, self.choices))}")
        return item


def _show(value) -> str:
    if isinstance(value, tuple):
        return " ".join(map(str, value))
    return "none" if value is None else repr(value) if value == "" else str(value)


# ----------------------------------------------------------------- dataclass fields
def field_docs(cls) -> dict[str, str]:
    """{field: attribute docstring} of a dataclass and its bases (the string literal after each field)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__[:-1]):
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for stmt, after in zip(body, body[1:]):
            if (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
                    and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                    and isinstance(after.value.value, str)):
                docs[stmt.target.id] = inspect.cleandoc(after.value.value)
    return docs


def first_sentence(text: str) -> str:
    """The text up to its first '. ' that ends no abbreviation (or all of its first paragraph), on one line."""
    text = " ".join(text.split("\n\n")[0].split())
    end = re.search(r"(?<!e\.g)(?<!i\.e)\.(\s|$)", text)
    return text if end is None else text[:end.start()]


def _default(f: dataclasses.Field):
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return REQUIRED


def _number(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, "
                                             f"got {text!r}") from None
        if kind is float and not abs(value) < float("inf"):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        return value
    parse.__name__ = kind.__name__
    return parse


_PARSE = {int: _number(int), float: _number(float), str: str, Path: Path}
_METAVAR = {int: "N", float: "X"}


def _field_option(name: str, hint, doc: str, default, path: tuple[str, ...], parse, flags: tuple[str, ...] = ()) -> Option:
    """The Option of one (non-dataclass) field; TypeError for an annotation it cannot map."""
    optional = typing.get_origin(hint) in (typing.Union, pytypes.UnionType) and type(None) in typing.get_args(hint)
    if optional:
        (hint,) = [a for a in typing.get_args(hint) if a is not type(None)]
    many = typing.get_origin(hint) is tuple
    if many:
        hint = typing.get_args(hint)[0]
    choices = None
    if typing.get_origin(hint) is typing.Literal:
        choices = typing.get_args(hint)
        hint = type(choices[0])
    help_text = first_sentence(doc) if doc else name.replace("_", " ")
    if hint is bool and not many:
        flags = flags or ((f"--no-{name}" if default is True else f"--{name}").replace("_", "-"),)
        help_text = f"turn off: {help_text}" if default is True else help_text
        return Option(name, help_text, None, default, const=not default, flags=flags, path=path)
    if parse is None and hint not in _PARSE:
        raise TypeError(f"no command-line type for field {name!r}: {hint!r}")
    return Option(name, help_text, parse or _PARSE[hint], default, flags=flags, path=path, choices=choices,
                  many=many, metavar=None if choices else _METAVAR.get(hint))


def dataclass_options(cls, exclude=(), types=None, required=(), default=None, path=(), flags=None,
                      metavars=None, bare=None) -> list[Option]:
    """The Options of the fields of dataclass `cls`, nested dataclasses flattened.

    `exclude`: field names left out (at any depth), or dotted paths ('game.seed'); `types`: {name: text ->
    value} in place of the annotation's type; `required`: fields a command needs although they have a
    default; `default`: the instance whose values are the defaults (a nested field: its parent's default);
    `flags`: {name: option strings} in place of --name; `metavars`: {name: placeholder}; `bare`: {name:
    value} of options that may be given without a value.
    """
    types, flags, metavars, bare = types or {}, flags or {}, metavars or {}, bare or {}
    hints, docs = typing.get_type_hints(cls), field_docs(cls)
    title = first_sentence(inspect.cleandoc(cls.__doc__ or cls.__name__)).lower()
    out: list[Option] = []
    for f in dataclasses.fields(cls):
        if f.name in exclude or ".".join(path + (f.name,)) in exclude or not f.init:
            continue
        value = _default(f) if default is None else getattr(default, f.name)
        if dataclasses.is_dataclass(hints[f.name]):
            out += dataclass_options(hints[f.name], exclude, types, required, value, path + (f.name,), flags,
                                     metavars, bare)
            continue
        value = REQUIRED if f.name in required else value
        option = _field_option(f.name, hints[f.name], docs.get(f.name, ""), value, path + (f.name,),
                               types.get(f.name), tuple(flags.get(f.name, ())))
        changes = {"group": title, "bare": bare.get(f.name)}
        if f.name in metavars:
            changes["metavar"] = metavars[f.name]
        out.append(dataclasses.replace(option, **changes))
    names = [o.name for o in out]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise TypeError(f"{cls.__name__}: option names used twice across nested configs: {twice}")
    return out


class DataclassOptions:
    """The options of one config dataclass: added to a parser, read back into a config."""

    def __init__(self, cls, exclude=(), types=None, required=(), default=None, flags=None, metavars=None, bare=None):
        self.cls = cls
        self.default = default
        self.options = dataclass_options(cls, exclude, types, required, default, flags=flags, metavars=metavars,
                                         bare=bare)

    def add_to(self, parser) -> None:
        """Add every option, in one --help section per config class (titled by its docstring)."""
        groups = {}
        for option in self.options:
            if option.group not in groups:
                groups[option.group] = parser.add_argument_group(option.group)
            option.add_to(groups[option.group])

    def given(self, args: argparse.Namespace) -> dict[str, Any]:
        """{name: value} of the options that the command line or the config file gave."""
        return {o.name: getattr(args, o.name) for o in self.options if getattr(args, o.name, None) is not None}

    def config(self, args: argparse.Namespace, base=None, **fields):
        """The config of the given options over `base` (default: the class's defaults); keyword arguments set
        top-level fields (e.g. those excluded from the options).

        A required option that is not given: ConfigError naming its flag.
        """
        return build(self.cls, self.options, self.given(args), self.default if base is None else base, fields)

    def flat(self, cfg) -> dict[str, Any]:
        """{name: value} of every option in `cfg` (the inverse of `config`)."""
        out = {}
        for o in self.options:
            value = cfg
            for part in o.path:
                value = getattr(value, part)
            out[o.name] = list(value) if o.many else value
        return out


def build(cls, options: list[Option], values: dict[str, Any], base=None, fields=None):
    """A `cls` from flat {option name: value} (nested configs replaced field by field, tuples from lists) and
    top-level `fields`, over `base` (default: the class's defaults)."""
    by_path: dict[tuple[str, ...], dict] = {}
    for o in options:
        if o.name in values:
            value = values[o.name]
            by_path.setdefault(o.path[:-1], {})[o.path[-1]] = tuple(value) if o.many else value
    missing = [o for o in options if o.default is REQUIRED and o.name not in values and o.name not in (fields or {})
               and base is None]
    if missing:
        raise ConfigError(f"{missing[0].flag} is required (on the command line or in the --config file)")

    by_path.setdefault((), {}).update(fields or {})

    def make(klass, instance, path):
        changes = dict(by_path.get(path, {}))
        for f in dataclasses.fields(klass):
            sub = typing.get_type_hints(klass)[f.name]
            if dataclasses.is_dataclass(sub) and any(p[:len(path) + 1] == path + (f.name,) for p in by_path):
                inner = getattr(instance, f.name) if instance is not None else _default(f)
                changes[f.name] = make(sub, inner, path + (f.name,))
        if instance is None:
            return klass(**changes)
        return dataclasses.replace(instance, **changes) if changes else instance

    return make(cls, base, ())


# ----------------------------------------------------------------- TOML configs
class ConfigAction(argparse.Action):
    """`--config FILE.toml`: sets the options not given before it from the file's top-level keys
    (an option whose parsed default is not None counts as not given while it holds that default).

    Keys are option names (`batch_size` or `batch-size`); an unknown key is answered with the closest
    name and the valid ones. `find(path)` maps the given path to the file to read.
    """

    def __init__(self, option_strings, dest, options: list[Option] = (), find=None, **kwargs):
        super().__init__(option_strings, dest, **kwargs)
        self.table = {key: o for o in options for key in o.keys}
        self.names = sorted(o.name for o in options)
        self.defaults = {o.name: o.default if o.keep_default else None for o in options}
        self.find = find or Path

    def __call__(self, parser, namespace, values, option_string=None):
        path = self.find(values)
        setattr(namespace, self.dest, path)
        for name, value in self.load(path).items():
            if getattr(namespace, name, None) in (None, self.defaults[name]):
                setattr(namespace, name, value)

    def load(self, path: Path) -> dict[str, Any]:
        """{option name: value} of a TOML file."""
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: TOML syntax error: {exc}") from None
        out = {}
        for key, value in data.items():
            if isinstance(value, dict):
                raise ConfigError(f"{path}: [{key}] is a table; use top-level keys only")
            option = self.table.get(key)
            old = "--" + key.replace("_", "-")
            if option is None and FLAGS.get(old, "--")[2:].replace("-", "_") in self.table:
                raise ConfigError(f"{path}: {renamed(old, FLAGS).replace('--', '')}")
            if option is None:
                keys = sorted(k for k in self.table if "-" not in k)
                close = difflib.get_close_matches(key.replace("-", "_"), keys, n=1)
                hint = f"did you mean {self.table[close[0]].name!r}? " if close else ""
                raise ConfigError(f"{path}: unknown key {key!r}; {hint}valid keys: {', '.join(self.names)}")
            value = option.from_toml(value, str(path), key)
            if value is not None:
                out[option.name] = value
        return out


def add_config_option(parser, options: list[Option], find=None, help: str = "") -> None:
    """Add `--config FILE.toml` reading the keys of `options` (flags given after it override it)."""
    parser.add_argument("--config", action=ConfigAction, options=list(options), find=find, metavar="FILE.toml",
                        help=help or "TOML file of option values (keys: the option names, e.g. lr = 0.01, "
                                     "batch_size = 256); flags on the command line override it")
