// Who is signed in: a bearer token (locally minted by `make token`, or the Cognito ID token on AWS),
// kept for the browser tab only. The server checks every call; the console only hides what a role
// cannot do.

export const ROLES = ["admin", "ops", "service", "underwriter", "finance", "sales"] as const;
export type Role = (typeof ROLES)[number];

export interface Session {
  token: string;
  sub: string;
  roles: Role[];
  exp: number | null;
}

const KEY = "petcover.console.token";

function b64urlDecode(part: string): string {
  const b64 = part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=");
  const bin = atob(b64);
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/** The claims of a JWT, unverified (the server verifies); null when it is not a JWT. */
export function readToken(token: string): Session | null {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(b64urlDecode(parts[1])) as Record<string, unknown>;
  } catch {
    return null;
  }
  const raw: unknown[] = [];
  if (Array.isArray(claims.roles)) raw.push(...claims.roles);
  if (typeof claims["custom:roles"] === "string") raw.push(...String(claims["custom:roles"]).split(","));
  if (Array.isArray(claims["cognito:groups"])) raw.push(...(claims["cognito:groups"] as unknown[]));
  const roles = ROLES.filter((r) => raw.includes(r));
  const sub = typeof claims.sub === "string" ? claims.sub : "";
  const exp = typeof claims.exp === "number" ? claims.exp : null;
  return { token, sub, roles, exp };
}

export function expired(s: Session, nowSeconds: number): boolean {
  return s.exp !== null && s.exp <= nowSeconds;
}

/** The role check the server makes: admin holds every role. */
export function allows(roles: readonly Role[], needed: readonly Role[]): boolean {
  return roles.includes("admin") || needed.some((r) => roles.includes(r));
}

/** A token handed over in the URL fragment (#token=… or Cognito's #id_token=…), if any. */
export function tokenFromFragment(hash: string): string | null {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  return params.get("token") ?? params.get("id_token");
}

export function loadSession(storage: Storage, hash: string, nowSeconds: number): Session | null {
  const handed = tokenFromFragment(hash);
  if (handed) storage.setItem(KEY, handed);
  const token = storage.getItem(KEY);
  if (!token) return null;
  const s = readToken(token);
  if (!s || expired(s, nowSeconds)) {
    storage.removeItem(KEY);
    return null;
  }
  return s;
}

export function signOut(storage: Storage): void {
  storage.removeItem(KEY);
}
