import { App, Button, Card, Descriptions, Form, Input, Modal, Space, Table, Tag, Typography } from "antd";
import { useState } from "react";
import { Link, useParams } from "react-router-dom";
import { idemKey, unwrap } from "../api/client";
import type { components } from "../api/schema";
import { errorText, Loadable, useLoad } from "../components/Async";
import { ReasonModal } from "../components/ReasonModal";
import { useApp, useCan } from "../context";
import { useI18n } from "../i18n";
import { formatTime } from "../lib/format";
import { approvalCeiling, checkApproval, formatMoney, fromCents } from "../lib/money";

type Change = components["schemas"]["ClaimChange"];

/** One claim: evidence, change records, and assess / approve (bounded) / pay / reject. */
export default function ClaimPage() {
  const number = useParams().number!;
  const { client } = useApp();
  const { t, lang } = useI18n();
  const can = useCan();
  const { message } = App.useApp();
  const path = { claimNumber: number };
  const state = useLoad(async () => {
    const claim = await unwrap(client.GET("/ops/claims/{claimNumber}", { params: { path } }));
    const policy = await unwrap(
      client.GET("/ops/policies/{number}", { params: { path: { number: claim.policy_number } } }),
    ).catch(() => null);
    return { claim, policy };
  }, [number]);
  const [dialog, setDialog] = useState<"assess" | "approve" | "pay" | "reject" | null>(null);

  const run = async (p: Promise<unknown>) => {
    try {
      await p;
      message.success(t("state.done"));
      setDialog(null);
      state.reload();
    } catch (e) {
      message.error(errorText(e));
    }
  };

  return (
    <Space orientation="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={1} style={{ fontSize: 22 }}>
        {t("claims.title", { n: number })}
      </Typography.Title>
      <Loadable state={state}>
        {({ claim, policy }) => {
          const ceiling = approvalCeiling(claim.amount, policy?.remaining_sum_insured);
          const s = claim.status;
          return (
            <>
              <Card
                title={t("claims.detail")}
                extra={
                  <Space>
                    {can("assessClaim") && s === "submitted" ? (
                      <Button onClick={() => setDialog("assess")}>{t("claims.assess")}</Button>
                    ) : null}
                    {can("approveClaim") && s === "assessing" ? (
                      <Button type="primary" onClick={() => setDialog("approve")}>
                        {t("action.approve")}
                      </Button>
                    ) : null}
                    {can("rejectClaim") && s === "assessing" ? (
                      <Button danger onClick={() => setDialog("reject")}>
                        {t("action.reject")}
                      </Button>
                    ) : null}
                    {can("payClaim") && s === "approved" ? (
                      <Button type="primary" onClick={() => setDialog("pay")}>
                        {t("claims.pay")}
                      </Button>
                    ) : null}
                  </Space>
                }
              >
                <Descriptions size="small" column={2}>
                  <Descriptions.Item label={t("claims.status")}>
                    <Tag data-testid="claim-status">{t(`claims.s.${s}` as never)}</Tag>
                  </Descriptions.Item>
                  <Descriptions.Item label={t("claims.policy")}><Link to={`/policies/${encodeURIComponent(claim.policy_number)}`}>{claim.policy_number}</Link>
                  </Descriptions.Item>
                  <Descriptions.Item label={t("claims.amount")}>{formatMoney(claim.amount, claim.currency, lang)}</Descriptions.Item>
                  <Descriptions.Item label={t("claims.approved")}>
                    {formatMoney(claim.approved_amount, claim.currency, lang)}
                  </Descriptions.Item>
                  <Descriptions.Item label={t("claims.paid")}>{formatMoney(claim.paid_amount, claim.currency, lang)}</Descriptions.Item>
                  <Descriptions.Item label={t("claims.remaining")}>
                    {formatMoney(policy?.remaining_sum_insured, claim.currency, lang)}
                  </Descriptions.Item>
                  <Descriptions.Item label={t("claims.benefit")}>{claim.benefit_code}</Descriptions.Item>
                  <Descriptions.Item label={t("claims.incident")}>
                    {claim.incident_type} · {claim.incident_date}
                  </Descriptions.Item>
                  <Descriptions.Item label={t("claims.why")} span={2}>
                    {claim.review?.reason ?? claim.decision?.note ?? "—"}
                  </Descriptions.Item>
                  <Descriptions.Item label={t("claims.description")} span={2}>
                    {claim.description || "—"}
                  </Descriptions.Item>
                </Descriptions>
              </Card>
              <Card title={t("claims.evidence")}>
                {(claim.evidence?.documents ?? []).length === 0 && !claim.evidence?.tracking_number ? (
                  <Typography.Text>{t("state.empty")}</Typography.Text>
                ) : (
                  <ul>
                    {(claim.evidence?.documents ?? []).map((d) => (
                      <li key={d}>{d}</li>
                    ))}
                    {claim.evidence?.tracking_number ? <li>{claim.evidence.tracking_number}</li> : null}
                  </ul>
                )}
              </Card>
              <Card title={t("claims.history")}>
                <Table<Change>
                  size="small"
                  rowKey="version"
                  pagination={false}
                  dataSource={claim.history ?? []}
                    columns={[
                    { title: t("claims.version"), dataIndex: "version" },
                    { title: t("audit.at"), dataIndex: "at", render: (x: string) => formatTime(x, lang) },
                    { title: t("audit.actor"), dataIndex: "by" },
                    { title: t("audit.reason"), dataIndex: "reason" },
                  ]}
                />
              </Card>
              <ApproveModal
                open={dialog === "approve"}
                ceilingCents={ceiling}
                onCancel={() => setDialog(null)}
                onSubmit={(amount, note) =>
                  run(unwrap(client.POST("/ops/claims/{claimNumber}/approve", {
                        params: { path },
                        body: { amount, note },
                      }),))
                }
              />
            </>
          );
        }}
      </Loadable>
      <ReasonModal
        open={dialog === "assess"}
        title={t("claims.assess")}
        label={t("claims.note")}
        required={false}
        onCancel={() => setDialog(null)}
        onSubmit={(note) =>
          run(unwrap(client.POST("/ops/claims/{claimNumber}/assess", { params: { path }, body: { note: note || null } })))
        }
      />
      <ReasonModal
        open={dialog === "reject"}
        title={t("action.reject")}
        label={t("audit.reason")}
        onCancel={() => setDialog(null)}
        onSubmit={(reason) =>
          run(unwrap(client.POST("/ops/claims/{claimNumber}/reject", { params: { path }, body: { reason } })))
        }
      />
      <ReasonModal
        open={dialog === "pay"}
        title={t("claims.pay")}
        label={t("claims.reference")}
        required={false}
        onCancel={() => setDialog(null)}
        onSubmit={(reference) =>
          run(unwrap(client.POST("/ops/claims/{claimNumber}/pay", {
              params: { path, header: { "Idempotency-Key": idemKey() } },
              body: { reference: reference || null },
            }),))
        }
      />
    </Space>
  );
}

