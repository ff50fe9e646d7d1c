/**
 * The Calico selector tokenizer and parser (libcalico-go selector/tokenizer and
 * selector/parser), token for token, so that the same inputs are accepted and rejected and
 * parse to the same tree.
 */

/** The parsed form of a selector. */
export type SelectorNode =
  | { kind: "all" }
  | { kind: "global" }
  | { kind: "has"; label: string }
  | { kind: "eq" | "ne" | "contains" | "startsWith" | "endsWith"; label: string; value: string }
  | { kind: "in" | "notIn"; label: string; values: string[] }
  | { kind: "not"; operand: SelectorNode }
  | { kind: "and" | "or"; operands: SelectorNode[] };

/** A selector that cannot be parsed; the message says why. */
export class SelectorSyntaxError extends Error {
  constructor(
    readonly selector: string,
    readonly reason: string,
  ) {
    super(`cannot parse selector ${JSON.stringify(selector)}: ${reason}`);
    this.name = "SelectorSyntaxError";
  }
}

type Token =
  | { kind: "label" | "string" | "has"; value: string }
  | { kind: "(" | ")" | "{" | "}" | "," | "==" | "!=" | "!" | "&&" | "||" }
  | { kind: "in" | "notIn" | "contains" | "startsWith" | "endsWith" | "all" | "global" | "eof" };

const IDENTIFIER = /^[a-zA-Z0-9_./-]+/;
const SIMPLE_TOKENS: Record<string, Token["kind"]> = { "(": "(", ")": ")", "{": "{", "}": "}", ",": "," };

function syntaxError(selector: string, reason: string): never {
  throw new SelectorSyntaxError(selector, reason);
}

