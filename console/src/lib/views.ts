import type { Role } from "./auth";

// The console's views and the roles whose calls they make (as the API's handlers declare them).
export interface ViewDef {
  key: string;
  path: string;
  roles: Role[];
}

export const VIEWS: ViewDef[] = [
  { key: "overview", path: "/", roles: ["ops", "finance", "service", "underwriter", "sales"] },
  { key: "workOrders", path: "/work-orders", roles: ["ops", "service"] },
  { key: "dispatch", path: "/dispatch", roles: ["ops"] },
  { key: "partners", path: "/partners", roles: ["ops"] },
  { key: "catalogue", path: "/catalogue", roles: ["underwriter", "sales", "service", "finance"] },
  { key: "claims", path: "/claims", roles: ["underwriter", "service", "finance"] },
  { key: "finance", path: "/finance", roles: ["finance", "sales"] },
  { key: "money", path: "/money", roles: ["finance"] },
  { key: "audit", path: "/audit", roles: ["ops"] },
  { key: "policies", path: "/policies", roles: ["service", "finance", "underwriter", "ops"] },
  { key: "serviceRequests", path: "/service-requests", roles: ["service", "underwriter", "finance"] },
  { key: "sla", path: "/sla", roles: ["ops"] },
  { key: "risk", path: "/risk", roles: ["underwriter", "service", "ops"] },
  { key: "bookingReviews", path: "/booking-reviews", roles: ["underwriter", "service"] },
];

// Actions inside views, each with the roles its call needs.
export const ACTIONS = {
  publishRules: ["ops"],
  manualAssign: ["ops"],
  handleException: ["ops"],
  reviewPartner: ["ops"],
  partnerKeys: ["ops"],
  suspendPartner: ["ops"],
  assessClaim: ["underwriter"],
  approveClaim: ["underwriter"],
  rejectClaim: ["underwriter"],
  payClaim: ["finance"],
  channelKeys: ["sales"],
  webhookPause: ["ops", "service"],
  statement: ["finance"],
  lookupPolicy: ["service", "finance", "underwriter"],
  editProduct: ["underwriter"],
  editContracts: ["sales"],
  webhookLog: ["ops", "service"],
  recordServiceRequest: ["service"],
  sendEPolicy: ["underwriter"],
  recordInvoice: ["finance"],
  editSla: ["ops"],
  publishRiskRules: ["underwriter"],
  decideBooking: ["underwriter", "service"],
  riskDecisions: ["admin"],
} satisfies Record<string, Role[]>;

export type Action = keyof typeof ACTIONS;
