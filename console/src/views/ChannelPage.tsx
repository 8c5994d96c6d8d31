import { Alert, App, Button, Card, Checkbox, DatePicker, Descriptions, Form, Input, InputNumber, Modal, Space, Table, Tag, Typography } from "antd";
import { useState } from "react";
import { useParams } from "react-router-dom";
import { idemKey, unwrap } from "../api/client";
import type { components } from "../api/schema";
import { errorText, Loadable, useLoad } from "../components/Async";
import { ReasonModal } from "../components/ReasonModal";
import { Tone } from "../components/Tone";
import { useApp, useCan } from "../context";
import { useI18n } from "../i18n";
import { formatTime } from "../lib/format";

type S = components["schemas"];
type Contract = S["Contract"];
type Key = S["KeyInfo"];
type Endpoint = S["EndpointStatus"];
type Delivery = S["DeliveryLogEntry"];

const PERMISSIONS = ["quote", "underwrite", "query", "endorse", "renew", "cancel", "claim", "book"] as const;
type Permission = (typeof PERMISSIONS)[number];

interface TermsForm {
  product_code: string;
  permissions: Permission[];
  commission_pct: number;
  premium_multiplier: number;
  effective_from: { format: (f: string) => string };
  effective_to?: { format: (f: string) => string } | null;
}

/** A channel: its contracts (sales), keys (sales), webhook state with pause/resume and a delivery log (ops, service). */
export default function ChannelPage() {
  const id = useParams().id!;
  const { client } = useApp();
  const { t } = useI18n();
  const can = useCan();
  const path = { channelId: id };
  const channel = useLoad(() => unwrap(client.GET("/ops/channels/{channelId}", { params: { path } })), [id]);
  return (
    <Space orientation="vertical" size="large" style={{ width: "100%" }}>
      <Loadable state={channel}>
        {(c) => (
          <>
            <Typography.Title level={1} style={{ fontSize: 22 }}>
              {c.name}
            </Typography.Title>
            <Descriptions size="small" column={2}>
              <Descriptions.Item label="ID">{c.id}</Descriptions.Item>
              <Descriptions.Item label={t("cat.status")}>
                <Tag>{c.status}</Tag>
              </Descriptions.Item>
              <Descriptions.Item label={t("cat.callback")}>{c.callback_url}</Descriptions.Item>
              <Descriptions.Item label={t("cat.rateLimit")}>{c.rate_limit}</Descriptions.Item>
            </Descriptions>
            {can("webhookPause") && c.webhook ? <Webhook channelId={id} initial={c.webhook} /> : null}
          </>
        )}
      </Loadable>
      <Contracts channelId={id} />
      {can("channelKeys") ? <Keys channelId={id} /> : null}
      {can("webhookLog") ? <Deliveries /> : null}
    </Space>
  );
}

function Webhook({ channelId, initial }: { channelId: string; initial: Endpoint }) {
  const { client } = useApp();
  const { t, lang } = useI18n();
  const { message } = App.useApp();
  const [state, setState] = useState<Endpoint>(initial);
  const [pausing, setPausing] = useState(false);
  const path = { channelId };
  const resume = async () => {
    try {
      const s = await unwrap(client.POST("/ops/channels/{channelId}/webhook/resume", { params: { path } }));
      setState(s);
      message.success(t("chx.resumed", { n: s.requeued ?? 0 }));
    } catch (e) {
      message.error(errorText(e));
    }
  };
  const paused = state.state === "paused";
  return (
    <Card title={t("cat.webhook")}>
      <Space orientation="vertical">
        <span role="status" data-testid="webhook-state">
          {paused ? <Tone tone="bad">{t("chx.paused")}</Tone> : <Tone tone="good">{t("chx.active")}</Tone>}{" "}
          {t("cat.failures", { n: state.consecutive_failures })}
          {state.changed_at ? ` · ${formatTime(state.changed_at, lang)} ${state.changed_by ?? ""}` : ""}
          {state.reason ? ` · ${state.reason}` : ""}
        </span>
        <Space>
          {paused ? (
            <Button type="primary" onClick={resume}>
              {t("cat.resume")}
            </Button>
          ) : (
            <Button danger onClick={() => setPausing(true)}>
              {t("cat.pause")}
            </Button>
          )}
        </Space>
      </Space>
      <ReasonModal
        open={pausing}
        title={t("cat.pause")}
        label={t("audit.reason")}
        onCancel={() => setPausing(false)}
        onSubmit={async (reason) => {
          try {
            setState(
              await unwrap(client.POST("/ops/channels/{channelId}/webhook/pause", { params: { path }, body: { reason } })),
            );
            setPausing(false);
          } catch (e) {
            message.error(errorText(e));
          }
        }}
      />
    </Card>
  );
}

