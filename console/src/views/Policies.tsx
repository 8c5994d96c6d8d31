import { Button, Card, Form, Input, Select, Space, Table, Tag, Typography } from "antd";
import { useState } from "react";
import { Link } from "react-router-dom";
import { unwrap } from "../api/client";
import type { components } from "../api/schema";
import { Loadable, useLoad } from "../components/Async";
import { useApp, useCan } from "../context";
import { useI18n } from "../i18n";
import { policyQuery, type PolicyLookupKind, type PolicyQuery } from "../lib/filters";
import { formatMoney } from "../lib/money";

type Policy = components["schemas"]["Policy"];

interface LookupForm {
  kind: PolicyLookupKind;
  value: string;
  channel_id?: string;
}

/** Policies: look one up by its number, a channel's order id or the insured; open its page. */
export default function Policies() {
  const { t } = useI18n();
  const can = useCan();
  const [form] = Form.useForm<LookupForm>();
  const kind = Form.useWatch("kind", form) ?? "number";
  const [query, setQuery] = useState<PolicyQuery | null>(null);
  return (
    <Space orientation="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={1} style={{ fontSize: 22 }}>
        {t("nav.policies")}
      </Typography.Title>
      <Card title={t("pol.lookup")}>
        <Form<LookupForm>
          form={form}
          layout="inline"
          initialValues={{ kind: "number", value: "" }}
          onFinish={(v) => setQuery(policyQuery(v.kind, v.value, v.channel_id))}
        >
          <Form.Item name="kind" label={t("pol.by")}>
            <Select
              style={{ width: 180 }}
              options={[
                { value: "number", label: t("pol.byNumber") },
                { value: "channel_order_id", label: t("pol.byOrder") },
                { value: "insured_id", label: t("pol.byInsured") },
              ]}
            />
          </Form.Item>
          {kind === "channel_order_id" ? (
            <Form.Item name="channel_id" label={t("pol.channel")} rules={[{ required: true, whitespace: true }]}>
              <Input style={{ width: 160 }} />
            </Form.Item>
          ) : null}
          <Form.Item name="value" label={t("pol.value")} rules={[{ required: true, whitespace: true }]}>
            <Input style={{ width: 260 }} />
          </Form.Item>
          <Button htmlType="submit" type="primary" disabled={!can("lookupPolicy")}>
            {t("action.search")}
          </Button>
        </Form>
      </Card>
      {query ? <Results query={query} /> : null}
    </Space>
  );
}

function Results({ query }: { query: PolicyQuery }) {
  const { client } = useApp();
  const { t, lang } = useI18n();
  const list = useLoad(() => unwrap(client.GET("/ops/policies", { params: { query } })), [JSON.stringify(query)]);
  return (
    <Card title={t("pol.results")}>
      <Loadable state={list} empty={(d) => d.items.length === 0}>
        {(d) => (
          <Table<Policy>
            rowKey="number"
            dataSource={d.items}
            pagination={false}
            columns={[
              {
                title: t("pol.number"),
                dataIndex: "number",
                render: (n: string) => <Link to={`/policies/${encodeURIComponent(n)}`}>{n}</Link>,
              },
              { title: t("pol.status"), dataIndex: "status", render: (s: string) => <Tag>{s}</Tag> },
              { title: t("pol.product"), render: (_, p) => `${p.product_code} v${p.product_version} / ${p.plan_code}` },
              { title: t("pol.holder"), render: (_, p) => p.holder.name },
              { title: t("pol.insured"), render: (_, p) => p.insured.pet_name ?? p.insured.insured_id },
              { title: t("pol.channel"), render: (_, p) => `${p.channel_id} / ${p.channel_order_id}` },
              { title: t("pol.term"), render: (_, p) => `${p.start_date} – ${p.end_date}` },
              { title: t("pol.premium"), render: (_, p) => formatMoney(p.premium, p.currency ?? "CNY", lang) },
            ]}
          />
        )}
      </Loadable>
    </Card>
  );
}
