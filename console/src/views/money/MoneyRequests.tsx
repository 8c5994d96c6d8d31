import { App, Button, Card, Form, Input, Segmented, Select, Space, Table, Typography } from "antd";
import { useState } from "react";
import { idemKey, unwrap } from "../../api/client";
import type { components } from "../../api/schema";
import { errorText, Loadable, useLoad } from "../../components/Async";
import { ReasonModal } from "../../components/ReasonModal";
import { useApp } from "../../context";
import { useI18n } from "../../i18n";
import { formatTime } from "../../lib/format";
import { formatMoney } from "../../lib/money";
import type { MsgKey } from "../../messages";
import { StatusTag } from "./common";

type Req = components["schemas"]["MoneyRequest"];
type Create = components["schemas"]["MoneyRequestCreate-Input"];
type Kind = Create["kind"];
type Field = "amount" | "policy_number" | "claim_number" | "debit_account" | "credit_account" | "book" | "period" | "journal_id";
const KINDS: Kind[] = ["manual_refund", "payout_correction", "ledger_adjustment", "reversal"];
// The fields each kind needs (as the API checks them).
const NEEDS: Record<Kind, Field[]> = {
  manual_refund: ["amount", "policy_number"],
  payout_correction: ["amount", "claim_number"],
  ledger_adjustment: ["amount", "debit_account", "credit_account", "book"],
  reversal: ["book", "period", "journal_id"],
};
const LABEL: Record<Field, MsgKey> = {
  amount: "money.amount",
  policy_number: "money.policy",
  claim_number: "money.claim",
  debit_account: "money.debit",
  credit_account: "money.credit",
  book: "money.book",
  period: "money.period",
  journal_id: "money.journal",
};

function target(r: Req): string {
  const s = r.spec;
  return s.policy_number ?? s.claim_number ?? (s.journal_id ? `${s.book} ${s.period} ${s.journal_id}` : s.book) ?? "—";
}

/** Money moved by hand, under maker-checker: one member of finance asks, another approves or rejects. */
export default function MoneyRequests() {
  const { client, session } = useApp();
  const { t, lang } = useI18n();
  const { message } = App.useApp();
  const [status, setStatus] = useState<"pending" | "decided">("pending");
  const [deciding, setDeciding] = useState<{ req: Req; decision: "approve" | "reject" } | null>(null);
  const list = useLoad(
    () =>
      unwrap(
        client.GET("/ops/money/{view}", {
          params: { path: { view: "money-requests" }, query: { status, limit: 200 } },
        }),
      ),
    [status],
  );
  const me = `ops:${session.sub}`;
  const decide = async (note: string) => {
    if (!deciding) return;
    try {
      await unwrap(
        client.POST("/ops/money-requests/{requestId}/decision", {
          params: { path: { requestId: deciding.req.request_id }, header: { "Idempotency-Key": idemKey() } },
          body: { decision: deciding.decision, note: note.trim() || undefined },
        }),
      );
      message.success(t("state.done"));
      setDeciding(null);
      list.reload();
    } catch (e) {
      message.error(errorText(e));
    }
  };
  return (
    <Space orientation="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={1} style={{ fontSize: 22 }}>
        {t("money.requests")}
      </Typography.Title>
      <NewRequest onMade={() => (setStatus("pending"), list.reload())} />
      <Card
        title={t("money.requests")}
        extra={
          <Space>
            <Segmented
              aria-label={t("money.status")}
              value={status}
              onChange={(v) => setStatus(v as "pending" | "decided")}
              options={[
                { value: "pending", label: t("money.pending") },
                { value: "decided", label: t("money.decided") },
              ]}
            />
            <Button onClick={list.reload}>{t("action.refresh")}</Button>
          </Space>
        }
      >
        <Loadable state={list} empty={(d) => (d.money_requests ?? []).length === 0}>
          {(d) => (
            <Table<Req>
              size="small"
              rowKey="request_id"
              dataSource={d.money_requests ?? []}
              pagination={{ pageSize: 20 }}
              scroll={{ x: true }}
              columns={[
                { title: t("money.id"), dataIndex: "request_id" },
                { title: t("money.kind"), render: (_, r) => t(`money.k.${r.spec.kind}` as MsgKey) },
                { title: t("money.amount"), render: (_, r) => formatMoney(r.spec.amount ?? null, "CNY", lang) },
                { title: t("money.target"), render: (_, r) => target(r) },
                { title: t("money.reason"), render: (_, r) => r.spec.reason },
                { title: t("money.requestedBy"), dataIndex: "requested_by" },
                { title: t("money.requestedAt"), render: (_, r) => formatTime(r.requested_at, lang) },
                { title: t("money.status"), render: (_, r) => <StatusTag status={r.status} /> },
                { title: t("money.decidedBy"), render: (_, r) => r.decided_by ?? "—" },
                { title: t("money.note"), render: (_, r) => r.note ?? "—" },
                {
                  title: t("money.actions"),
                  render: (_, r) =>
                    r.status !== "requested" ? null : r.requested_by === me ? (
                      <Typography.Text type="secondary">{t("money.ownRequest")}</Typography.Text>
                    ) : (
                      <Space>
                        <Button size="small" type="primary" onClick={() => setDeciding({ req: r, decision: "approve" })}>
                          {t("money.approve")}
                        </Button>
                        <Button size="small" danger onClick={() => setDeciding({ req: r, decision: "reject" })}>
                          {t("money.reject")}
                        </Button>
                      </Space>
                    ),
                },
              ]}
            />
          )}
        </Loadable>
      </Card>
      <ReasonModal
        open={deciding !== null}
        title={
          deciding
            ? t(deciding.decision === "approve" ? "money.approveTitle" : "money.rejectTitle", {
                id: deciding.req.request_id,
              })
            : ""
        }
        label={t("money.noteLabel")}
        required={deciding?.decision === "reject"}
        onCancel={() => setDeciding(null)}
        onSubmit={decide}
      />
    </Space>
  );
}

