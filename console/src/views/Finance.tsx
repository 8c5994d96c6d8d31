import { App, Button, Card, DatePicker, Form, Input, Select, Space, Table, Typography } from "antd";
import { useMemo, useState } from "react";
import { Link } from "react-router-dom";
import { unwrap } from "../api/client";
import type { components } from "../api/schema";
import { errorText, Loadable, useLoad } from "../components/Async";
import { Chart } from "../components/Chart";
import { useApp, useCan } from "../context";
import { useI18n } from "../i18n";
import { dayOf, monthOf } from "../lib/format";
import { formatMoney } from "../lib/money";
import { byPeriod, statementFile } from "../lib/stats";
import { MONEY_SCREENS } from "./money/screens";

type Row = components["schemas"]["StatisticsRow"];
interface Query {
  granularity: "day" | "month";
  start: string;
  end: string;
  channel_id?: string;
  product_code?: string;
}

const today = new Date();
const monthAgo = new Date(today.getTime() - 29 * 86400_000);

/** Finance: statistics by channel, product, plan, day or month (table and chart); monthly statements. */
export default function Finance() {
  const { client } = useApp();
  const { t, lang } = useI18n();
  const can = useCan();
  const [q, setQ] = useState<Query>({ granularity: "day", start: dayOf(monthAgo), end: dayOf(today) });
  const stats = useLoad(
    () =>
      unwrap(
        client.GET("/ops/statistics", {
          params: {
            query: {
              granularity: q.granularity,
              start: q.start,
              end: q.end,
              channel_id: q.channel_id || undefined,
              product_code: q.product_code || undefined,
            },
          },
        }),
      ),
    [q.granularity, q.start, q.end, q.channel_id, q.product_code],
  );
  const series = useMemo(() => (stats.data ? byPeriod(stats.data.rows) : null), [stats.data]);
  const option = useMemo(
    () =>
      series && {
        tooltip: { trigger: "axis" },
        legend: {},
        xAxis: { type: "category", data: series.periods },
        yAxis: [{ type: "value", name: t("fin.amount") }, { type: "value", name: t("fin.policies") }],
        series: [
          { name: t("fin.premium"), type: "bar", data: series.premium },
          { name: t("fin.claimAmount"), type: "bar", data: series.claimAmount },
          { name: t("fin.policies"), type: "line", yAxisIndex: 1, data: series.policies },
        ],
      },
    [series, t],
  );
  return (
    <Space orientation="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={1} style={{ fontSize: 22 }}>
        {t("nav.finance")}
      </Typography.Title>
      <Card title={t("fin.statistics")}>
        <Form layout="inline" initialValues={q} onFinish={(v: Query) => setQ(v)}>
          <Form.Item name="granularity" label={t("fin.granularity")}>
            <Select
              style={{ width: 100 }}
              options={[
                { value: "day", label: t("fin.day") },
                { value: "month", label: t("fin.month") },
              ]}
            />
          </Form.Item>
          <Form.Item name="start" label={t("fin.start")} rules={[{ required: true, pattern: /^\d{4}-\d{2}(-\d{2})?$/ }]}>
            <Input style={{ width: 120 }} placeholder="YYYY-MM-DD" />
          </Form.Item>
          <Form.Item name="end" label={t("fin.end")} rules={[{ required: true, pattern: /^\d{4}-\d{2}(-\d{2})?$/ }]}>
            <Input style={{ width: 120 }} placeholder="YYYY-MM-DD" />
          </Form.Item>
          <Form.Item name="channel_id" label={t("cat.channel")}>
            <Input style={{ width: 140 }} />
          </Form.Item>
          <Form.Item name="product_code" label={t("cat.product")}>
            <Input style={{ width: 140 }} />
          </Form.Item>
          <Button type="primary" htmlType="submit">
            {t("action.show")}
          </Button>
        </Form>
        <Loadable state={stats} empty={(d) => d.rows.length === 0}>
          {(d) => (
            <Space orientation="vertical" style={{ width: "100%", marginTop: 16 }}>
              {option ? <Chart option={option} label={t("fin.chart")} /> : null}
              <Table<Row>
                size="small"
                rowKey={(r) => `${r.period}|${r.channel_id}|${r.product_code}|${r.plan_code}`}
                dataSource={d.rows}
                pagination={{ pageSize: 20 }}
                columns={[
                  { title: t("fin.period"), dataIndex: "period" },
                  { title: t("cat.channel"), dataIndex: "channel_id" },
                  { title: t("cat.product"), dataIndex: "product_code" },
                  { title: t("cat.plan"), dataIndex: "plan_code" },
                  { title: t("fin.policies"), dataIndex: "policies" },
                  { title: t("fin.premium"), render: (_, r) => formatMoney(r.premium, "CNY", lang) },
                  { title: t("fin.refunds"), render: (_, r) => formatMoney(r.refunds, "CNY", lang) },
                  { title: t("fin.claims"), dataIndex: "claims" },
                  { title: t("fin.claimAmount"), render: (_, r) => formatMoney(r.claim_amount, "CNY", lang) },
                ]}
                summary={() => (
                  <Table.Summary.Row>
                    <Table.Summary.Cell index={0} colSpan={4}>
                      {t("fin.total")}
                    </Table.Summary.Cell>
                    <Table.Summary.Cell index={4}>{d.totals.policies}</Table.Summary.Cell>
                    <Table.Summary.Cell index={5}>{formatMoney(d.totals.premium, "CNY", lang)}</Table.Summary.Cell>
                    <Table.Summary.Cell index={6}>{formatMoney(d.totals.refunds, "CNY", lang)}</Table.Summary.Cell>
                    <Table.Summary.Cell index={7}>{d.totals.claims}</Table.Summary.Cell>
                    <Table.Summary.Cell index={8}>{formatMoney(d.totals.claim_amount, "CNY", lang)}</Table.Summary.Cell>
                  </Table.Summary.Row>
                )}
              />
            </Space>
          )}
        </Loadable>
      </Card>
      {can("statement") ? <Statement /> : null}
      {can("statement") ? (
        <Card title={t("money.screens")}>
          <Space wrap>
            {MONEY_SCREENS.map((s) => (
              <Link key={s.path} to={`/money/${s.path}`}>
                {t(s.label)}
              </Link>
            ))}
          </Space>
        </Card>
      ) : null}
    </Space>
  );
}

