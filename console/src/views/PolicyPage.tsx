import { Card, Descriptions, Space, Table, Tabs, Tag, Typography } from "antd";
import { Link, useParams } from "react-router-dom";
import { unwrap } from "../api/client";
import type { components } from "../api/schema";
import { Loadable, useLoad } from "../components/Async";
import { useApp } from "../context";
import { useI18n } from "../i18n";
import { formatTime } from "../lib/format";
import { formatMoney } from "../lib/money";

type S = components["schemas"];

/** A policy's page: versions, quota balances, ledger, appointments, claims and webhooks. */
export default function PolicyPage() {
  const number = useParams().number!;
  const { client } = useApp();
  const { t, lang } = useI18n();
  const page = useLoad(
    () => unwrap(client.GET("/ops/policies/{number}/page", { params: { path: { number } } })),
    [number],
  );
  return (
    <Space orientation="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={1} style={{ fontSize: 22 }}>
        {t("pol.title", { number })}
      </Typography.Title>
      <Loadable state={page}>
        {(d) => {
          const p = d.policy;
          const cur = p.currency ?? "CNY";
          const money = (v: string | null | undefined) => formatMoney(v, cur, lang);
          return (
            <>
              <Card title={t("wo.summary")}>
                <Descriptions size="small" column={3}>
                  <Descriptions.Item label={t("pol.status")}>
                    <Tag>{p.status}</Tag>
                  </Descriptions.Item>
                  <Descriptions.Item label={t("pol.product")}>
                    {p.product_code} v{p.product_version} / {p.plan_code}
                  </Descriptions.Item>
                  <Descriptions.Item label={t("pol.channel")}>
                    {p.channel_id} / {p.channel_order_id}
                  </Descriptions.Item>
                  <Descriptions.Item label={t("pol.holder")}>{p.holder.name}</Descriptions.Item>
                  <Descriptions.Item label={t("pol.insured")}>
                    {p.insured.pet_name ?? "—"} ({p.insured.insured_id})
                  </Descriptions.Item>
                  <Descriptions.Item label={t("pol.term")}>
                    {p.start_date} – {p.end_date}
                  </Descriptions.Item>
                  <Descriptions.Item label={t("pol.premium")}>{money(p.premium)}</Descriptions.Item>
                  <Descriptions.Item label={t("pol.sumInsured")}>{money(p.sum_insured)}</Descriptions.Item>
                  <Descriptions.Item label={t("pol.remaining")}>{money(p.remaining_sum_insured)}</Descriptions.Item>
                  <Descriptions.Item label={t("pol.insurer")}>{p.insurer?.insurer_id ?? "—"}</Descriptions.Item>
                </Descriptions>
              </Card>
              <Tabs
                items={[
                  {
                    key: "quota",
                    label: t("pol.quota"),
                    children: (
                      <Table<S["BenefitBalance"]>
                        size="small"
                        rowKey="code"
                        pagination={false}
                        dataSource={p.benefits}
                        columns={[
                          { title: t("wo.benefit"), render: (_, b) => `${b.name} (${b.code})` },
                          { title: t("wo.serviceType"), dataIndex: "service_type" },
                          { title: t("pol.quotaTotal"), render: (_, b) => b.quota ?? "—" },
                          { title: t("pol.used"), render: (_, b) => b.used ?? 0 },
                          { title: t("pol.held"), render: (_, b) => b.held ?? 0 },
                          { title: t("pol.available"), render: (_, b) => b.available ?? "—" },
                          { title: t("pol.amountLimit"), render: (_, b) => money(b.amount_limit) },
                        ]}
                      />
                    ),
                  },
                  {
                    key: "versions",
                    label: t("pol.versions"),
                    children: (
                      <Table<S["PolicyVersion"]>
                        size="small"
                        rowKey="version"
                        pagination={false}
                        dataSource={d.versions}
                        columns={[
                          { title: t("pol.version"), dataIndex: "version" },
                          { title: t("pol.action"), dataIndex: "action" },
                          { title: t("pol.plan"), dataIndex: "plan_code" },
                          { title: t("pol.premium"), render: (_, v) => money(v.premium) },
                          { title: t("pol.premiumChange"), render: (_, v) => money(v.premium_change) },
                          { title: t("wo.reason"), render: (_, v) => v.reason ?? "—" },
                          { title: t("pol.at"), render: (_, v) => formatTime(v.at, lang) },
                        ]}
                      />
                    ),
                  },
                  {
                    key: "ledger",
                    label: t("pol.ledger"),
                    children: (
                      <Table<S["LedgerEntry"]>
                        size="small"
                        rowKey="id"
                        pagination={false}
                        dataSource={d.ledger}
                        columns={[
                          { title: t("pol.event"), dataIndex: "event" },
                          { title: t("pol.amount"), render: (_, e) => money(e.amount) },
                          { title: t("pol.commission"), render: (_, e) => money(e.commission) },
                          { title: t("pol.net"), render: (_, e) => money(e.net) },
                          { title: t("pol.status"), dataIndex: "status", render: (s: string) => <Tag>{s}</Tag> },
                          { title: t("pol.settleBy"), dataIndex: "settle_by" },
                          { title: t("pol.at"), render: (_, e) => formatTime(e.at, lang) },
                        ]}
                      />
                    ),
                  },
                  {
                    key: "appointments",
                    label: t("pol.appointments"),
                    children: (
                      <Table<S["Appointment"]>
                        size="small"
                        rowKey="appointment_id"
                        pagination={false}
                        dataSource={d.appointments}
                        columns={[
                          {
                            title: t("wo.id"),
                            dataIndex: "appointment_id",
                            render: (id: string) => <Link to={`/work-orders/${encodeURIComponent(id)}`}>{id}</Link>,
                          },
                          { title: t("wo.benefit"), render: (_, a) => a.benefit_name ?? a.benefit_code },
                          { title: t("wo.serviceType"), dataIndex: "service_type" },
                          { title: t("pol.status"), dataIndex: "status", render: (s: string) => <Tag>{s}</Tag> },
                          { title: t("wo.provider"), render: (_, a) => a.provider_id ?? "—" },
                          { title: t("wo.created"), render: (_, a) => formatTime(a.created_at, lang) },
                        ]}
                      />
                    ),
                  },
                  {
                    key: "claims",
                    label: t("nav.claims"),
                    children: (
                      <Table<S["Claim"]>
                        size="small"
                        rowKey="claim_number"
                        pagination={false}
                        dataSource={d.claims}
                        columns={[
                          {
                            title: t("pol.claim"),
                            dataIndex: "claim_number",
                            render: (n: string) => <Link to={`/claims/${encodeURIComponent(n)}`}>{n}</Link>,
                          },
                          { title: t("pol.status"), dataIndex: "status", render: (s: string) => <Tag>{s}</Tag> },
                          { title: t("pol.amount"), render: (_, c) => money(c.amount) },
                          { title: t("pol.approved"), render: (_, c) => money(c.approved_amount) },
                          { title: t("pol.paid"), render: (_, c) => money(c.paid_amount) },
                          { title: t("pol.at"), render: (_, c) => formatTime(c.submitted_at, lang) },
                        ]}
                      />
                    ),
                  },
                  {
                    key: "webhooks",
                    label: t("pol.webhooks"),
                    children: (
                      <Table<S["DeliveryLogEntry"]>
                        size="small"
                        rowKey={(e) => `${e.event_id}-${e.run ?? 0}-${e.attempt ?? 0}-${e.status}-${e.at}`}
                        pagination={false}
                        dataSource={d.webhooks.flatMap((w) => w.deliveries)}
                        columns={[
                          { title: t("cat.object"), render: (_, e) => `${e.object_type}/${e.object_id}` },
                          { title: t("cat.event"), dataIndex: "event_type" },
                          { title: t("pol.status"), dataIndex: "status", render: (s: string) => <Tag>{s}</Tag> },
                          { title: t("cat.attempts"), render: (_, e) => e.attempt ?? "—" },
                          { title: t("chx.httpStatus"), render: (_, e) => e.status_code ?? "—" },
                          { title: t("pol.at"), render: (_, e) => formatTime(e.at, lang) },
                        ]}
                      />
                    ),
                  },
                ]}
              />
            </>
          );
        }}
      </Loadable>
    </Space>
  );
}
