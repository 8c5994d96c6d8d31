import { Alert, App, Button, Card, Form, Input, Modal, Select, Space, Table, Tag, Typography } from "antd";
import { useState } from "react";
import { unwrap } from "../api/client";
import type { components } from "../api/schema";
import { errorText, Loadable, useLoad } from "../components/Async";
import { formatTime } from "../lib/format";
import { useI18n } from "../i18n";
import { usePortal } from "./context";
import { usePortalText } from "./i18n";
import type { PortalKey } from "./messages";

type Order = components["schemas"]["PortalWorkOrder"];
type Action = Order["actions"][number];
type Status = Order["status"];
const STATUSES: Status[] = ["booking", "booked", "fulfilling", "fulfilled", "cancelled"];
// Actions that need input first; the others run at once.
const ASKS: Partial<Record<Action, { name: string; label: PortalKey; kind: "text" | "time" }[]>> = {
  decline: [{ name: "reason", label: "portal.form.reason", kind: "text" }],
  raise_exception: [{ name: "reason", label: "portal.form.reason", kind: "text" }],
  confirm_time: [{ name: "appointment_time", label: "portal.form.time", kind: "time" }],
  check_in: [{ name: "code", label: "portal.form.code", kind: "text" }],
  ship: [
    { name: "carrier", label: "portal.form.carrier", kind: "text" },
    { name: "tracking_number", label: "portal.form.tracking", kind: "text" },
  ],
  track: [{ name: "status", label: "portal.form.note", kind: "text" }],
};

