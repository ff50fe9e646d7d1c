// One jest run over every package and the e2e suites. Workspace imports resolve to sources,
// so tests never wait for a build; the build (tsc -b) is the type check.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/packages", "<rootDir>/e2e"],
  testMatch: ["**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "/dist/"],
  moduleNameMapper: { "^@ptables/([^/]+)$": "<rootDir>/packages/$1/src" },
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "<rootDir>/tsconfig.jest.json" }] },
  // Privileged suites create namespaces and BPF objects; they are serialised per file by jest
  // workers, and each file uses unique names.
  maxWorkers: 2,
  testTimeout: 60000,
};
