/** Test support over policy-core: model builders, a seeded PRNG, random scenarios and the evaluator/compiler cross-check. */
export * from "./builders";
export { Rng } from "./rng";
export type { RandomScenario } from "./random-scenario";
export { randomPacket, randomRule, randomScenario } from "./random-scenario";
export { aimedPacket } from "./aimed-packet";
export type { CrossCheck } from "./cross-check";
export { agreedVerdict, compileTarget, crossCheck, prepareCrossCheck } from "./cross-check";
export { icmp, raw, sctp, tcp, udp, udplite } from "./packets";