function NewRequest({ onMade }: { onMade: () => void }) {
  const { client } = useApp();
  const { t } = useI18n();
  const { message } = App.useApp();
  const [form] = Form.useForm<Create>();
  const kind = Form.useWatch("kind", form) ?? "manual_refund";
  const [busy, setBusy] = useState(false);
  const submit = async (v: Create) => {
    const body: Create = { kind: v.kind, reason: v.reason.trim() };
    for (const f of NEEDS[v.kind]) (body as Record<string, unknown>)[f] = String(v[f] ?? "").trim();
    setBusy(true);
    try {
      await unwrap(
        client.POST("/ops/money-requests", { params: { header: { "Idempotency-Key": idemKey() } }, body }),
      );
      message.success(t("state.done"));
      form.resetFields();
      onMade();
    } catch (e) {
      message.error(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title={t("money.newRequest")}>
      <Form form={form} layout="inline" initialValues={{ kind: "manual_refund" }} onFinish={submit}>
        <Form.Item name="kind" label={t("money.kind")} rules={[{ required: true }]}>
          <Select style={{ width: 160 }} options={KINDS.map((k) => ({ value: k, label: t(`money.k.${k}` as MsgKey) }))} />
        </Form.Item>
        {NEEDS[kind].map((f) => (
          <Form.Item
            key={f}
            name={f}
            label={t(LABEL[f])}
            rules={[
              { required: true, whitespace: true },
              ...(f === "amount" ? [{ pattern: /^-?\d+(\.\d{1,2})?$/ }] : []),
              ...(f === "period" ? [{ pattern: /^\d{4}-\d{2}$/ }] : []),
            ]}
          >
            <Input style={{ width: f === "amount" ? 110 : 170 }} placeholder={f === "period" ? "YYYY-MM" : undefined} />
          </Form.Item>
        ))}
        <Form.Item name="reason" label={t("money.reason")} rules={[{ required: true, whitespace: true, min: 2 }]}>
          <Input style={{ width: 220 }} />
        </Form.Item>
        <Button type="primary" htmlType="submit" loading={busy}>
          {t("money.submit")}
        </Button>
      </Form>
    </Card>
  );
}
