import { createContext, useContext } from "react";
import type { Client } from "../api/client";
import type { PortalSession } from "./session";

export interface PortalCtxValue {
  client: Client;
  session: PortalSession;
}

export const PortalCtx = createContext<PortalCtxValue | null>(null);

export function usePortal(): PortalCtxValue {
  const v = useContext(PortalCtx);
  if (!v) throw new Error("usePortal outside the signed-in portal");
  return v;
}
