"""Precedence climbing over tokens into a small tree of tuples."""

from __future__ import annotations

from exprcalc.lexer import ParseError, Token, tokenize

# operator: (precedence, right associative)
BINARY = {"+": (1, False), "-": (1, False), "*": (2, False), "/": (2, False),
          "%": (2, False), "^": (4, True)}
UNARY_PRECEDENCE = 3

Node = tuple


class Parser:
    """``parse()`` returns ("num", value) / ("var", name) / ("neg", node) /
    ("call", name, [args]) / (op, left, right)."""

    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.position = 0

    def peek(self) -> Token:
        return self.tokens[self.position]

    def take(self) -> Token:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise ParseError(f"expected {text!r} at column {token.column}, got {token.text!r}")

    def parse(self) -> Node:
        node = self.expression(0)
        token = self.peek()
        if token.kind != "end":
            raise ParseError(f"unexpected {token.text!r} at column {token.column}")
        return node

    def expression(self, minimum: int) -> Node:
        left = self.unary()
        while True:
            token = self.peek()
            if token.kind != "op" or token.text not in BINARY:
                return left
            precedence, right_assoc = BINARY[token.text]
            if precedence < minimum:
                return left
            self.take()
            right = self.expression(precedence if right_assoc else precedence)
            left = (token.text, left, right)

    def unary(self) -> Node:
        token = self.peek()
        if token.text == "-":
            self.take()
            return ("neg", self.expression(UNARY_PRECEDENCE))
        if token.text == "+":
            self.take()
            return self.expression(UNARY_PRECEDENCE)
        return self.atom()

    def atom(self) -> Node:
        token = self.take()
        if token.kind == "number":
            return ("num", float(token.text))
        if token.kind == "name":
            if self.peek().text == "(":
                self.take()
                args = []
                if self.peek().text != ")":
                    args.append(self.expression(0))
                    while self.peek().text == ",":
                        self.take()
                        args.append(self.expression(0))
                self.expect(")")
                return ("call", token.text, args)
            return ("var", token.text)
        if token.text == "(":
            node = self.expression(0)
            self.expect(")")
            return node
        raise ParseError(f"unexpected {token.text or 'end of input'!r} at column {token.column}")


def parse(text: str) -> Node:
    """The tree for ``text``."""
    return Parser(text).parse()
