import { App, Button, Card, Descriptions, Drawer, Form, Input, Modal, Select, Space, Table, Tabs, Tag, Typography } from "antd";
import { useState } from "react";
import { Link } from "react-router-dom";
import { idemKey, unwrap } from "../api/client";
import type { components } from "../api/schema";
import { errorText, Loadable, useLoad } from "../components/Async";
import { ReasonModal } from "../components/ReasonModal";
import { useApp, useCan } from "../context";
import { useI18n } from "../i18n";
import { formatTime } from "../lib/format";
import { formatMoney } from "../lib/money";
import { blankSpec, parseSpec, specOf, type Spec } from "../lib/product";

type Head = components["schemas"]["ProductHead"];
type Channel = components["schemas"]["Channel"];
type Plan = components["schemas"]["Plan-Output"];
type Dead = components["schemas"]["DeadLetter"];
type Version = components["schemas"]["ProductVersion"];

/** Catalogue and channels: products with versions, plans and benefits; channels; webhook dead letters. */
export default function Catalogue() {
  const { t } = useI18n();
  const { session } = useApp();
  const webhooks = session.roles.some((r) => r === "admin" || r === "ops" || r === "service");
  return (
    <Space orientation="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={1} style={{ fontSize: 22 }}>
        {t("nav.catalogue")}
      </Typography.Title>
      <Tabs
        items={[
          { key: "products", label: t("cat.products"), children: <Products /> },
          { key: "channels", label: t("cat.channels"), children: <Channels /> },
          ...(webhooks ? [{ key: "dead", label: t("cat.deadLetters"), children: <DeadLetters /> }] : []),
        ]}
      />
    </Space>
  );
}

function Products() {
  const { client } = useApp();
  const { t } = useI18n();
  const can = useCan();
  const list = useLoad(() => unwrap(client.GET("/ops/products")), []);
  const [open, setOpen] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  return (
    <>
      {can("editProduct") ? (
        <Button type="primary" style={{ marginBottom: 16 }} onClick={() => setCreating(true)}>
          {t("catx.create")}
        </Button>
      ) : null}
      <CreateProduct
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={(code) => {
          setCreating(false);
          list.reload();
          setOpen(code);
        }}
      />
      <Loadable state={list} empty={(d) => d.items.length === 0}>
        {(d) => (
          <Table<Head>
            rowKey="code"
            dataSource={d.items}
            pagination={false}
            columns={[
              {
                title: t("cat.code"),
                dataIndex: "code",
                render: (c: string) => (
                  <Button type="link" onClick={() => setOpen(c)}>
                    {c}
                  </Button>
                ),
              },
              { title: t("cat.name"), dataIndex: "name" },
              { title: t("cat.kind"), dataIndex: "kind" },
              { title: t("cat.status"), dataIndex: "status", render: (s: string) => <Tag>{s}</Tag> },
              { title: t("cat.latest"), dataIndex: "latest_version" },
              { title: t("cat.published"), dataIndex: "published_version" },
            ]}
          />
        )}
      </Loadable>
      <Drawer open={open !== null} size="large" title={open} onClose={() => setOpen(null)} destroyOnHidden>
        {open ? <ProductDetail code={open} onChanged={list.reload} /> : null}
      </Drawer>
    </>
  );
}

