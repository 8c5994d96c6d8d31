import { createContext, useContext } from "react";
import type { Client } from "./api/client";
import type { Role, Session } from "./lib/auth";
import { ACTIONS, type Action } from "./lib/views";
import { allows } from "./lib/auth";

export interface AppCtx {
  client: Client;
  apiBase: string;
  session: Session;
}

export const Ctx = createContext<AppCtx | null>(null);

export function useApp(): AppCtx {
  const v = useContext(Ctx);
  if (!v) throw new Error("useApp outside the signed-in shell");
  return v;
}

/** Whether the signed-in staff member's roles allow an action (the server checks again). */
export function useCan(): (action: Action) => boolean {
  const { session } = useApp();
  return (action: Action) => allows(session.roles, ACTIONS[action] as Role[]);
}
