import { PassThrough } from "node:stream";
import { createLogger, objectLogger } from "./logger";

function capture(): { stream: PassThrough; lines: () => string[] } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on("data", (c: Buffer) => chunks.push(c.toString()));
  return { stream, lines: () => chunks.join("").split("\n").filter((l) => l !== "") };
}

describe("createLogger", () => {
  test("json lines carry the component, the level and the fields", () => {
    const out = capture();
    const log = createLogger({ component: "felix-proxy", format: "json", stream: out.stream });
    log.info("frame rejected", { offset: 42, version: 7n });
    const line = JSON.parse(out.lines()[0]!);
    expect(line).toMatchObject({ component: "felix-proxy", level: "info", message: "frame rejected", offset: 42, version: "7" });
    expect(typeof line.timestamp).toBe("string");
  });

  test("objectLogger puts the object id into every message", () => {
    const out = capture();
    const log = objectLogger(createLogger({ component: "x", format: "json", stream: out.stream }), "k8s/default/pod1/eth0");
    log.warn("status down", { reason: "admin down" });
    log.info("status up");
    const lines = out.lines().map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l.id).toBe("k8s/default/pod1/eth0");
  });

  test("the level filters lower-priority messages", () => {
    const out = capture();
    const log = createLogger({ component: "x", level: "warn", format: "json", stream: out.stream });
    log.debug("d");
    log.info("i");
    log.warn("w");
    log.error("e");
    expect(out.lines().map((l) => JSON.parse(l).message)).toEqual(["w", "e"]);
  });

  test("text lines are readable and quote values with spaces", () => {
    const out = capture();
    const log = createLogger({ component: "driver", format: "text", stream: out.stream });
    log.info("relay mode", { socket: "/run/ptables/felix.sock", reason: "felix closed fd 3" });
    const line = out.lines()[0]!;
    expect(line).toMatch(/^\d{4}-\d\d-\d\dT\S+Z INFO  \[driver\] relay mode socket=\/run\/ptables\/felix.sock reason="felix closed fd 3"$/);
  });
});