function ProductDetail({ code, onChanged }: { code: string; onChanged: () => void }) {
  const { client } = useApp();
  const { t, lang } = useI18n();
  const can = useCan();
  const { message } = App.useApp();
  const [version, setVersion] = useState<number | null>(null);
  const [delist, setDelist] = useState(false);
  const [editing, setEditing] = useState<Version | null>(null);
  const p = useLoad(
    () =>
      unwrap(
        client.GET("/ops/products/{code}", { params: { path: { code }, query: version ? { version } : {} } }),
      ),
    [code, version],
  );
  const underwriter = can("editProduct"); // the underwriter role: products are theirs
  const publish = async (v: number) => {
    try {
      await unwrap(client.POST("/ops/products/{code}/publish", { params: { path: { code } }, body: { version: v } }));
      message.success(t("state.done"));
      p.reload();
      onChanged();
    } catch (e) {
      message.error(errorText(e));
    }
  };
  return (
    <Loadable state={p}>
      {(d) => (
        <Space orientation="vertical" style={{ width: "100%" }}>
          <Space wrap>
            {Array.from({ length: d.head.latest_version }, (_, i) => i + 1).map((v) => (
              <Button key={v} type={v === d.version.version ? "primary" : "default"} onClick={() => setVersion(v)}>
                v{v}
              </Button>
            ))}
          </Space>
          <Descriptions size="small" column={2}>
            <Descriptions.Item label={t("cat.name")}>{d.version.name}</Descriptions.Item>
            <Descriptions.Item label={t("cat.status")}>
              <Tag>{d.version.status}</Tag>
            </Descriptions.Item>
            <Descriptions.Item label={t("cat.publishedAt")}>{formatTime(d.version.published_at, lang)}</Descriptions.Item>
            <Descriptions.Item label={t("cat.kind")}>{d.version.kind}</Descriptions.Item>
          </Descriptions>
          {underwriter ? (
            <Space>
              {d.version.status === "draft" ? (
                <Button type="primary" onClick={() => publish(d.version.version)}>
                  {t("cat.publish")}
                </Button>
              ) : null}
              <Button onClick={() => setEditing(d.version)}>{t("catx.newVersion")}</Button>
              {d.head.status === "published" ? (
                <Button danger onClick={() => setDelist(true)}>
                  {t("cat.delist")}
                </Button>
              ) : null}
            </Space>
          ) : null}
          <Table<Plan>
            size="small"
            rowKey="code"
            pagination={false}
            dataSource={d.version.plans}
            columns={[
              { title: t("cat.plan"), render: (_, pl) => `${pl.name} (${pl.code})` },
              { title: t("cat.premium"), render: (_, pl) => formatMoney(pl.base_premium, "CNY", lang) },
              { title: t("cat.sumInsured"), render: (_, pl) => formatMoney(pl.sum_insured, "CNY", lang) },
              { title: t("cat.term"), dataIndex: "term_days" },
            ]}
            expandable={{
              expandedRowRender: (pl) => (
                <ul>
                  {pl.benefits.map((b) => (
                    <li key={b.code}>
                      {b.name} ({b.code})
                    </li>
                  ))}
                </ul>
              ),
            }}
          />
          <SpecModal
            open={editing !== null}
            title={t("catx.newVersionOf", { code })}
            initial={editing ? JSON.stringify(specOf(editing), null, 2) : ""}
            code={code}
            onClose={() => setEditing(null)}
            onSubmit={async (spec) => {
              const out = await unwrap(client.PUT("/ops/products/{code}", { params: { path: { code } }, body: spec }));
              message.success(t("catx.versionMade", { version: out.version.version }));
              setEditing(null);
              setVersion(out.version.version);
              p.reload();
              onChanged();
            }}
          />
          <ReasonModal
            open={delist}
            title={t("cat.delist")}
            label={t("audit.reason")}
            onCancel={() => setDelist(false)}
            onSubmit={async (reason) => {
              try {
                await unwrap(client.POST("/ops/products/{code}/delist", { params: { path: { code } }, body: { reason } }));
                setDelist(false);
                p.reload();
                onChanged();
              } catch (e) {
                message.error(errorText(e));
              }
            }}
          />
        </Space>
      )}
    </Loadable>
  );
}

function Channels() {
  const { client } = useApp();
  const { t, lang } = useI18n();
  const list = useLoad(() => unwrap(client.GET("/ops/channels")), []);
  return (
    <Loadable state={list} empty={(d) => d.items.length === 0}>
      {(d) => (
        <Table<Channel>
          rowKey="id"
          dataSource={d.items}
          pagination={false}
          columns={[
            { title: "ID", dataIndex: "id", render: (id: string) => <Link to={`/catalogue/channels/${id}`}>{id}</Link> },
            { title: t("cat.name"), dataIndex: "name" },
            { title: t("cat.status"), dataIndex: "status", render: (s: string) => <Tag>{s}</Tag> },
            { title: t("cat.rateLimit"), dataIndex: "rate_limit" },
            { title: t("partners.created"), dataIndex: "created_at", render: (s: string) => formatTime(s, lang) },
          ]}
        />
      )}
    </Loadable>
  );
}

function DeadLetters() {
  const { client } = useApp();
  const { t, lang } = useI18n();
  const { message } = App.useApp();
  const list = useLoad(() => unwrap(client.GET("/ops/webhooks/dead-letters", { params: { query: { limit: 100 } } })), []);
  const redrive = async () => {
    try {
      await unwrap(client.POST("/ops/webhooks/dead-letters/redrive"));
      message.success(t("state.done"));
      list.reload();
    } catch (e) {
      message.error(errorText(e));
    }
  };
  const replay = async (eventId: string) => {
    try {
      await unwrap(client.POST("/ops/webhooks/{ref}/replay", { params: { path: { ref: eventId } } }));
      message.success(t("catx.replayed"));
      list.reload();
    } catch (e) {
      message.error(errorText(e));
    }
  };
  return (
    <Card extra={<Button onClick={redrive}>{t("cat.redrive")}</Button>}>
      <Loadable state={list} empty={(d) => d.items.length === 0}>
        {(d) => (
          <Table<Dead>
            size="small"
            rowKey="event_id"
            dataSource={d.items}
            pagination={false}
            columns={[
              { title: t("cat.channel"), dataIndex: "channel_id" },
              { title: t("cat.event"), dataIndex: "event_type" },
              { title: t("cat.object"), render: (_, x) => `${x.object_type}/${x.object_id}` },
              { title: t("cat.attempts"), dataIndex: "attempts" },
              { title: t("cat.lastError"), dataIndex: "last_error" },
              { title: t("cat.deadAt"), dataIndex: "dead_at", render: (s: string) => formatTime(s, lang) },
              {
                title: t("catx.replay"),
                render: (_, x) => (
                  <Button size="small" onClick={() => replay(x.event_id)}>
                    {t("catx.replay")}
                  </Button>
                ),
              },
            ]}
          />
        )}
      </Loadable>
    </Card>
  );
}