function Contracts({ channelId }: { channelId: string }) {
  const { client } = useApp();
  const { t } = useI18n();
  const can = useCan();
  const { message } = App.useApp();
  const path = { channelId };
  const contracts = useLoad(() => unwrap(client.GET("/ops/channels/{channelId}/contracts", { params: { path } })), [channelId]);
  const [editing, setEditing] = useState<Contract | "new" | null>(null);
  const [terminating, setTerminating] = useState<string | null>(null);
  const editable = can("editContracts");
  return (
    <Card
      title={t("cat.contracts")}
      extra={editable ? <Button onClick={() => setEditing("new")}>{t("chx.newContract")}</Button> : null}
    >
      <Loadable state={contracts} empty={(d) => d.items.length === 0}>
        {(d) => (
          <Table<Contract>
            size="small"
            rowKey="product_code"
            dataSource={d.items}
            pagination={false}
            columns={[
              { title: t("cat.product"), dataIndex: "product_code" },
              { title: t("cat.status"), dataIndex: "status", render: (s: string) => <Tag>{s}</Tag> },
              { title: t("cat.permissions"), render: (_, x) => x.permissions.join(", ") },
              { title: t("cat.commission"), dataIndex: "commission_pct" },
              { title: t("chx.multiplier"), dataIndex: "premium_multiplier" },
              { title: t("cat.from"), dataIndex: "effective_from" },
              { title: t("cat.to"), dataIndex: "effective_to", render: (s: string | null) => s ?? "—" },
              ...(editable
                ? [
                    {
                      title: t("chx.actions"),
                      render: (_: unknown, x: Contract) =>
                        x.status === "active" ? (
                          <Space>
                            <Button size="small" onClick={() => setEditing(x)}>
                              {t("chx.modify")}
                            </Button>
                            <Button size="small" danger onClick={() => setTerminating(x.product_code)}>
                              {t("chx.terminate")}
                            </Button>
                          </Space>
                        ) : null,
                    },
                  ]
                : []),
            ]}
          />
        )}
      </Loadable>
      {editing ? (
        <TermsModal
          channelId={channelId}
          contract={editing === "new" ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            contracts.reload();
          }}
        />
      ) : null}
      <ReasonModal
        open={terminating !== null}
        title={t("chx.terminateTitle", { product: terminating ?? "" })}
        label={t("audit.reason")}
        onCancel={() => setTerminating(null)}
        onSubmit={async (reason) => {
          try {
            await unwrap(
              client.POST("/ops/channels/{channelId}/contracts/{productCode}/terminate", {
                params: { path: { channelId, productCode: terminating! } },
                body: { reason },
              }),
            );
            setTerminating(null);
            contracts.reload();
          } catch (e) {
            message.error(errorText(e));
          }
        }}
      />
    </Card>
  );
}

