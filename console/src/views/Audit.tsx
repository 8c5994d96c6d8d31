import { Button, Card, Form, Input, Select, Space, Table, Typography } from "antd";
import { useState } from "react";
import { unwrap } from "../api/client";
import type { components } from "../api/schema";
import { Loadable, useLoad } from "../components/Async";
import { useApp } from "../context";
import { useI18n } from "../i18n";
import { allows } from "../lib/auth";
import { formatTime } from "../lib/format";

type Rec = components["schemas"]["AuditRecord"];
type By = "entity" | "actor" | "request" | "partner";
interface Query {
  by: By;
  entityType?: string;
  value: string;
}

export function AuditTable({ items }: { items: Rec[] }) {
  const { t, lang } = useI18n();
  return (
    <Table<Rec>
      size="small"
      rowKey="id"
      dataSource={items}
      pagination={{ pageSize: 20 }}
      columns={[
        { title: t("audit.at"), dataIndex: "at", render: (s: string) => formatTime(s, lang) },
        { title: t("audit.actor"), dataIndex: "actor" },
        { title: t("audit.action"), dataIndex: "action" },
        { title: t("audit.entity"), render: (_, r) => `${r.entity_type}/${r.entity_id}` },
        { title: t("audit.reason"), dataIndex: "reason" },
        { title: t("audit.request"), dataIndex: "request_id" },
      ]}
      expandable={{
        expandedRowRender: (r) => (
          <pre style={{ whiteSpace: "pre-wrap" }}>{JSON.stringify({ before: r.before, after: r.after }, null, 2)}</pre>
        ),
      }}
    />
  );
}

/** Audit search: by entity, actor (admin), request id or partner. */
export default function Audit() {
  const { client, session } = useApp();
  const { t } = useI18n();
  const [q, setQ] = useState<Query | null>(null);
  const [by, setBy] = useState<By>("entity");
  const result = useLoad(async () => {
    if (!q) return null;
    if (q.by === "entity")
      return unwrap(
        client.GET("/ops/audit/entities/{entityType}/{entityId}", {
          params: { path: { entityType: q.entityType ?? "partner", entityId: q.value } },
        }),
      );
    if (q.by === "actor")
      return unwrap(client.GET("/ops/audit/actors/{actor}", { params: { path: { actor: q.value } } }));
    const query = q.by === "request" ? { request_id: q.value } : { partner_id: q.value };
    return unwrap(client.GET("/ops/audit", { params: { query: { ...query, limit: 100 } } }));
  }, [q?.by, q?.entityType, q?.value]);
  const bys: By[] = allows(session.roles, ["admin"]) ? ["entity", "actor", "request", "partner"] : ["entity", "request", "partner"];
  return (
    <Space orientation="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={1} style={{ fontSize: 22 }}>
        {t("nav.audit")}
      </Typography.Title>
      <Card>
        <Form
          layout="inline"
          initialValues={{ by: "entity", entityType: "partner" }}
          onFinish={(v: Query) => setQ({ ...v, value: v.value.trim() })}
        >
          <Form.Item name="by" label={t("audit.by")}>
            <Select<By>
              style={{ width: 160 }}
              onChange={setBy}
              options={bys.map((b) => ({ value: b, label: t(`audit.by.${b}`) }))}
            />
          </Form.Item>
          {by === "entity" ? (
            <Form.Item name="entityType" label={t("audit.entityType")}>
              <Select
                style={{ width: 160 }}
                options={["partner", "channel", "contract", "product", "claim", "appointment", "work_order", "dispatch_rules", "webhook_endpoint", "sla_config"].map((v) => ({
                  value: v,
                  label: v,
                }))}
              />
            </Form.Item>
          ) : null}
          <Form.Item name="value" label={t("audit.value")} rules={[{ required: true, whitespace: true }]}>
            <Input style={{ width: 260 }} />
          </Form.Item>
          <Button type="primary" htmlType="submit">
            {t("action.search")}
          </Button>
        </Form>
      </Card>
      {q ? (
        <Card>
          <Loadable state={result} empty={(r) => !r || r.items.length === 0}>
            {(r) => <AuditTable items={r?.items ?? []} />}
          </Loadable>
        </Card>
      ) : null}
    </Space>
  );
}
