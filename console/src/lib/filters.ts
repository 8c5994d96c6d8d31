// Query parameters from the console's filter forms: blanks dropped, text trimmed, booleans only when set.
import type { components } from "../api/schema";

export interface WorkOrderFilters {
  provider_id?: string;
  region?: string;
  service_type?: string;
  status?: string;
  overdue?: boolean;
  closed_on?: string;
}

export interface WorkOrderQuery {
  provider_id?: string;
  region?: string;
  service_type?: string;
  status?: string;
  overdue?: boolean;
  closed_on?: string;
  limit: number;
  cursor?: string;
}

const text = (v: string | undefined): string | undefined => {
  const s = v?.trim();
  return s ? s : undefined;
};

/** The GET /ops/work-orders query for what the filter form holds. */
export function workOrderQuery(f: WorkOrderFilters, limit = 50, cursor?: string): WorkOrderQuery {
  const q: WorkOrderQuery = { limit };
  const provider = text(f.provider_id);
  const region = text(f.region);
  const service = text(f.service_type);
  const closedOn = text(f.closed_on);
  if (provider) q.provider_id = provider;
  if (region) q.region = region;
  if (service) q.service_type = service;
  if (f.status) q.status = f.status;
  if (f.overdue) q.overdue = true;
  if (closedOn) q.closed_on = closedOn;
  if (cursor) q.cursor = cursor;
  return q;
}

export type PolicyLookupKind = "number" | "channel_order_id" | "insured_id";

export interface PolicyQuery {
  number?: string;
  channel_id?: string;
  channel_order_id?: string;
  insured_id?: string;
}

/** The GET /ops/policies query for a lookup; null when there is nothing to look up. A channel order id
 * belongs to a channel, so it needs the channel too. */
export function policyQuery(kind: PolicyLookupKind, value: string, channelId?: string): PolicyQuery | null {
  const v = value.trim();
  if (!v) return null;
  if (kind === "channel_order_id") {
    const ch = channelId?.trim();
    return ch ? { channel_id: ch, channel_order_id: v } : null;
  }
  return { [kind]: v };
}

type Create = components["schemas"]["ServiceRequestCreate"];

export interface RequestForm {
  policy_number: string;
  kind: "e_policy" | "invoice";
  email?: string;
  postal_address?: string;
  invoice_title?: string;
  note?: string;
}

/** The body of a new service request, or the message key of what is missing (the API checks the same). */
export function serviceRequestBody(f: RequestForm): Create | "sr.needEmail" | "sr.needAddress" {
  const email = text(f.email);
  const postal = text(f.postal_address);
  if (f.kind === "e_policy" && !email) return "sr.needEmail";
  if (!email && !postal) return "sr.needAddress";
  const body: Create = { policy_number: f.policy_number.trim(), kind: f.kind };
  if (email) body.email = email;
  if (postal) body.postal_address = postal;
  const title = text(f.invoice_title);
  if (f.kind === "invoice" && title) body.invoice_title = title;
  const note = text(f.note);
  if (note) body.note = note;
  return body;
}
