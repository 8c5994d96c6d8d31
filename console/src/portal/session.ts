// Who is signed in to the portal: an ID token whose one group names the provider or insurer
// ("provider:P1"), kept for the browser tab only. The server verifies it on every call.

export interface PortalSession {
  token: string;
  kind: "provider" | "insurer";
  partnerId: string;
  exp: number | null;
}

const KEY = "petcover.portal.token";
const GROUP = /^(provider|insurer):([A-Za-z0-9][A-Za-z0-9_.-]{0,63})$/;

function claimsOf(token: string): Record<string, unknown> | null {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(parts[1].length / 4) * 4, "=");
    const text = new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** The portal scope of a token (unverified: the server checks), or null when it has none. */
export function readPortalToken(token: string): PortalSession | null {
  const claims = claimsOf(token);
  const groups = Array.isArray(claims?.["cognito:groups"]) ? (claims["cognito:groups"] as unknown[]) : [];
  const scoped = groups.filter((g): g is string => typeof g === "string" && GROUP.test(g));
  if (scoped.length !== 1) return null;
  const m = GROUP.exec(scoped[0])!;
  const exp = typeof claims?.exp === "number" ? claims.exp : null;
  return { token, kind: m[1] as "provider" | "insurer", partnerId: m[2], exp };
}

export function loadPortalSession(storage: Storage, hash: string, nowSeconds: number): PortalSession | null {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const handed = params.get("token") ?? params.get("id_token");
  if (handed) storage.setItem(KEY, handed);
  const token = storage.getItem(KEY);
  if (!token) return null;
  const s = readPortalToken(token);
  if (!s || (s.exp !== null && s.exp <= nowSeconds)) {
    storage.removeItem(KEY);
    return null;
  }
  return s;
}

export function signOutPortal(storage: Storage): void {
  storage.removeItem(KEY);
}

/** Whether a page path is the portal's (…/console/portal or below), or Cognito came back for it. */
export function isPortalPath(pathname: string, hash: string): boolean {
  return /\/console\/portal(\/|$)/.test(pathname) || new URLSearchParams(hash.replace(/^#/, "")).get("state") === "portal";
}
