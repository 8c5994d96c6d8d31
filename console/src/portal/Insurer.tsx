import { Card, Space, Table, Typography } from "antd";
import { unwrap } from "../api/client";
import type { components } from "../api/schema";
import { Loadable, useLoad } from "../components/Async";
import { usePortal } from "./context";
import { usePortalText } from "./i18n";

type S = components["schemas"];

/** An insurer's staff: the providers bound to it, or its products with this month's policies. */
export default function Insurer({ view }: { view: "providers" | "products" }) {
  const tp = usePortalText();
  return (
    <Space orientation="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={1} style={{ fontSize: 22 }}>
        {tp(view === "providers" ? "portal.nav.providers" : "portal.nav.products")}
      </Typography.Title>
      {view === "providers" ? <Providers /> : <Products />}
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
            ]}
          />
        </Card>
      )}
    </Loadable>
  );
}