function tokenize(selector: string): Token[] {
  const tokens: Token[] = [];
  let input = selector;
  for (;;) {
    input = input.replace(/^[ \t]+/, "");
    if (input === "") {
      tokens.push({ kind: "eof" });
      return tokens;
    }
    const c = input[0];
    const previous = tokens[tokens.length - 1];
    if (c in SIMPLE_TOKENS) {
      tokens.push({ kind: SIMPLE_TOKENS[c] } as Token);
      input = input.slice(1);
    } else if (c === '"' || c === "'") {
      const end = input.indexOf(c, 1);
      if (end < 0) syntaxError(selector, "unterminated string");
      tokens.push({ kind: "string", value: input.slice(1, end) });
      input = input.slice(end + 1);
    } else if (c === "=" || c === "&" || c === "|") {
      if (input[1] !== c) syntaxError(selector, `expected ${c}${c}`);
      tokens.push({ kind: (c === "=" ? "==" : c === "&" ? "&&" : "||") as "==" });
      input = input.slice(2);
    } else if (c === "!") {
      const ne = input[1] === "=";
      tokens.push({ kind: ne ? "!=" : "!" });
      input = input.slice(ne ? 2 : 1);
    } else if (previous?.kind === "label") {
      // After a label only a word operator can follow.
      const word = /^(contains|starts[ \t]*with|ends[ \t]*with|not[ \t]*in|in)/.exec(input);
      if (!word) syntaxError(selector, `unexpected characters after label '${(previous as { value: string }).value}', was expecting an operator`);
      const text = word[1].replace(/[ \t]+/g, "");
      const kinds = { contains: "contains", startswith: "startsWith", endswith: "endsWith", notin: "notIn", in: "in" } as const;
      tokens.push({ kind: kinds[text as keyof typeof kinds] });
      input = input.slice(word[0].length);
    } else if (input.startsWith("has(")) {
      const rest = input.slice(4).replace(/^[ \t]+/, "");
      const ident = IDENTIFIER.exec(rest)?.[0];
      if (!ident) syntaxError(selector, "no label name in has( expression");
      const after = rest.slice(ident.length).replace(/^[ \t]+/, "");
      if (!after.startsWith(")")) syntaxError(selector, "no closing ')' after has(");
      tokens.push({ kind: "has", value: ident });
      input = after.slice(1);
    } else if (/^(all|global)\(/.test(input)) {
      const name = input.startsWith("all") ? "all" : "global";
      const after = input.slice(name.length + 1).replace(/^[ \t]+/, "");
      if (!after.startsWith(")")) syntaxError(selector, `no closing ')' after ${name}(`);
      tokens.push({ kind: name });
      input = after.slice(1);
    } else {
      const ident = IDENTIFIER.exec(input)?.[0];
      if (!ident) syntaxError(selector, `unexpected characters at ${JSON.stringify(input.slice(0, 10))}`);
      tokens.push({ kind: "label", value: ident });
      input = input.slice(ident.length);
    }
  }
}

/** Parses selector text; "" (or only whitespace) selects everything. */
export function parseSelector(selector: string): SelectorNode {
  const tokens = tokenize(selector);
  let pos = 0;
  const peek = (): Token => tokens[pos];
  const describeToken = (t: Token): string => ("value" in t ? `${t.kind} ${JSON.stringify(t.value)}` : t.kind === "eof" ? "end of selector" : `'${t.kind}'`);

  const parseOr = (): SelectorNode => {
    const operands = [parseAnd()];
    while (peek().kind === "||") {
      pos++;
      operands.push(parseAnd());
    }
    return operands.length === 1 ? operands[0] : { kind: "or", operands };
  };
  const parseAnd = (): SelectorNode => {
    const operands = [parseOperation()];
    while (peek().kind === "&&") {
      pos++;
      operands.push(parseOperation());
    }
    return operands.length === 1 ? operands[0] : { kind: "and", operands };
  };
  const expectString = (): string => {
    const t = peek();
    if (t.kind !== "string") syntaxError(selector, `expected a quoted string, found ${describeToken(t)}`);
    pos++;
    return (t as { value: string }).value;
  };
  const parseOperation = (): SelectorNode => {
    let negated = false;
    while (peek().kind === "!") {
      negated = !negated;
      pos++;
    }
    const t = peek();
    let node: SelectorNode;
    switch (t.kind) {
      case "has":
        node = { kind: "has", label: t.value };
        pos++;
        break;
      case "all":
      case "global":
        node = { kind: t.kind };
        pos++;
        break;
      case "label": {
        pos++;
        const op = peek();
        pos++;
        if (op.kind === "==" || op.kind === "!=") {
          node = { kind: op.kind === "==" ? "eq" : "ne", label: t.value, value: expectString() };
        } else if (op.kind === "contains" || op.kind === "startsWith" || op.kind === "endsWith") {
          node = { kind: op.kind, label: t.value, value: expectString() };
        } else if (op.kind === "in" || op.kind === "notIn") {
          if (peek().kind !== "{") syntaxError(selector, `expected a set literal {...} after ${op.kind === "in" ? "in" : "not in"}`);
          pos++;
          const values: string[] = [];
          while (peek().kind === "string") {
            values.push(expectString());
            if (peek().kind !== ",") break;
            pos++;
          }
          if (peek().kind !== "}") syntaxError(selector, `expected } to close the set, found ${describeToken(peek())}`);
          pos++;
          node = { kind: op.kind, label: t.value, values: [...new Set(values)].sort() };
        } else {
          syntaxError(selector, `expected an operator after label '${t.value}', found ${describeToken(op)}`);
        }
        break;
      }
      case "(":
        pos++;
        node = parseOr();
        if (peek().kind !== ")") syntaxError(selector, `expected ), found ${describeToken(peek())}`);
        pos++;
        break;
      default:
        syntaxError(selector, `unexpected ${describeToken(t)}`);
    }
    return negated ? { kind: "not", operand: node! } : node!;
  };

  if (peek().kind === "eof") return { kind: "all" };
  const root = parseOr();
  if (peek().kind !== "eof") syntaxError(selector, `unexpected ${describeToken(peek())} at end of selector`);
  return root;
}
