import { App, Button, Card, Descriptions, Form, Input, InputNumber, Space, Table, Tag, Typography } from "antd";
import { useState } from "react";
import { unwrap } from "../api/client";
import type { components } from "../api/schema";
import { errorText, Loadable, useLoad } from "../components/Async";
import { formatTime } from "../lib/format";
import { useI18n } from "../i18n";
import { usePortal } from "./context";
import { usePortalText } from "./i18n";

type Change = components["schemas"]["ChangeRequest"];

/** The partner's account, configuration and change requests; a change request goes to ops review. */
export default function Account() {
  const { client } = usePortal();
  const tp = usePortalText();
  const { lang } = useI18n();
  const { message } = App.useApp();
  const [busy, setBusy] = useState(false);
  const state = useLoad(() => unwrap(client.GET("/portal/account")), []);
  return (
    <Space orientation="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={1} style={{ fontSize: 22 }}>
        {tp("portal.nav.account")}
      </Typography.Title>
      <Loadable state={state}>
        {(d) => {
          const cfg = d.detail.config;
          return (
            <>
              <Card title={d.detail.account.name}>
                <Descriptions size="small" column={2} bordered>
                  <Descriptions.Item label="ID">{d.detail.account.id}</Descriptions.Item>
                  <Descriptions.Item label={tp("portal.acc.state")}>{cfg?.state ?? "—"}</Descriptions.Item>
                  <Descriptions.Item label={tp("portal.acc.version")}>{cfg?.version ?? "—"}</Descriptions.Item>
                  <Descriptions.Item label={tp("portal.acc.capacity")}>{cfg?.config.daily_capacity ?? "—"}</Descriptions.Item>
                </Descriptions>
              </Card>
              {cfg ? (
                <Card title={tp("portal.acc.newChange")}>
                  <Form
                    layout="inline"
                    initialValues={{ daily_capacity: cfg.config.daily_capacity ?? undefined }}
                    onFinish={async (v: { daily_capacity: number; reason: string }) => {
                      setBusy(true);
                      try {
                        await unwrap(
                          client.POST("/portal/changes", {
                            params: { header: { "Idempotency-Key": crypto.randomUUID() } },
                            body: { config: { ...cfg.config, daily_capacity: v.daily_capacity }, reason: v.reason.trim() },
                          }),
                        );
                        message.success(tp("portal.acc.submitted"));
                        state.reload();
                      } catch (e) {
                        message.error(errorText(e));
                      } finally {
                        setBusy(false);
                      }
                    }}
                  >
                    <Form.Item name="daily_capacity" label={tp("portal.acc.capacity")} rules={[{ required: true }]}>
                      <InputNumber min={1} max={100000} />
                    </Form.Item>
                    <Form.Item name="reason" label={tp("portal.form.reason")} rules={[{ required: true, whitespace: true }]}>
                      <Input style={{ width: 280 }} />
                    </Form.Item>
                    <Button htmlType="submit" type="primary" loading={busy}>
                      {tp("portal.acc.newChange")}
                    </Button>
                  </Form>
                </Card>
              ) : null}
              <Card title={tp("portal.acc.changes")}>
                <Table<Change>
                  rowKey="id"
                  pagination={false}
                  dataSource={d.changes}
                  columns={[
                    { title: "ID", dataIndex: "id" },
                    { title: tp("portal.wo.status"), dataIndex: "state", render: (v: string) => <Tag>{v}</Tag> },
                    { title: tp("portal.form.reason"), dataIndex: "reason" },
                    { title: "", dataIndex: "requested_at", render: (v: string) => formatTime(v, lang) },
                  ]}
                />
              </Card>
            </>
          );
        }}
      </Loadable>
    </Space>
  );
}
