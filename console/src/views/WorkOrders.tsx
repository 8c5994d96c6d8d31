import { Button, Card, Checkbox, Form, Input, Select, Space, Table, Typography } from "antd";
import { useState } from "react";
import { Link, useNavigate } from "react-router-dom";
import { unwrap } from "../api/client";
import type { components } from "../api/schema";
import { Loadable, useLoad } from "../components/Async";
import { useApp } from "../context";
import { useI18n } from "../i18n";
import { workOrderQuery, type WorkOrderFilters } from "../lib/filters";
import { formatTime } from "../lib/format";
import { OPEN_NODES } from "../lib/sla";
import { Tone } from "../components/Tone";

type Entry = components["schemas"]["ManualQueueEntry"];
type Summary = components["schemas"]["WorkOrderSummary"];

/** Work orders: open one by its number; the manual-dispatch queue lists those waiting for staff. */
export default function WorkOrders() {
  const { client } = useApp();
  const { t, lang } = useI18n();
  const nav = useNavigate();
  const queue = useLoad(() => unwrap(client.GET("/ops/dispatch/manual-queue", { params: { query: { limit: 100 } } })), []);
  return (
    <Space orientation="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={1} style={{ fontSize: 22 }}>
        {t("nav.workOrders")}
      </Typography.Title>
      <Card title={t("wo.open")}>
        <Form layout="inline" onFinish={(v: { id: string }) => nav(`/work-orders/${encodeURIComponent(v.id.trim())}`)}>
          <Form.Item name="id" label={t("wo.id")} rules={[{ required: true, whitespace: true }]}>
            <Input style={{ width: 280 }} />
          </Form.Item>
          <Button htmlType="submit" type="primary">
            {t("action.open")}
          </Button>
        </Form>
      </Card>
      <Filtered />
      <Card title={t("wo.manualQueue")} extra={<Button onClick={queue.reload}>{t("action.refresh")}</Button>}>
        <Loadable state={queue} empty={(d) => d.items.length === 0}>
          {(d) => (
            <Table<Entry>
              rowKey="appointment_id"
              dataSource={d.items}
              pagination={false}
              columns={[
                {
                  title: t("wo.id"),
                  dataIndex: "appointment_id",
                  render: (id: string) => <Link to={`/work-orders/${id}`}>{id}</Link>,
                },
                { title: t("wo.region"), dataIndex: "region_code" },
                { title: t("wo.serviceType"), dataIndex: "service_type" },
                { title: t("wo.reason"), dataIndex: "reason" },
                { title: t("wo.since"), dataIndex: "since", render: (s: string) => formatTime(s, lang) },
              ]}
            />
          )}
        </Loadable>
      </Card>
    </Space>
  );
}

/** The work-order list, filtered by provider, region, service type, status and overdue (each read from an index). */
function Filtered() {
  const { client } = useApp();
  const { t, lang } = useI18n();
  const [filters, setFilters] = useState<WorkOrderFilters>({});
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const list = useLoad(
    () => unwrap(client.GET("/ops/work-orders", { params: { query: workOrderQuery(filters, 50, cursor) } })),
    [JSON.stringify(filters), cursor],
  );
  return (
    <Card title={t("wof.title")} extra={<Button onClick={list.reload}>{t("action.refresh")}</Button>}>
      <Form<WorkOrderFilters>
        layout="inline"
        style={{ marginBottom: 16, rowGap: 8 }}
        onFinish={(v) => {
          setFilters(v);
          setCursors([]);
        }}
      >
        <Form.Item name="provider_id" label={t("wo.provider")}>
          <Input style={{ width: 140 }} />
        </Form.Item>
        <Form.Item
          name="region"
          label={t("wo.region")}
          rules={[{ pattern: /^\d{2}(\d{2}){0,2}$/, message: t("wof.regionRule") }]}
        >
          <Input style={{ width: 110 }} placeholder="310000" />
        </Form.Item>
        <Form.Item name="service_type" label={t("wo.serviceType")}>
          <Input style={{ width: 130 }} />
        </Form.Item>
        <Form.Item name="status" label={t("wo.status")}>
          <Select
            allowClear
            style={{ width: 190 }}
            options={[
              ...OPEN_NODES.map((n) => ({ value: n, label: n })),
              { value: "closed", label: t("wof.closed") },
            ]}
          />
        </Form.Item>
        <Form.Item name="overdue" valuePropName="checked">
          <Checkbox>{t("wof.overdue")}</Checkbox>
        </Form.Item>
        <Button htmlType="submit" type="primary">
          {t("action.search")}
        </Button>
      </Form>
      <Loadable state={list} empty={(d) => d.items.length === 0}>
        {(d) => (
          <>
            <Table<Summary>
              rowKey="order_id"
              size="small"
              dataSource={d.items}
              pagination={false}
              columns={[
                {
                  title: t("wo.id"),
                  dataIndex: "order_id",
                  render: (id: string) => <Link to={`/work-orders/${encodeURIComponent(id)}`}>{id}</Link>,
                },
                { title: t("wo.provider"), dataIndex: "provider_id" },
                { title: t("wo.region"), dataIndex: "region" },
                { title: t("wo.serviceType"), dataIndex: "service_type" },
                { title: t("wo.currentNode"), dataIndex: "node" },
                { title: t("wof.entered"), dataIndex: "entered_at", render: (s: string) => formatTime(s, lang) },
                { title: t("wo.dueAt"), dataIndex: "due_at", render: (s: string | null) => formatTime(s, lang) },
                {
                  title: t("wo.status"),
                  render: (_, w) =>
                    !w.open ? (
                      t("wof.closed")
                    ) : w.overdue || w.breached ? (
                      <Tone tone="bad">{t("wo.overdue")}</Tone>
                    ) : (
                      <Tone tone="good">{t("wof.onTime")}</Tone>
                    ),
                },
              ]}
            />
            <Space style={{ marginTop: 12 }}>
              {cursors.length ? <Button onClick={() => setCursors((c) => c.slice(0, -1))}>{t("wof.prev")}</Button> : null}
              {d.cursor ? <Button onClick={() => setCursors((c) => [...c, d.cursor!])}>{t("wof.next")}</Button> : null}
            </Space>
          </>
        )}
      </Loadable>
    </Card>
  );
}