function Statement() {
  const { client } = useApp();
  const { t } = useI18n();
  const { message } = App.useApp();
  const [busy, setBusy] = useState(false);
  const download = async (v: { channelId: string; month: { toDate: () => Date } | string }) => {
    const month = typeof v.month === "string" ? v.month : monthOf(v.month.toDate());
    setBusy(true);
    try {
      const { data, error, response } = await client.GET("/ops/statements/{channelId}/{month}", {
        params: { path: { channelId: v.channelId.trim(), month } },
        parseAs: "text",
      });
      if (!response.ok || error !== undefined) throw new Error(`${response.status} ${JSON.stringify(error)}`);
      const url = URL.createObjectURL(new Blob([data as string], { type: "text/csv" }));
      const a = document.createElement("a");
      a.href = url;
      a.download = statementFile(v.channelId.trim(), month);
      a.click();
      URL.revokeObjectURL(url);
    } catch (e) {
      message.error(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title={t("fin.statement")}>
      <Form layout="inline" onFinish={download}>
        <Form.Item name="channelId" label={t("cat.channel")} rules={[{ required: true, whitespace: true }]}>
          <Input style={{ width: 180 }} />
        </Form.Item>
        <Form.Item name="month" label={t("fin.month")} rules={[{ required: true }]}>
          <DatePicker picker="month" />
        </Form.Item>
        <Button htmlType="submit" loading={busy}>
          {t("fin.download")}
        </Button>
      </Form>
    </Card>
  );
}
