import { describe, expect, it } from "vitest";
import { clearCookie, setCookie } from "../../worker/auth/cookies";
import { safeRedirectPath } from "../../worker/auth/oauth/flow-state";
import { clientIp, isIp } from "../../worker/auth/client";
import { loadConfig } from "../../worker/config";

const base = { DATABASE_URL: "postgres://u:p@h:5432/d" };

describe("session cookie attributes", () => {
  it("in production: Domain, Secure, HttpOnly, SameSite=Lax, Path=/", () => {
    const { config } = loadConfig({
      ...base,
      SERVER_ENVIRONMENT: "production",
      AUTH_COOKIE_DOMAIN: "ecent.online",
      SERVER_PUBLIC_URL: "https://api.ecent.online",
    });
    expect(setCookie(config, "session", "v", 3600)).toBe("session=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=3600; Domain=ecent.online; Secure");
    expect(clearCookie(config, "session")).toBe("session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Domain=ecent.online; Secure");
  });

  it("drops Secure (and Domain) only for plain-http localhost in development", () => {
    const local = loadConfig({ ...base, SERVER_ENVIRONMENT: "development", SERVER_PUBLIC_URL: "http://localhost:8080", AUTH_COOKIE_DOMAIN: "localhost" }).config;
    expect(setCookie(local, "session", "v", 10)).toBe("session=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=10");
    const devHttps = loadConfig({ ...base, SERVER_ENVIRONMENT: "development", SERVER_PUBLIC_URL: "https://dev.example.com" }).config;
    expect(setCookie(devHttps, "session", "v", 10)).toContain("Secure");
    const stagingHttp = loadConfig({ ...base, SERVER_ENVIRONMENT: "staging", SERVER_PUBLIC_URL: "http://localhost:8080" }).config;
    expect(setCookie(stagingHttp, "session", "v", 10)).toContain("Secure");
  });
});

describe("post-login redirect", () => {
  it.each([
    ["/habits", "/habits"],
    ["/habits?x=1#top", "/habits?x=1#top"],
    ["/a/../b", "/b"],
    ["", "/today"],
    ["//evil.test", "/today"],
    ["/a/../..//evil.test", "/today"],
    ["/\\evil.test", "/today"],
    ["https://evil.test", "/today"],
    ["javascript:alert(1)", "/today"],
    ["/ok\r\nSet-Cookie: x", "/today"],
    ["/" + "a".repeat(600), "/today"],
  ])("%s → %s", (input, expected) => {
    expect(safeRedirectPath(input)).toBe(expected);
  });
});

describe("client address", () => {
  const req = (xff: string) => new Request("http://x/", { headers: { "X-Forwarded-For": xff } });
  it("takes the rightmost X-Forwarded-For entry (appended by our proxy)", () => {
    expect(clientIp(req("1.2.3.4, 10.0.0.7"), "x-forwarded-for")).toBe("10.0.0.7");
    expect(clientIp(req("garbage"), "x-forwarded-for")).toBeNull();
    // Behind a TLS load balancer and then our proxy: two hops, the client is second from the right.
    expect(clientIp(req("6.6.6.6, 1.2.3.4, 10.0.0.2"), "x-forwarded-for", 2)).toBe("1.2.3.4");
    expect(clientIp(req("10.0.0.2"), "x-forwarded-for", 2)).toBeNull();
    expect(clientIp(new Request("http://x/", { headers: { "CF-Connecting-IP": "2001:db8::1" } }), "cf-connecting-ip")).toBe("2001:db8::1");
  });
  it.each([["127.0.0.1", true], ["256.1.1.1", false], ["::1", true], ["2001:db8::ffff:1.2.3.4", true], [":::", false], ["1:2:3:4:5:6:7:8:9", false]])("isIp(%s) = %s", (v, ok) => {
    expect(isIp(v)).toBe(ok);
  });
});
