import { Alert, Button, Card, Select, Space, Table, Tag, Typography } from "antd";
import { useEffect, useState } from "react";
import { unwrap } from "../api/client";
import type { components } from "../api/schema";
import { errorText, Loadable, useLoad } from "../components/Async";
import { useI18n } from "../i18n";
import { formatTime } from "../lib/format";
import { usePortal } from "./context";
import { usePortalText } from "./i18n";
import type { PortalKey } from "./messages";

type S = components["schemas"];
type View = "providers" | "products" | "claims";
type ClaimStatus = S["InsurerClaim"]["status"];
const CLAIM_STATUSES: ClaimStatus[] = ["submitted", "assessing", "approved", "rejected", "paid"];
const TITLES: Record<View, PortalKey> = {
  providers: "portal.nav.providers",
  products: "portal.nav.products",
  claims: "portal.nav.claims",
};

/** An insurer's staff: the providers bound to it, its products with this month's policies and
 * fulfilment, or the claims on the policies it underwrote. */
export default function Insurer({ view }: { view: View }) {
  const tp = usePortalText();
  return (
    <Space orientation="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={1} style={{ fontSize: 22 }}>
        {tp(TITLES[view])}
      </Typography.Title>
      {view === "providers" ? <Providers /> : view === "products" ? <Products /> : <Claims />}
    </Space>
  );
}

function Providers() {
  const { client } = usePortal();
  const tp = usePortalText();
  const state = useLoad(() => unwrap(client.GET("/portal/insurer/providers")), []);
  return (
    <Loadable state={state} empty={(d) => d.items.length === 0}>
      {(d) => (
        <Card title={d.month}>
          <Table<S["BoundProvider"]>
            rowKey={(r) => r.binding.provider_id}
            pagination={false}
            dataSource={d.items}
            columns={[
              { title: tp("portal.ins.provider"), render: (_, r) => r.name ?? r.binding.provider_id },
              { title: tp("portal.ins.grade"), render: (_, r) => r.grade ?? "—" },
              { title: tp("portal.ins.orders"), render: (_, r) => r.month?.orders ?? 0 },
              { title: tp("portal.as.breaches"), render: (_, r) => r.month?.breaches ?? 0 },
              { title: tp("portal.fb.complaints"), render: (_, r) => r.month?.complaints ?? 0 },
            ]}
          />
        </Card>
      )}
    </Loadable>
  );
}

function Products() {
  const { client } = usePortal();
  const tp = usePortalText();
  const state = useLoad(() => unwrap(client.GET("/portal/insurer/products")), []);
  return (
    <Loadable state={state} empty={(d) => d.items.length === 0}>
      {(d) => (
        <Card title={d.month}>
          <Table<S["InsurerProduct"]>
            rowKey="product_code"
            pagination={false}
            dataSource={d.items}
            columns={[
              { title: tp("portal.ins.product"), render: (_, r) => `${r.name ?? ""} (${r.product_code})` },
              { title: tp("portal.ins.weight"), dataIndex: "weight" },
              { title: tp("portal.ins.routed"), dataIndex: "policies_routed" },
              { title: tp("portal.ins.bookings"), dataIndex: "bookings" },
              { title: tp("portal.ins.fulfilled"), dataIndex: "fulfilled" },
            ]}
          />
        </Card>
      )}
    </Loadable>
  );
}

/** The claims on the insurer's policies, newest first, by status and product, page by page. */
function Claims() {
  const { client } = usePortal();
  const tp = usePortalText();
  const { lang } = useI18n();
  const [status, setStatus] = useState<ClaimStatus | undefined>();
  const [product, setProduct] = useState<string | undefined>();
  const [more, setMore] = useState<{ items: S["InsurerClaim"][]; cursor?: string | null; error?: string }>({
    items: [],
  });
  const products = useLoad(() => unwrap(client.GET("/portal/insurer/products")), []);
  const first = useLoad(
    () =>
      unwrap(client.GET("/portal/insurer/claims", { params: { query: { status, product_code: product, limit: 50 } } })),
    [status, product],
  );
  useEffect(() => setMore({ items: [] }), [first.data]);
  const cursor = more.cursor === undefined ? first.data?.cursor : more.cursor;

  async function loadMore(): Promise<void> {
    if (!cursor) return;
    try {
      const next = await unwrap(
        client.GET("/portal/insurer/claims", { params: { query: { status, product_code: product, limit: 50, cursor } } }),
      );
      setMore((m) => ({ items: [...m.items, ...next.items], cursor: next.cursor ?? null }));
    } catch (e) {
      setMore((m) => ({ ...m, error: errorText(e) }));
    }
  }

  const filters = (
    <Space wrap>
      <Select<ClaimStatus | undefined>
        aria-label={tp("portal.cl.status")}
        allowClear
        placeholder={tp("portal.cl.allStatuses")}
        style={{ width: 160 }}
        value={status}
        onChange={setStatus}
        options={CLAIM_STATUSES.map((s) => ({ value: s, label: tp(`portal.claim.${s}` as PortalKey) }))}
      />
      <Select<string | undefined>
        aria-label={tp("portal.ins.product")}
        allowClear
        placeholder={tp("portal.cl.allProducts")}
        style={{ width: 200 }}
        value={product}
        onChange={setProduct}
        options={(products.data?.items ?? []).map((p) => ({ value: p.product_code, label: p.name ?? p.product_code }))}
      />
    </Space>
  );
  return (
    <Card title={tp("portal.cl.scope")} extra={filters}>
      <Loadable state={first} empty={(d) => d.items.length === 0}>
        {(d) => (
          <Space orientation="vertical" style={{ width: "100%" }}>
            <Table<S["InsurerClaim"]>
              rowKey="claim_number"
              pagination={false}
              dataSource={[...d.items, ...more.items]}
              columns={[
                { title: tp("portal.cl.number"), dataIndex: "claim_number", render: (v: string) => <code>{v}</code> },
                { title: tp("portal.cl.policy"), dataIndex: "policy_number" },
                { title: tp("portal.ins.product"), dataIndex: "product_code" },
                { title: tp("portal.cl.benefit"), dataIndex: "benefit_code" },
                {
                  title: tp("portal.cl.status"),
                  dataIndex: "status",
                  render: (v: ClaimStatus) => <Tag>{tp(`portal.claim.${v}` as PortalKey)}</Tag>,
                },
                { title: tp("portal.cl.amount"), render: (_, c) => `${c.amount} ${c.currency}` },
                { title: tp("portal.cl.paid"), render: (_, c) => (c.paid_amount ? `${c.paid_amount} ${c.currency}` : "—") },
                { title: tp("portal.cl.incident"), dataIndex: "incident_date" },
                { title: tp("portal.cl.submitted"), render: (_, c) => formatTime(c.submitted_at, lang) },
              ]}
            />
            {more.error ? <Alert type="error" showIcon title={more.error} /> : null}
            {cursor ? <Button onClick={() => void loadMore()}>{tp("portal.wo.more")}</Button> : null}
          </Space>
        )}
      </Loadable>
    </Card>
  );
}
