import { namespaceOwnerPid, topologyBaseName, validateIfname, validateMemberName, validatePrefix } from "./names";

describe("netns names", () => {
  test("a topology's namespaces carry prefix, pid and counter, and the pid parses back", () => {
    const base = topologyBaseName("e2e", 4242, 7);
    expect(base).toBe("e2e-4242-7");
    expect(namespaceOwnerPid("e2e", `${base}-node1`)).toBe(4242);
    // Another prefix, or a name that merely starts with ours, is not ours.
    expect(namespaceOwnerPid("e2e", "other-4242-7-node1")).toBeUndefined();
    expect(namespaceOwnerPid("e2e", "e2ex-4242-7-node1")).toBeUndefined();
    expect(namespaceOwnerPid("e2e", "e2e-node1")).toBeUndefined();
  });

  test("prefixes are short lowercase alphanumerics so names parse unambiguously", () => {
    expect(() => validatePrefix("selftest")).not.toThrow();
    expect(() => validatePrefix("a-b")).toThrow(/prefix/);
    expect(() => validatePrefix("1abc")).toThrow(/prefix/);
    expect(() => validatePrefix("abcdefghijk")).toThrow(/prefix/);
  });

  test("interface names respect IFNAMSIZ", () => {
    expect(() => validateIfname("cali0123456789a")).not.toThrow();
    expect(() => validateIfname("cali0123456789ab")).toThrow(/1-15/);
    expect(() => validateIfname("cali 1")).toThrow();
    expect(() => validateIfname("")).toThrow();
  });

  test("member names are safe inside namespace names", () => {
    expect(() => validateMemberName("pod", "web.1")).not.toThrow();
    expect(() => validateMemberName("pod", "../x")).toThrow(/pod name/);
    expect(() => validateMemberName("pod", "a/b")).toThrow(/pod name/);
  });
});
