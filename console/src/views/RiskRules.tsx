import { App, Button, Card, Descriptions, Form, Input, InputNumber, Modal, Select, Space, Table, Typography } from "antd";
import { useEffect, useState } from "react";
import { unwrap } from "../api/client";
import type { components } from "../api/schema";
import { errorText, Loadable, useLoad } from "../components/Async";
import { FiredTags } from "../components/FiredTags";
import { ReasonModal } from "../components/ReasonModal";
import { Tone } from "../components/Tone";
import { useApp, useCan } from "../context";
import { useI18n } from "../i18n";
import { formatTime } from "../lib/format";
import {
  changed,
  COUNTERS,
  FIELDS,
  formOf,
  KINDS,
  paramsOf,
  putRule,
  ruleOf,
  STAGES,
  type Rule,
  type RuleForm,
  type RuleIn,
} from "../lib/risk";
import { has, type MsgKey } from "../messages";

type AuditRecord = components["schemas"]["AuditRecord"];
type Decision = components["schemas"]["RiskDecision"];

function RuleTable({ rules, actions }: { rules: (Rule | RuleIn)[]; actions?: (r: RuleIn, i: number) => React.ReactNode }) {
  const { t } = useI18n();
  return (
    <Table<Rule | RuleIn>
      rowKey="id"
      size="small"
      dataSource={rules}
      pagination={false}
      scroll={{ x: true }}
      columns={[
        { title: t("risk.id"), dataIndex: "id" },
        { title: t("risk.kind"), render: (_, r) => t(`risk.kind.${r.kind}` as MsgKey) },
        { title: t("risk.stages"), render: (_, r) => r.stages.map((s) => t(`risk.stage.${s}` as MsgKey)).join(", ") },
        {
          title: t("risk.mode"),
          render: (_, r) =>
            (r.mode ?? "enforce") === "shadow" ? (
              <Tone tone="warn">{t("risk.mode.shadow")}</Tone>
            ) : (
              <Tone tone="good">{t("risk.mode.enforce")}</Tone>
            ),
        },
        {
          title: t("risk.action"),
          render: (_, r) => t(r.kind === "rate_factor" ? "risk.action.rate" : (`risk.action.${r.action ?? "refuse"}` as MsgKey)),
        },
        { title: t("risk.params"), render: (_, r) => <code>{paramsOf(r)}</code> },
        { title: t("risk.description"), render: (_, r) => r.description || "—" },
        ...(actions ? [{ title: t("br.actions"), render: (_: unknown, r: Rule | RuleIn, i: number) => actions(r, i) }] : []),
      ]}
    />
  );
}

