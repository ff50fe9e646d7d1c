#!/usr/bin/env node
// Lays out what the agents image ships, from a built checkout, in an application directory:
//  - the root package.json and package-lock.json and every workspace's package.json, so that
//    `npm ci --omit=dev` there sees exactly the workspaces the lock file names;
//  - for each package the agents need at run time (ENTRY_PACKAGES and, transitively, every
//    @ptables/* package they declare or require from dist/), its dist/ and its assets;
//  - bin/ptables-felix-driver (the standalone driver, for hosts without Kubernetes).
// Sources, tests, tsbuildinfo and the test-only packages stay behind.
//
// Usage: node images/assemble-app.cjs <checkout> <dest>
"use strict";
const fs = require("node:fs");
const path = require("node:path");

/** The processes the image runs: the four agents, the standalone driver and the CLI. */
const ENTRY_PACKAGES = ["felix-proxy", "policy-programmer", "arp-responder", "offload-daemon", "driver", "cli"];
/** Files besides dist/ that a package needs at run time. */
const ASSETS = { "backend-ebpf": ["build/ptables.bpf.o"], cli: ["bin"] };
const SCOPE = "@ptables/";

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

/** Workspace directories (relative to the checkout) named by the root package.json's globs. */
function workspaceDirs(root) {
  const dirs = [];
  for (const pattern of readJson(path.join(root, "package.json")).workspaces ?? []) {
    if (pattern.endsWith("/*")) {
      const parent = pattern.slice(0, -2);
      for (const name of fs.readdirSync(path.join(root, parent)).sort()) {
        if (fs.existsSync(path.join(root, parent, name, "package.json"))) dirs.push(`${parent}/${name}`);
      }
    } else if (!/[*?[]/.test(pattern)) {
      dirs.push(pattern);
    } else {
      throw new Error(`workspace pattern ${pattern}: only "dir" and "dir/*" are supported`);
    }
  }
  return dirs;
}

/** Every .js file under dir. */
function jsFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".js"))
    .map((e) => path.join(e.parentPath ?? e.path, e.name));
}

/** The @ptables/* packages a package uses: declared dependencies and require()s in its dist/. */
function internalDeps(root, name) {
  const pkgDir = path.join(root, "packages", name);
  const deps = new Set(Object.keys(readJson(path.join(pkgDir, "package.json")).dependencies ?? {}).filter((d) => d.startsWith(SCOPE)));
  for (const file of jsFiles(path.join(pkgDir, "dist"))) {
    for (const m of fs.readFileSync(file, "utf8").matchAll(/require\("(@ptables\/[a-z0-9-]+)/g)) deps.add(m[1]);
  }
  return [...deps].map((d) => d.slice(SCOPE.length));
}

/** The packages the image ships, sorted: the entry packages and everything they use. */
function runtimePackages(root) {
  const seen = new Set();
  const visit = (name) => {
    if (seen.has(name)) return;
    if (!fs.existsSync(path.join(root, "packages", name, "package.json"))) throw new Error(`package ${name} is used but packages/${name} does not exist`);
    seen.add(name);
    for (const dep of internalDeps(root, name)) visit(dep);
  };
  ENTRY_PACKAGES.forEach(visit);
  return [...seen].sort();
}

/** Every file or directory to copy, relative to the checkout. Throws if a built output is missing. */
function appFiles(root) {
  const files = ["package.json", "package-lock.json", "bin/ptables-felix-driver"];
  for (const dir of workspaceDirs(root)) files.push(`${dir}/package.json`);
  for (const name of runtimePackages(root)) {
    for (const rel of ["dist", ...(ASSETS[name] ?? [])]) files.push(`packages/${name}/${rel}`);
  }
  for (const f of files) {
    if (!fs.existsSync(path.join(root, f))) throw new Error(`${f} is missing: build first (npx turbo run build)`);
  }
  return [...new Set(files)];
}

/** Copies appFiles(root) to dest, leaving out source maps' sources and test output. */
function assemble(root, dest) {
  for (const rel of appFiles(root)) {
    fs.cpSync(path.join(root, rel), path.join(dest, rel), {
      recursive: true,
      dereference: false,
      filter: (src) => !/\.(test|privileged\.test)\.(js|d\.ts)(\.map)?$/.test(src) && !src.endsWith(".tsbuildinfo"),
    });
  }
}

module.exports = { ENTRY_PACKAGES, ASSETS, workspaceDirs, runtimePackages, appFiles, assemble };

if (require.main === module) {
  const [root, dest] = process.argv.slice(2);
  if (!root || !dest) {
    process.stderr.write("usage: node images/assemble-app.cjs <checkout> <dest>\n");
    process.exit(2);
  }
  try {
    assemble(path.resolve(root), path.resolve(dest));
  } catch (err) {
    process.stderr.write(`assemble-app: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  process.stdout.write(`assemble-app: ${runtimePackages(path.resolve(root)).join(", ")} -> ${dest}\n`);
}
