#!/usr/bin/env node
// Compares two multi-document Kubernetes YAML renderings as objects, not text: comments, key
// order, quoting and document order do not matter; every field and value does. ConfigMap data
// entries named *.yaml are compared as YAML too. The GitHub chart job runs it on the checked-in
// charts/ptables/ci/rendered-default.yaml against a fresh `helm template`.
//
// Usage: node e2e/kind/compare-rendered.cjs <expected.yaml> <actual.yaml>   (exit 1 on a difference)
"use strict";
const fs = require("node:fs");
const YAML = require("yaml");

/** The objects of a rendering, by "Kind/name". */
function objectsOf(text, label) {
  const byKey = new Map();
  for (const doc of YAML.parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${label}: ${doc.errors[0].message}`);
    const obj = doc.toJS();
    if (obj === null || obj === undefined) continue;
    if (obj.kind === "ConfigMap" && obj.data) {
      for (const [k, v] of Object.entries(obj.data)) if (/\.ya?ml$/.test(k)) obj.data[k] = YAML.parse(v);
    }
    const key = `${obj.kind}/${obj.metadata?.name}`;
    if (byKey.has(key)) throw new Error(`${label}: ${key} appears twice`);
    byKey.set(key, obj);
  }
  return byKey;
}

function diff(path, a, b, out) {
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) out.push(`${path}: ${a.length} items, expected ${b.length}`);
    for (let i = 0; i < Math.min(a.length, b.length); i++) diff(`${path}[${i}]`, a[i], b[i], out);
    return;
  }
  if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (!(k in b)) out.push(`${path}.${k}: unexpected (${JSON.stringify(a[k])})`);
      else if (!(k in a)) out.push(`${path}.${k}: missing (expected ${JSON.stringify(b[k])})`);
      else diff(`${path}.${k}`, a[k], b[k], out);
    }
    return;
  }
  if (a !== b) out.push(`${path}: ${JSON.stringify(a)}, expected ${JSON.stringify(b)}`);
}

/** The differences of `actual` from `expected`, one line each; empty when they are the same. */
function compareRendered(expectedText, actualText) {
  const expected = objectsOf(expectedText, "expected");
  const actual = objectsOf(actualText, "actual");
  const out = [];
  for (const [key, obj] of actual) {
    if (!expected.has(key)) out.push(`${key}: not in the expected rendering`);
    else diff(key, obj, expected.get(key), out);
  }
  for (const key of expected.keys()) if (!actual.has(key)) out.push(`${key}: missing from the actual rendering`);
  return out;
}

module.exports = { compareRendered };

if (require.main === module) {
  const [expectedFile, actualFile] = process.argv.slice(2);
  if (!expectedFile || !actualFile) {
    process.stderr.write("usage: node e2e/kind/compare-rendered.cjs <expected.yaml> <actual.yaml>\n");
    process.exit(2);
  }
  const differences = compareRendered(fs.readFileSync(expectedFile, "utf8"), fs.readFileSync(actualFile, "utf8"));
  if (differences.length > 0) {
    process.stderr.write(`${actualFile} differs from ${expectedFile}:\n${differences.map((d) => `  ${d}`).join("\n")}\n`);
    process.exit(1);
  }
  process.stdout.write(`${actualFile} renders the same objects as ${expectedFile}\n`);
}
