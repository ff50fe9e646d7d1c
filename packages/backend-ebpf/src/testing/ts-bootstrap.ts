/**
 * Running this package's TypeScript in a child process (e.g. inside a network namespace)
 * without a build: a `node -e` prelude that compiles .ts on require with TypeScript's
 * transpileModule and resolves `@ptables/<pkg>` to packages/<pkg>/src, as jest does. Compiled
 * files are cached in $TMPDIR/ptables-ts-cache by path, mtime and size.
 */
import { dirname } from "node:path";
import { PACKAGE_ROOT } from "../package-root";

const PACKAGES_DIR = dirname(PACKAGE_ROOT);

const REGISTER = `
const Module = require("module");
const path = require("path");
const fs = require("fs");
const ts = require("typescript");
const packagesDir = process.argv[1];
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  const m = /^@ptables\\/([^/]+)$/.exec(request);
  return resolve.call(this, m ? path.join(packagesDir, m[1], "src", "index.ts") : request, parent, ...rest);
};
const cacheDir = path.join(require("os").tmpdir(), "ptables-ts-cache");
fs.mkdirSync(cacheDir, { recursive: true });
require.extensions[".ts"] = function (module, filename) {
  const stat = fs.statSync(filename);
  const key = require("crypto").createHash("sha1").update([filename, stat.mtimeMs, stat.size, ts.version].join("|")).digest("hex");
  const cached = path.join(cacheDir, key + ".js");
  let code;
  try {
    code = fs.readFileSync(cached, "utf8");
  } catch {
    code = ts.transpileModule(fs.readFileSync(filename, "utf8"), {
      fileName: filename,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false },
    }).outputText;
    const tmp = cached + "." + process.pid;
    fs.writeFileSync(tmp, code);
    fs.renameSync(tmp, cached);
  }
  module._compile(code, filename);
};
require(process.argv[2]).main(JSON.parse(process.argv[3]));
`;

/** argv (after the node binary) that runs `main(arg)` of the TypeScript module at `modulePath`. */
export function tsMainArgv(modulePath: string, arg: unknown): string[] {
  return ["-e", REGISTER, PACKAGES_DIR, modulePath, JSON.stringify(arg)];
}
