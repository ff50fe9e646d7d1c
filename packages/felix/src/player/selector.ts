/**
 * Calico label selectors, re-implemented from libcalico-go (selector/tokenizer, selector/parser).
 *
 * Two things must match Felix exactly, not just approximately:
 *  - which labels a selector matches (IP set membership, which policies apply where);
 *  - the canonical string (`toString`), because selector IP set ids are a hash of it. The
 *    canonical form double-quotes values (single quotes if the value holds a `"`), wraps every
 *    && / || group in parentheses, sorts and de-duplicates `in {...}` sets, collapses repeated
 *    `!`, and renders an empty selector as `all()`.
 */
import { makeUniqueId } from "./felix-ids";
import type { SelectorNode } from "./selector-parser";
import { parseSelector } from "./selector-parser";

export { SelectorSyntaxError } from "./selector-parser";
export type { SelectorNode } from "./selector-parser";

/** Labels as a plain record; a label that is present with value "" still counts as present. */
export type Labels = Readonly<Record<string, string>>;

/** A parsed selector: evaluate it, print it canonically, or derive its IP set id. */
export class Selector {
  private cachedString?: string;

  constructor(readonly root: SelectorNode) {}

  /** Parses selector text; "" (or whitespace) selects everything, like Felix. */
  static parse(text: string): Selector {
    return new Selector(parseSelector(text));
  }

  /** True if an endpoint or network set with these labels is selected. */
  matches(labels: Labels): boolean {
    return evaluate(this.root, labels);
  }

  /** The canonical string Felix hashes into IP set ids. */
  toString(): string {
    this.cachedString ??= render(this.root);
    return this.cachedString;
  }

  /** "s:" + base64url(SHA-224("s:" + canonical string)), the id of this selector's IP set. */
  uniqueId(): string {
    return makeUniqueId("s", this.toString());
  }

  /** A copy with `prefix` in front of every label name (libcalico-go's PrefixVisitor). */
  withLabelPrefix(prefix: string): Selector {
    return new Selector(prefixLabels(this.root, prefix));
  }
}

/** Parses and re-prints a selector: Felix's `selector.Normalise`. */
export function normaliseSelector(text: string): string {
  return Selector.parse(text).toString();
}

function hasLabel(labels: Labels, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(labels, key);
}

function evaluate(node: SelectorNode, labels: Labels): boolean {
  switch (node.kind) {
    case "all":
    case "global":
      return true;
    case "has":
      return hasLabel(labels, node.label);
    case "eq":
      return hasLabel(labels, node.label) && labels[node.label] === node.value;
    case "ne":
      return !hasLabel(labels, node.label) || labels[node.label] !== node.value;
    case "contains":
      return hasLabel(labels, node.label) && labels[node.label].includes(node.value);
    case "startsWith":
      return hasLabel(labels, node.label) && labels[node.label].startsWith(node.value);
    case "endsWith":
      return hasLabel(labels, node.label) && labels[node.label].endsWith(node.value);
    case "in":
      return hasLabel(labels, node.label) && node.values.includes(labels[node.label]);
    case "notIn":
      return !hasLabel(labels, node.label) || !node.values.includes(labels[node.label]);
    case "not":
      return !evaluate(node.operand, labels);
    case "and":
      return node.operands.every((op) => evaluate(op, labels));
    case "or":
      return node.operands.some((op) => evaluate(op, labels));
  }
}

function quote(value: string): string {
  return value.includes('"') ? `'${value}'` : `"${value}"`;
}

const OPERATOR_TEXT = { eq: " == ", ne: " != ", contains: " contains ", startsWith: " starts with ", endsWith: " ends with " };

function render(node: SelectorNode): string {
  switch (node.kind) {
    case "all":
      return "all()";
    case "global":
      return "global()";
    case "has":
      return `has(${node.label})`;
    case "eq":
    case "ne":
    case "contains":
    case "startsWith":
    case "endsWith":
      return `${node.label}${OPERATOR_TEXT[node.kind]}${quote(node.value)}`;
    case "in":
    case "notIn":
      return `${node.label} ${node.kind === "in" ? "in" : "not in"} {${node.values.map(quote).join(", ")}}`;
    case "not":
      return `!${render(node.operand)}`;
    case "and":
    case "or":
      return `(${node.operands.map(render).join(node.kind === "and" ? " && " : " || ")})`;
  }
}

function prefixLabels(node: SelectorNode, prefix: string): SelectorNode {
  switch (node.kind) {
    case "all":
    case "global":
      return node;
    case "not":
      return { kind: "not", operand: prefixLabels(node.operand, prefix) };
    case "and":
    case "or":
      return { kind: node.kind, operands: node.operands.map((op) => prefixLabels(op, prefix)) };
    default:
      return { ...node, label: prefix + node.label };
  }
}
