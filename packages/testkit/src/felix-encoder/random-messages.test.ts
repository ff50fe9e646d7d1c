import { felix } from "@ptables/proto";
import { encodeFelixMessage } from "./encode";
import { randomToDataplane, seededRandom } from "./random-messages";
import { loadFelixSchema } from "./schema";

describe("randomToDataplane", () => {
  test("the same seed gives the same messages", () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    for (let i = 0; i < 50; i++) expect(randomToDataplane(a)).toEqual(randomToDataplane(b));
  });

  test("reaches every payload kind, current and v3.32, and always encodes and decodes", () => {
    const schema = loadFelixSchema();
    const all = new Set([
      ...schema.messages.get("ToDataplane")!.fields.filter((f) => f.oneof === "payload").map((f) => f.name),
      ...schema.legacyPayloads.map((f) => f.name),
    ]);
    const seen = new Set<string>();
    const random = seededRandom(7);
    for (let i = 0; i < 3000; i++) {
      const msg = randomToDataplane(random);
      seen.add(Object.keys(msg)[0]);
      expect(felix.ToDataplane.decode(encodeFelixMessage("ToDataplane", msg)).payload).toBeDefined();
    }
    expect([...all].filter((name) => !seen.has(name))).toEqual([]);
  });
});
