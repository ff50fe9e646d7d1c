import { ProgramLatency } from "./program-latency";

describe("ProgramLatency", () => {
  let clock = 0;
  const latency = () => new ProgramLatency(() => clock);
  beforeEach(() => (clock = 0));

  test("measures from the first frame of a batch to the response that covers its version", () => {
    const l = latency();
    clock = 100;
    l.received();
    clock = 103;
    l.received(); // same batch: the stamp stays at the first frame
    l.sent(5n);
    clock = 110;
    l.received();
    l.sent(6n);
    clock = 350;
    expect(l.applied(4n)).toEqual([]);
    expect(l.applied(5n)).toEqual([0.25]);
    clock = 400;
    expect(l.applied(6n)).toEqual([0.29]);
    expect(l.pending).toBe(0);
  });

  test("one response can cover several versions", () => {
    const l = latency();
    l.received();
    l.sent(1n);
    clock = 10;
    l.received();
    l.sent(2n);
    clock = 1010;
    expect(l.applied(9n)).toEqual([1.01, 1]);
  });

  test("changes held back (programmer down) keep their stamp until something carries them", () => {
    const l = latency();
    l.received();
    clock = 5000;
    l.sent(7n); // the snapshot on reconnect
    clock = 5500;
    expect(l.applied(7n)).toEqual([5.5]);
  });

  test("nothing is measured for versions that carried no Felix change", () => {
    const l = latency();
    l.sent(1n);
    expect(l.applied(1n)).toEqual([]);
  });

  test("a programmer that never answers does not grow the backlog without bound", () => {
    const l = latency();
    for (let v = 1n; v <= 5000n; v++) {
      l.received();
      l.sent(v);
    }
    expect(l.pending).toBe(1024);
    clock = 2000;
    const waited = l.applied(5000n);
    expect(waited).toHaveLength(1024);
    expect(waited.every((s) => s === 2)).toBe(true);
  });
});
