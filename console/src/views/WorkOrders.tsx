import { Button, Card, Form, Input, Space, Table, Typography } from "antd";
import { Link, useNavigate } from "react-router-dom";
import { unwrap } from "../api/client";
import type { components } from "../api/schema";
import { Loadable, useLoad } from "../components/Async";
import { useApp } from "../context";
import { useI18n } from "../i18n";
import { formatTime } from "../lib/format";

type Entry = components["schemas"]["ManualQueueEntry"];

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
