import type { felix } from "@ptables/proto";
import { ProcessStatusReporter } from "./process-status";

describe("ProcessStatusReporter", () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  function setup() {
    let now = 0;
    const sent: felix.ProcessStatusUpdate[] = [];
    const r = new ProcessStatusReporter({
      send: (m) => sent.push(m.payload!.value as felix.ProcessStatusUpdate),
      firstDelayMs: 1000,
      nowMs: () => now,
      wallClock: () => new Date(Date.UTC(2026, 0, 1, 0, 0, 0, 750)),
    });
    return { r, sent, advance: (ms: number) => ((now += ms), jest.advanceTimersByTime(ms)) };
  }

  test("first report a second after ConfigUpdate, then every interval", () => {
    const t = setup();
    t.r.configure(30);
    t.advance(999);
    expect(t.sent).toHaveLength(0);
    t.advance(1);
    expect(t.sent).toEqual([{ isoTimestamp: "2026-01-01T00:00:00Z", uptime: 1 }]);
    t.advance(30_000);
    expect(t.sent.map((s) => s.uptime)).toEqual([1, 31]);
    t.r.stop();
    t.advance(60_000);
    expect(t.sent).toHaveLength(2);
  });

  test("an interval of 0 sends nothing", () => {
    const t = setup();
    t.r.configure(0);
    t.advance(120_000);
    expect(t.sent).toHaveLength(0);
  });

  test("a repeated ConfigUpdate with the same interval does not restart the schedule", () => {
    const t = setup();
    t.r.configure(10);
    t.advance(800);
    t.r.configure(10);
    t.advance(200);
    expect(t.sent).toHaveLength(1);
  });
});
