import { ValidationError } from "@ptables/api";
import { ipSetMemberKeys, netSetMemberKeys } from "../index";
import { ipSet } from "../testing";

describe("set member keys", () => {
  test("NET and IP sets: proto 0, port 0, canonical prefixes of both families, no duplicates", () => {
    expect(ipSetMemberKeys(9, ipSet("s:a", "net", ["10.0.0.5/24", "10.0.0.0/24", "FD00:0:0::1/128", "0.0.0.0/0"]))).toEqual([
      { setId: 9, family: 4, proto: 0, port: 0, addr: "10.0.0.0", prefixLen: 24 },
      { setId: 9, family: 6, proto: 0, port: 0, addr: "fd00::1", prefixLen: 128 },
      { setId: 9, family: 4, proto: 0, port: 0, addr: "0.0.0.0", prefixLen: 0 },
    ]);
    expect(ipSetMemberKeys(3, ipSet("all-istio-weps", "ip", ["10.1.1.1/32"]))).toEqual([{ setId: 3, family: 4, proto: 0, port: 0, addr: "10.1.1.1", prefixLen: 32 }]);
  });

  test("IP_AND_PORT sets: full-length address, protocol number and port", () => {
    expect(ipSetMemberKeys(5, ipSet("n:a", "ip-port", ["10.0.0.1,tcp:8080", "fc00:fe11::1,udp:9091", "10.0.0.2/32,sctp:1", "10.0.0.1,TCP:8080"]))).toEqual([
      { setId: 5, family: 4, proto: 6, port: 8080, addr: "10.0.0.1", prefixLen: 32 },
      { setId: 5, family: 6, proto: 17, port: 9091, addr: "fc00:fe11::1", prefixLen: 128 },
      { setId: 5, family: 4, proto: 132, port: 1, addr: "10.0.0.2", prefixLen: 32 },
    ]);
  });

  test("a bad member is a ValidationError naming the set and the member", () => {
    const cases: Array<[ReturnType<typeof ipSet>, string]> = [
      [ipSet("s:x", "net", ["10.0.0.0/8", "10.0.0.256/32"]), 'ip set s:x member 1: "10.0.0.256/32" is not a CIDR'],
      [ipSet("n:x", "ip-port", ["10.0.0.1,tcp"]), 'ip set n:x member 0: "10.0.0.1,tcp" is not "<ip>,<proto>:<port>"'],
      [ipSet("n:x", "ip-port", ["10.0.0.0/24,tcp:80"]), 'ip set n:x member 0: "10.0.0.0/24,tcp:80" does not start with a single IP address'],
      [ipSet("n:x", "ip-port", ["10.0.0.1,gre:80"]), 'ip set n:x member 0: "10.0.0.1,gre:80" has unknown protocol "gre"'],
      [ipSet("n:x", "ip-port", ["10.0.0.1,udp:65536"]), 'ip set n:x member 0: "10.0.0.1,udp:65536" has invalid port "65536"'],
      [{ id: "s:t", type: 7 as never, members: [] }, "ip set s:t: unknown ip set type 7"],
    ];
    for (const [set, message] of cases) {
      let caught: unknown;
      try {
        ipSetMemberKeys(1, set);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ValidationError);
      expect((caught as Error).message).toBe(message);
    }
  });

  test("net set members", () => {
    expect(netSetMemberKeys(0x80000001, ["10.1.2.3/16", "::/0"])).toEqual([
      { setId: 0x80000001, family: 4, proto: 0, port: 0, addr: "10.1.0.0", prefixLen: 16 },
      { setId: 0x80000001, family: 6, proto: 0, port: 0, addr: "::", prefixLen: 0 },
    ]);
    expect(() => netSetMemberKeys(1, ["nope"])).toThrow(ValidationError);
  });
});