function ApproveModal({
  open,
  ceilingCents,
  onCancel,
  onSubmit,
}: {
  open: boolean;
  ceilingCents: number | null;
  onCancel: () => void;
  onSubmit: (amount: string, note: string | null) => Promise<void>;
}) {
  const { t } = useI18n();
  const [form] = Form.useForm<{ amount: string; note?: string }>();
  const [busy, setBusy] = useState(false);
  const ceiling = ceilingCents === null ? null : fromCents(ceilingCents);
  return (
    <Modal
      open={open}
      title={t("action.approve")}
      okText={t("action.confirm")}
      cancelText={t("action.cancel")}
      confirmLoading={busy}
      destroyOnHidden
      onCancel={onCancel}
      onOk={async () => {
        const v = await form.validateFields().catch(() => null);
        if (!v) return; // the form shows what is wrong
        setBusy(true);
        try {
          await onSubmit(v.amount.trim(), v.note || null);
        } finally {
          setBusy(false);
        }
      }}
    >
      <Form form={form} layout="vertical" initialValues={{ amount: ceiling ?? "" }}>
        <Form.Item
          name="amount"
          label={t("claims.approveAmount", { max: ceiling ?? "—" })}
          rules={[
            {
              validator: async (_, value: string) => {
                const problem = checkApproval(String(value ?? ""), ceilingCents);
                if (problem) throw new Error(t(`claims.amount.${problem}`, { max: ceiling ?? "—" }));
              },
            },
          ]}
        >
          <Input inputMode="decimal" />
        </Form.Item>
        <Form.Item name="note" label={t("claims.note")}>
          <Input.TextArea rows={2} />
        </Form.Item>
      </Form>
    </Modal>
  );
}
