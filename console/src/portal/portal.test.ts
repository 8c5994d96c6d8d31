import { describe, expect, it } from "vitest";
import { en, zh } from "./messages";
import { isPortalPath, loadPortalSession, readPortalToken } from "./session";

function token(claims: Record<string, unknown>): string {
  const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${b64({ alg: "HS256" })}.${b64(claims)}.sig`;
}

class MemoryStorage {
  items = new Map<string, string>();
  getItem(k: string) {
    return this.items.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.items.set(k, v);
  }
  removeItem(k: string) {
    this.items.delete(k);
  }
}

describe("portal texts", () => {
  it("has every key in both languages, none empty", () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(zh).sort());
    for (const [k, v] of Object.entries(zh)) expect(v.length, k).toBeGreaterThan(0);
    for (const [k, v] of Object.entries(en)) expect(v.length, k).toBeGreaterThan(0);
  });
});

describe("portal session", () => {
  it("reads the one provider or insurer group of a token", () => {
    expect(readPortalToken(token({ "cognito:groups": ["provider:clinic-a"], exp: 10 }))).toMatchObject({
      kind: "provider",
      partnerId: "clinic-a",
      exp: 10,
    });
    expect(readPortalToken(token({ "cognito:groups": ["insurer:ins-1"] }))?.kind).toBe("insurer");
    expect(readPortalToken(token({ "cognito:groups": ["admin"] }))).toBeNull();
    expect(readPortalToken(token({ "cognito:groups": ["provider:a", "provider:b"] }))).toBeNull();
    expect(readPortalToken("not-a-token")).toBeNull();
  });

  it("keeps a handed-over token for the tab and forgets an expired one", () => {
    const s = new MemoryStorage() as unknown as Storage;
    const live = token({ "cognito:groups": ["provider:clinic-a"], exp: 100 });
    expect(loadPortalSession(s, `#token=${live}`, 50)?.partnerId).toBe("clinic-a");
    expect(loadPortalSession(s, "", 60)?.partnerId).toBe("clinic-a");
    expect(loadPortalSession(s, "", 100)).toBeNull();
    expect(loadPortalSession(s, "", 60)).toBeNull();
  });

  it("knows the portal's paths and Cognito's return for it", () => {
    expect(isPortalPath("/v1/console/portal", "")).toBe(true);
    expect(isPortalPath("/v1/console/portal/work-orders", "")).toBe(true);
    expect(isPortalPath("/v1/console/portals", "")).toBe(false);
    expect(isPortalPath("/v1/console/", "#id_token=x&state=portal")).toBe(true);
    expect(isPortalPath("/v1/console/", "#id_token=x")).toBe(false);
  });
});