function TermsModal({
  channelId,
  contract,
  onClose,
  onSaved,
}: {
  channelId: string;
  contract: Contract | null;
  onClose: () => void;
  onSaved: () => void;
}) {
  const { client } = useApp();
  const { t } = useI18n();
  const { message } = App.useApp();
  const [form] = Form.useForm<TermsForm>();
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    const v = await form.validateFields().catch(() => null);
    if (!v) return;
    const terms = {
      permissions: v.permissions,
      commission_pct: v.commission_pct,
      premium_multiplier: v.premium_multiplier,
      effective_from: v.effective_from.format("YYYY-MM-DD"),
      effective_to: v.effective_to ? v.effective_to.format("YYYY-MM-DD") : null,
    };
    setBusy(true);
    try {
      if (contract)
        await unwrap(
          client.PUT("/ops/channels/{channelId}/contracts/{productCode}", {
            params: { path: { channelId, productCode: contract.product_code } },
            body: terms,
          }),
        );
      else
        await unwrap(
          client.POST("/ops/channels/{channelId}/contracts", {
            params: { path: { channelId }, header: { "Idempotency-Key": idemKey() } },
            body: { ...terms, product_code: v.product_code.trim() },
          }),
        );
      message.success(t("state.done"));
      onSaved();
    } catch (e) {
      message.error(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal
      open
      title={contract ? t("chx.modifyTitle", { product: contract.product_code }) : t("chx.newContract")}
      okText={t("action.confirm")}
      cancelText={t("action.cancel")}
      confirmLoading={busy}
      onCancel={onClose}
      onOk={submit}
    >
      <Form<TermsForm>
        form={form}
        layout="vertical"
        initialValues={{
          product_code: contract?.product_code ?? "",
          permissions: (contract?.permissions as Permission[] | undefined) ?? ["quote", "underwrite", "query"],
          commission_pct: contract ? Number(contract.commission_pct) : 10,
          premium_multiplier: contract ? Number(contract.premium_multiplier) : 1,
        }}
      >
        <Form.Item name="product_code" label={t("cat.product")} rules={[{ required: true, whitespace: true }]}>
          <Input disabled={contract !== null} />
        </Form.Item>
        <Form.Item name="permissions" label={t("cat.permissions")} rules={[{ required: true }]}>
          <Checkbox.Group options={PERMISSIONS.map((p) => ({ value: p, label: p }))} />
        </Form.Item>
        <Form.Item name="commission_pct" label={t("cat.commission")} rules={[{ required: true }]}>
          <InputNumber min={0} max={100} step={0.5} />
        </Form.Item>
        <Form.Item name="premium_multiplier" label={t("chx.multiplier")} rules={[{ required: true }]}>
          <InputNumber min={0} max={10} step={0.05} />
        </Form.Item>
        <Form.Item name="effective_from" label={t("cat.from")} rules={[{ required: true }]}>
          <DatePicker />
        </Form.Item>
        <Form.Item name="effective_to" label={t("cat.to")}>
          <DatePicker />
        </Form.Item>
      </Form>
    </Modal>
  );
}

function Keys({ channelId }: { channelId: string }) {
  const { client } = useApp();
  const { t, lang } = useI18n();
  const { message } = App.useApp();
  const path = { channelId };
  const keys = useLoad(() => unwrap(client.GET("/ops/channels/{channelId}/keys", { params: { path } })), [channelId]);
  const [secret, setSecret] = useState<string | null>(null);
  const [revoking, setRevoking] = useState<string | null>(null);
  return (
    <Card
      title={t("partners.keys")}
      extra={
        <Button
          onClick={async () => {
            try {
              const k = await unwrap(client.POST("/ops/channels/{channelId}/keys", { params: { path } }));
              setSecret(`${k.key_id} ${k.secret}`);
              keys.reload();
            } catch (e) {
              message.error(errorText(e));
            }
          }}
        >
          {t("partners.issueKey")}
        </Button>
      }
    >
      {secret ? (
        <Alert
          type="warning"
          showIcon
          closable
          onClose={() => setSecret(null)}
          title={t("partners.secretOnce")}
          description={
            <Typography.Text copyable code>
              {secret}
            </Typography.Text>
          }
        />
      ) : null}
      <Loadable state={keys} empty={(k) => k.items.length === 0}>
        {(k) => (
          <Table<Key>
            size="small"
            rowKey="key_id"
            dataSource={k.items}
            pagination={false}
            columns={[
              { title: t("partners.keyId"), dataIndex: "key_id" },
              { title: t("partners.status"), dataIndex: "status", render: (s: string) => <Tag>{s}</Tag> },
              { title: t("partners.created"), dataIndex: "created_at", render: (s: string) => formatTime(s, lang) },
              {
                title: t("chx.actions"),
                render: (_, x) =>
                  x.status === "active" ? (
                    <Button size="small" danger onClick={() => setRevoking(x.key_id)}>
                      {t("partners.revoke")}
                    </Button>
                  ) : null,
              },
            ]}
          />
        )}
      </Loadable>
      <ReasonModal
        open={revoking !== null}
        title={t("partners.revoke")}
        label={t("audit.reason")}
        onCancel={() => setRevoking(null)}
        onSubmit={async (reason) => {
          try {
            await unwrap(
              client.DELETE("/ops/channels/{channelId}/keys/{keyId}", {
                params: { path: { channelId, keyId: revoking! }, query: { reason } },
              }),
            );
            setRevoking(null);
            keys.reload();
          } catch (e) {
            message.error(errorText(e));
          }
        }}
      />
    </Card>
  );
}

/** The delivery log of one object (a policy, a claim...), each event replayable. */
function Deliveries() {
  const { client } = useApp();
  const { t, lang } = useI18n();
  const { message } = App.useApp();
  const [target, setTarget] = useState<{ type: string; id: string } | null>(null);
  const log = useLoad(
    () =>
      target
        ? unwrap(
            client.GET("/ops/webhooks/{ref}/{objectId}/deliveries", {
              params: { path: { ref: target.type, objectId: target.id }, query: { limit: 100 } },
            }),
          )
        : Promise.resolve(null),
    [target?.type, target?.id],
  );
  const replay = async (eventId: string) => {
    try {
      await unwrap(client.POST("/ops/webhooks/{ref}/replay", { params: { path: { ref: eventId } } }));
      message.success(t("catx.replayed"));
      log.reload();
    } catch (e) {
      message.error(errorText(e));
    }
  };
  return (
    <Card title={t("chx.deliveries")}>
      <Form<{ type: string; id: string }>
        layout="inline"
        initialValues={{ type: "policy" }}
        style={{ marginBottom: 16 }}
        onFinish={(v) => setTarget({ type: v.type.trim(), id: v.id.trim() })}
      >
        <Form.Item name="type" label={t("chx.objectType")} rules={[{ required: true, pattern: /^[a-z][a-z0-9_]{0,31}$/ }]}>
          <Input style={{ width: 140 }} />
        </Form.Item>
        <Form.Item name="id" label={t("chx.objectId")} rules={[{ required: true, whitespace: true }]}>
          <Input style={{ width: 240 }} />
        </Form.Item>
        <Button htmlType="submit">{t("action.show")}</Button>
      </Form>
      {target ? (
        <Loadable state={log} empty={(d) => !d || d.items.length === 0}>
          {(d) => (
            <Table<Delivery>
              size="small"
              rowKey={(e) => `${e.event_id}-${e.run ?? 0}-${e.attempt ?? 0}-${e.status}-${e.at}`}
              dataSource={d?.items ?? []}
              pagination={false}
              columns={[
                { title: t("cat.event"), dataIndex: "event_type" },
                { title: t("pol.version"), dataIndex: "version" },
                { title: t("cat.status"), dataIndex: "status", render: (s: string) => <Tag>{s}</Tag> },
                { title: t("cat.attempts"), render: (_, e) => e.attempt ?? "—" },
                { title: t("chx.httpStatus"), render: (_, e) => e.status_code ?? "—" },
                { title: t("cat.lastError"), render: (_, e) => e.error ?? "—" },
                { title: t("pol.at"), dataIndex: "at", render: (s: string) => formatTime(s, lang) },
                {
                  title: t("catx.replay"),
                  render: (_, e) => (
                    <Button size="small" onClick={() => replay(e.event_id)}>
                      {t("catx.replay")}
                    </Button>
                  ),
                },
              ]}
            />
          )}
        </Loadable>
      ) : null}
    </Card>
  );
}
