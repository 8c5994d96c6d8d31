import { App, Button, Card, DatePicker, Descriptions, Form, Input, Radio, Space, Tag, Timeline, Typography } from "antd";
import { useState } from "react";
import { Link, useParams } from "react-router-dom";
import { unwrap } from "../api/client";
import type { components } from "../api/schema";
import { errorText, Loadable, useLoad } from "../components/Async";
import { useApp, useCan } from "../context";
import { useI18n } from "../i18n";
import { formatTime } from "../lib/format";
import { formatMoney, toCents } from "../lib/money";

type Request = components["schemas"]["ServiceRequest"];

interface InvoiceForm {
  number: string;
  amount: string;
  issued_on: { format: (f: string) => string };
  sent_by: "email" | "post";
  tracking_number?: string;
}

/** One service request: where it is, and the step its queue takes (send the e-policy, record the invoice). */
export default function ServiceRequestPage() {
  const id = useParams().id!;
  const { client } = useApp();
  const { t, lang } = useI18n();
  const can = useCan();
  const { message } = App.useApp();
  const [busy, setBusy] = useState(false);
  const req = useLoad(
    () => unwrap(client.GET("/ops/service-requests/{requestId}", { params: { path: { requestId: id } } })),
    [id],
  );
  const act = async (call: () => Promise<Request>) => {
    setBusy(true);
    try {
      await call();
      message.success(t("state.done"));
      req.reload();
    } catch (e) {
      message.error(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  const sendEPolicy = () =>
    act(() =>
      unwrap(client.POST("/ops/service-requests/{requestId}/e-policy", { params: { path: { requestId: id } } })),
    );
  const recordInvoice = (v: InvoiceForm) =>
    act(() =>
      unwrap(
        client.POST("/ops/service-requests/{requestId}/invoice", {
          params: { path: { requestId: id } },
          body: {
            number: v.number.trim(),
            amount: v.amount.trim(),
            issued_on: v.issued_on.format("YYYY-MM-DD"),
            sent_by: v.sent_by,
            tracking_number: v.tracking_number?.trim() || null,
          },
        }),
      ),
    );
  return (
    <Space orientation="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={1} style={{ fontSize: 22 }}>
        {t("sr.title", { id })}
      </Typography.Title>
      <Loadable state={req}>
        {(r) => (
          <>
            <Card title={t("wo.summary")}>
              <Descriptions size="small" column={2}>
                <Descriptions.Item label={t("sr.kind")}>{t(`sr.kind.${r.kind}`)}</Descriptions.Item>
                <Descriptions.Item label={t("sr.status")}>
                  <Tag data-testid="sr-status">{t(`sr.status.${r.status}`)}</Tag>
                </Descriptions.Item>
                <Descriptions.Item label={t("pol.number")}>
                  <Link to={`/policies/${encodeURIComponent(r.policy_number)}`}>{r.policy_number}</Link>
                </Descriptions.Item>
                <Descriptions.Item label={t("sr.queue")}>{t(`sr.queue.${r.queue}`)}</Descriptions.Item>
                <Descriptions.Item label={t("sr.email")}>{r.email ?? "—"}</Descriptions.Item>
                <Descriptions.Item label={t("sr.postal")}>{r.postal_address ?? "—"}</Descriptions.Item>
                {r.invoice_title ? (
                  <Descriptions.Item label={t("sr.invoiceTitle")}>{r.invoice_title}</Descriptions.Item>
                ) : null}
                <Descriptions.Item label={t("sr.note")}>{r.note ?? "—"}</Descriptions.Item>
                <Descriptions.Item label={t("wo.created")}>
                  {formatTime(r.created_at, lang)} ({r.created_by})
                </Descriptions.Item>
              </Descriptions>
            </Card>
            {r.kind === "e_policy" ? (
              <Card title={t("sr.ePolicy")}>
                {r.e_policy ? (
                  <Descriptions size="small" column={2}>
                    <Descriptions.Item label={t("sr.code")}>{r.e_policy.code}</Descriptions.Item>
                    <Descriptions.Item label={t("sr.generatedAt")}>{formatTime(r.e_policy.generated_at, lang)}</Descriptions.Item>
                    <Descriptions.Item label={t("sr.sentTo")}>{r.e_policy.sent_to ?? "—"}</Descriptions.Item>
                    <Descriptions.Item label={t("sr.sentAt")}>{formatTime(r.e_policy.sent_at, lang)}</Descriptions.Item>
                    <Descriptions.Item label="SHA-256">
                      <Typography.Text code>{r.e_policy.sha256.slice(0, 16)}…</Typography.Text>
                    </Descriptions.Item>
                  </Descriptions>
                ) : null}
                {can("sendEPolicy") && r.status !== "sent" ? (
                  <Button type="primary" loading={busy} onClick={sendEPolicy}>
                    {t("sr.sendEPolicy")}
                  </Button>
                ) : null}
              </Card>
            ) : (
              <Card title={t("sr.invoice")}>
                {r.invoice ? (
                  <Descriptions size="small" column={2}>
                    <Descriptions.Item label={t("sr.invoiceNumber")}>{r.invoice.number}</Descriptions.Item>
                    <Descriptions.Item label={t("sr.amount")}>{formatMoney(r.invoice.amount, "CNY", lang)}</Descriptions.Item>
                    <Descriptions.Item label={t("sr.issuedOn")}>{r.invoice.issued_on}</Descriptions.Item>
                    <Descriptions.Item label={t("sr.sentBy")}>{t(`sr.sentBy.${r.invoice.sent_by}`)}</Descriptions.Item>
                    <Descriptions.Item label={t("sr.tracking")}>{r.invoice.tracking_number ?? "—"}</Descriptions.Item>
                  </Descriptions>
                ) : can("recordInvoice") ? (
                  <Form<InvoiceForm>
                    layout="vertical"
                    style={{ maxWidth: 480 }}
                    initialValues={{ sent_by: r.email ? "email" : "post" }}
                    onFinish={recordInvoice}
                  >
                    <Form.Item
                      name="number"
                      label={t("sr.invoiceNumber")}
                      rules={[{ required: true, pattern: /^[A-Za-z0-9-]{6,40}$/, message: t("sr.invoiceNumberRule") }]}
                    >
                      <Input />
                    </Form.Item>
                    <Form.Item
                      name="amount"
                      label={t("sr.amount")}
                      rules={[
                        { required: true },
                        {
                          validator: async (_, v: string) => {
                            const c = toCents(v);
                            if (v && (c === null || c <= 0)) throw new Error(t("sr.amountRule"));
                          },
                        },
                      ]}
                    >
                      <Input inputMode="decimal" />
                    </Form.Item>
                    <Form.Item name="issued_on" label={t("sr.issuedOn")} rules={[{ required: true }]}>
                      <DatePicker />
                    </Form.Item>
                    <Form.Item name="sent_by" label={t("sr.sentBy")}>
                      <Radio.Group
                        options={[
                          { value: "email", label: t("sr.sentBy.email") },
                          { value: "post", label: t("sr.sentBy.post") },
                        ]}
                      />
                    </Form.Item>
                    <Form.Item name="tracking_number" label={t("sr.tracking")}>
                      <Input />
                    </Form.Item>
                    <Button type="primary" htmlType="submit" loading={busy}>
                      {t("sr.recordInvoice")}
                    </Button>
                  </Form>
                ) : (
                  <Typography.Text>{t("sr.waitingFinance")}</Typography.Text>
                )}
              </Card>
            )}
            <Card title={t("sr.steps")}>
              <Timeline
                items={r.steps.map((s, i) => ({
                  key: i,
                  content: `${formatTime(s.at, lang)} · ${s.action} · ${s.by}${s.note ? ` · ${s.note}` : ""}`,
                }))}
              />
            </Card>
          </>
        )}
      </Loadable>
    </Space>
  );
}
