"""serverless.yml's YAML, read within bounds: a hostile file is refused, naming its line, before it costs more than its own size.

`yaml.safe_load` builds an alias once and shares it, so an alias bomb (aliases of aliases, each
doubling what the last expands to) loads in a moment; it is every walk after that (resolving
${env:...}, the checks) that expands it, to gigabytes. So aliases are counted and nesting measured
while the document is composed, and the composed graph's expanded size is summed, each node once,
before anything is built from it.
"""

from __future__ import annotations

import functools
from typing import Any

# What serverless.yml may be, checked while it is read and before anything walks it: the shipped
# file is about 60 values, 6 deep, with no alias; a hostile one (an alias bomb: aliases of aliases,
# each doubling what the last expands to) is refused in time and memory bounded by its own size.
MAX_YAML_ALIASES = 100
MAX_YAML_VALUES = 10_000  # once every alias is expanded
MAX_YAML_DEPTH = 32


class YamlRefused(ValueError):
    """Why the text is refused, starting with where: ", line 7: ..." (the caller puts the file name first)."""


def parse_serverless_yml(text: str) -> Any:
    """The YAML document in `text`, as yaml.safe_load would give it, within the MAX_YAML_* bounds."""
    import yaml  # the CLI's own dependency; never on the function's path

    loader = _bounded_loader()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _refuse_expansion(node)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        raise YamlRefused(_yaml_error(exc)) from None
    except yaml.YAMLError as exc:
        raise YamlRefused(f": not valid YAML: {exc}") from None
    finally:
        loader.dispose()


def _refused(line: int, problem: str) -> YamlRefused:
    return YamlRefused(f", line {line}: {problem}")


def _yaml_error(exc: Any) -> str:
    """A YAML parser's error in plain words: the line first, then what is wrong there."""
    mark = exc.problem_mark or exc.context_mark
    where = f", line {mark.line + 1} column {mark.column + 1}" if mark else ""
    problem = exc.problem or exc.context or "not valid YAML"
    if "'\\t'" in problem:
        problem += " (YAML indents with spaces, never tabs)"
    elif "mapping values are not allowed" in problem:
        problem += " (a ':' inside an unquoted value, or a line indented too far: quote the value or fix the indent)"
    context = f", {exc.context} at line {exc.context_mark.line + 1}" if exc.context and exc.context_mark else ""
    return f"{where}: not valid YAML: {problem}{context}"


@functools.lru_cache(maxsize=1)
def _bounded_loader() -> Any:
    import yaml

    class BoundedLoader(yaml.SafeLoader):
        """SafeLoader that counts aliases and nesting while composing, before anything is built."""

        aliases = 0
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            line = self.peek_event().start_mark.line + 1
            if self.check_event(yaml.AliasEvent):
                self.aliases += 1
                if self.aliases > MAX_YAML_ALIASES:
                    raise _refused(
                        line, f"more than {MAX_YAML_ALIASES} YAML aliases (*name); serverless.yml needs none"
                    )
                return super().compose_node(parent, index)
            self.depth += 1
            if self.depth > MAX_YAML_DEPTH:
                raise _refused(line, f"nested more than {MAX_YAML_DEPTH} levels deep")
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    return BoundedLoader


def _refuse_expansion(root: Any) -> None:
    """Refuse a node graph whose aliases expand past MAX_YAML_VALUES values, or into themselves.

    Counted on the composed graph, where an alias is one shared node: each node is visited once
    and its expanded size is summed from its children's, so the count itself never expands.
    """
    sizes: dict[int, int] = {}
    entered: set[int] = set()
    pending: list[tuple[Any, bool]] = [(root, False)]
    while pending:
        node, done = pending.pop()
        key = id(node)
        children = _children(node)
        if done:
            entered.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in children)
            if sizes[key] > MAX_YAML_VALUES:
                raise _refused(
                    node.start_mark.line + 1,
                    f"more than {MAX_YAML_VALUES} values once its aliases (*name) are expanded (an alias bomb?): "
                    "refused before expanding them",
                )
        elif key in entered:
            raise _refused(node.start_mark.line + 1, "a YAML alias refers to the value that contains it")
        elif key not in sizes:
            entered.add(key)
            pending.append((node, True))
            pending.extend((child, False) for child in children)


def _children(node: Any) -> list[Any]:
    if isinstance(node.value, list):
        return [part for item in node.value for part in (item if isinstance(item, tuple) else (item,))]
    return []
