import { App, Button, Card, Form, Input, Radio, Select, Space, Table, Tag, Typography } from "antd";
import { useState } from "react";
import { Link, useNavigate } from "react-router-dom";
import { idemKey, unwrap } from "../api/client";
import type { components } from "../api/schema";
import { errorText, Loadable, useLoad } from "../components/Async";
import { useApp, useCan } from "../context";
import { useI18n } from "../i18n";
import { serviceRequestBody, type RequestForm } from "../lib/filters";
import { formatTime } from "../lib/format";

type Request = components["schemas"]["ServiceRequest"];
type Status = Request["status"];
type Queue = Request["queue"];

/** Service requests: customers ask for an e-policy or an invoice; staff record, route and track them. */
export default function ServiceRequests() {
  const { t } = useI18n();
  const can = useCan();
  const [status, setStatus] = useState<Status>("open");
  // The list is read per queue (an index): finance's own by default for finance staff.
  const [queue, setQueue] = useState<Queue>(can("recordInvoice") && !can("sendEPolicy") ? "finance" : "underwriting");
  const [tick, setTick] = useState(0);
  return (
    <Space orientation="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={1} style={{ fontSize: 22 }}>
        {t("nav.serviceRequests")}
      </Typography.Title>
      {can("recordServiceRequest") ? <Record onRecorded={() => setTick((n) => n + 1)} /> : null}
      <Card
        title={t("sr.list")}
        extra={
          <Space wrap>
            <Radio.Group
              aria-label={t("sr.status")}
              optionType="button"
              value={status}
              onChange={(e) => setStatus(e.target.value as Status)}
              options={(["open", "generated", "sent"] as const).map((s) => ({ value: s, label: t(`sr.status.${s}`) }))}
            />
            <Select<Queue>
              aria-label={t("sr.queue")}
              style={{ width: 140 }}
              value={queue}
              onChange={setQueue}
              options={[
                { value: "underwriting", label: t("sr.queue.underwriting") },
                { value: "finance", label: t("sr.queue.finance") },
              ]}
            />
          </Space>
        }
      >
        <List status={status} queue={queue} tick={tick} />
      </Card>
    </Space>
  );
}

function List({ status, queue, tick }: { status: Status; queue: Queue; tick: number }) {
  const { client } = useApp();
  const { t, lang } = useI18n();
  const list = useLoad(
    () =>
      unwrap(
        client.GET("/ops/service-requests", {
          params: { query: { status, queue, limit: 100 } },
        }),
      ),
    [status, queue, tick],
  );
  return (
    <Loadable state={list} empty={(d) => d.items.length === 0}>
      {(d) => (
        <Table<Request>
          rowKey="request_id"
          dataSource={d.items}
          pagination={false}
          columns={[
            {
              title: t("sr.id"),
              dataIndex: "request_id",
              render: (id: string) => <Link to={`/service-requests/${encodeURIComponent(id)}`}>{id}</Link>,
            },
            { title: t("sr.kind"), dataIndex: "kind", render: (k: string) => t(`sr.kind.${k}` as "sr.kind.e_policy") },
            {
              title: t("pol.number"),
              dataIndex: "policy_number",
              render: (n: string) => <Link to={`/policies/${encodeURIComponent(n)}`}>{n}</Link>,
            },
            { title: t("sr.queue"), dataIndex: "queue", render: (q: string) => t(`sr.queue.${q}` as "sr.queue.finance") },
            { title: t("sr.status"), dataIndex: "status", render: (s: string) => <Tag>{t(`sr.status.${s}` as "sr.status.open")}</Tag> },
            { title: t("sr.sendTo"), render: (_, r) => r.email ?? r.postal_address ?? "—" },
            { title: t("wo.created"), dataIndex: "created_at", render: (s: string) => formatTime(s, lang) },
          ]}
        />
      )}
    </Loadable>
  );
}

function Record({ onRecorded }: { onRecorded: () => void }) {
  const { client } = useApp();
  const { t } = useI18n();
  const { message } = App.useApp();
  const nav = useNavigate();
  const [form] = Form.useForm<RequestForm>();
  const kind = Form.useWatch("kind", form) ?? "e_policy";
  const [busy, setBusy] = useState(false);
  const submit = async (v: RequestForm) => {
    const body = serviceRequestBody(v);
    if (typeof body === "string") {
      message.error(t(body));
      return;
    }
    setBusy(true);
    try {
      const made = await unwrap(
        client.POST("/ops/service-requests", { params: { header: { "Idempotency-Key": idemKey() } }, body }),
      );
      message.success(t("sr.recorded", { id: made.request_id }));
      form.resetFields();
      onRecorded();
      nav(`/service-requests/${encodeURIComponent(made.request_id)}`);
    } catch (e) {
      message.error(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title={t("sr.record")}>
      <Form<RequestForm>
        form={form}
        layout="vertical"
        initialValues={{ kind: "e_policy" }}
        onFinish={submit}
        style={{ maxWidth: 560 }}
      >
        <Form.Item name="policy_number" label={t("pol.number")} rules={[{ required: true, whitespace: true }]}>
          <Input />
        </Form.Item>
        <Form.Item name="kind" label={t("sr.kind")}>
          <Radio.Group
            options={[
              { value: "e_policy", label: t("sr.kind.e_policy") },
              { value: "invoice", label: t("sr.kind.invoice") },
            ]}
          />
        </Form.Item>
        <Form.Item
          name="email"
          label={t("sr.email")}
          rules={[{ type: "email" }, { required: kind === "e_policy", whitespace: true }]}
        >
          <Input type="email" autoComplete="off" />
        </Form.Item>
        <Form.Item name="postal_address" label={t("sr.postal")}>
          <Input.TextArea rows={2} />
        </Form.Item>
        {kind === "invoice" ? (
          <Form.Item name="invoice_title" label={t("sr.invoiceTitle")}>
            <Input />
          </Form.Item>
        ) : null}
        <Form.Item name="note" label={t("sr.note")}>
          <Input.TextArea rows={2} />
        </Form.Item>
        <Button type="primary" htmlType="submit" loading={busy}>
          {t("sr.submit")}
        </Button>
      </Form>
    </Card>
  );
}
