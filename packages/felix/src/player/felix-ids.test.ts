import { createHash } from "node:crypto";
import { felix } from "@ptables/proto";
import { RULE_FIELDS_IN_GO_ORDER, encodeRuleLikeGo, fillInRuleIds, makeUniqueId } from "./felix-ids";
import { Selector } from "./selector";

describe("IP set ids", () => {
  // Reference values computed independently with Python's hashlib + base64.urlsafe_b64encode.
  test.each([
    ["s", "all()", "s:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug"],
    ["s", 'app == "frontend"', "s:NgAztXgCjQllj3pd-bE8lGiQIfjv1kgSqFjDzg"],
    ["n", "x", "n:lTLTj7lh1aJKybz3E3Tjz5nQ-7HxNQJfjNEq6A"],
  ])("%s:%s", (prefix, content, id) => {
    expect(makeUniqueId(prefix, content)).toBe(id);
  });

  test("have 38 base64url characters without padding after the prefix", () => {
    const id = Selector.parse("app == 'x'").uniqueId();
    expect(id).toMatch(/^s:[A-Za-z0-9_-]{38}$/);
  });

  test("hash the canonical selector, so equivalent spellings share a set", () => {
    expect(Selector.parse("app=='frontend'").uniqueId()).toBe("s:NgAztXgCjQllj3pd-bE8lGiQIfjv1kgSqFjDzg");
    expect(Selector.parse("(app == \"frontend\")").uniqueId()).toBe("s:NgAztXgCjQllj3pd-bE8lGiQIfjv1kgSqFjDzg");
  });
});

describe("rule ids", () => {
  const rule = (action: string): felix.Rule => felix.Rule.fromPartial({ action });

  test("chain SHA-224 over the seed, the previous hash and the rule bytes", () => {
    const rules = [rule("allow"), rule("deny")];
    fillInRuleIds(rules, "pol-in-default/p");
    const h0 = createHash("sha224").update("pol-in-default/p").digest();
    const h1 = createHash("sha224").update(h0).update(Buffer.from([0x0a, 0x05, ...Buffer.from("allow")])).digest();
    const h2 = createHash("sha224").update(h1).update(Buffer.from([0x0a, 0x04, ...Buffer.from("deny")])).digest();
    expect(rules.map((r) => r.ruleId)).toEqual([h1.toString("base64url").slice(0, 16), h2.toString("base64url").slice(0, 16)]);
  });

  test("depend on position and seed but not on a stale rule id", () => {
    const a = [rule("allow"), rule("allow")];
    fillInRuleIds(a, "prof-in-kns.demo");
    expect(a[0].ruleId).not.toBe(a[1].ruleId);
    const b = [felix.Rule.fromPartial({ action: "allow", ruleId: "stale" })];
    fillInRuleIds(b, "prof-in-kns.demo");
    expect(b[0].ruleId).toBe(a[0].ruleId);
    const c = [rule("allow")];
    fillInRuleIds(c, "prof-out-kns.demo");
    expect(c[0].ruleId).not.toBe(a[0].ruleId);
  });

  test("hash fields in Go's order: plain fields by number, then the icmp oneofs", () => {
    const r = felix.Rule.fromPartial({
      action: "allow",
      protocol: { numberOrName: { $case: "name", value: "icmp" } },
      srcIpSetIds: ["s:a"],
      icmp: { $case: "icmpType", value: 0 },
      ruleId: "",
    });
    const bytes = encodeRuleLikeGo(r);
    // action(1), protocol(3), src_ip_set_ids(10), then icmp_type(8) last although 8 < 10.
    expect([...bytes]).toEqual([0x0a, 5, ...Buffer.from("allow"), 0x1a, 6, 0x12, 4, ...Buffer.from("icmp"), 0x52, 3, ...Buffer.from("s:a"), 0x40, 0]);
    // Nothing is lost: the same fields as the generated encoder, just reordered.
    expect(felix.Rule.decode(bytes)).toEqual(r);
  });

  test("the Go field list covers every Rule field exactly once", () => {
    const all = [...Object.keys(felix.Rule.create()), "icmp", "notIcmp"].sort();
    expect([...RULE_FIELDS_IN_GO_ORDER].sort()).toEqual([...new Set(all)].sort());
  });
});