/** The provider's work orders with the actions each allows now; another provider's id is refused. */
export default function WorkOrders() {
  const { client } = usePortal();
  const tp = usePortalText();
  const { lang } = useI18n();
  const { message } = App.useApp();
  const [status, setStatus] = useState<Status | undefined>();
  const [asking, setAsking] = useState<{ order: Order; action: Action } | null>(null);
  const [lookup, setLookup] = useState<{ order?: Order; error?: string } | null>(null);
  const list = useLoad(
    () => unwrap(client.GET("/portal/work-orders", { params: { query: { status, limit: 50 } } })),
    [status],
  );

  async function run(order: Order, action: Action, body: Record<string, unknown> = {}): Promise<void> {
    const path = { appointmentId: order.appointment_id };
    const calls: Record<Action, () => Promise<unknown>> = {
      accept: () => unwrap(client.POST("/portal/work-orders/{appointmentId}/accept", { params: { path } })),
      decline: () =>
        unwrap(client.POST("/portal/work-orders/{appointmentId}/decline", { params: { path }, body: body as never })),
      confirm_time: () =>
        unwrap(client.POST("/portal/work-orders/{appointmentId}/confirm-time", { params: { path }, body: body as never })),
      check_in: () =>
        unwrap(client.POST("/portal/work-orders/{appointmentId}/check-in", { params: { path }, body: body as never })),
      ship: () =>
        unwrap(client.POST("/portal/work-orders/{appointmentId}/ship", { params: { path }, body: body as never })),
      track: () =>
        unwrap(client.POST("/portal/work-orders/{appointmentId}/ship", { params: { path }, body: body as never })),
      deliver: () =>
        unwrap(client.POST("/portal/work-orders/{appointmentId}/deliver", { params: { path }, body: {} as never })),
      raise_exception: () =>
        unwrap(
          client.POST("/portal/work-orders/{appointmentId}/exception", {
            params: { path, header: { "Idempotency-Key": crypto.randomUUID() } },
            body: body as never,
          }),
        ),
    };
    try {
      await calls[action]();
      message.success(tp("portal.wo.done", { action: tp(`portal.action.${action}` as PortalKey) }));
      setAsking(null);
      setLookup(null);
      list.reload();
    } catch (e) {
      message.error(errorText(e));
    }
  }

  function click(order: Order, action: Action) {
    if (ASKS[action]) setAsking({ order, action });
    else void run(order, action);
  }

  const buttons = (o: Order) => (
    <Space wrap>
      {o.actions.map((a) => (
        <Button key={a} size="small" type={a === "accept" ? "primary" : "default"} onClick={() => click(o, a)}>
          {tp(`portal.action.${a}` as PortalKey)}
        </Button>
      ))}
    </Space>
  );

  return (
    <Space orientation="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={1} style={{ fontSize: 22 }}>
        {tp("portal.nav.workOrders")}
      </Typography.Title>
      <Card title={tp("portal.wo.lookup")}>
        <Form
          layout="inline"
          onFinish={async (v: { id: string }) => {
            const id = v.id.trim();
            const { data, response } = await client.GET("/portal/work-orders/{appointmentId}", {
              params: { path: { appointmentId: id } },
            });
            setLookup(response.ok && data ? { order: data } : { error: tp("portal.wo.notYours", { id }) });
          }}
        >
          <Form.Item name="id" label={tp("portal.wo.id")} rules={[{ required: true, whitespace: true }]}>
            <Input style={{ width: 280 }} />
          </Form.Item>
          <Button htmlType="submit">{tp("portal.wo.lookupButton")}</Button>
        </Form>
        {lookup?.error ? <Alert type="error" showIcon title={lookup.error} style={{ marginTop: 12 }} /> : null}
        {lookup?.order ? (
          <Space style={{ marginTop: 12 }}>
            <Typography.Text code>{lookup.order.appointment_id}</Typography.Text>
            <Tag>{tp(`portal.status.${lookup.order.status}` as PortalKey)}</Tag>
            {buttons(lookup.order)}
          </Space>
        ) : null}
      </Card>
      <Card
        title={tp("portal.nav.workOrders")}
        extra={
          <Select<Status | undefined>
            aria-label={tp("portal.wo.status")}
            allowClear
            placeholder={tp("portal.wo.allStatuses")}
            style={{ width: 160 }}
            value={status}
            onChange={setStatus}
            options={STATUSES.map((s) => ({ value: s, label: tp(`portal.status.${s}` as PortalKey) }))}
          />
        }
      >
        <Loadable state={list} empty={(d) => d.items.length === 0}>
          {(d) => (
            <Table<Order>
              rowKey="appointment_id"
              dataSource={d.items}
              pagination={false}
              columns={[
                { title: tp("portal.wo.id"), dataIndex: "appointment_id", render: (v: string) => <code>{v}</code> },
                {
                  title: tp("portal.wo.status"),
                  dataIndex: "status",
                  render: (v: Status) => <Tag>{tp(`portal.status.${v}` as PortalKey)}</Tag>,
                },
                { title: tp("portal.wo.service"), render: (_, o) => o.benefit_name || o.service_type },
                { title: tp("portal.wo.mode"), dataIndex: "mode", render: (v: string) => tp(`portal.mode.${v}` as PortalKey) },
                { title: tp("portal.wo.pet"), render: (_, o) => o.pet.name },
                {
                  title: tp("portal.wo.time"),
                  render: (_, o) => formatTime(o.appointment_time ?? o.preferred_time ?? null, lang),
                },
                { title: tp("portal.wo.actions"), render: (_, o) => buttons(o) },
              ]}
            />
          )}
        </Loadable>
      </Card>
      {asking ? (
        <AskModal
          action={asking.action}
          onCancel={() => setAsking(null)}
          onSubmit={(body) => run(asking.order, asking.action, body)}
        />
      ) : null}
    </Space>
  );
}

function AskModal({
  action,
  onCancel,
  onSubmit,
}: {
  action: Action;
  onCancel: () => void;
  onSubmit: (body: Record<string, unknown>) => Promise<void>;
}) {
  const tp = usePortalText();
  const { t } = useI18n();
  const [form] = Form.useForm<Record<string, unknown>>();
  const [busy, setBusy] = useState(false);
  const fields = ASKS[action] ?? [];
  return (
    <Modal
      open
      title={tp(`portal.action.${action}` as PortalKey)}
      okText={t("action.confirm")}
      cancelText={t("action.cancel")}
      confirmLoading={busy}
      destroyOnHidden
      onCancel={onCancel}
      onOk={async () => {
        const v = await form.validateFields().catch(() => null);
        if (!v) return;
        const body: Record<string, unknown> = {};
        for (const f of fields) {
          const raw = v[f.name];
          body[f.name] = f.kind === "time" ? new Date(String(raw)).toISOString() : String(raw).trim();
        }
        setBusy(true);
        try {
          await onSubmit(body);
        } finally {
          setBusy(false);
        }
      }}
    >
      <Form form={form} layout="vertical">
        {fields.map((f) => (
          <Form.Item key={f.name} name={f.name} label={tp(f.label)} rules={[{ required: true, whitespace: true }]}>
            {f.kind === "time" ? <Input type="datetime-local" /> : <Input />}
          </Form.Item>
        ))}
      </Form>
    </Modal>
  );
}
