import { Selector, SelectorSyntaxError, normaliseSelector } from "./selector";

const pod = { app: "web", tier: "frontend", "projectcalico.org/namespace": "demo", empty: "" };

describe("selector evaluation", () => {
  const cases: [string, boolean][] = [
    ["all()", true],
    ["", true],
    ["global()", true],
    ["has(app)", true],
    ["has(missing)", false],
    ["!has(missing)", true],
    ["has(empty)", true],
    ["app == 'web'", true],
    ['app == "db"', false],
    ["missing == 'x'", false],
    ["app != 'db'", true],
    ["missing != 'x'", true],
    ["app in {'db', 'web'}", true],
    ["app in {'db'}", false],
    ["missing in {'x'}", false],
    ["app not in {'db'}", true],
    ["app not in {'web'}", false],
    ["missing not in {'x'}", true],
    ["app == 'web' && tier == 'frontend'", true],
    ["app == 'web' && tier == 'backend'", false],
    ["app == 'db' || tier == 'frontend'", true],
    ["!(app == 'db' || tier == 'backend')", true],
    ["!!has(app)", true],
    ["(app == 'web' || app == 'db') && !has(missing)", true],
    ["app contains 'e'", true],
    ["app starts with 'w'", true],
    ["app ends with 'x'", false],
    ["projectcalico.org/namespace == 'demo'", true],
  ];
  test.each(cases)("%s -> %s", (text, expected) => {
    expect(Selector.parse(text).matches(pod)).toBe(expected);
  });

  test("a label inherited from the prototype chain is not a label", () => {
    expect(Selector.parse("has(toString)").matches({})).toBe(false);
  });
});

describe("canonical form (what IP set ids hash)", () => {
  const cases: [string, string][] = [
    ["", "all()"],
    ["all()", "all()"],
    ["app=='web'", 'app == "web"'],
    ["app == \"it's\"", `app == "it's"`],
    ["app == 'say \"hi\"'", `app == 'say "hi"'`],
    ["a == 'x' && b == 'y' && c == 'z'", '(a == "x" && b == "y" && c == "z")'],
    ["(a == 'x')", 'a == "x"'],
    ["(a == 'x') && b == 'y'", '(a == "x" && b == "y")'],
    ["(a == 'x' && b == 'y') && c == 'z'", '((a == "x" && b == "y") && c == "z")'],
    ["a == 'x' || b == 'y' && c == 'z'", '(a == "x" || (b == "y" && c == "z"))'],
    ["k in {'b', 'a', 'b'}", 'k in {"a", "b"}'],
    ["k not in {}", "k not in {}"],
    ["!!!has(a)", "!has(a)"],
    ["!(a == 'x')", '!a == "x"'],
    ["has( a )", "has(a)"],
    ["k starts with 'p'", 'k starts with "p"'],
    ["k  ends   with 'p'", 'k ends with "p"'],
  ];
  test.each(cases)("%j -> %j", (text, canonical) => {
    expect(normaliseSelector(text)).toBe(canonical);
  });

  test("the canonical form parses back to itself", () => {
    for (const [, canonical] of cases) expect(normaliseSelector(canonical)).toBe(canonical);
  });

  test("prefixing labels (pcns./pcsa.) leaves all() and global() alone", () => {
    expect(Selector.parse("all()").withLabelPrefix("pcns.").toString()).toBe("all()");
    expect(Selector.parse("team == 'a' && !has(x) || k in {'v'}").withLabelPrefix("pcns.").toString()).toBe(
      '((pcns.team == "a" && !has(pcns.x)) || pcns.k in {"v"})',
    );
  });
});

describe("syntax errors", () => {
  const bad = ["app ==", "app = 'x'", "app == x", "has(app", "has()", "(app == 'x'", "app == 'x')", "app in 'x'", "app in {'x'", "app", "app == 'x' &&", "app & b", "app == 'x", "all(", "app like 'x'", "=="];
  test.each(bad)("%j is rejected with a reason", (text) => {
    expect(() => Selector.parse(text)).toThrow(SelectorSyntaxError);
    try {
      Selector.parse(text);
    } catch (err) {
      expect((err as Error).message).toMatch(new RegExp(`^cannot parse selector ${JSON.stringify(text).replace(/[()[\]{}|*+?.\\^$]/g, "\\$&")}: .+`));
    }
  });
});