function RuleModal({
  open,
  editing,
  taken,
  onCancel,
  onSave,
}: {
  open: boolean;
  editing: RuleIn | null;
  taken: string[];
  onCancel: () => void;
  onSave: (r: RuleIn) => void;
}) {
  const { t } = useI18n();
  const [form] = Form.useForm<RuleForm>();
  const kind = Form.useWatch("kind", form);
  useEffect(() => {
    if (!open) return;
    form.resetFields();
    form.setFieldsValue(editing ? formOf(editing) : { kind: "blocklist", mode: "shadow", action: "refuse", stages: ["underwrite"] });
  }, [open, editing, form]);
  const opts = <T extends string>(values: readonly T[], prefix: string) =>
    values.map((v) => ({ value: v, label: prefix ? t(`${prefix}.${v}` as MsgKey) : v }));
  return (
    <Modal
      open={open}
      title={editing ? `${t("risk.edit")} ${editing.id}` : t("risk.add")}
      okText={t("action.confirm")}
      cancelText={t("action.cancel")}
      forceRender
      onCancel={onCancel}
      onOk={async () => {
        const v = await form.validateFields().catch(() => null);
        if (v) onSave(ruleOf(v));
      }}
    >
      <Form form={form} layout="vertical">
        <Form.Item
          name="id"
          label={t("risk.id")}
          extra={t("risk.idRule")}
          rules={[
            { required: true, pattern: /^[a-z0-9][a-z0-9_-]{0,39}$/, message: t("risk.idRule") },
            { validator: async (_, v: string) => (taken.includes((v ?? "").trim()) ? Promise.reject(new Error(t("risk.idTaken"))) : undefined) },
          ]}
        >
          <Input />
        </Form.Item>
        <Form.Item name="kind" label={t("risk.kind")} rules={[{ required: true }]}>
          <Select options={opts(KINDS, "risk.kind")} />
        </Form.Item>
        {kind !== "rate_factor" ? (
          <>
            <Form.Item name="stages" label={t("risk.stages")} rules={[{ required: true, type: "array", min: 1 }]}>
              <Select mode="multiple" options={opts(STAGES, "risk.stage")} />
            </Form.Item>
            <Form.Item name="action" label={t("risk.action")}>
              <Select options={opts(["refuse", "review"] as const, "risk.action")} />
            </Form.Item>
          </>
        ) : null}
        <Form.Item name="mode" label={t("risk.mode")}>
          <Select options={opts(["shadow", "enforce"] as const, "risk.mode")} />
        </Form.Item>
        {kind === "blocklist" ? (
          <>
            <Form.Item name="field" label={t("risk.field")} rules={[{ required: true }]}>
              <Select options={opts(FIELDS, "")} />
            </Form.Item>
            <Form.Item name="values" label={t("risk.values")} rules={[{ required: true, whitespace: true }]}>
              <Input.TextArea rows={4} />
            </Form.Item>
          </>
        ) : null}
        {kind === "velocity" ? (
          <>
            <Form.Item name="counter" label={t("risk.counter")} rules={[{ required: true }]}>
              <Select options={opts(COUNTERS, "")} />
            </Form.Item>
            <Form.Item name="limit" label={t("risk.limit")} rules={[{ required: true }]}>
              <InputNumber min={0} max={100000} precision={0} style={{ width: 160 }} />
            </Form.Item>
          </>
        ) : null}
        {kind === "amount" ? (
          <Form.Item name="above" label={t("risk.above")} rules={[{ required: true, pattern: /^\d{1,12}(\.\d{1,2})?$/ }]}>
            <Input style={{ width: 200 }} />
          </Form.Item>
        ) : null}
        {kind === "rate_factor" ? (
          <>
            <Form.Item name="factor" label={t("risk.factor")} rules={[{ required: true, pattern: /^\d{1,2}(\.\d{1,4})?$/ }]}>
              <Input style={{ width: 160 }} />
            </Form.Item>
            <Form.Item name="region_prefix" label={t("risk.regionPrefix")} rules={[{ pattern: /^\d{1,6}$/ }]}>
              <Input style={{ width: 160 }} />
            </Form.Item>
            <Form.Item name="species" label={t("risk.species")}>
              <Input style={{ width: 160 }} />
            </Form.Item>
            <Form.Item name="min_age_months" label={t("risk.minAge")}>
              <InputNumber min={0} max={480} precision={0} style={{ width: 160 }} />
            </Form.Item>
          </>
        ) : null}
        <Form.Item name="description" label={t("risk.description")} rules={[{ max: 200 }]}>
          <Input />
        </Form.Item>
      </Form>
    </Modal>
  );
}

