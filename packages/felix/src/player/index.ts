/**
 * The Felix stream player: turns a scenario into exactly the stream Felix would send one node's
 * dataplane driver, and runs a driver the way Felix does (fd 3 in, fd 4 out, SIGTERM then
 * SIGKILL). Used by `ptables felix-play`, the demo and end-to-end tests.
 */
export { parseScenario, loadScenario, demoScenarioPath } from "./scenario";
export type * from "./scenario-types";
export { ScenarioError } from "./validate";
export { Selector, SelectorSyntaxError, normaliseSelector } from "./selector";
export type { Labels, SelectorNode } from "./selector";
export { makeUniqueId, fillInRuleIds } from "./felix-ids";
export { ClusterState } from "./cluster";
export { computeNodeView } from "./calc";
export type { NodeView, IpSetContent } from "./calc";
export { buildFelixStream, flushPayloads, emptyView } from "./stream";
export type { FelixStream, PlayedStep, StreamOptions } from "./stream";
export { FelixPlayer, DriverExitedError, PlayerTimeoutError } from "./driver-process";
export type { FelixPlayerOptions, DriverExit, EndpointStatusReport, FelixPlayerEvents } from "./driver-process";
export { writeFakeDriver, fakeDriverEnv } from "./testing/fake-driver";
export type { FakeDriverOptions } from "./testing/fake-driver";
