"""The `$filter` subset Microsoft Graph accepts on directory objects, parsed as strictly as Graph.

Only what dupfix's look-ups (and a careless client) could send is understood; anything else is a
400, like Graph's "Invalid filter clause". Quoting follows OData: a literal is `'...'` with `''`
for a quote inside, so a client that forgets to double `'` in `o'brien@contoso.com` gets a 400
here, as it would from Graph.

Grammar (operators and function names lower case, as Graph documents them):

    expr      := and_expr ("or" and_expr)*
    and_expr  := primary ("and" primary)*
    primary   := "(" expr ")" | func | path
    func      := ("startswith" | "endswith") "(" name "," literal ")"
    path      := name "/any(" var ":" var ["/" name] " eq " literal ")"  |  name op literal
    op        := "eq" | "ge" | "le"
    literal   := "'" ... "'" | "null" | "true" | "false"
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_OR_CLAUSES = 15


class FilterError(ValueError):
    """A filter Graph would refuse: `code` and `message` go into the 400 body."""

    def __init__(self, message: str, code: str = "BadRequest"):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Compare:
    prop: str
    op: str  # eq | ge | le
    value: object  # str | None | bool


@dataclass(frozen=True)
class AnyEq:
    prop: str  # the collection property: proxyAddresses, onPremisesProvisioningErrors
    sub: str | None  # e/category -> "category"; x -> None
    value: object


@dataclass(frozen=True)
class Func:
    name: str  # startswith | endswith
    prop: str
    value: str


@dataclass(frozen=True)
class Or:
    children: tuple[object, ...]


@dataclass(frozen=True)
class And:
    children: tuple[object, ...]


_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<punct>[(),:/])|(?P<word>[A-Za-z_][A-Za-z0-9_.]*)|(?P<bad>\S))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            break
        pos = m.end()
        kind = m.lastgroup or "bad"
        value = m.group(kind)
        if kind == "bad":
            if value == "'":
                raise FilterError("Unterminated string literal in filter clause", "BadRequest")
            raise FilterError(f"Syntax error: character '{value}' is not valid in the filter clause")
        out.append((kind, value))
    return out


class _Parser:
    def __init__(self, text: str):
        self.tokens = _tokens(text)
        self.i = 0

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def take(self, kind: str | None = None, value: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (kind and tok[0] != kind) or (value is not None and tok[1] != value):
            want = value or kind or "more"
            got = tok[1] if tok else "the end of the filter"
            raise FilterError(f"Syntax error: expected {want} but found {got} in the filter clause")
        self.i += 1
        return tok[1]

    def at_word(self, word: str) -> bool:
        tok = self.peek()
        return tok is not None and tok == ("word", word)

    def parse(self) -> object:
        node = self.expr()
        if self.peek() is not None:
            raise FilterError(f"Syntax error at '{self.peek()[1]}' in the filter clause")  # type: ignore[index]
        return node

    def expr(self) -> object:
        children = [self.and_expr()]
        while self.at_word("or"):
            self.take()
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self) -> object:
        children = [self.primary()]
        while self.at_word("and"):
            self.take()
            children.append(self.primary())
        return children[0] if len(children) == 1 else And(tuple(children))

    def primary(self) -> object:
        tok = self.peek()
        if tok == ("punct", "("):
            self.take()
            node = self.expr()
            self.take("punct", ")")
            return node
        name = self.take("word")
        if name in ("startswith", "endswith") and self.peek() == ("punct", "("):
            self.take()
            prop = self.take("word")
            self.take("punct", ",")
            value = self.literal()
            self.take("punct", ")")
            if not isinstance(value, str):
                raise FilterError(f"{name} needs a string literal")
            return Func(name, prop, value)
        if self.peek() == ("punct", "/"):
            self.take()
            self.take("word", "any")
            self.take("punct", "(")
            var = self.take("word")
            self.take("punct", ":")
            if self.take("word") != var:
                raise FilterError(f"Syntax error: the lambda must use its variable '{var}'")
            sub = None
            if self.peek() == ("punct", "/"):
                self.take()
                sub = self.take("word")
            self.take("word", "eq")
            value = self.literal()
            self.take("punct", ")")
            return AnyEq(name, sub, value)
        op = self.take("word")
        if op not in ("eq", "ge", "le"):
            raise FilterError(f"Invalid filter clause: unsupported operator '{op}'")
        return Compare(name, op, self.literal())

    def literal(self) -> object:
        tok = self.peek()
        if tok is not None and tok[0] == "str":
            self.take()
            return tok[1][1:-1].replace("''", "'")
        word = self.take("word")
        if word in ("null", "true", "false"):
            return {"null": None, "true": True, "false": False}[word]
        raise FilterError(f"Syntax error: '{word}' is not a literal; strings are quoted with '")


def or_clauses(node: object) -> int:
    """How many clauses an `or` joins (Graph counts them and allows 15)."""
    if isinstance(node, Or):
        return sum(or_clauses(c) for c in node.children)
    if isinstance(node, And):
        return max(or_clauses(c) for c in node.children)
    return 1


def parse_filter(text: str) -> object:
    if not text.strip():
        raise FilterError("Invalid filter clause: the filter is empty")
    node = _Parser(text).parse()
    clauses = or_clauses(node)
    if clauses > MAX_OR_CLAUSES:
        raise FilterError(
            "Too many child clauses specified in search filter expression containing 'OR' operators: "
            f"{clauses}. Max allowed: {MAX_OR_CLAUSES}.",
            "Request_UnsupportedQuery",
        )
    return node


def leaves(node: object) -> list[object]:
    if isinstance(node, (Or, And)):
        return [leaf for c in node.children for leaf in leaves(c)]
    return [node]