/** A product spec as JSON: the whole of what a version holds (plans, benefits, pricing, underwriting, refund). */
function SpecModal({
  open,
  title,
  initial,
  code,
  onClose,
  onSubmit,
}: {
  open: boolean;
  title: string;
  initial: string;
  code?: string;
  onClose: () => void;
  onSubmit: (spec: Spec) => Promise<void>;
}) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [text, setText] = useState(initial);
  const [seen, setSeen] = useState(initial);
  const [busy, setBusy] = useState(false);
  if (seen !== initial) {
    setSeen(initial);
    setText(initial);
  }
  const parsed = parseSpec(text, code);
  return (
    <Modal
      open={open}
      title={title}
      width={760}
      okText={t("catx.save")}
      cancelText={t("action.cancel")}
      confirmLoading={busy}
      okButtonProps={{ disabled: "error" in parsed }}
      onCancel={onClose}
      onOk={async () => {
        if ("error" in parsed) return;
        setBusy(true);
        try {
          await onSubmit(parsed.spec);
        } catch (e) {
          message.error(errorText(e));
        } finally {
          setBusy(false);
        }
      }}
    >
      <Form layout="vertical">
        <Form.Item
          label={t("catx.spec")}
          htmlFor="product-spec"
          validateStatus={"error" in parsed ? "error" : undefined}
          help={"error" in parsed ? t(`catx.specError.${parsed.error}`) : t("catx.specHelp")}
        >
          <Input.TextArea
            id="product-spec"
            rows={18}
            spellCheck={false}
            style={{ fontFamily: "monospace" }}
            value={text}
            onChange={(e) => setText(e.target.value)}
          />
        </Form.Item>
      </Form>
    </Modal>
  );
}

interface NewProduct {
  code: string;
  name: string;
  kind: Spec["kind"];
}

function CreateProduct({ open, onClose, onCreated }: { open: boolean; onClose: () => void; onCreated: (code: string) => void }) {
  const { client } = useApp();
  const { t } = useI18n();
  const { message } = App.useApp();
  const [head, setHead] = useState<NewProduct | null>(null);
  const close = () => {
    setHead(null);
    onClose();
  };
  if (head)
    return (
      <SpecModal
        open={open}
        title={t("catx.createTitle", { code: head.code })}
        initial={JSON.stringify(blankSpec(head.code, head.name, head.kind), null, 2)}
        code={head.code}
        onClose={close}
        onSubmit={async (spec) => {
          const out = await unwrap(
            client.POST("/ops/products", { params: { header: { "Idempotency-Key": idemKey() } }, body: spec }),
          );
          message.success(t("catx.created", { code: out.head.code }));
          setHead(null);
          onCreated(out.head.code);
        }}
      />
    );
  return (
    <HeadModal open={open} onCancel={close} onNext={setHead} />
  );
}

function HeadModal({ open, onCancel, onNext }: { open: boolean; onCancel: () => void; onNext: (h: NewProduct) => void }) {
  const { t } = useI18n();
  const [form] = Form.useForm<NewProduct>();
  return (
    <Modal
      open={open}
      title={t("catx.create")}
      okText={t("catx.next")}
      cancelText={t("action.cancel")}
      destroyOnHidden
      onCancel={onCancel}
      onOk={async () => {
        const v = await form.validateFields().catch(() => null);
        if (v) onNext({ ...v, code: v.code.trim(), name: v.name.trim() });
      }}
    >
      <Form form={form} layout="vertical" initialValues={{ kind: "pet_health" }}>
        <Form.Item
          name="code"
          label={t("cat.code")}
          rules={[{ required: true, pattern: /^[a-z0-9-]{3,40}$/, message: t("catx.codeRule") }]}
        >
          <Input />
        </Form.Item>
        <Form.Item name="name" label={t("cat.name")} rules={[{ required: true, whitespace: true }]}>
          <Input />
        </Form.Item>
        <Form.Item name="kind" label={t("cat.kind")}>
          <Select
            options={(["pet_health", "return_shipping", "account_security"] as const).map((k) => ({
              value: k,
              label: t(`catx.kind.${k}`),
            }))}
          />
        </Form.Item>
      </Form>
    </Modal>
  );
}