/** The rules in force; a draft of the next version edited rule by rule and published with a note. */
function Draft({ inForce, version, onPublished }: { inForce: Rule[]; version: number; onPublished: () => void }) {
  const { client } = useApp();
  const { t } = useI18n();
  const { message } = App.useApp();
  const [draft, setDraft] = useState<RuleIn[]>(() => inForce.map((r) => ruleOf(formOf(r))));
  const [editing, setEditing] = useState<RuleIn | null | "new">(null);
  const [publishing, setPublishing] = useState(false);
  const next = version + 1;
  const dirty = changed(draft, inForce);
  const publish = async (note: string) => {
    try {
      await unwrap(client.PUT("/ops/risk/rules", { body: { version: next, rules: draft, note } }));
      message.success(t("state.done"));
      setPublishing(false);
      onPublished();
    } catch (e) {
      message.error(errorText(e));
    }
  };
  const current = editing === "new" ? null : editing;
  return (
    <Card
      title={t("risk.draft", { v: next })}
      extra={
        <Space>
          <Button onClick={() => setEditing("new")}>{t("risk.add")}</Button>
          <Button disabled={!dirty} onClick={() => setDraft(inForce.map((r) => ruleOf(formOf(r))))}>
            {t("risk.reset")}
          </Button>
          <Button type="primary" disabled={!dirty} title={dirty ? undefined : t("risk.unchanged")} onClick={() => setPublishing(true)}>
            {t("risk.publish", { v: next })}
          </Button>
        </Space>
      }
    >
      <Typography.Paragraph type="secondary">{t("risk.draftHint")}</Typography.Paragraph>
      <RuleTable
        rules={draft}
        actions={(r) => (
          <Space>
            <Button size="small" autoInsertSpace={false} aria-label={`${t("risk.edit")} ${r.id}`} onClick={() => setEditing(r)}>
              {t("risk.edit")}
            </Button>
            <Button size="small" danger autoInsertSpace={false} aria-label={`${t("action.remove")} ${r.id}`} onClick={() => setDraft(draft.filter((x) => x.id !== r.id))}>
              {t("action.remove")}
            </Button>
          </Space>
        )}
      />
      <RuleModal
        open={editing !== null}
        editing={current}
        taken={draft.map((r) => r.id).filter((id) => id !== current?.id)}
        onCancel={() => setEditing(null)}
        onSave={(r) => {
          setDraft(putRule(draft, r, current?.id));
          setEditing(null);
        }}
      />
      <ReasonModal open={publishing} title={t("risk.publish", { v: next })} label={t("risk.note")} onCancel={() => setPublishing(false)} onSubmit={publish} />
    </Card>
  );
}

/** Decisions the rules made (the audit of the risk checks; reading an actor's records is for admins). */
function Decisions() {
  const { client } = useApp();
  const { t, lang } = useI18n();
  const state = useLoad(() => unwrap(client.GET("/ops/audit/actors/{actor}", { params: { path: { actor: "system:risk" } } })), []);
  return (
    <Card title={t("risk.decisions")} extra={<Button onClick={state.reload}>{t("action.refresh")}</Button>}>
      <Loadable state={state} empty={(d) => d.items.length === 0}>
        {(d) => (
          <Table<AuditRecord>
            size="small"
            rowKey="id"
            dataSource={d.items}
            pagination={{ pageSize: 20 }}
            columns={[
              { title: t("audit.at"), dataIndex: "at", render: (s: string) => formatTime(s, lang) },
              { title: t("audit.entity"), render: (_, r) => `${r.entity_type}/${r.entity_id}` },
              { title: t("risk.decided"), render: (_, r) => {
                  const key = `risk.action.${r.action.replace("risk_", "")}`;
                  return has(key) ? t(key) : r.action;
                },
              },
              {
                title: t("risk.fired"),
                render: (_, r) => <FiredTags fired={((r.after as { decision?: Decision } | null)?.decision?.fired ?? [])} />,
              },
            ]}
          />
        )}
      </Loadable>
    </Card>
  );
}

export default function RiskRules() {
  const { client } = useApp();
  const { t, lang } = useI18n();
  const can = useCan();
  const state = useLoad(() => unwrap(client.GET("/ops/risk/rules")), []);
  return (
    <Space orientation="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={1} style={{ fontSize: 22 }}>
        {t("nav.risk")}
      </Typography.Title>
      <Loadable state={state}>
        {(rs) => (
          <>
            <Card title={t("risk.inForce", { v: rs.version })} extra={<Button onClick={state.reload}>{t("action.refresh")}</Button>}>
              {rs.version === 0 ? (
                <Typography.Paragraph>{t("risk.none")}</Typography.Paragraph>
              ) : (
                <>
                  <Descriptions size="small" column={1}>
                    <Descriptions.Item label={t("risk.published")}>
                      {rs.published_by ?? "—"} · {formatTime(rs.published_at, lang)}
                    </Descriptions.Item>
                    <Descriptions.Item label={t("risk.note")}>{rs.note ?? "—"}</Descriptions.Item>
                  </Descriptions>
                  <RuleTable rules={rs.rules} />
                </>
              )}
            </Card>
            {can("publishRiskRules") ? (
              <Draft key={rs.version} inForce={rs.rules} version={rs.version} onPublished={state.reload} />
            ) : null}
          </>
        )}
      </Loadable>
      {can("riskDecisions") ? <Decisions /> : null}
    </Space>
  );
}
