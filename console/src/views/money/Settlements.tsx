import { App, Button, Card, Form, Input, Select, Space, Table, Typography } from "antd";
import { useState } from "react";
import { idemKey, unwrap } from "../../api/client";
import type { components } from "../../api/schema";
import { errorText, Loadable, useLoad } from "../../components/Async";
import { ReasonModal } from "../../components/ReasonModal";
import { useApp } from "../../context";
import { useI18n } from "../../i18n";
import { formatMoney } from "../../lib/money";
import type { MsgKey } from "../../messages";
import { lastMonth, saveFile, StatusTag } from "./common";

type Settlement = components["schemas"]["Settlement"];
type Action = "confirm-receipt" | "approve" | "mark-paid";
interface Filter {
  party?: "channel" | "provider";
  party_id?: string;
  month?: string;
}
const ACTIONS: { party: string; from: string; action: Action; label: MsgKey }[] = [
  { party: "channel", from: "issued", action: "confirm-receipt", label: "money.confirmReceipt" },
  { party: "provider", from: "issued", action: "approve", label: "money.approve" },
  { party: "provider", from: "approved", action: "mark-paid", label: "money.markPaid" },
];

/** Channel and provider settlements: run a month, read and download the statement, move it on. */
export default function Settlements() {
  const { client } = useApp();
  const { t, lang } = useI18n();
  const { message } = App.useApp();
  const [form] = Form.useForm<Filter>();
  const [filter, setFilter] = useState<Filter>({ month: lastMonth() });
  const [busy, setBusy] = useState(false);
  const [acting, setActing] = useState<{ s: Settlement; action: Action } | null>(null);
  const list = useLoad(() => {
    const withParty = filter.party && filter.party_id?.trim();
    const query = withParty
      ? { party: filter.party, party_id: filter.party_id!.trim(), month: filter.month || undefined }
      : { month: filter.month || undefined };
    return unwrap(client.GET("/ops/money/{view}", { params: { path: { view: "settlements" }, query } }));
  }, [filter.party, filter.party_id, filter.month]);

  const run = async () => {
    const v = await form.validateFields().catch(() => null);
    if (!v || !v.party || !v.party_id?.trim() || !v.month) {
      message.error(t("money.monthOrParty"));
      return;
    }
    setBusy(true);
    try {
      await unwrap(
        client.POST("/ops/settlements", {
          params: { header: { "Idempotency-Key": idemKey() } },
          body: { party: v.party, party_id: v.party_id.trim(), month: v.month },
        }),
      );
      message.success(t("state.done"));
      setFilter({ party: v.party, party_id: v.party_id.trim(), month: v.month });
      list.reload();
    } catch (e) {
      message.error(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  const download = async (s: Settlement, format: "csv" | "xlsx") => {
    try {
      const f = await unwrap(
        client.GET("/ops/settlements/{settlementId}/files/{format}", {
          params: { path: { settlementId: s.settlement_id, format } },
        }),
      );
      const name = `${s.settlement_id}.${format}`;
      saveFile(name, f.content, f.encoding, f.content_type);
      message.success(t("money.downloaded", { name }));
    } catch (e) {
      message.error(errorText(e));
    }
  };
  const act = async (reference: string) => {
    if (!acting) return;
    const { s, action } = acting;
    try {
      await unwrap(
        client.POST("/ops/settlements/{settlementId}/{action}", {
          params: { path: { settlementId: s.settlement_id, action }, header: { "Idempotency-Key": idemKey() } },
          body: {
            reference: reference.trim() || undefined,
            amount: action === "confirm-receipt" ? s.closing_balance : undefined,
          },
        }),
      );
      message.success(t("state.done"));
      setActing(null);
      list.reload();
    } catch (e) {
      message.error(errorText(e));
    }
  };
  const money = (v: string | null | undefined) => formatMoney(v ?? null, "CNY", lang);
  return (
    <Space orientation="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={1} style={{ fontSize: 22 }}>
        {t("money.settlements")}
      </Typography.Title>
      <Card>
        <Form form={form} layout="inline" initialValues={filter} onFinish={(v: Filter) => setFilter(v)}>
          <Form.Item name="party" label={t("money.party")}>
            <Select
              allowClear
              style={{ width: 120 }}
              options={[
                { value: "channel", label: t("money.channel") },
                { value: "provider", label: t("money.provider") },
              ]}
            />
          </Form.Item>
          <Form.Item name="party_id" label={t("money.partyId")}>
            <Input style={{ width: 160 }} />
          </Form.Item>
          <Form.Item name="month" label={t("money.month")} rules={[{ pattern: /^\d{4}-\d{2}$/ }]}>
            <Input style={{ width: 110 }} placeholder="YYYY-MM" />
          </Form.Item>
          <Space>
            <Button htmlType="submit">{t("money.show")}</Button>
            <Button type="primary" onClick={run} loading={busy}>
              {t("money.run")}
            </Button>
          </Space>
        </Form>
      </Card>
      <Card title={t("money.settlements")} extra={<Button onClick={list.reload}>{t("action.refresh")}</Button>}>
        <Loadable state={list} empty={(d) => (d.settlements ?? []).length === 0}>
          {(d) => (
            <Table<Settlement>
              size="small"
              rowKey="settlement_id"
              dataSource={d.settlements ?? []}
              pagination={{ pageSize: 20 }}
              scroll={{ x: true }}
              columns={[
                { title: t("money.statement"), dataIndex: "settlement_id" },
                { title: t("money.status"), render: (_, s) => <StatusTag status={s.status} /> },
                { title: t("money.receivables"), render: (_, s) => money(s.receivables) },
                { title: t("money.refunds"), render: (_, s) => money(s.refunds) },
                { title: t("money.commission"), render: (_, s) => money(s.commission) },
                { title: t("money.feesTotal"), render: (_, s) => money(s.fees) },
                { title: t("money.deductions"), render: (_, s) => money(s.deductions) },
                { title: t("money.netDue"), render: (_, s) => money(s.net_due) },
                { title: t("money.closing"), render: (_, s) => money(s.closing_balance) },
                {
                  title: t("money.actions"),
                  render: (_, s) => (
                    <Space wrap>
                      <Button size="small" onClick={() => download(s, "csv")}>
                        {t("money.csv")}
                      </Button>
                      <Button size="small" onClick={() => download(s, "xlsx")}>
                        {t("money.xlsx")}
                      </Button>
                      {ACTIONS.filter((a) => a.party === s.party && a.from === s.status).map((a) => (
                        <Button key={a.action} size="small" type="primary" onClick={() => setActing({ s, action: a.action })}>
                          {t(a.label)}
                        </Button>
                      ))}
                    </Space>
                  ),
                },
              ]}
            />
          )}
        </Loadable>
      </Card>
      <ReasonModal
        open={acting !== null}
        title={acting ? `${t(ACTIONS.find((a) => a.action === acting.action)!.label)} ${acting.s.settlement_id}` : ""}
        label={t("money.reference")}
        required={false}
        onCancel={() => setActing(null)}
        onSubmit={act}
      />
    </Space>
  );
}
